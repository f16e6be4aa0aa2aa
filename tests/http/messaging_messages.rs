//! Channel messages: post validation and auto-creation, list paging (`before` in ms and ISO),
//! delete, clear, `GET/PATCH /messages/:id`, search and `generate-title`.

use crate::messaging_fixture::{
    DEFAULT_SERVER, MessagingApp, data, group_channel, message_contents, next_event,
    next_new_message, user_id,
};
use crate::support::Reply;
use actix_web::test::TestRequest;
use eliza_bus::BusEvent;
use eliza_domain::ChannelId;
use serde_json::{Value, json};

/// Posts with the websocket transport to a channel with a stopped agent (nobody answers).
async fn post(app: &MessagingApp, channel: ChannelId, author: &str, content: &str) -> Value {
    let posted = app
        .post(
            &format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": author, "content": content, "message_server_id": DEFAULT_SERVER}),
        )
        .await;
    assert_eq!(posted.status, 201, "{}", posted.json);
    posted.json["userMessage"].clone()
}

async fn quiet_channel(app: &MessagingApp) -> (ChannelId, String) {
    let agent = app.stopped_agent("Quiet").await.to_string();
    let user = user_id();
    (group_channel(app, &[&user, &agent]).await, user)
}

fn sorted(ids: &Value) -> Vec<String> {
    let mut ids: Vec<String> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn contents(listed: &Reply) -> Vec<String> {
    message_contents(&data(listed)["messages"])
}

#[actix_web::test]
async fn post_validation_errors_are_400_in_family_b() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    let url = format!("/api/messaging/channels/{channel}/messages");
    let missing = "Missing required fields: channelId, message_server_id, author_id, content";
    let cases = [
        (
            json!({"author_id": "not-a-uuid", "content": "x"}),
            missing.to_owned(),
        ),
        (
            json!({"author_id": user, "content": ""}),
            missing.to_owned(),
        ),
        (
            json!({"author_id": user, "content": 42}),
            missing.to_owned(),
        ),
        (
            json!({"author_id": user, "content": "x", "message_server_id": "nope"}),
            missing.to_owned(),
        ),
        (
            json!({"author_id": user, "content": "x", "transport": "pigeon"}),
            "Invalid transport \"pigeon\". Must be one of: http, sse, websocket, sync, stream"
                .to_owned(),
        ),
        (
            json!({"author_id": user, "content": "x", "in_reply_to_message_id": "bad"}),
            "Invalid in_reply_to_message_id format".to_owned(),
        ),
        (
            json!({"author_id": user, "content": "x", "metadata": [1]}),
            "metadata must be an object".to_owned(),
        ),
    ];
    for (body, error) in cases {
        let reply = app.post(&url, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(
            reply.json,
            json!({"success": false, "error": error}),
            "{body}"
        );
    }
    let bad_channel = app
        .post(
            "/api/messaging/channels/nope/messages",
            json!({"author_id": user, "content": "x"}),
        )
        .await;
    assert_eq!(bad_channel.status, 400);
    assert_eq!(bad_channel.json["error"], "Invalid channelId format");
    let not_json = app
        .call(
            TestRequest::post()
                .uri(&url)
                .insert_header(("content-type", "application/json"))
                .set_payload("{oops"),
        )
        .await;
    assert_eq!(not_json.status, 400);
    let array = app.post(&url, json!([1, 2])).await;
    assert_eq!(array.status, 400);
}

#[actix_web::test]
async fn the_api_client_post_takes_the_author_from_x_entity_id() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    // messaging.postMessage(channelId, content, metadata) sends only these two fields.
    let reply = app
        .call(
            TestRequest::post()
                .uri(&format!("/api/messaging/channels/{channel}/messages"))
                .insert_header(("X-Entity-Id", user.as_str()))
                .set_json(json!({"content": "from the client", "metadata": {"k": 1}})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    assert_eq!(reply.json["data"]["authorId"], user);
    assert_eq!(reply.json["data"]["content"], "from the client");
    assert_eq!(
        reply.json["userMessage"]["message_server_id"],
        DEFAULT_SERVER
    );
}

#[actix_web::test]
async fn without_any_author_the_channels_only_user_is_the_author() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    // The plain api-client names no author at all (1.7.2 answered 400).
    let url = format!("/api/messaging/channels/{channel}/messages");
    let reply = app.post(&url, json!({"content": "nobody named"})).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    assert_eq!(reply.json["data"]["authorId"], user);

    // Two users (or none): nobody can be chosen, so the 1.7.2 refusal stands.
    let agent = app.stopped_agent("Other").await.to_string();
    let crowded = group_channel(&app, &[&user_id(), &user_id(), &agent]).await;
    let empty = ChannelId::new_random();
    for channel in [crowded, empty] {
        let reply = app
            .post(
                &format!("/api/messaging/channels/{channel}/messages"),
                json!({"content": "nobody named"}),
            )
            .await;
        assert_eq!(reply.status, 400, "{}", reply.json);
        assert_eq!(
            reply.json["error"],
            "Missing required fields: channelId, message_server_id, author_id, content"
        );
    }
}

#[actix_web::test]
async fn a_post_to_an_unknown_channel_creates_it_with_the_1_7_2_rules() {
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Target").await.to_string();
    let user = user_id();
    let channel = ChannelId::new_random();
    let reply = app
        .post(
            &format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": user, "content": "hi", "message_server_id": DEFAULT_SERVER,
                "metadata": {"isDm": true, "targetUserId": agent}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    let details = app
        .get(&format!("/api/messaging/channels/{channel}/details"))
        .await;
    let created = data(&details);
    assert_eq!(created["type"], "DM");
    assert_eq!(created["name"], format!("DM {}", &channel.to_string()[..8]));
    assert_eq!(created["sourceType"], "auto_created");
    assert_eq!(created["metadata"]["created_by"], "gui_auto_creation");
    assert_eq!(created["metadata"]["created_for_user"], user);
    assert_eq!(created["metadata"]["channel_type"], "DM");
    assert_eq!(created["metadata"]["isDm"], true);
    let participants = app
        .get(&format!("/api/messaging/channels/{channel}/participants"))
        .await;
    assert_eq!(sorted(data(&participants)), sorted(&json!([user, agent])));

    // A group post with nobody to answer is refused, and nothing is stored.
    let lonely = ChannelId::new_random();
    let refused = app
        .post(
            &format!("/api/messaging/channels/{lonely}/messages"),
            json!({"author_id": user, "content": "hello?"}),
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json,
        json!({"success": false, "error": "No agent found in channel participants"})
    );

    // `targetAgentId` names the agent instead, which then takes part in the channel.
    let targeted = ChannelId::new_random();
    let reply = app
        .post(
            &format!("/api/messaging/channels/{targeted}/messages"),
            json!({"author_id": user, "content": "you", "metadata": {"targetAgentId": agent}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    let details = app
        .get(&format!("/api/messaging/channels/{targeted}/details"))
        .await;
    assert_eq!(data(&details)["type"], "GROUP");
    assert_eq!(
        data(&details)["name"],
        format!("Chat {}", &targeted.to_string()[..8])
    );
    let participants = app
        .get(&format!("/api/messaging/channels/{targeted}/participants"))
        .await;
    assert_eq!(sorted(data(&participants)), sorted(&json!([user, agent])));

    let unknown_server = app
        .post(
            &format!("/api/messaging/channels/{}/messages", ChannelId::new_random()),
            json!({"author_id": user, "content": "x", "message_server_id": uuid::Uuid::new_v4().to_string(),
                "metadata": {"targetAgentId": agent}}),
        )
        .await;
    assert_eq!(unknown_server.status, 404);
    assert!(
        unknown_server.json["error"]
            .as_str()
            .unwrap()
            .ends_with("does not exist")
    );
}

#[actix_web::test]
async fn lists_are_newest_first_and_page_with_before_in_ms_or_iso() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    let mut sent = Vec::new();
    for n in 1..=5 {
        sent.push(post(&app, channel, &user, &format!("m{n}")).await);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let url = format!("/api/messaging/channels/{channel}/messages");
    let all = app.get(&url).await;
    assert_eq!(contents(&all), ["m5", "m4", "m3", "m2", "m1"]);
    let page = app.get(&format!("{url}?limit=2")).await;
    assert_eq!(contents(&page), ["m5", "m4"]);
    let m4 = &data(&page)["messages"][1];
    let before_ms = m4["created_at"].as_i64().unwrap();
    let older = app.get(&format!("{url}?limit=2&before={before_ms}")).await;
    assert_eq!(contents(&older), ["m3", "m2"]);
    // The web UI sends an ISO date (1.7.2 misreads it and returns nothing).
    let iso = m4["createdAt"].as_str().unwrap();
    let older = app
        .get(&format!("{url}?limit=2&before={}", iso.replace(':', "%3A")))
        .await;
    assert_eq!(contents(&older), ["m3", "m2"]);
    let newer = app
        .get(&format!("{url}?after={}", sent[2]["created_at"]))
        .await;
    assert_eq!(contents(&newer), ["m5", "m4"]);
    let bad = app.get(&format!("{url}?before=yesterday")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json,
        json!({"success": false,
        "error": "Invalid before parameter: expected epoch milliseconds or an ISO-8601 date"})
    );
    let huge = app.get(&format!("{url}?limit=100000")).await;
    assert_eq!(huge.status, 200);
    let unknown = app
        .get(&format!(
            "/api/messaging/channels/{}/messages",
            ChannelId::new_random()
        ))
        .await;
    assert_eq!(data(&unknown), &json!({"messages": []}));
    let invalid = app.get("/api/messaging/channels/nope/messages").await;
    assert_eq!(
        invalid.json,
        json!({"success": false, "error": "Invalid channelId"})
    );
}

#[actix_web::test]
async fn deleting_and_clearing_are_204_and_announced() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    let first = post(&app, channel, &user, "one").await;
    post(&app, channel, &user, "two").await;
    let mut bus = app.subscribe(channel);
    let id = first["id"].as_str().unwrap();
    let deleted = app
        .delete(&format!("/api/messaging/channels/{channel}/messages/{id}"))
        .await;
    assert_eq!(deleted.status, 204);
    assert!(
        matches!(next_event(&mut bus).await, BusEvent::MessageDeleted { message_id, .. } if message_id.to_string() == id)
    );
    // Deleting again is still 204 (no existence check, as in 1.7.2).
    let again = app
        .delete(&format!("/api/messaging/channels/{channel}/messages/{id}"))
        .await;
    assert_eq!(again.status, 204);
    let listed = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(contents(&listed), ["two"]);
    let bad = app
        .delete(&format!("/api/messaging/channels/{channel}/messages/bad"))
        .await;
    assert_eq!(
        bad.json,
        json!({"success": false, "error": "Invalid channelId or messageId"})
    );

    let _ = next_event(&mut bus).await; // the second delete
    let cleared = app
        .delete(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(cleared.status, 204);
    assert_eq!(
        next_event(&mut bus).await,
        BusEvent::ChannelCleared {
            channel_id: channel
        }
    );
    let listed = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(contents(&listed), Vec::<String>::new());
    let bad = app.delete("/api/messaging/channels/bad/messages").await;
    assert_eq!(bad.status, 400);
}

#[actix_web::test]
async fn single_messages_can_be_read_and_edited() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    let sent = post(&app, channel, &user, "typo").await;
    let url = format!("/api/messaging/messages/{}", sent["id"].as_str().unwrap());
    let got = app.get(&url).await;
    assert_eq!(got.status, 200);
    assert_eq!(data(&got)["content"], "typo");
    assert_eq!(data(&got)["channelId"], channel.to_string());
    let mut bus = app.subscribe(channel);
    let edited = app.patch(&url, json!({"content": "fixed"})).await;
    assert_eq!(edited.status, 200, "{}", edited.json);
    assert_eq!(data(&edited)["content"], "fixed");
    assert_ne!(data(&edited)["updatedAt"], data(&got)["updatedAt"]);
    let (message, _) = next_new_message(&mut bus).await;
    assert_eq!(message.content, "fixed");
    assert!(message.updated_at.is_some());
    assert_eq!(data(&app.get(&url).await)["content"], "fixed");

    let errors = [
        (
            app.get("/api/messaging/messages/nope").await,
            400,
            "Invalid message id",
        ),
        (
            app.get(&format!("/api/messaging/messages/{}", uuid::Uuid::new_v4()))
                .await,
            404,
            "Message not found",
        ),
        (
            app.patch(&url, json!({})).await,
            400,
            "Nothing to update: give content and/or metadata",
        ),
        (
            app.patch(&url, json!({"content": ""})).await,
            400,
            "content must be a non-empty string",
        ),
        (
            app.patch(&url, json!({"metadata": 3})).await,
            400,
            "metadata must be an object",
        ),
        (
            app.patch(
                &format!("/api/messaging/messages/{}", uuid::Uuid::new_v4()),
                json!({"content": "x"}),
            )
            .await,
            404,
            "Message not found",
        ),
    ];
    for (reply, status, error) in errors {
        assert_eq!(reply.status, status, "{error}");
        assert_eq!(reply.json, json!({"success": false, "error": error}));
    }
}

#[actix_web::test]
async fn search_finds_text_in_a_channel_or_server_page_by_page() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    let (other, _) = quiet_channel(&app).await;
    for text in ["Rust is fast", "rust ROCKS", "python", "100% rust"] {
        post(&app, channel, &user, text).await;
    }
    post(&app, other, &user, "rust elsewhere").await;
    let search = |body: Value| app.post("/api/messaging/messages/search", body);
    let found = search(json!({"query": "rust", "channelId": channel})).await;
    assert_eq!(found.status, 200, "{}", found.json);
    assert_eq!(
        contents(&found),
        ["100% rust", "rust ROCKS", "Rust is fast"]
    );
    assert_eq!(data(&found)["hasMore"], false);
    let server_wide = search(json!({"query": "RUST", "messageServerId": DEFAULT_SERVER})).await;
    assert_eq!(server_wide.status, 200, "{}", server_wide.json);
    assert_eq!(contents(&server_wide).len(), 4);
    let paged = search(json!({"query": "rust", "channelId": channel, "limit": 2})).await;
    assert_eq!(paged.status, 200, "{}", paged.json);
    assert_eq!(contents(&paged), ["100% rust", "rust ROCKS"]);
    assert_eq!(data(&paged)["hasMore"], true);
    let page_two =
        search(json!({"query": "rust", "channelId": channel, "limit": 2, "page": 2})).await;
    assert_eq!(contents(&page_two), ["Rust is fast"]);
    assert_eq!(data(&page_two)["offset"], 2);
    let literal = search(json!({"query": "%", "channelId": channel})).await;
    assert_eq!(contents(&literal), ["100% rust"]);
    let by_author =
        search(json!({"channelId": channel, "authorId": uuid::Uuid::new_v4().to_string()})).await;
    assert_eq!(contents(&by_author), Vec::<String>::new());

    let errors = [
        (
            json!({}),
            "Give a query, or a channelId or messageServerId to search in",
        ),
        (json!({"query": 5}), "query must be a string"),
        (
            json!({"query": "x", "channelId": "bad"}),
            "Invalid channelId format",
        ),
        (
            json!({"query": "x", "messageServerId": 1}),
            "Invalid messageServerId format",
        ),
        (
            json!({"query": "x", "limit": -1}),
            "limit must be a non-negative integer",
        ),
        (
            json!({"query": "x", "from": "soon"}),
            "Invalid from parameter: expected epoch milliseconds or an ISO-8601 date",
        ),
        (
            json!({"query": "x", "authorId": []}),
            "authorId must be a string",
        ),
    ];
    for (body, error) in errors {
        let reply = search(body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(
            reply.json,
            json!({"success": false, "error": error}),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn generate_title_validates_then_needs_a_runtime() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Titler").await.to_string();
    let user = user_id();
    let channel = group_channel(&app, &[&user, &agent]).await;
    let url = format!("/api/messaging/channels/{channel}/generate-title");
    let short = app.post(&url, json!({"agentId": agent})).await;
    assert_eq!(short.status, 200);
    assert_eq!(
        data(&short),
        &json!({"title": null, "channelId": channel,
        "reason": "Not enough messages to generate a title"})
    );
    for n in 0..2 {
        post(&app, channel, &user, &format!("q{n}")).await;
    }
    // Two questions and two echoes make four messages.
    for _ in 0..100 {
        let listed = app
            .get(&format!("/api/messaging/channels/{channel}/messages"))
            .await;
        if contents(&listed).len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let long = app.post(&url, json!({"agentId": agent})).await;
    assert_eq!(long.status, 503);
    assert!(
        long.json["error"]
            .as_str()
            .unwrap()
            .starts_with("Title generation needs an agent runtime")
    );
    let stopped = app.stopped_agent("Off").await;
    let errors = [
        (
            app.post(
                "/api/messaging/channels/bad/generate-title",
                json!({"agentId": agent}),
            )
            .await,
            400,
            "Invalid channel ID format",
        ),
        (
            app.post(&url, json!({})).await,
            400,
            "Valid agent ID is required",
        ),
        (
            app.post(&url, json!({"agentId": "x"})).await,
            400,
            "Valid agent ID is required",
        ),
        (
            app.post(&url, json!({"agentId": stopped})).await,
            404,
            "Agent not found or not active",
        ),
    ];
    for (reply, status, error) in errors {
        assert_eq!(reply.status, status, "{error}");
        assert_eq!(reply.json, json!({"success": false, "error": error}));
    }
}

#[actix_web::test]
async fn with_data_isolation_only_participants_read_a_channel() {
    let config = eliza_http::HttpConfig {
        data_isolation: true,
        ..eliza_http::HttpConfig::default()
    };
    let app = MessagingApp::with_config(config).await;
    let (channel, user) = quiet_channel(&app).await;
    post(&app, channel, &user, "private").await;
    let url = format!("/api/messaging/channels/{channel}/messages");
    let read_as = |entity: Option<String>| {
        let mut req = TestRequest::get().uri(&url);
        if let Some(entity) = entity {
            req = req.insert_header(("X-Entity-Id", entity));
        }
        app.call(req)
    };
    let member = read_as(Some(user.clone())).await;
    assert_eq!(member.status, 200);
    assert_eq!(contents(&member), ["private"]);
    let denied = json!({"success": false, "error": "Access denied: You don't have permission to view this channel"});
    for stranger in [None, Some(user_id()), Some("not-a-uuid".to_owned())] {
        let reply = read_as(stranger.clone()).await;
        assert_eq!(reply.status, 403, "{stranger:?}");
        assert_eq!(reply.json, denied);
    }
}

#[actix_web::test]
async fn far_off_before_and_after_bounds_filter_instead_of_failing() {
    let app = MessagingApp::new().await;
    let (channel, user) = quiet_channel(&app).await;
    post(&app, channel, &user, "now").await;
    let url = format!("/api/messaging/channels/{channel}/messages");
    // Before 4713 BC PostgreSQL has no timestamps, and after 9999 SQLite's text order breaks.
    let ancient = app.get(&format!("{url}?before=-250000000000000")).await;
    assert_eq!(ancient.status, 200, "{}", ancient.json);
    assert_eq!(contents(&ancient), Vec::<String>::new());
    let distant = app.get(&format!("{url}?before=6000000000000000")).await;
    assert_eq!(distant.status, 200, "{}", distant.json);
    assert_eq!(contents(&distant), ["now"]);
    let after_ancient = app.get(&format!("{url}?after=-250000000000000")).await;
    assert_eq!(contents(&after_ancient), ["now"]);
}
