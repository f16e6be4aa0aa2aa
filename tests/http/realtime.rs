//! The elizaOS Socket.IO events end to end over a real WebSocket: handshake auth, welcome events,
//! joins, SEND_MESSAGE with the echo agent's reply, channel events from HTTP, the log stream.

use crate::messaging_fixture::{MessagingApp, data, echo_of, user_id};
use actix_web::http::StatusCode;
use awc::ws;
use eliza_http::{HttpConfig, app};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;

trait Conn:
    futures_util::Stream<Item = Result<ws::Frame, awc::error::WsProtocolError>>
    + futures_util::Sink<ws::Message, Error = awc::error::WsProtocolError>
    + Unpin
{
}
impl<T> Conn for T where
    T: futures_util::Stream<Item = Result<ws::Frame, awc::error::WsProtocolError>>
        + futures_util::Sink<ws::Message, Error = awc::error::WsProtocolError>
        + Unpin
{
}

fn serve(app_state: &MessagingApp) -> actix_test::TestServer {
    let state = app_state.state.clone();
    actix_test::start(move || app(state.clone()))
}

async fn next_text(conn: &mut impl Conn) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(3), conn.next())
            .await
            .expect("a frame in time");
        match frame.expect("open").expect("frame") {
            ws::Frame::Text(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                if text == "2" {
                    send(conn, "3").await;
                    continue;
                }
                return text;
            }
            ws::Frame::Close(reason) => panic!("closed: {reason:?}"),
            _ => {}
        }
    }
}

async fn send(conn: &mut impl Conn, text: &str) {
    conn.send(ws::Message::Text(text.to_owned().into()))
        .await
        .expect("send");
}

/// The next Socket.IO event as `(name, payload)`.
async fn next_event(conn: &mut impl Conn) -> (String, Value) {
    let text = next_text(conn).await;
    let array: Value = serde_json::from_str(
        text.strip_prefix("42")
            .unwrap_or_else(|| panic!("not an event: {text}")),
    )
    .expect("event json");
    (array[0].as_str().unwrap().to_owned(), array[1].clone())
}

/// Waits for the named event, skipping others.
async fn event_named(conn: &mut impl Conn, name: &str) -> Value {
    for _ in 0..20 {
        let (event, payload) = next_event(conn).await;
        if event == name {
            return payload;
        }
    }
    panic!("no {name} event");
}

fn emit(event: &str, payload: Value) -> String {
    format!("42{}", json!([event, payload]))
}

/// A WebSocket session with a Socket.IO CONNECT carrying `auth`; returns the connection and
/// the CONNECT answer.
async fn connect(server: &mut actix_test::TestServer, auth: Value) -> (impl Conn + use<>, String) {
    // A client without auth sends a bare CONNECT.
    let auth = if auth.is_null() {
        String::new()
    } else {
        auth.to_string()
    };
    let mut conn = server
        .ws_at("/socket.io/?EIO=4&transport=websocket")
        .await
        .expect("websocket");
    assert!(next_text(&mut conn).await.starts_with("0{"));
    send(&mut conn, &format!("40{auth}")).await;
    let answer = next_text(&mut conn).await;
    (conn, answer)
}

async fn connected(server: &mut actix_test::TestServer, entity: &str) -> impl Conn + use<> {
    let (mut conn, answer) = connect(server, json!({"entityId": entity})).await;
    assert!(answer.starts_with("40{\"sid\":"), "{answer}");
    let (event, payload) = next_event(&mut conn).await;
    assert_eq!(
        (event.as_str(), &payload["entityId"]),
        ("authenticated", &json!(entity))
    );
    assert!(payload["timestamp"].is_i64());
    let (event, payload) = next_event(&mut conn).await;
    assert_eq!(event, "connection_established");
    assert_eq!(payload["message"], "Connected to Eliza Socket.IO server");
    assert!(payload["socketId"].is_string());
    conn
}

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

async fn join(conn: &mut impl Conn, channel: &str, entity: &str) {
    send(conn, &emit("message", json!({"type": 1, "payload": {"channelId": channel, "roomId": channel, "entityId": entity}}))).await;
    let joined = event_named(conn, "channel_joined").await;
    assert_eq!(joined["channelId"], channel);
    assert_eq!(joined["roomId"], channel);
    assert!(
        joined["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("successfully joined channel {channel}."))
    );
    assert_eq!(event_named(conn, "room_joined").await, joined);
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
