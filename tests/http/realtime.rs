//! The elizaOS Socket.IO events end to end over a real WebSocket: handshake auth, welcome events,
//! joins, SEND_MESSAGE with the echo agent's reply, channel events from HTTP, the log stream.

use crate::messaging_fixture::{MessagingApp, data, echo_of, user_id};
use crate::ws_client::{connect, connected, emit, event_named, join, next_event, send, serve};
use actix_web::http::StatusCode;
use eliza_http::HttpConfig;
use serde_json::json;

async fn dm_channel(app: &MessagingApp, user: &str, agent: &str) -> String {
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "chat", "message_server_id": "00000000-0000-0000-0000-000000000000",
                "participantCentralUserIds": [user, agent], "type": "DM",
                "metadata": {"isDm": true, "user1": user, "user2": agent, "forAgent": agent}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    data(&created)["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_socket_chat_gets_the_echo_ack_reply_and_turn_end() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await.to_string();
    let (user, other) = (user_id(), user_id());
    let channel = dm_channel(&app, &user, &agent).await;
    let mut server = serve(&app);
    let mut conn = connected(&mut server, &user).await;
    let mut watcher = connected(&mut server, &other).await;
    join(&mut conn, &channel, &user).await;
    join(&mut watcher, &channel, &other).await;

    let payload = json!({"senderId": user, "senderName": "user", "message": "hi socket", "channelId": channel,
        "roomId": channel, "messageServerId": "00000000-0000-0000-0000-000000000000", "messageId": "tmp-42",
        "source": "client_chat", "attachments": [],
        "metadata": {"channelType": "DM", "isDm": true, "targetUserId": agent}});
    send(
        &mut conn,
        &emit("message", json!({"type": 2, "payload": payload})),
    )
    .await;

    let echo = event_named(&mut conn, "messageBroadcast").await;
    assert_eq!(echo["clientMessageId"], "tmp-42");
    assert_eq!(
        (echo["text"].clone(), echo["senderId"].clone()),
        (json!("hi socket"), json!(user))
    );
    assert_eq!(
        (echo["channelId"].clone(), echo["roomId"].clone()),
        (json!(channel), json!(channel))
    );
    assert_eq!(echo["source"], "client_chat");
    let ack = event_named(&mut conn, "messageAck").await;
    assert_eq!(ack["clientMessageId"], "tmp-42");
    assert_eq!(ack["messageId"], echo["id"]);
    assert_eq!(ack["status"], "received_by_server_and_processing");
    let reply = event_named(&mut conn, "messageBroadcast").await;
    assert_eq!(reply["text"], echo_of("hi socket"));
    assert_eq!(reply["senderId"], agent);
    assert_eq!(reply["senderName"], "Eliza");
    assert_eq!(
        (reply["channelId"].clone(), reply["roomId"].clone()),
        (json!(channel), json!(channel))
    );
    let complete = event_named(&mut conn, "messageComplete").await;
    assert_eq!(complete["channelId"], channel);
    let control = event_named(&mut conn, "controlMessage").await;
    assert_eq!(control["action"], "enable_input");

    // Another socket in the room sees the user's message without the client id, then the reply.
    let seen = event_named(&mut watcher, "messageBroadcast").await;
    assert_eq!(seen["id"], echo["id"]);
    assert!(seen.get("clientMessageId").is_none());
    assert_eq!(
        event_named(&mut watcher, "messageBroadcast").await["text"],
        echo_of("hi socket")
    );

    // The same client id again is stored and answered once.
    send(&mut conn, &emit("2", payload)).await;
    let ack_again = event_named(&mut conn, "messageAck").await;
    assert_eq!(ack_again["messageId"], ack["messageId"]);
    let listed = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(data(&listed)["messages"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn handshakes_need_a_uuid_entity_and_the_api_key_when_one_is_set() {
    let app = MessagingApp::new().await;
    let mut server = serve(&app);
    for auth in [json!({}), json!({"entityId": "nope"}), json!(null)] {
        let (_, answer) = connect(&mut server, auth.clone()).await;
        assert_eq!(
            answer, r#"44{"message":"Valid entityId required"}"#,
            "{auth}"
        );
    }
    let config = HttpConfig {
        auth_token: Some("s3cret".into()),
        ..HttpConfig::default()
    };
    let locked = MessagingApp::with_config(config).await;
    let mut server = serve(&locked);
    let entity = user_id();
    let (_, answer) = connect(&mut server, json!({"entityId": entity})).await;
    assert_eq!(answer, r#"44{"message":"Invalid or missing API Key"}"#);
    let (_, answer) = connect(&mut server, json!({"entityId": entity, "apiKey": "wrong"})).await;
    assert_eq!(answer, r#"44{"message":"Invalid or missing API Key"}"#);
    let (_, answer) = connect(&mut server, json!({"entityId": entity, "apiKey": "s3cret"})).await;
    assert!(answer.starts_with("40{\"sid\":"), "{answer}");

    // 1.7.2's own socket key (`SERVER_API_KEY`) works the same way.
    let config = HttpConfig {
        socket_api_key: Some("sock".into()),
        ..HttpConfig::default()
    };
    let socket_keyed = MessagingApp::with_config(config).await;
    let mut server = serve(&socket_keyed);
    let (_, answer) = connect(&mut server, json!({"entityId": entity})).await;
    assert_eq!(answer, r#"44{"message":"Invalid or missing API Key"}"#);
    let (_, answer) = connect(&mut server, json!({"entityId": entity, "apiKey": "sock"})).await;
    assert!(answer.starts_with("40{\"sid\":"), "{answer}");
}

#[actix_web::test]
async fn bad_joins_and_sends_answer_message_error() {
    let app = MessagingApp::new().await;
    let mut server = serve(&app);
    let user = user_id();
    let mut conn = connected(&mut server, &user).await;
    send(&mut conn, &emit("1", json!({}))).await;
    assert_eq!(
        next_event(&mut conn).await,
        (
            "messageError".to_owned(),
            json!({"error": "channelId is required for joining."})
        )
    );
    let invalid_send = json!({"error": "For SEND_MESSAGE: channelId, messageServerId (message_server_id), senderId (author_id), and message are required."});
    // The seed's `serverId` is not read, as in 1.7.2.
    for payload in [
        json!({}),
        json!({"channelId": uuid::Uuid::new_v4(), "serverId": uuid::Uuid::nil(), "senderId": user, "message": "x"}),
        json!("text"),
        json!({"channelId": "x", "messageServerId": uuid::Uuid::nil(), "senderId": user, "message": "x"}),
    ] {
        send(
            &mut conn,
            &emit("message", json!({"type": 2, "payload": payload})),
        )
        .await;
        assert_eq!(
            next_event(&mut conn).await,
            ("messageError".to_owned(), invalid_send.clone())
        );
    }
    // Other message types and unknown events are ignored; the socket keeps working.
    send(
        &mut conn,
        &emit("message", json!({"type": 5, "payload": {}})),
    )
    .await;
    send(&mut conn, &emit("mystery", json!(1))).await;
    send(
        &mut conn,
        &emit("1", json!({"roomId": uuid::Uuid::new_v4()})),
    )
    .await;
    assert_eq!(next_event(&mut conn).await.0, "channel_joined");
}

#[actix_web::test]
async fn channel_changes_over_http_reach_joined_sockets() {
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Quiet").await.to_string();
    let user = user_id();
    let channel = dm_channel(&app, &user, &agent).await;
    let mut server = serve(&app);
    let mut conn = connected(&mut server, &user).await;
    join(&mut conn, &channel, &user).await;
    let posted = app
        .post(&format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": user, "content": "from http", "metadata": {"user_display_name": "Ann"}}))
        .await;
    let gui = event_named(&mut conn, "messageBroadcast").await;
    assert_eq!(
        (gui["text"].clone(), gui["senderName"].clone()),
        (json!("from http"), json!("Ann"))
    );
    assert_eq!(
        gui["messageServerId"],
        "00000000-0000-0000-0000-000000000000"
    );
    let id = posted.json["userMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/messaging/channels/{channel}/messages/{id}"))
        .await;
    assert_eq!(
        event_named(&mut conn, "messageDeleted").await,
        json!({"messageId": id, "channelId": channel})
    );
    app.patch(
        &format!("/api/messaging/channels/{channel}"),
        json!({"name": "renamed"}),
    )
    .await;
    let updated = event_named(&mut conn, "channelUpdated").await;
    assert_eq!(updated["updates"]["name"], "renamed");
    app.delete(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(
        event_named(&mut conn, "channelCleared").await,
        json!({"channelId": channel})
    );
    app.delete(&format!("/api/messaging/channels/{channel}"))
        .await;
    assert_eq!(
        event_named(&mut conn, "channelDeleted").await,
        json!({"channelId": channel})
    );
}

#[actix_web::test]
async fn loopback_sockets_may_stream_the_server_log() {
    let app = MessagingApp::new().await;
    let mut server = serve(&app);
    let mut conn = connected(&mut server, &user_id()).await;
    send(
        &mut conn,
        &emit("update_log_filters", json!({"level": "info"})),
    )
    .await;
    assert_eq!(
        next_event(&mut conn).await,
        (
            "log_filters_updated".to_owned(),
            json!({"success": false, "error": "Not subscribed to log stream"})
        )
    );
    send(&mut conn, &emit("subscribe_logs", json!(null))).await;
    assert_eq!(
        next_event(&mut conn).await,
        (
            "log_subscription_confirmed".to_owned(),
            json!({"subscribed": true, "message": "Successfully subscribed to log stream"})
        )
    );
    send(
        &mut conn,
        &emit("update_log_filters", json!({"level": "warn"})),
    )
    .await;
    assert_eq!(
        next_event(&mut conn).await,
        (
            "log_filters_updated".to_owned(),
            json!({"success": true, "filters": {"level": "warn"}})
        )
    );
    app.state.logs.push(eliza_http::logs::LogEntry::now(
        40,
        r#"stored content="secret words""#,
    ));
    app.state
        .logs
        .push(eliza_http::logs::LogEntry::now(30, "too quiet"));
    app.state
        .logs
        .push(eliza_http::logs::LogEntry::now(50, "loud"));
    let (event, payload) = next_event(&mut conn).await;
    assert_eq!(event, "log_stream");
    assert_eq!(payload["type"], "log_entry");
    assert_eq!(payload["payload"]["msg"], "stored content=[redacted]");
    assert_eq!(next_event(&mut conn).await.1["payload"]["msg"], "loud");
    send(&mut conn, &emit("unsubscribe_logs", json!(null))).await;
    assert_eq!(next_event(&mut conn).await.1["subscribed"], false);
}

#[actix_web::test]
async fn with_data_isolation_only_participants_may_join() {
    let config = HttpConfig {
        data_isolation: true,
        ..HttpConfig::default()
    };
    let app = MessagingApp::with_config(config).await;
    let agent = app.stopped_agent("Private").await.to_string();
    let (member, stranger) = (user_id(), user_id());
    let channel = dm_channel(&app, &member, &agent).await;
    let mut server = serve(&app);
    let mut outsider = connected(&mut server, &stranger).await;
    send(&mut outsider, &emit("1", json!({"channelId": channel}))).await;
    assert_eq!(
        next_event(&mut outsider).await,
        (
            "messageError".to_owned(),
            json!({"error": "Access denied: You don't have permission to join this channel"})
        )
    );
    let mut insider = connected(&mut server, &member).await;
    join(&mut insider, &channel, &member).await;
}

#[actix_web::test]
async fn a_socket_with_the_api_key_may_stream_the_log() {
    // With a key configured, presenting it is what makes a socket an admin.
    let config = HttpConfig {
        auth_token: Some("k".into()),
        ..HttpConfig::default()
    };
    let app = MessagingApp::with_config(config).await;
    let mut server = serve(&app);
    let (mut conn, answer) =
        connect(&mut server, json!({"entityId": user_id(), "apiKey": "k"})).await;
    assert!(answer.starts_with("40{"), "{answer}");
    event_named(&mut conn, "connection_established").await;
    send(&mut conn, &emit("subscribe_logs", json!(null))).await;
    assert_eq!(
        event_named(&mut conn, "log_subscription_confirmed").await["subscribed"],
        true
    );
}
