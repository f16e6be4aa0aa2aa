//! The core routes: `submit` and `action` (both body styles), `PATCH action/:id`,
//! `ingest-external` (1.7.2 single message and api-client batch) and `complete`.

use crate::messaging_fixture::{
    DEFAULT_SERVER, MessagingApp, data, echo_of, group_channel, next_event, next_new_message,
};
use eliza_bus::{BusEvent, ControlAction, MessageOrigin};
use eliza_domain::ChannelId;
use serde_json::{Value, json};
use std::time::Duration;

fn submit_body(channel: ChannelId, agent: &str) -> Value {
    json!({
        "channel_id": channel, "server_id": DEFAULT_SERVER, "author_id": agent,
        "content": "Hello, how can you help me?", "source_type": "agent_response",
        "raw_message": {"text": "Hello, how can you help me?", "thought": "User is asking for help", "actions": ["respond"]},
        "metadata": {"agentName": "Alice", "attachments": []},
    })
}

#[actix_web::test]
async fn submit_stores_and_broadcasts_without_waking_agents() {
    let app = MessagingApp::new().await;
    let listener = app.echo_agent("Listener").await.to_string();
    let agent = uuid::Uuid::new_v4().to_string();
    let channel = group_channel(&app, &[&agent, &listener]).await;
    let mut bus = app.subscribe(channel);
    let message_id = uuid::Uuid::new_v4().to_string();
    let mut body = submit_body(channel, &agent);
    body["messageId"] = json!(message_id);
    let submitted = app.post("/api/messaging/submit", body.clone()).await;
    assert_eq!(submitted.status, 201, "{}", submitted.json);
    let message = data(&submitted);
    assert_eq!(message["id"], message_id);
    assert_eq!(message["channelId"], channel.to_string());
    assert_eq!(message["authorId"], agent);
    assert_eq!(message["sourceType"], "agent_response");
    assert_eq!(message["rawMessage"]["thought"], "User is asking for help");
    assert_eq!(message["inReplyToRootMessageId"], Value::Null);
    let (announced, origin) = next_new_message(&mut bus).await;
    assert_eq!(origin, MessageOrigin::AgentReply);
    assert_eq!(announced.author_display_name.as_deref(), Some("Alice"));
    // The same messageId again is stored once and not announced again.
    let again = app.post("/api/messaging/submit", body).await;
    assert_eq!(again.status, 201);
    assert_eq!(data(&again)["id"], message_id);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let listed = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    // The echo agent is a participant, yet agent replies never wake agents.
    assert_eq!(data(&listed)["messages"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn submit_accepts_the_api_client_body_too() {
    let app = MessagingApp::new().await;
    let agent = uuid::Uuid::new_v4().to_string();
    let channel = group_channel(&app, &[&agent]).await;
    let question = uuid::Uuid::new_v4().to_string();
    let reply = app
        .post(
            "/api/messaging/submit",
            json!({"agentId": agent, "channelId": channel, "content": "hi",
            "inReplyToMessageId": question}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    assert_eq!(data(&reply)["authorId"], agent);
    assert_eq!(data(&reply)["sourceType"], "agent_response");
    assert_eq!(data(&reply)["rawMessage"], json!({"text": "hi"}));
    // A reference to a message that does not exist is dropped rather than failing the reply.
    assert_eq!(data(&reply)["inReplyToRootMessageId"], Value::Null);
    let unknown = app
        .post(
            "/api/messaging/submit",
            json!({"agentId": agent, "channelId": ChannelId::new_random(), "content": "hi"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.json,
        json!({"success": false, "error": "Channel not found"})
    );
}

#[actix_web::test]
async fn submit_and_action_validation_errors() {
    let app = MessagingApp::new().await;
    let agent = uuid::Uuid::new_v4().to_string();
    let channel = group_channel(&app, &[&agent]).await;
    let missing = "Missing required fields: channel_id, message_server_id, author_id, content, source_type, raw_message";
    let full = submit_body(channel, &agent);
    let without = |key: &str| {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let with = |key: &str, value: Value| {
        let mut body = full.clone();
        body[key] = value;
        body
    };
    let cases = [
        (without("channel_id"), missing),
        (without("server_id"), missing),
        (without("author_id"), missing),
        (without("content"), missing),
        (without("source_type"), missing),
        (without("raw_message"), missing),
        (with("raw_message", json!("")), missing),
        (with("channel_id", json!("not-a-uuid")), missing),
        (with("author_id", json!(7)), missing),
        (
            with("in_reply_to_message_id", json!("bad")),
            "Invalid in_reply_to_message_id format",
        ),
        (with("messageId", json!("bad")), "Invalid messageId format"),
        (json!({}), missing),
    ];
    for route in ["/api/messaging/submit", "/api/messaging/action"] {
        for (body, error) in &cases {
            let reply = app.post(route, body.clone()).await;
            assert_eq!(reply.status, 400, "{route} {body}");
            assert_eq!(
                reply.json,
                json!({"success": false, "error": error}),
                "{route} {body}"
            );
        }
    }
}

#[actix_web::test]
async fn actions_are_created_then_patched_field_by_field() {
    let app = MessagingApp::new().await;
    let agent = uuid::Uuid::new_v4().to_string();
    let channel = group_channel(&app, &[&agent]).await;
    let mut body = submit_body(channel, &agent);
    body["source_type"] = json!("agent_action");
    body["content"] = json!("Executing REPLY");
    let created = app.post("/api/messaging/action", body).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = data(&created)["id"].as_str().unwrap().to_owned();
    let mut bus = app.subscribe(channel);
    let url = format!("/api/messaging/action/{id}");
    let patched = app
        .patch(&url, json!({"content": "REPLY done", "raw_message": {"status": "completed"}, "source_type": "", "metadata": null}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.json);
    let message = data(&patched);
    assert_eq!(message["content"], "REPLY done");
    assert_eq!(message["rawMessage"], json!({"status": "completed"}));
    // Falsy fields keep the stored value.
    assert_eq!(message["sourceType"], "agent_action");
    assert_eq!(message["metadata"]["agentName"], "Alice");
    let (announced, origin) = next_new_message(&mut bus).await;
    assert_eq!(origin, MessageOrigin::Action);
    assert!(announced.updated_at.is_some());

    let unknown = uuid::Uuid::new_v4();
    let errors = [
        (
            app.patch("/api/messaging/action/bad", json!({})).await,
            400,
            "Invalid message id",
        ),
        (
            app.patch(&format!("/api/messaging/action/{unknown}"), json!({}))
                .await,
            404,
            "Message not found",
        ),
        (
            app.patch(&url, json!({"in_reply_to_message_id": "x"}))
                .await,
            400,
            "Invalid in_reply_to_message_id format",
        ),
        (
            app.patch(&url, json!({"author_id": "x"})).await,
            400,
            "Invalid author_id format",
        ),
    ];
    for (reply, status, error) in errors {
        assert_eq!(reply.status, status, "{error}");
        assert_eq!(reply.json, json!({"success": false, "error": error}));
    }
}

#[actix_web::test]
async fn ingested_messages_reach_the_agents_of_the_channel() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await.to_string();
    let channel = group_channel(&app, &[&agent]).await;
    let body = json!({"channel_id": channel, "server_id": DEFAULT_SERVER, "author_id": "discord-user-1",
        "content": "Hello from Discord!", "source_type": "discord", "source_id": "discord_message_123",
        "author_display_name": "User123", "raw_message": {"id": "discord_message_123"},
        "metadata": {"platform": "discord"}});
    let mut bus = app.subscribe(channel);
    let ingested = app
        .post("/api/messaging/ingest-external", body.clone())
        .await;
    assert_eq!(ingested.status, 202, "{}", ingested.json);
    assert_eq!(
        ingested.json["message"],
        "Message ingested and published to bus"
    );
    let id = data(&ingested)["messageId"].clone();
    let (message, origin) = next_new_message(&mut bus).await;
    assert_eq!(
        (origin, message.author_display_name.as_deref()),
        (MessageOrigin::Ingest, Some("User123"))
    );
    let (reply, _) = next_new_message(&mut bus).await;
    assert_eq!(reply.content, echo_of("Hello from Discord!"));
    // The same external message delivered twice is stored (and answered) once.
    let again = app.post("/api/messaging/ingest-external", body).await;
    assert_eq!(data(&again)["messageId"], id);

    let invalid = json!({"success": false, "error": "Invalid external message payload"});
    for body in [
        json!({}),
        json!({"channel_id": channel, "author_id": "a", "content": "x"}),
        json!({"channel_id": "bad", "server_id": DEFAULT_SERVER, "author_id": "a", "content": "x"}),
        json!({"channel_id": channel, "server_id": DEFAULT_SERVER, "author_id": "a", "content": ""}),
    ] {
        let reply = app
            .post("/api/messaging/ingest-external", body.clone())
            .await;
        assert_eq!(
            (reply.status.as_u16(), &reply.json),
            (400, &invalid),
            "{body}"
        );
    }
    let unknown = app
        .post(
            "/api/messaging/ingest-external",
            json!({"channel_id": ChannelId::new_random(), "server_id": DEFAULT_SERVER,
            "author_id": "a", "content": "x"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[actix_web::test]
async fn the_api_client_ingests_a_batch() {
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Off").await.to_string();
    let channel = group_channel(&app, &[&agent]).await;
    let body = json!({"platform": "slack", "channelId": channel, "messages": [
        {"id": "s1", "authorId": "u1", "content": "one", "timestamp": 1_700_000_000_000_i64},
        {"id": "s2", "authorId": "u2", "content": "two", "timestamp": 1_700_000_000_001_i64, "metadata": {"edited": true}},
    ]});
    let ingested = app
        .post("/api/messaging/ingest-external", body.clone())
        .await;
    assert_eq!(ingested.status, 202, "{}", ingested.json);
    assert_eq!(data(&ingested)["processed"], 2);
    assert_eq!(data(&ingested)["messageIds"].as_array().unwrap().len(), 2);
    let listed = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    let messages = data(&listed)["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["sourceType"], "slack");
    assert_eq!(messages[0]["metadata"]["edited"], true);
    assert_eq!(messages[0]["metadata"]["externalId"], "s2");
    app.post("/api/messaging/ingest-external", body).await;
    let listed = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(data(&listed)["messages"].as_array().unwrap().len(), 2);
    for bad in [
        json!({"channelId": channel, "messages": [{"content": "no author"}]}),
        json!({"channelId": "bad", "messages": []}),
        json!({"channelId": channel, "messages": "x"}),
    ] {
        let reply = app
            .post("/api/messaging/ingest-external", bad.clone())
            .await;
        assert_eq!(reply.status, 400, "{bad}");
    }
    let unknown = app
        .post(
            "/api/messaging/ingest-external",
            json!({"channelId": ChannelId::new_random(), "messages": [{"authorId": "u1", "content": "lost"}]}),
        )
        .await;
    assert_eq!(
        (unknown.status.as_u16(), &unknown.json),
        (
            404,
            &json!({"success": false, "error": "Channel not found"})
        )
    );
}

#[actix_web::test]
async fn complete_tells_the_channel_the_agent_is_done() {
    let app = MessagingApp::new().await;
    let agent = uuid::Uuid::new_v4().to_string();
    let channel = group_channel(&app, &[&agent]).await;
    let mut bus = app.subscribe(channel);
    // What the 1.7.2 agent connector sends (1.7.2 itself answers 404).
    let done = app
        .post(
            "/api/messaging/complete",
            json!({"channel_id": channel, "message_server_id": DEFAULT_SERVER}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert_eq!(data(&done)["success"], true);
    assert!(
        matches!(next_event(&mut bus).await, BusEvent::MessageComplete { channel_id, .. } if channel_id == channel)
    );
    assert!(matches!(
        next_event(&mut bus).await,
        BusEvent::ControlMessage {
            action: ControlAction::EnableInput,
            ..
        }
    ));

    // What the api-client sends: the message id.
    let submitted = app
        .post("/api/messaging/submit", submit_body(channel, &agent))
        .await;
    let _ = next_event(&mut bus).await;
    let id = data(&submitted)["id"].clone();
    let done = app
        .post(
            "/api/messaging/complete",
            json!({"messageId": id, "status": "completed"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert_eq!(data(&done)["channelId"], channel.to_string());
    assert!(matches!(
        next_event(&mut bus).await,
        BusEvent::MessageComplete { .. }
    ));

    let errors = [
        (
            json!({}),
            400,
            "Missing required fields: channel_id or messageId",
        ),
        (
            json!({"channel_id": "bad"}),
            400,
            "Invalid channel_id format",
        ),
        (json!({"messageId": "bad"}), 400, "Invalid messageId format"),
        (
            json!({"messageId": uuid::Uuid::new_v4()}),
            404,
            "Message not found",
        ),
        (
            json!({"channel_id": ChannelId::new_random()}),
            404,
            "Channel not found",
        ),
    ];
    for (body, status, error) in errors {
        let reply = app.post("/api/messaging/complete", body.clone()).await;
        assert_eq!(reply.status, status, "{body}");
        assert_eq!(
            reply.json,
            json!({"success": false, "error": error}),
            "{body}"
        );
    }
}
