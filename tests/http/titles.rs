//! `POST /api/messaging/channels/:channelId/generate-title` with a running agent whose TEXT_SMALL
//! model is a fake OpenAI-compatible server.

use crate::messaging_fixture::{DEFAULT_SERVER, UNKNOWN, assert_error, data, user_id};
use crate::support::TestApp;
use actix_web::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use eliza_domain::messaging::CentralMessage;
use eliza_domain::{ChannelId, MessageId};
use eliza_models::testing::{FakeOpenAi, FakeReply};
use serde_json::{Value, json};

async fn runtime_app(fake: &FakeOpenAi) -> TestApp {
    TestApp::with_runtime(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &fake.base_url()),
        ("OPENAI_EMBEDDING_DIMENSIONS", "384"),
    ])
    .await
}

async fn agent(app: &TestApp, name: &str, start: bool) -> String {
    let created = app
        .post(
            "/api/agents",
            json!({"characterJson": {"name": name, "bio": ["Likes tea."],
                "plugins": ["@elizaos/plugin-openai"]}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let id = data(&created)["id"].as_str().unwrap().to_owned();
    if start {
        let started = app
            .post(&format!("/api/agents/{id}/start"), json!({}))
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.json);
    }
    id
}

async fn channel(app: &TestApp, user: &str, agent: &str) -> String {
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "Chat", "message_server_id": DEFAULT_SERVER,
                "participantCentralUserIds": [user, agent], "type": "GROUP"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    data(&created)["id"].as_str().unwrap().to_owned()
}

/// Stores a message straight away (no agent turn, so no model call), `minute` minutes into the chat.
async fn store_message(
    app: &TestApp,
    channel: &str,
    author: &str,
    content: &str,
    minute: i64,
) -> DateTime<Utc> {
    let at = DateTime::from_timestamp(1_763_895_600, 0).unwrap() + Duration::minutes(minute);
    let message = CentralMessage {
        id: MessageId::new_random(),
        channel_id: ChannelId::parse(channel).unwrap(),
        author_id: author.to_owned(),
        content: content.to_owned(),
        raw_message: None,
        source_type: Some("client_chat".to_owned()),
        source_id: None,
        metadata: Some(json!({"user_display_name": "Ada"})),
        in_reply_to_root_message_id: None,
        created_at: at,
        updated_at: at,
    };
    app.state
        .store
        .create_message(&message)
        .await
        .expect("store message");
    at
}

/// The prompt of the last chat request the fake saw.
fn last_prompt(fake: &FakeOpenAi) -> String {
    let requests = fake.requests();
    let chat = requests
        .iter()
        .rev()
        .find(|r| r.path.ends_with("/chat/completions"))
        .expect("a chat request");
    chat.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn chat_requests(fake: &FakeOpenAi) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .count()
}

#[actix_web::test]
async fn a_chat_of_four_messages_gets_a_title_from_the_small_model() {
    let fake = FakeOpenAi::start().await;
    let app = runtime_app(&fake).await;
    let agent = agent(&app, "Eliza", true).await;
    let user = user_id();
    let channel = channel(&app, &user, &agent).await;
    let url = format!("/api/messaging/channels/{channel}/generate-title");

    store_message(&app, &channel, &user, "Any tea ideas?", 0).await;
    store_message(&app, &channel, &agent, "Try a sencha.", 1).await;
    store_message(&app, &channel, &user, "Is it strong?", 2).await;
    let short = app.post(&url, json!({"agentId": agent})).await;
    assert_eq!(short.status, StatusCode::OK, "{}", short.json);
    assert_eq!(
        short.json,
        json!({"success": true, "data": {"title": null, "channelId": channel,
            "reason": "Not enough messages to generate a title"}})
    );
    assert_eq!(chat_requests(&fake), 0, "no model call for a short chat");

    let fourth = store_message(&app, &channel, &agent, "Mild and grassy.", 3).await;
    fake.push_chat(FakeReply::text("  \"Green Tea Suggestions\"  \n"));
    let titled = app.post(&url, json!({"agentId": agent})).await;
    assert_eq!(titled.status, StatusCode::OK, "{}", titled.json);
    assert_eq!(
        titled.json,
        json!({"success": true, "data": {"title": "Green Tea Suggestions", "channelId": channel}})
    );
    // The conversation, oldest first, as `name: text` lines.
    let prompt = last_prompt(&fake);
    let lines = [
        "Ada: Any tea ideas?",
        "Eliza: Try a sencha.",
        "Ada: Is it strong?",
        "Eliza: Mild and grassy.",
    ];
    let positions: Vec<usize> = lines
        .iter()
        .map(|line| {
            prompt
                .find(line)
                .unwrap_or_else(|| panic!("{line} in {prompt}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{prompt}");
    // The call is logged as the small model's.
    let logs = app.get(&format!("/api/agents/{agent}/logs?count=50")).await;
    assert!(
        data(&logs)
            .as_array()
            .unwrap()
            .iter()
            .any(|log| log["type"] == "useModel:TEXT_SMALL"),
        "{}",
        logs.json
    );

    // `limit` and `before` choose the messages; too few again means no title.
    for query in [
        "limit=3".to_owned(),
        format!("before={}", fourth.timestamp_millis()),
    ] {
        let reply = app
            .post(&format!("{url}?{query}"), json!({"agentId": agent}))
            .await;
        assert_eq!(
            data(&reply)["title"],
            Value::Null,
            "{query}: {}",
            reply.json
        );
    }
    assert_eq!(chat_requests(&fake), 1);

    // The deprecated alias answers the same way.
    fake.push_chat(FakeReply::text("'Tea Talk'"));
    let alias = app
        .post(
            &format!("/api/messaging/central-channels/{channel}/generate-title"),
            json!({"agentId": agent}),
        )
        .await;
    assert_eq!(alias.status, StatusCode::OK, "{}", alias.json);
    assert_eq!(data(&alias)["title"], "Tea Talk");
}

#[actix_web::test]
async fn model_failures_and_empty_titles_answer_500() {
    let fake = FakeOpenAi::start().await;
    let app = runtime_app(&fake).await;
    let agent = agent(&app, "Eliza", true).await;
    let user = user_id();
    let channel = channel(&app, &user, &agent).await;
    for minute in 0..4 {
        store_message(&app, &channel, &user, &format!("m{minute}"), minute).await;
    }
    let url = format!("/api/messaging/channels/{channel}/generate-title");

    fake.push_chat(FakeReply::status(400));
    let failed = app.post(&url, json!({"agentId": agent})).await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        failed.json
    );
    assert_eq!(failed.json["success"], false);
    assert_eq!(failed.json["error"], "Failed to summarize channel");
    assert!(
        failed.json["details"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        failed.json
    );

    // 1.7.2 would send no response at all here.
    fake.push_chat(FakeReply::text(" \"\" \n "));
    let empty = app.post(&url, json!({"agentId": agent})).await;
    assert_eq!(
        empty.json,
        json!({"success": false, "error": "Failed to summarize channel",
            "details": "The model returned an empty title"})
    );
    assert_eq!(empty.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[actix_web::test]
async fn generate_title_checks_the_channel_and_the_agent() {
    let fake = FakeOpenAi::start().await;
    let app = runtime_app(&fake).await;
    let running = agent(&app, "Eliza", true).await;
    let stopped = agent(&app, "Idle", false).await;
    let user = user_id();
    let channel = channel(&app, &user, &running).await;
    let url = format!("/api/messaging/channels/{channel}/generate-title");

    let cases = [
        (
            "/api/messaging/channels/not-a-uuid/generate-title".to_owned(),
            json!({"agentId": running}),
            400,
            "Invalid channel ID format",
        ),
        (url.clone(), json!({}), 400, "Valid agent ID is required"),
        (
            url.clone(),
            json!({"agentId": ""}),
            400,
            "Valid agent ID is required",
        ),
        (
            url.clone(),
            json!({"agentId": "zz"}),
            400,
            "Valid agent ID is required",
        ),
        (
            url.clone(),
            json!({"agentId": 7}),
            400,
            "Valid agent ID is required",
        ),
        (
            url.clone(),
            json!({"agentId": stopped}),
            404,
            "Agent not found or not active",
        ),
        (
            url.clone(),
            json!({"agentId": UNKNOWN}),
            404,
            "Agent not found or not active",
        ),
    ];
    for (path, body, status, error) in cases {
        let reply = app.post(&path, body).await;
        assert_error(&reply, status, error);
    }
    assert_eq!(chat_requests(&fake), 0);
}
