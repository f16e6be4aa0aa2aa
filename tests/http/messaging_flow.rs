//! The whole message flow with the echo responder standing in for an agent runtime: the web UI's
//! DM channel, a post on each transport, the stored reply, the list and the bus.

use crate::messaging_fixture::{
    MessagingApp, data, echo_of, next_event, next_new_message, user_id,
};
use actix_web::test::TestRequest;
use eliza_bus::{BusEvent, MessageOrigin};
use eliza_domain::ChannelId;
use serde_json::{Value, json};
use std::time::Duration;

/// Creates the DM channel exactly as `@elizaos/client` 1.7.2 does (API spec §4).
async fn ui_dm_channel(app: &MessagingApp, user: &str, agent: &str) -> ChannelId {
    let current = app.get("/api/messaging/message-server/current").await;
    let server = data(&current)["messageServerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = app
        .post(
            "/api/messaging/channels",
            json!({
                "name": "Chat - Nov 23, 11:00:00",
                "message_server_id": server,
                "participantCentralUserIds": [user, agent],
                "type": "DM",
                "metadata": {"isDm": true, "user1": user, "user2": agent, "forAgent": agent,
                    "createdAt": "2026-11-23T11:00:00.000Z"},
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    ChannelId::parse(data(&created)["id"].as_str().unwrap()).unwrap()
}

/// Polls the channel until it holds `count` messages (the reply arrives asynchronously).
async fn messages_when(app: &MessagingApp, channel: ChannelId, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let listed = app
            .get(&format!(
                "/api/messaging/channels/{channel}/messages?limit=30"
            ))
            .await;
        assert_eq!(listed.status, 200, "{}", listed.json);
        let messages = data(&listed)["messages"].as_array().unwrap().clone();
        if messages.len() >= count {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the channel never held {count} messages");
}

#[actix_web::test]
async fn a_websocket_post_is_answered_stored_listed_and_broadcast() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await;
    let user = user_id();
    let channel = ui_dm_channel(&app, &user, &agent.to_string()).await;
    let mut bus = app.subscribe(channel);

    let posted = app
        .post(
            &format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": user, "content": "hello there", "message_server_id": "00000000-0000-0000-0000-000000000000",
                "metadata": {"user_display_name": "Ann", "channelType": "DM", "isDm": true}}),
        )
        .await;
    assert_eq!(posted.status, 201, "{}", posted.json);
    assert_eq!(posted.json["success"], true);
    let user_message = &posted.json["userMessage"];
    assert_eq!(user_message["content"], "hello there");
    assert_eq!(user_message["author_id"], user);
    assert_eq!(user_message["channel_id"], channel.to_string());
    assert_eq!(user_message["source_type"], "eliza_gui");
    assert_eq!(user_message["author_display_name"], "Ann");
    assert!(user_message["created_at"].is_i64());
    // The api-client reads `data`: the stored message in its 1.7.2 shape.
    assert_eq!(data(&posted)["id"], user_message["id"]);
    assert_eq!(data(&posted)["authorId"], user);

    let (message, origin) = next_new_message(&mut bus).await;
    assert_eq!(
        (message.content.as_str(), origin),
        ("hello there", MessageOrigin::Gui)
    );
    let (reply, origin) = next_new_message(&mut bus).await;
    assert_eq!(origin, MessageOrigin::AgentReply);
    assert_eq!(reply.content, echo_of("hello there"));
    assert_eq!(reply.author_id, agent.to_string());
    assert_eq!(
        reply
            .in_reply_to_message_id
            .map(|id| id.to_string())
            .as_deref(),
        user_message["id"].as_str()
    );
    assert!(matches!(
        next_event(&mut bus).await,
        BusEvent::MessageComplete { .. }
    ));
    assert!(matches!(
        next_event(&mut bus).await,
        BusEvent::ControlMessage { .. }
    ));

    let messages = messages_when(&app, channel, 2).await;
    assert_eq!(messages.len(), 2);
    let (newest, oldest) = (&messages[0], &messages[1]);
    assert_eq!(newest["content"], echo_of("hello there"));
    assert_eq!(newest["inReplyToRootMessageId"], user_message["id"]);
    assert_eq!(newest["sourceType"], "agent_response");
    assert_eq!(newest["metadata"]["thought"], "echoing");
    assert_eq!(newest["metadata"]["actions"], json!(["REPLY"]));
    assert_eq!(newest["metadata"]["agentName"], "Eliza");
    assert_eq!(oldest["id"], user_message["id"]);
    assert_eq!(oldest["inReplyToRootMessageId"], Value::Null);
    assert!(newest["created_at"].as_i64() >= oldest["created_at"].as_i64());
    assert!(newest["updated_at"].is_i64());
}

#[actix_web::test]
async fn the_http_transport_returns_the_reply() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await;
    let user = user_id();
    let channel = ui_dm_channel(&app, &user, &agent.to_string()).await;
    for transport in [json!({"transport": "http"}), json!({"mode": "sync"})] {
        let mut body = json!({"author_id": user, "content": "sync please", "message_server_id": "00000000-0000-0000-0000-000000000000"});
        body.as_object_mut()
            .unwrap()
            .extend(transport.as_object().unwrap().clone());
        let posted = app
            .post(&format!("/api/messaging/channels/{channel}/messages"), body)
            .await;
        assert_eq!(posted.status, 201, "{}", posted.json);
        let response = &posted.json["agentResponse"];
        assert_eq!(response["text"], echo_of("sync please"));
        assert_eq!(response["thought"], "echoing");
        assert_eq!(response["actions"], json!(["REPLY"]));
        assert_eq!(response["inReplyTo"], posted.json["userMessage"]["id"]);
        assert!(response["responseId"].is_string());
    }
    // Unlike 1.7.2, the http transport's reply is stored like any other.
    assert_eq!(messages_when(&app, channel, 4).await.len(), 4);
}

#[actix_web::test]
async fn the_sse_transport_streams_the_user_message_then_the_reply() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await;
    let user = user_id();
    let channel = ui_dm_channel(&app, &user, &agent.to_string()).await;
    let reply = app
        .call(
            TestRequest::post()
                .uri(&format!("/api/messaging/channels/{channel}/messages"))
                .set_json(
                    json!({"author_id": user, "content": "stream it", "transport": "sse",
                    "message_server_id": "00000000-0000-0000-0000-000000000000"}),
                ),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let body = reply.json.as_str().unwrap();
    let frames: Vec<&str> = body
        .split("\n\n")
        .filter(|frame| !frame.is_empty())
        .collect();
    assert_eq!(frames.len(), 2, "{body}");
    let user_message = frames[0]
        .strip_prefix("event: user_message\ndata: ")
        .unwrap();
    let user_message: Value = serde_json::from_str(user_message).unwrap();
    assert_eq!(user_message["content"], "stream it");
    let done = frames[1].strip_prefix("event: done\ndata: ").unwrap();
    let done: Value = serde_json::from_str(done).unwrap();
    assert_eq!(done["text"], echo_of("stream it"));
    assert_eq!(done["inReplyTo"], user_message["id"]);
}

#[actix_web::test]
async fn without_a_running_agent_http_and_sse_say_so_and_websocket_still_stores() {
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Sleepy").await;
    let user = user_id();
    let channel = ui_dm_channel(&app, &user, &agent.to_string()).await;
    let url = format!("/api/messaging/channels/{channel}/messages");
    let body =
        |transport: &str| json!({"author_id": user, "content": "anyone?", "transport": transport});

    let http = app.post(&url, body("http")).await;
    assert_eq!(http.status, 503);
    assert_eq!(
        http.json,
        json!({"success": false, "error": "No running agent in this channel can answer"})
    );

    let sse = app
        .call(TestRequest::post().uri(&url).set_json(body("sse")))
        .await;
    let text = sse.json.as_str().unwrap();
    assert!(text.starts_with("event: user_message\n"), "{text}");
    assert!(
        text.contains(
            "event: error\ndata: {\"error\":\"No running agent in this channel can answer\"}"
        ),
        "{text}"
    );

    let websocket = app.post(&url, body("websocket")).await;
    assert_eq!(websocket.status, 201);
    assert_eq!(messages_when(&app, channel, 3).await.len(), 3);
}

#[actix_web::test]
async fn a_repeated_client_message_id_is_stored_and_answered_once() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await;
    let user = user_id();
    let channel = ui_dm_channel(&app, &user, &agent.to_string()).await;
    let url = format!("/api/messaging/channels/{channel}/messages");
    let body = json!({"author_id": user, "content": "once", "messageId": "client-tmp-1"});
    let first = app.post(&url, body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.json);
    messages_when(&app, channel, 2).await;
    let second = app.post(&url, body).await;
    assert_eq!(second.status, 201);
    assert_eq!(
        second.json["userMessage"]["id"],
        first.json["userMessage"]["id"]
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(messages_when(&app, channel, 2).await.len(), 2);
}

#[actix_web::test]
async fn agents_answer_only_in_channels_they_take_part_in() {
    let app = MessagingApp::new().await;
    let member = app.echo_agent("Member").await;
    let outsider = app.echo_agent("Outsider").await;
    let user = user_id();
    let channel = ui_dm_channel(&app, &user, &member.to_string()).await;
    app.post(
        &format!("/api/messaging/channels/{channel}/messages"),
        json!({"author_id": user, "content": "just you"}),
    )
    .await;
    let messages = messages_when(&app, channel, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let messages_after = messages_when(&app, channel, 2).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages_after.len(), 2);
    assert_eq!(messages_after[0]["authorId"], member.to_string());
    assert_ne!(messages_after[0]["authorId"], outsider.to_string());
}

/// Off the default server, an agent hears a channel's messages only once it belongs to the server.
#[actix_web::test]
async fn agents_answer_on_other_servers_only_as_members() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Member").await;
    let user = user_id();
    let server = app
        .post(
            "/api/messaging/message-servers",
            json!({"name": "Discord", "sourceType": "discord"}),
        )
        .await;
    assert_eq!(server.status, 201, "{}", server.json);
    let server = data(&server)["server"]["id"].as_str().unwrap().to_owned();
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "general", "message_server_id": server,
                   "participantCentralUserIds": [user, agent.to_string()]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let url = format!(
        "/api/messaging/channels/{}/messages",
        data(&created)["id"].as_str().unwrap()
    );
    let body = json!({"author_id": user, "content": "members only", "transport": "http"});

    let outside = app.post(&url, body.clone()).await;
    assert_eq!(outside.status, 503, "{}", outside.json);
    assert_eq!(
        outside.json,
        json!({"success": false, "error": "No running agent in this channel can answer"})
    );

    let joined = app
        .post(
            &format!("/api/messaging/agents/{agent}/servers/{server}"),
            json!({}),
        )
        .await;
    assert_eq!(joined.status, 201, "{}", joined.json);
    let member = app.post(&url, body).await;
    assert_eq!(member.status, 201, "{}", member.json);
    assert_eq!(
        member.json["agentResponse"]["text"],
        echo_of("members only")
    );
}
