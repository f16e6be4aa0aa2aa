//! Agents on the built-in local model (SmolLM2-135M + all-MiniLM-L6-v2, real files from the
//! test model cache): with no provider configured an agent answers offline, through the compact
//! prompts, and says which provider serves it.

use crate::agent_runtime::{channel, eventually, socket_dm};
use crate::messaging_fixture::{DEFAULT_SERVER, data, user_id};
use crate::support::{Reply, TestApp};
use actix_web::http::StatusCode;
use eliza_models::testing::fetch_test_models;
use serde_json::json;

/// The local model files, fetched into the shared test cache once.
async fn ensure_models() {
    fetch_test_models().await;
}

async fn local_agent(app: &TestApp) -> String {
    app.started_agent(
        json!({"name": "Eliza", "bio": ["A friendly assistant who keeps answers short."],
        "system": "You are Eliza, a friendly and concise assistant.",
        "plugins": ["@elizaos/plugin-sql", "@elizaos/plugin-bootstrap"]}),
    )
    .await
}

/// Posts `content` from `user` to a DM and waits for the agent's reply (`transport: "http"`).
async fn post_dm(app: &TestApp, channel: &str, user: &str, content: &str) -> Reply {
    app.post(
        &format!("/api/messaging/channels/{channel}/messages"),
        json!({"author_id": user, "content": content, "message_server_id": DEFAULT_SERVER,
            "source_type": "client_chat", "transport": "http",
            "metadata": {"user_display_name": "Ada", "channelType": "DM", "isDm": true}}),
    )
    .await
}

#[actix_web::test]
async fn with_no_provider_configured_a_dm_is_answered_by_the_local_model() {
    ensure_models().await;
    let app = TestApp::with_runtime(&[]).await;
    let agent = local_agent(&app).await;

    let config = app.get("/api/system/config").await;
    let providers = &data(&config)["modelProviders"][0];
    assert_eq!(providers["agentId"], agent);
    assert_eq!(providers["models"]["TEXT_LARGE"], "local");
    assert_eq!(providers["models"]["TEXT_SMALL"], "local");
    assert_eq!(providers["models"]["TEXT_EMBEDDING"], "local");

    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let posted = post_dm(&app, &channel, &user, "Hi! Who are you?").await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.json);
    let reply = posted.json["agentResponse"]["text"].as_str().unwrap_or("");
    assert!(reply.trim().len() > 1, "{}", posted.json);
    for leaked in ["<|im_", "<|endoftext|>", "<text>", "</text>", "<response>"] {
        assert!(!reply.contains(leaked), "{reply:?}");
    }
    assert_eq!(
        posted.json["agentResponse"]["actions"],
        json!(["REPLY"]),
        "{}",
        posted.json
    );

    // The compact prompt went to the local provider, and the message was embedded locally.
    let logs = eventually(
        &app,
        &format!("/api/agents/{agent}/logs?count=50"),
        |logs| {
            logs.as_array()
                .unwrap()
                .iter()
                .any(|l| l["type"] == "useModel:TEXT_EMBEDDING" && l["body"]["error"].is_null())
        },
    )
    .await;
    let large = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["type"] == "useModel:TEXT_LARGE")
        .unwrap();
    assert_eq!(large["body"]["provider"], "local");
    assert_eq!(large["body"]["prompt"], "Hi! Who are you?");
    let system = large["body"]["systemPrompt"].as_str().unwrap();
    assert!(system.contains("You are Eliza."), "{system}");
    assert!(
        !system.contains("Conversation so far"),
        "no history yet: {system}"
    );

    // The next turn carries the conversation in its system message.
    let second = post_dm(&app, &channel, &user, "Nice to meet you.").await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.json);
    let logs = app
        .get(&format!(
            "/api/agents/{agent}/logs?count=50&type=useModel:TEXT_LARGE"
        ))
        .await;
    let system = data(&logs)
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["body"]["systemPrompt"].as_str())
        .find(|s| s.contains("Conversation so far"))
        .unwrap_or_default()
        .to_owned();
    assert!(system.contains("Ada: Hi! Who are you?"), "{system}");
    assert!(
        system.contains(&format!("Eliza: {}", reply.trim())),
        "{system}"
    );
    assert!(system.len() < 1500, "compact: {} bytes", system.len());
}

#[actix_web::test]
async fn an_agent_whose_model_files_are_missing_reports_what_to_run() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_string_lossy().into_owned();
    let app = TestApp::with_runtime(&[("ELIZA_MODELS_DIR", dir.as_str())]).await;
    let agent = local_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let posted = post_dm(&app, &channel, &user, "Hello?").await;
    assert_eq!(posted.status, StatusCode::BAD_GATEWAY, "{}", posted.json);
    assert!(
        posted
            .json
            .to_string()
            .contains("eliza-server models fetch"),
        "{}",
        posted.json
    );
}

#[actix_web::test]
async fn in_a_group_the_local_agent_answers_only_when_named() {
    ensure_models().await;
    let app = TestApp::with_runtime(&[]).await;
    let agent = local_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "GROUP", &user, &agent).await;
    let path = format!("/api/messaging/channels/{channel}/messages");
    let post = |content: &'static str| {
        app.post(
            &path,
            json!({"author_id": user, "content": content, "message_server_id": DEFAULT_SERVER,
                "source_type": "client_group_chat", "transport": "http"}),
        )
    };
    let unnamed = post("Bob, lunch at noon?").await;
    assert_eq!(unnamed.status, StatusCode::CREATED, "{}", unnamed.json);
    assert!(
        unnamed
            .json
            .get("agentResponse")
            .is_none_or(|r| r.is_null()),
        "{}",
        unnamed.json
    );
    let named = post("Eliza, say hello to everyone.").await;
    assert_eq!(named.status, StatusCode::CREATED, "{}", named.json);
    let reply = named.json["agentResponse"]["text"].as_str().unwrap_or("");
    assert!(!reply.trim().is_empty(), "{}", named.json);

    // The small model was never asked whether to answer.
    let small = app
        .get(&format!(
            "/api/agents/{agent}/logs?count=50&type=useModel:TEXT_SMALL"
        ))
        .await;
    assert_eq!(
        data(&small).as_array().map(Vec::len),
        Some(0),
        "{}",
        small.json
    );
}

#[actix_web::test]
async fn a_socket_dm_streams_the_local_reply_as_it_is_written() {
    ensure_models().await;
    let app = TestApp::with_runtime(&[]).await;
    let agent = local_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let streamed = socket_dm(&app, &user, &channel, &agent, "Tell me about your day.").await;
    let reply = streamed.reply["text"].as_str().unwrap();
    assert!(!reply.trim().is_empty());
    assert!(
        streamed.chunks > 3,
        "token by token: {} chunks",
        streamed.chunks
    );
    // The frame's opening is not part of the text the client sees.
    assert!(!streamed.text.contains('<'), "{:?}", streamed.text);
    assert_eq!(streamed.text.trim(), reply.trim());
}

#[actix_web::test]
async fn memory_search_on_the_local_embedder_finds_by_meaning() {
    use crate::memory_fixture::{remember, room, texts};
    ensure_models().await;
    let app = TestApp::with_runtime(&[]).await;
    let agent = eliza_domain::AgentId::parse(&local_agent(&app).await).unwrap();
    let runtime = app.state.runtimes.as_ref().unwrap().runtime(agent).unwrap();
    let room_id = eliza_domain::RoomId::new_random();
    room(&app, agent, room_id, None).await;
    let notes = [
        "My car broke down on the motorway.",
        "I drink a cup of green tea every afternoon.",
        "The stock market fell sharply today.",
    ];
    for (i, note) in notes.iter().enumerate() {
        let vector = runtime.embed(note, Some(room_id)).await.unwrap();
        remember(
            &app,
            agent,
            room_id,
            "messages",
            note,
            i as i64,
            Some(vector),
        )
        .await;
    }
    let reply = app
        .post(
            &format!("/api/memory/agents/{agent}/search"),
            json!({"query": "a hot beverage", "limit": 3}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let found = texts(&reply.json["data"]["memories"]);
    assert_eq!(found[0], notes[1], "{}", reply.json);
}
