//! Agents that really answer: the runtime over a fake OpenAI-compatible server, driven through
//! the HTTP API and Socket.IO as the clients drive it.

use crate::messaging_fixture::{DEFAULT_SERVER, data, user_id};
use crate::support::{Reply, TestApp};
use crate::ws_client::{connected, emit, event_named, join, next_event_within, send, serve};
use actix_web::http::StatusCode;
use eliza_models::testing::{FakeOpenAi, FakeReply};
use serde_json::{Value, json};
use std::time::Duration;

async fn runtime_app(fake: &FakeOpenAi) -> TestApp {
    let base = fake.base_url();
    TestApp::with_runtime(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &base),
        ("OPENAI_EMBEDDING_DIMENSIONS", "384"),
    ])
    .await
}

fn answer(actions: &str, text: &str) -> String {
    format!(
        "<response><thought>Answering.</thought><actions>{actions}</actions><providers></providers><text>{text}</text></response>"
    )
}

async fn started_agent(app: &TestApp) -> String {
    app.started_agent(
        json!({"name": "Eliza", "bio": ["Likes tea."], "system": "You are Eliza.",
        "plugins": ["@elizaos/plugin-openai"]}),
    )
    .await
}

pub(crate) async fn channel(app: &TestApp, kind: &str, user: &str, agent: &str) -> String {
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "chat", "message_server_id": DEFAULT_SERVER,
                "participantCentralUserIds": [user, agent], "type": kind,
                "metadata": {"isDm": kind == "DM", "user1": user, "user2": agent, "forAgent": agent}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    data(&created)["id"].as_str().unwrap().to_owned()
}

/// Posts `content` from `user` to a DM with the `http` transport (the answer waits for the reply).
async fn ask_over_http(app: &TestApp, channel: &str, user: &str, content: &str) -> Reply {
    app.post(
        &format!("/api/messaging/channels/{channel}/messages"),
        json!({"author_id": user, "content": content, "message_server_id": DEFAULT_SERVER,
            "source_type": "client_chat", "transport": "http",
            "metadata": {"user_display_name": "Ada", "channelType": "DM", "isDm": true}}),
    )
    .await
}

fn chat_requests(fake: &FakeOpenAi) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .count()
}

/// Polls `path` until `done` holds for its `data`.
pub(crate) async fn eventually(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let reply = app.get(path).await;
        if reply.status == StatusCode::OK && done(data(&reply)) {
            return data(&reply).clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{path} never reached the expected state: {}",
        app.get(path).await.json
    );
}

#[actix_web::test]
async fn a_dm_over_http_is_answered_with_one_model_call_and_logged() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text(answer("REPLY", "Try a sencha.")));
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;

    let posted = ask_over_http(&app, &channel, &user, "Any tea ideas?").await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.json);
    assert_eq!(posted.json["agentResponse"]["text"], "Try a sencha.");
    assert_eq!(chat_requests(&fake), 1);

    // The reply is stored centrally, answering the user's message.
    let messages = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    let messages = data(&messages)["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["content"], "Try a sencha.");
    assert_eq!(messages[0]["authorId"], agent);
    assert_eq!(
        messages[0]["inReplyToRootMessageId"],
        posted.json["userMessage"]["id"]
    );

    // Logs and runs show the turn.
    let logs = eventually(
        &app,
        &format!("/api/agents/{agent}/logs?count=50"),
        |logs| {
            let types: Vec<&str> = logs
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|l| l["type"].as_str())
                .collect();
            types.contains(&"useModel:TEXT_LARGE")
                && types.contains(&"useModel:TEXT_EMBEDDING")
                && logs
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l["type"] == "run_event" && l["body"]["status"] == "completed")
        },
    )
    .await;
    let run_id = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["type"] == "run_event")
        .map(|l| l["body"]["runId"].as_str().unwrap().to_owned())
        .unwrap();
    let runs = app.get(&format!("/api/agents/{agent}/runs")).await;
    assert_eq!(runs.status, StatusCode::OK, "{}", runs.json);
    let run = &data(&runs)["runs"][0];
    assert_eq!(run["runId"], run_id);
    assert_eq!(run["status"], "completed");
    assert!(run["counts"]["modelCalls"].as_u64().unwrap() >= 1, "{run}");
    let detail = app.get(&format!("/api/agents/{agent}/runs/{run_id}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.json);
    let events: Vec<&str> = data(&detail)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(
        events.contains(&"RUN_STARTED") && events.contains(&"MODEL_USED"),
        "{events:?}"
    );
}

#[actix_web::test]
async fn a_group_message_not_addressed_to_the_agent_gets_no_reply() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text(
        "<response><name>Eliza</name><reasoning>For Bob.</reasoning><action>IGNORE</action></response>",
    ));
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "GROUP", &user, &agent).await;
    let posted = app
        .post(
            &format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": user, "content": "Bob, lunch?", "message_server_id": DEFAULT_SERVER,
                "source_type": "client_group_chat", "transport": "http"}),
        )
        .await;
    // The turn ends without an answer; the http transport says so instead of hanging.
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.json);
    assert!(
        posted.json.get("agentResponse").is_none_or(Value::is_null),
        "{}",
        posted.json
    );
    assert_eq!(chat_requests(&fake), 1);
    let messages = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(data(&messages)["messages"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_socket_dm_streams_chunks_then_broadcasts_the_reply_and_completes() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::chunks([
        "<response><thought>t</thought><actions>REPLY</actions><providers></providers><text>Hel",
        "lo th",
        "ere!</text></response>",
    ]));
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let streamed = socket_dm(&app, &user, &channel, &agent, "hi").await;
    assert_eq!(streamed.text, "Hello there!");
    assert_eq!(streamed.reply["text"], "Hello there!");
    assert!(streamed.chunks >= 2, "streamed in pieces");
}

/// What a client saw of one socket DM turn.
pub(crate) struct StreamedTurn {
    /// The `messageStreamChunk`s joined.
    pub text: String,
    pub chunks: usize,
    /// The agent's `messageBroadcast`.
    pub reply: Value,
}

/// Sends `message` to a DM over Socket.IO as the web UI does, and collects the stream chunks
/// and the reply broadcast; checks they share one id and that `messageComplete` follows.
pub(crate) async fn socket_dm(
    app: &TestApp,
    user: &str,
    channel: &str,
    agent: &str,
    message: &str,
) -> StreamedTurn {
    let mut server = serve(app);
    let mut conn = connected(&mut server, user).await;
    join(&mut conn, channel, user).await;
    let payload = json!({"senderId": user, "senderName": "Ada", "message": message, "channelId": channel,
        "roomId": channel, "messageServerId": DEFAULT_SERVER, "messageId": "tmp-1",
        "source": "client_chat", "attachments": [],
        "metadata": {"channelType": "DM", "isDm": true, "targetUserId": agent}});
    send(
        &mut conn,
        &emit("message", json!({"type": 2, "payload": payload})),
    )
    .await;

    // Up to a minute between events: a local model on a busy machine is slow to start.
    let wait = Duration::from_secs(60);
    let first = loop {
        let (name, body) = next_event_within(&mut conn, wait).await;
        if name == "messageStreamChunk" {
            break body;
        }
    };
    let mut text = first["chunk"].as_str().unwrap().to_owned();
    let mut chunks = 1;
    let reply = loop {
        let (name, body) = next_event_within(&mut conn, wait).await;
        match name.as_str() {
            "messageStreamChunk" => {
                assert_eq!(body["messageId"], first["messageId"]);
                text.push_str(body["chunk"].as_str().unwrap());
                chunks += 1;
            }
            "messageBroadcast" if body["senderId"] == agent => break body,
            _ => {}
        }
    };
    assert_eq!(reply["id"], first["messageId"]);
    let complete = event_named(&mut conn, "messageComplete").await;
    assert_eq!(complete["channelId"], channel);
    StreamedTurn {
        text,
        chunks,
        reply,
    }
}

#[actix_web::test]
async fn a_model_server_that_fails_ends_the_turn_with_a_visible_error() {
    let fake = FakeOpenAi::start().await;
    for _ in 0..4 {
        fake.push_chat(FakeReply::status(500));
    }
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let posted = app
        .post(
            &format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": user, "content": "hello?", "message_server_id": DEFAULT_SERVER,
                "source_type": "client_chat", "transport": "http"}),
        )
        .await;
    // The model server failed, so the gateway answer names it.
    assert_eq!(posted.status, StatusCode::BAD_GATEWAY, "{}", posted.json);
    let text = posted.json.to_string();
    assert!(
        text.contains("500"),
        "the client is told what failed: {text}"
    );
    let logs = eventually(
        &app,
        &format!("/api/agents/{agent}/logs?type=run_event"),
        |logs| {
            logs.as_array()
                .unwrap()
                .iter()
                .any(|l| l["body"]["status"] == "error")
        },
    )
    .await;
    let failed = logs
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["body"]["status"] == "error")
        .unwrap();
    assert!(failed["body"]["error"].as_str().unwrap().contains("500"));
}

#[actix_web::test]
async fn an_attached_image_is_described_before_the_agent_answers() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text("Title: A cat\nA grey cat asleep on a mat."));
    fake.push_chat(FakeReply::text(answer("REPLY", "What a sleepy cat.")));
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let posted = app
        .post(
            &format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": user, "content": "look", "message_server_id": DEFAULT_SERVER,
                "source_type": "client_chat", "transport": "http",
                "metadata": {"attachments": [{"url": "https://example.invalid/cat.png", "type": "image", "name": "cat.png"}]}}),
        )
        .await;
    assert_eq!(
        posted.json["agentResponse"]["text"], "What a sleepy cat.",
        "{}",
        posted.json
    );
    let chats: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .collect();
    assert_eq!(chats.len(), 2);
    assert_eq!(
        chats[0].body["messages"][0]["content"][1]["image_url"]["url"],
        "https://example.invalid/cat.png"
    );
    let prompt = chats[1].body["messages"].to_string();
    assert!(
        prompt.contains("A cat (https://example.invalid/cat.png)"),
        "{prompt}"
    );
}

#[actix_web::test]
async fn an_sse_post_streams_the_model_chunks_then_the_reply() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::chunks([
        "<response><thought>t</thought><actions>REPLY</actions><providers></providers><text>Green ",
        "tea, ",
        "then oolong.</text></response>",
    ]));
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let posted = app
        .post(
            &format!("/api/messaging/channels/{channel}/messages"),
            json!({"author_id": user, "content": "tea?", "message_server_id": DEFAULT_SERVER,
                "source_type": "client_chat", "transport": "sse"}),
        )
        .await;
    let body = posted.json.as_str().expect("an event stream").to_owned();
    let events: Vec<(String, Value)> = body
        .split("\n\n")
        .filter_map(|frame| {
            let event = frame.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = frame.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((event.to_owned(), serde_json::from_str(data).ok()?))
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names.first(), Some(&"user_message"), "{body}");
    assert_eq!(names.last(), Some(&"done"), "{body}");
    let chunks: String = events
        .iter()
        .filter(|(name, _)| name == "chunk")
        .map(|(_, data)| data["chunk"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(chunks, "Green tea, then oolong.");
    let done = &events.last().unwrap().1;
    assert_eq!(done["text"], "Green tea, then oolong.");
    let chunk_id = &events.iter().find(|(name, _)| name == "chunk").unwrap().1["messageId"];
    assert_eq!(&done["responseId"], chunk_id);
}

#[actix_web::test]
async fn a_declined_message_ends_sse_posts_and_jobs_at_once() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text(
        "<response><name>Eliza</name><reasoning>For Bob.</reasoning><action>IGNORE</action></response>",
    ));
    fake.push_chat(FakeReply::text(answer("IGNORE", "")));
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let group = channel(&app, "GROUP", &user, &agent).await;
    let posted = app
        .post(
            &format!("/api/messaging/channels/{group}/messages"),
            json!({"author_id": user, "content": "Bob?", "message_server_id": DEFAULT_SERVER,
                "source_type": "client_group_chat", "transport": "sse"}),
        )
        .await;
    let body = posted.json.as_str().expect("an event stream").to_owned();
    assert!(body.contains("event: done"), "{body}");
    assert!(body.contains(r#""actions":["IGNORE"]"#), "{body}");

    let created = app
        .post(
            "/api/messaging/jobs",
            json!({"userId": user, "agentId": agent, "content": "never mind"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let job = created.json["jobId"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let reply = app.get(&format!("/api/messaging/jobs/{job}")).await;
        if reply.json["status"] == "failed" {
            assert!(
                reply.json["error"]
                    .as_str()
                    .unwrap()
                    .contains("chose not to reply"),
                "{}",
                reply.json
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the job did not fail when the agent declined");
}

#[actix_web::test]
async fn deleted_messages_leave_no_memory_behind_even_for_a_stopped_agent() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text(answer("REPLY", "Try a sencha.")));
    let app = runtime_app(&fake).await;
    let agent = started_agent(&app).await;
    let user = user_id();
    let channel = channel(&app, "DM", &user, &agent).await;
    let posted = ask_over_http(&app, &channel, &user, "Any tea ideas?").await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.json);
    let memories = format!("/api/memory/{agent}/memories");
    eventually(&app, &memories, |data| {
        data["memories"].as_array().unwrap().len() == 2
    })
    .await;

    // The agent's own reply, deleted in the channel, goes from its memory too.
    let reply_id = posted.json["agentResponse"]["responseId"].as_str().unwrap();
    let deleted = app
        .delete(&format!(
            "/api/messaging/channels/{channel}/messages/{reply_id}"
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.json);
    let left = eventually(&app, &memories, |data| {
        data["memories"].as_array().unwrap().len() == 1
    })
    .await;
    assert_eq!(left["memories"][0]["content"]["text"], "Any tea ideas?");

    // A stopped agent is not told, but its copy of a deleted message goes all the same.
    assert_eq!(
        app.post(&format!("/api/agents/{agent}/stop"), json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let user_message = posted.json["userMessage"]["id"].as_str().unwrap();
    let deleted = app
        .delete(&format!(
            "/api/messaging/channels/{channel}/messages/{user_message}"
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let query = eliza_domain::memory::MemoryQuery {
        table: "messages".into(),
        agent_id: Some(eliza_domain::AgentId::parse(&agent).unwrap()),
        ..Default::default()
    };
    assert!(
        app.state
            .store
            .list_memories(&query)
            .await
            .unwrap()
            .is_empty()
    );
}
