//! `/api/messaging/jobs` (API spec §2.3.5): jobs complete with the agent's reply (the 1.7.2 bug is
//! fixed), time out when no reply comes, and every validation error has its 1.7.2 text.

use crate::messaging_fixture::{MessagingApp, UnreachableRecords, echo_of, user_id};
use crate::support::{Reply, TestApp};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Utc;
use eliza_bus::cluster::MemoryHub;
use eliza_bus::{AgentOutbox, AgentWork, NewMessage};
use eliza_domain::MessageId;
use eliza_domain::cluster::NodeId;
use eliza_domain::ids::DEFAULT_SERVER_ID;
use eliza_domain::messaging::CentralMessage;
use eliza_domain::messaging::ChannelType;
use eliza_domain::{AgentId, MessageServerId};
use eliza_http::jobs::{JobRegistry, NewJob, TIMEOUT_ERROR};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const JOBS: &str = "/api/messaging/jobs";

fn assert_error(reply: &Reply, status: StatusCode, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(
        reply.json,
        json!({"success": false, "error": message}),
        "{message}"
    );
}

/// Creates a job and checks the 201 answer; returns it.
async fn create(app: &MessagingApp, body: Value) -> Value {
    let reply = app.post(JOBS, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let keys: Vec<&str> = reply
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["jobId", "status", "createdAt", "expiresAt"]);
    assert_eq!(reply.json["status"], json!("processing"));
    reply.json
}

fn job_id(created: &Value) -> &str {
    created["jobId"].as_str().unwrap()
}

/// Polls the job until it has `status` (a bounded wait: `attempts` × 20 ms).
async fn wait_for(app: &MessagingApp, job_id: &str, status: &str, attempts: u32) -> Value {
    let mut last = Value::Null;
    for _ in 0..attempts {
        let reply = app.get(&format!("{JOBS}/{job_id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        if reply.json["status"] == json!(status) {
            return reply.json;
        }
        last = reply.json;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job_id} never reached {status}: {last}");
}

/// An app with one running echo agent named "Echo".
async fn app_with_echo() -> (MessagingApp, AgentId) {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Echo").await;
    (app, agent)
}

/// Asks `agent` and waits until the job is completed; returns the job id.
async fn completed_job(app: &MessagingApp, agent: AgentId, content: &str) -> String {
    let created = create(
        app,
        json!({"userId": user_id(), "agentId": agent, "content": content}),
    )
    .await;
    wait_for(app, job_id(&created), "completed", 100).await;
    job_id(&created).to_owned()
}

/// An agent that is started but that nothing answers for.
async fn silent_agent(app: &MessagingApp, name: &str) -> AgentId {
    let id = app.stopped_agent(name).await;
    let started = app
        .post(&format!("/api/agents/{id}/start"), json!({}))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.json);
    id
}

#[actix_web::test]
async fn a_job_completes_with_the_agents_reply() {
    let (app, agent) = app_with_echo().await;
    let user = user_id();
    let created = create(
        &app,
        json!({"userId": user, "agentId": agent, "content": "what is rust?", "metadata": {"topic": "lang"}}),
    )
    .await;
    let created_at = created["createdAt"].as_i64().unwrap();
    assert_eq!(created["expiresAt"].as_i64().unwrap(), created_at + 30_000);

    let job = wait_for(&app, job_id(&created), "completed", 100).await;
    assert_eq!(job["jobId"], created["jobId"]);
    assert_eq!(job["agentId"], json!(agent));
    assert_eq!(job["userId"], json!(user));
    assert_eq!(job["prompt"], json!("what is rust?"));
    assert_eq!(job["createdAt"], json!(created_at));
    assert_eq!(job["metadata"], json!({"topic": "lang"}));
    assert!(job.get("error").is_none(), "{job}");
    let result = &job["result"];
    assert_eq!(
        result["message"]["content"],
        json!(echo_of("what is rust?"))
    );
    assert_eq!(result["message"]["authorId"], json!(agent));
    assert!(result["message"]["id"].as_str().is_some(), "{job}");
    assert!(result["message"]["createdAt"].as_i64().unwrap() >= created_at);
    assert_eq!(result["message"]["metadata"]["agentName"], json!("Echo"));
    let processing = result["processingTimeMs"].as_i64().unwrap();
    assert!((0..2_000).contains(&processing), "{job}");
}

#[actix_web::test]
async fn the_job_channel_and_question_are_stored() {
    let (app, agent) = app_with_echo().await;
    let user = user_id();
    let created = create(
        &app,
        json!({"userId": user, "agentId": agent, "content": "hi", "metadata": {"topic": "t"}}),
    )
    .await;
    let id = job_id(&created);
    wait_for(&app, id, "completed", 100).await;

    let channels = app
        .state
        .store
        .list_server_channels(MessageServerId(DEFAULT_SERVER_ID))
        .await
        .unwrap();
    let channel = channels
        .iter()
        .find(|channel| channel.name == format!("job-{id}"))
        .expect("job channel");
    assert_eq!(channel.channel_type, ChannelType::Dm);
    assert_eq!(
        channel.metadata,
        Some(
            json!({"jobId": id, "agentId": agent, "userId": user, "isJobChannel": true, "topic": "t"})
        )
    );
    let participants = app
        .state
        .store
        .list_channel_participants(channel.id)
        .await
        .unwrap();
    assert_eq!(participants, [agent.to_string()]);

    let page = eliza_domain::messaging::MessagePage {
        before: None,
        limit: 10,
    };
    let messages = app
        .state
        .store
        .list_channel_messages(channel.id, page)
        .await
        .unwrap();
    let question = messages
        .iter()
        .find(|message| message.author_id == user)
        .expect("question");
    assert_eq!(question.content, "hi");
    assert_eq!(question.source_type.as_deref(), Some("job_request"));
    assert_eq!(question.raw_message, Some(json!({"content": "hi"})));
    assert_eq!(
        question.metadata,
        Some(json!({"jobId": id, "isJobMessage": true, "topic": "t"}))
    );
    assert!(
        messages
            .iter()
            .any(|message| message.content == echo_of("hi")
                && message.in_reply_to_root_message_id == Some(question.id))
    );
}

#[actix_web::test]
async fn a_deleted_default_server_is_recreated_for_the_job_channel() {
    let (app, agent) = app_with_echo().await;
    let default = MessageServerId(DEFAULT_SERVER_ID);
    assert!(
        app.state
            .store
            .delete_message_server(default)
            .await
            .unwrap()
    );
    let id = completed_job(&app, agent, "still there?").await;
    let channels = app.state.store.list_server_channels(default).await.unwrap();
    assert!(
        channels
            .iter()
            .any(|channel| channel.name == format!("job-{id}")),
        "the job channel is on the recreated default server"
    );
}

#[actix_web::test]
async fn without_agent_id_the_running_agent_is_asked() {
    let (app, agent) = app_with_echo().await;
    let created = create(&app, json!({"userId": user_id(), "content": "ping"})).await;
    let job = wait_for(&app, job_id(&created), "completed", 100).await;
    assert_eq!(job["agentId"], json!(agent));
    assert_eq!(job["metadata"], json!({}));
    assert_eq!(job["result"]["message"]["content"], json!(echo_of("ping")));

    // An empty agentId means "any agent" too (1.7.2 tests it for truthiness).
    let created = create(
        &app,
        json!({"userId": user_id(), "content": "pong", "agentId": ""}),
    )
    .await;
    let job = wait_for(&app, job_id(&created), "completed", 100).await;
    assert_eq!(job["agentId"], json!(agent));
}

#[actix_web::test]
async fn a_job_nobody_answers_times_out() {
    let app = MessagingApp::new().await;
    let agent = silent_agent(&app, "Silent").await;
    let created = create(
        &app,
        json!({"userId": user_id(), "agentId": agent, "content": "anyone?", "timeoutMs": 1000}),
    )
    .await;
    assert_eq!(
        created["expiresAt"].as_i64().unwrap(),
        created["createdAt"].as_i64().unwrap() + 1_000
    );
    let still = app.get(&format!("{JOBS}/{}", job_id(&created))).await;
    assert_eq!(still.json["status"], json!("processing"));

    let job = wait_for(&app, job_id(&created), "timeout", 150).await;
    assert_eq!(job["error"], json!(TIMEOUT_ERROR));
    assert!(job.get("result").is_none(), "{job}");

    let health = app.get(&format!("{JOBS}/health")).await;
    assert_eq!(health.json["statusCounts"]["timeout"], json!(1));
    assert_eq!(health.json["metrics"]["timeoutRate"], json!(1));
    assert_eq!(health.json["metrics"]["successRate"], json!(0));
}

#[actix_web::test]
async fn a_poll_after_the_expiry_reports_a_timeout_at_once() {
    let app = MessagingApp::new().await;
    let agent = silent_agent(&app, "Silent").await;
    // A job whose waiting task is not due yet, but whose expiry has passed.
    let now = chrono::Utc::now().timestamp_millis();
    let job = app
        .state
        .jobs
        .create(
            NewJob {
                id: uuid::Uuid::new_v4(),
                agent_id: agent,
                user_id: user_id(),
                channel_id: eliza_domain::ChannelId::new_random(),
                prompt: "old".to_owned(),
                metadata: json!({}),
                timeout_ms: 1_000,
            },
            now - 5_000,
        )
        .await
        .unwrap();
    app.state.jobs.start_processing(job.id).await.unwrap();

    let reply = app.get(&format!("{JOBS}/{}", job.id)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["status"], json!("timeout"));
    assert_eq!(reply.json["error"], json!(TIMEOUT_ERROR));

    // A late answer does not bring it back.
    let reply_message = eliza_http::jobs::JobReply {
        id: eliza_domain::MessageId::new_random(),
        content: "late".to_owned(),
        author_id: agent.to_string(),
        created_at: now,
        metadata: None,
    };
    app.state
        .jobs
        .complete(job.id, reply_message, now)
        .await
        .unwrap();
    let reply = app.get(&format!("{JOBS}/{}", job.id)).await;
    assert_eq!(reply.json["status"], json!("timeout"));
    assert!(reply.json.get("result").is_none());
}

#[actix_web::test]
async fn action_notices_are_not_the_answer() {
    let app = MessagingApp::new().await;
    let agent = silent_agent(&app, "Actor").await;
    // Play the agent by hand: take its inbox and answer through the outbox.
    let mut inbox = app.inboxes.open(agent);
    let outbox: Arc<dyn AgentOutbox> = Arc::new(app.state.messaging.clone());
    let created = create(
        &app,
        json!({"userId": user_id(), "agentId": agent, "content": "do it"}),
    )
    .await;
    let delivery = tokio::time::timeout(Duration::from_secs(2), inbox.recv())
        .await
        .unwrap()
        .unwrap();
    let AgentWork::Message { message, .. } = delivery.work().clone() else {
        panic!("expected a message");
    };
    delivery.ack();
    let answer = |content: &str, author: String| NewMessage {
        id: None,
        channel_id: message.channel_id,
        message_server_id: message.message_server_id,
        author_id: author,
        content: content.to_owned(),
        raw_message: json!({"text": content}),
        source_type: "agent_response".to_owned(),
        source_id: None,
        in_reply_to: Some(message.id),
        metadata: None,
    };
    outbox
        .submit(answer("Executing action: SEARCH", agent.to_string()))
        .await
        .unwrap();
    outbox
        .submit(answer("I am not the agent", user_id()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pending = app.get(&format!("{JOBS}/{}", job_id(&created))).await;
    assert_eq!(
        pending.json["status"],
        json!("processing"),
        "{}",
        pending.json
    );

    outbox
        .submit(answer("found it", agent.to_string()))
        .await
        .unwrap();
    let job = wait_for(&app, job_id(&created), "completed", 100).await;
    assert_eq!(job["result"]["message"]["content"], json!("found it"));
}

#[actix_web::test]
async fn list_filters_by_status_and_limits() {
    let (app, echo) = app_with_echo().await;
    let silent = silent_agent(&app, "Silent").await;
    let mut done = Vec::new();
    for text in ["one", "two"] {
        done.push(completed_job(&app, echo, text).await);
    }
    let waiting = create(
        &app,
        json!({"userId": user_id(), "agentId": silent, "content": "three"}),
    )
    .await;

    let all = app.get(JOBS).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.json["total"], json!(3));
    assert_eq!(all.json["filtered"], json!(3));
    let ids: Vec<&str> = all.json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["jobId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [job_id(&waiting), &done[1], &done[0]], "newest first");

    let completed = app.get(&format!("{JOBS}?status=completed")).await;
    assert_eq!(completed.json["total"], json!(3));
    assert_eq!(completed.json["filtered"], json!(2));
    assert!(
        completed.json["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|job| job["status"] == json!("completed")
                && job["result"]["message"]["content"].is_string())
    );

    let processing = app.get(&format!("{JOBS}?status=processing")).await;
    assert_eq!(processing.json["filtered"], json!(1));
    assert_eq!(processing.json["jobs"][0]["jobId"], waiting["jobId"]);
    assert_eq!(processing.json["jobs"][0]["prompt"], json!("three"));

    let limited = app.get(&format!("{JOBS}?limit=1")).await;
    assert_eq!(limited.json["filtered"], json!(1));
    assert_eq!(limited.json["jobs"][0]["jobId"], waiting["jobId"]);

    let both = app.get(&format!("{JOBS}?status=completed&limit=1")).await;
    assert_eq!(both.json["filtered"], json!(1));
    assert_eq!(both.json["jobs"][0]["jobId"], json!(done[1]));

    // Unknown statuses and unreadable limits are ignored, as in 1.7.2.
    let lenient = app.get(&format!("{JOBS}?status=bogus&limit=abc")).await;
    assert_eq!(lenient.status, StatusCode::OK);
    assert_eq!(lenient.json["filtered"], json!(3));
}

#[actix_web::test]
async fn health_counts_jobs_and_rates() {
    let app = MessagingApp::new().await;
    let empty = app.get(&format!("{JOBS}/health")).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.json["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    let mut expected = empty.json.clone();
    expected["timestamp"] = json!(0);
    assert_eq!(
        expected,
        json!({"healthy": true, "timestamp": 0, "totalJobs": 0,
               "statusCounts": {"pending": 0, "processing": 0, "completed": 0, "failed": 0, "timeout": 0},
               "metrics": {"averageProcessingTimeMs": 0, "successRate": 0, "failureRate": 0, "timeoutRate": 0},
               "maxJobs": 10000})
    );

    let echo = app.echo_agent("Echo").await;
    let silent = silent_agent(&app, "Silent").await;
    for text in ["a", "b"] {
        completed_job(&app, echo, text).await;
    }
    create(
        &app,
        json!({"userId": user_id(), "agentId": silent, "content": "c"}),
    )
    .await;

    let health = app.get(&format!("{JOBS}/health")).await;
    assert_eq!(health.json["healthy"], json!(true));
    assert_eq!(health.json["totalJobs"], json!(3));
    assert_eq!(
        health.json["statusCounts"],
        json!({"pending": 0, "processing": 1, "completed": 2, "failed": 0, "timeout": 0})
    );
    let metrics = &health.json["metrics"];
    assert_eq!(metrics["successRate"], json!(1));
    assert_eq!(metrics["failureRate"], json!(0));
    assert_eq!(metrics["timeoutRate"], json!(0));
    assert!(
        metrics["averageProcessingTimeMs"].as_i64().is_some(),
        "{metrics}"
    );
    assert_eq!(health.json["maxJobs"], json!(10000));
}

#[actix_web::test]
async fn unknown_jobs_are_404() {
    let app = MessagingApp::new().await;
    for id in ["0b2f7e7c-5a8e-4d43-9a39-3f5f1f1f2b44", "not-a-uuid"] {
        let reply = app.get(&format!("{JOBS}/{id}")).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "Job not found");
    }
}

#[actix_web::test]
async fn agents_must_exist_and_run() {
    let app = MessagingApp::new().await;
    let reply = app
        .post(JOBS, json!({"userId": user_id(), "content": "hi"}))
        .await;
    assert_error(
        &reply,
        StatusCode::NOT_FOUND,
        "No agents available on server",
    );

    let unknown = "11111111-2222-3333-4444-555555555555";
    let reply = app
        .post(
            JOBS,
            json!({"userId": user_id(), "content": "hi", "agentId": unknown}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::NOT_FOUND,
        &format!("Agent {unknown} not found"),
    );

    let stopped = app.stopped_agent("Sleepy").await;
    let reply = app
        .post(
            JOBS,
            json!({"userId": user_id(), "content": "hi", "agentId": stopped}),
        )
        .await;
    assert_error(
        &reply,
        StatusCode::NOT_FOUND,
        &format!("Agent {stopped} is not running"),
    );

    // A stopped agent is not "the first running agent" either.
    let reply = app
        .post(JOBS, json!({"userId": user_id(), "content": "hi"}))
        .await;
    assert_error(
        &reply,
        StatusCode::NOT_FOUND,
        "No agents available on server",
    );
    let health = app.get(&format!("{JOBS}/health")).await;
    assert_eq!(
        health.json["totalJobs"],
        json!(0),
        "rejected jobs are not kept"
    );
}

#[actix_web::test]
async fn every_validation_error_has_its_text() {
    let (app, agent) = app_with_echo().await;
    let user = user_id();
    let cases = [
        (json!([1, 2]), "Request body must be an object"),
        (json!("text"), "Request body must be an object"),
        (
            json!({"userId": user, "content": "x", "agentId": 42}),
            "agentId must be a valid UUID string",
        ),
        (
            json!({"userId": user, "content": "x", "agentId": null}),
            "agentId must be a valid UUID string",
        ),
        (
            json!({"content": "x"}),
            "userId is required and must be a valid UUID string",
        ),
        (
            json!({"userId": 7, "content": "x"}),
            "userId is required and must be a valid UUID string",
        ),
        (
            json!({"userId": user}),
            "content is required and must be a string",
        ),
        (
            json!({"userId": user, "content": ["x"]}),
            "content is required and must be a string",
        ),
        (
            json!({"userId": user, "content": ""}),
            "content cannot be empty",
        ),
        (
            json!({"userId": user, "content": "x".repeat(50_001)}),
            "content exceeds maximum length of 50000 characters",
        ),
        (
            json!({"userId": user, "content": "x", "metadata": "m"}),
            "metadata must be an object",
        ),
        (
            json!({"userId": user, "content": "x", "metadata": null}),
            "metadata must be an object",
        ),
        (
            json!({"userId": user, "content": "x", "metadata": ["a"]}),
            "metadata must be an object",
        ),
        (
            json!({"userId": user, "content": "x", "metadata": {"big": "m".repeat(10_000)}}),
            "metadata exceeds maximum size of 10000 bytes",
        ),
        (
            json!({"userId": user, "content": "x", "timeoutMs": "5000"}),
            "timeoutMs must be a positive number",
        ),
        (
            json!({"userId": user, "content": "x", "timeoutMs": -5}),
            "timeoutMs must be a positive number",
        ),
        (
            json!({"userId": user, "content": "x", "timeoutMs": 999}),
            "timeoutMs must be at least 1000ms",
        ),
        (
            json!({"userId": user, "content": "x", "timeoutMs": 300_001}),
            "timeoutMs cannot exceed 300000ms",
        ),
        (
            json!({"userId": "someone", "content": "x"}),
            "Invalid userId format (must be valid UUID)",
        ),
        (
            json!({"userId": user, "content": "x", "agentId": "agent-1"}),
            "Invalid agentId format (must be valid UUID)",
        ),
    ];
    for (body, message) in cases {
        let reply = app.post(JOBS, body).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, message);
    }

    // No body at all reads as `{}`.
    let empty = app.call(TestRequest::post().uri(JOBS)).await;
    assert_error(
        &empty,
        StatusCode::BAD_REQUEST,
        "userId is required and must be a valid UUID string",
    );
    // Malformed JSON is a 400 (family E), never a 500.
    let malformed = app
        .call(
            TestRequest::post()
                .uri(JOBS)
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"userId\":"),
        )
        .await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.json
    );
    assert_eq!(malformed.json["error"]["code"], json!(400));

    // The bounds themselves are accepted.
    for timeout in [1000, 300_000] {
        create(
            &app,
            json!({"userId": user, "agentId": agent, "content": "x", "timeoutMs": timeout}),
        )
        .await;
    }
    let health = app.get(&format!("{JOBS}/health")).await;
    assert_eq!(
        health.json["totalJobs"],
        json!(2),
        "only valid jobs are kept"
    );
}

/// The jobs' database is out of reach (a cluster node cut off): every route answers 503, and a
/// refused job leaves no channel behind.
#[actix_web::test]
async fn jobs_answer_503_while_their_database_is_out_of_reach() {
    let (mut app, agent) = app_with_echo().await;
    app.app.state.jobs = Arc::new(JobRegistry::with_records(
        Arc::new(UnreachableRecords),
        10,
        60_000,
    ));
    let unavailable = StatusCode::SERVICE_UNAVAILABLE;
    let reply = app
        .post(
            JOBS,
            json!({"agentId": agent, "userId": user_id(), "content": "hello?"}),
        )
        .await;
    assert_error(&reply, unavailable, "Database not available");
    let server = MessageServerId(DEFAULT_SERVER_ID);
    let channels = app.state.store.list_server_channels(server).await.unwrap();
    assert!(channels.is_empty(), "{channels:?}");
    let known_id = "0b2f7e7c-5a8e-4d43-9a39-3f5f1f1f2b44";
    for path in [
        JOBS.to_owned(),
        format!("{JOBS}/health"),
        format!("{JOBS}/{known_id}"),
    ] {
        assert_error(&app.get(&path).await, unavailable, "Database not available");
    }
}

/// In a cluster the node that created a job may die before the answer comes: whichever node is
/// polled then finds the agent's stored answer and completes the job. Here the answer is stored
/// without a bus event, so the waiting task never hears it and only the poll can see it.
#[actix_web::test]
async fn a_cluster_node_polling_a_job_finds_the_stored_answer() {
    let hub = MemoryHub::default();
    let app = TestApp::clustered(&hub, NodeId::new_random()).await;
    let agent = app.start_agent("Quiet").await.id.to_string();
    let reply = app
        .post(
            JOBS,
            json!({"agentId": agent, "userId": user_id(), "content": "anyone?", "timeoutMs": 60_000}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let id = job_id(&reply.json).to_owned();
    let polled = app.get(&format!("{JOBS}/{id}")).await;
    assert_eq!(
        polled.json["status"],
        json!("processing"),
        "{}",
        polled.json
    );

    let job = app
        .state
        .jobs
        .get(id.parse().unwrap(), Utc::now().timestamp_millis())
        .await
        .unwrap()
        .unwrap();
    let question = job.user_message_id.expect("the question is recorded");
    let at = Utc::now();
    let notice_then_answer = ["Executing action: REPLY", "stored answer"];
    for (offset, content) in notice_then_answer.into_iter().enumerate() {
        let at = at + chrono::TimeDelta::milliseconds(offset as i64);
        let answer = CentralMessage {
            id: MessageId::new_random(),
            channel_id: job.channel_id,
            author_id: agent.clone(),
            content: content.to_owned(),
            raw_message: None,
            source_type: Some("agent_response".to_owned()),
            source_id: None,
            metadata: Some(json!({"agentName": "Quiet"})),
            in_reply_to_root_message_id: Some(question),
            created_at: at,
            updated_at: at,
        };
        app.state.store.create_message(&answer).await.unwrap();
    }

    let done = app.get(&format!("{JOBS}/{id}")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json);
    assert_eq!(done.json["status"], json!("completed"), "{}", done.json);
    assert_eq!(
        done.json["result"]["message"]["content"],
        json!("stored answer")
    );
    assert_eq!(
        done.json["result"]["message"]["metadata"]["agentName"],
        json!("Quiet")
    );
}
