//! `/api/messaging/sessions`: every route's success shape and every error path, with the echo
//! agent of the messaging fixture answering through the real messaging service. Expiry and
//! renewal timing is covered by the unit tests of `eliza_http::sessions` (injected clocks); here
//! expired sessions are planted in the registry directly.

use crate::messaging_fixture::{MessagingApp, UnreachableRecords, echo_of, user_id};
use crate::support::Reply;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::{DateTime, TimeDelta, Utc};
use eliza_domain::ids::DEFAULT_SERVER_ID;
use eliza_domain::messaging::CentralMessage;
use eliza_domain::{AgentId, ChannelId, MessageId, MessageServerId};
use eliza_http::sessions::{Session, SessionConfig, SessionRegistry, TimeoutConfig};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

const BASE: &str = "/api/messaging/sessions";
const UNKNOWN_ID: &str = "11111111-2222-3333-4444-555555555555";

/// Asserts a sessions error body: `{"error":{"code","message","timestamp","details"?}}`.
fn assert_error(reply: &Reply, status: u16, code: &str, message: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.json);
    let error = &reply.json["error"];
    assert_eq!(error["code"], code, "{}", reply.json);
    assert_eq!(error["message"], message, "{}", reply.json);
    let timestamp = error["timestamp"].as_str().expect("timestamp");
    assert!(
        DateTime::parse_from_rfc3339(timestamp).is_ok(),
        "{timestamp}"
    );
    assert!(
        error.get("stack").is_none(),
        "no stack trace: {}",
        reply.json
    );
    assert!(reply.json.get("success").is_none(), "{}", reply.json);
}

fn parse_iso(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("ISO string"))
        .expect("ISO date")
        .with_timezone(&Utc)
}

/// An app with one running echo agent.
async fn app_with_agent() -> (MessagingApp, AgentId) {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Sessionist").await;
    (app, agent)
}

async fn create_session(app: &MessagingApp, agent: AgentId, extra: Value) -> (Value, String) {
    let mut body = json!({"agentId": agent, "userId": user_id()});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let reply = app.post(BASE, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let id = reply.json["sessionId"].as_str().unwrap().to_owned();
    (reply.json, id)
}

/// A session planted in the registry with chosen times (expired ones, old ones).
async fn plant(
    app: &MessagingApp,
    created: DateTime<Utc>,
    expires: DateTime<Utc>,
    max: f64,
) -> String {
    let timeout = TimeoutConfig {
        timeout_minutes: 30.0,
        auto_renew: true,
        max_duration_minutes: max,
        warning_threshold_minutes: 5.0,
    };
    let mut session = Session::new(
        AgentId::new_random(),
        ChannelId::new_random(),
        user_id(),
        Map::new(),
        timeout,
        created,
    );
    session.expires_at = expires;
    let id = session.id.to_string();
    app.state
        .sessions
        .insert(session, created)
        .await
        .expect("room for the session");
    id
}

async fn expired_session(app: &MessagingApp) -> (String, DateTime<Utc>) {
    let created = Utc::now() - TimeDelta::hours(2);
    let expired_at = created + TimeDelta::minutes(30);
    (plant(app, created, expired_at, 720.0).await, expired_at)
}

/// 404 `SESSION_NOT_FOUND` for the session `id` as the client wrote it.
fn assert_not_found(reply: &Reply, id: &str) {
    assert_error(
        reply,
        404,
        "SESSION_NOT_FOUND",
        &format!("Session with ID '{id}' not found"),
    );
}

/// 410 `SESSION_EXPIRED` for the session `id` that expired at `at`.
fn assert_expired(reply: &Reply, id: &str, at: DateTime<Utc>) {
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_error(
        reply,
        410,
        "SESSION_EXPIRED",
        &format!("Session '{id}' expired at {at}"),
    );
}

/// The keys of a JSON object, in order.
fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

async fn messages_of(app: &MessagingApp, id: &str, query: &str) -> Reply {
    app.get(&format!("{BASE}/{id}/messages{query}")).await
}

/// Waits until the session lists `count` messages.
async fn wait_for_messages(app: &MessagingApp, id: &str, count: usize) -> Value {
    for _ in 0..100 {
        let reply = messages_of(app, id, "").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        if reply.json["messages"].as_array().unwrap().len() >= count {
            return reply.json;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the session never had {count} messages");
}

// ---------------------------------------------------------------- health

#[actix_web::test]
async fn health_counts_active_and_expiring_sessions() {
    let (app, agent) = app_with_agent().await;
    let empty = app.get(&format!("{BASE}/health")).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json["status"], "healthy");
    assert_eq!(empty.json["activeSessions"], 0);
    assert_eq!(empty.json["expiringSoon"], 0);
    assert!(empty.json["uptime"].is_number());
    parse_iso(&empty.json["timestamp"]);
    assert!(empty.json.get("invalidSessions").is_none());

    create_session(&app, agent, json!({})).await;
    let now = Utc::now();
    plant(&app, now, now + TimeDelta::minutes(2), 720.0).await;
    expired_session(&app).await;
    let health = app.get(&format!("{BASE}/health")).await;
    assert_eq!(health.json["activeSessions"], 2, "{}", health.json);
    assert_eq!(health.json["expiringSoon"], 1, "{}", health.json);
    assert_eq!(
        app.state.sessions.count().await.unwrap(),
        2,
        "the expired session was dropped"
    );
}

// ---------------------------------------------------------------- create

#[actix_web::test]
async fn create_answers_201_and_makes_a_dm_channel_with_agent_and_user() {
    let (app, agent) = app_with_agent().await;
    let user = user_id();
    let reply = app
        .post(
            BASE,
            json!({"agentId": agent, "userId": user, "metadata": {"platform": "test"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let body = &reply.json;
    assert_eq!(
        keys(body),
        [
            "sessionId",
            "channelId",
            "agentId",
            "userId",
            "createdAt",
            "metadata",
            "expiresAt",
            "timeoutConfig"
        ]
    );
    assert_eq!(body["agentId"], agent.to_string());
    assert_eq!(body["userId"], user);
    assert_eq!(body["metadata"], json!({"platform": "test"}));
    assert_eq!(
        body["timeoutConfig"],
        json!({"timeoutMinutes": 30, "autoRenew": true, "maxDurationMinutes": 720,
            "warningThresholdMinutes": 5})
    );
    let created = parse_iso(&body["createdAt"]);
    assert_eq!(
        parse_iso(&body["expiresAt"]) - created,
        TimeDelta::minutes(30)
    );

    let session_id = body["sessionId"].as_str().unwrap();
    let channel_id = ChannelId::parse(body["channelId"].as_str().unwrap()).unwrap();
    let channel = app
        .state
        .store
        .get_channel(channel_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(channel.name, format!("session-{session_id}"));
    assert_eq!(channel.channel_type.as_str(), "DM");
    assert!(channel.message_server_id.as_uuid().is_nil());
    let metadata = channel.metadata.unwrap();
    assert_eq!(metadata["sessionId"], session_id);
    assert_eq!(metadata["agentId"], agent.to_string());
    assert_eq!(metadata["userId"], user);
    assert_eq!(metadata["platform"], "test");
    assert_eq!(metadata["timeoutConfig"]["timeoutMinutes"], 30);
    let mut participants = app
        .state
        .store
        .list_channel_participants(channel_id)
        .await
        .unwrap();
    participants.sort();
    let mut expected = vec![agent.to_string(), user];
    expected.sort();
    assert_eq!(participants, expected);
}

#[actix_web::test]
async fn create_clamps_the_timeout_config() {
    let (app, agent) = app_with_agent().await;
    let (body, _) = create_session(
        &app,
        agent,
        json!({"timeoutConfig": {"timeoutMinutes": 1, "maxDurationMinutes": "99999",
            "autoRenew": false, "warningThresholdMinutes": 0}}),
    )
    .await;
    assert_eq!(
        body["timeoutConfig"],
        json!({"timeoutMinutes": 5, "autoRenew": false, "maxDurationMinutes": 2880,
            "warningThresholdMinutes": 1})
    );
    let (body, _) = create_session(
        &app,
        agent,
        json!({"timeoutConfig": {"timeoutMinutes": "90"}, "metadata": null}),
    )
    .await;
    assert_eq!(body["timeoutConfig"]["timeoutMinutes"], 90);
    assert_eq!(body["metadata"], json!({}));
}

#[actix_web::test]
async fn create_uses_the_agent_session_settings() {
    let app = MessagingApp::new().await;
    let created = app
        .post(
            "/api/agents",
            json!({"agent": {"name": "Tuned", "bio": ["b"], "settings": {
                "SESSION_TIMEOUT_MINUTES": "10", "SESSION_AUTO_RENEW": "false",
                "SESSION_MAX_DURATION_MINUTES": "120"}}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let agent = created.json["data"]["id"].as_str().unwrap().to_owned();
    let started = app
        .post(&format!("/api/agents/{agent}/start"), json!({}))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.json);
    let reply = app
        .post(BASE, json!({"agentId": agent, "userId": user_id()}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    assert_eq!(
        reply.json["timeoutConfig"],
        json!({"timeoutMinutes": 10, "autoRenew": false, "maxDurationMinutes": 120,
            "warningThresholdMinutes": 5})
    );
    // A session's own request still wins.
    let reply = app
        .post(
            BASE,
            json!({"agentId": agent, "userId": user_id(), "timeoutConfig": {"timeoutMinutes": 20}}),
        )
        .await;
    assert_eq!(reply.json["timeoutConfig"]["timeoutMinutes"], 20);
}

#[actix_web::test]
async fn create_refuses_missing_and_malformed_fields() {
    let (app, agent) = app_with_agent().await;
    let user = user_id();

    for body in [
        json!({}),
        json!([1, 2]),
        json!("text"),
        json!({"agentId": 7, "userId": null}),
    ] {
        let reply = app.post(BASE, body).await;
        assert_error(
            &reply,
            400,
            "VALIDATION_ERROR",
            "Missing required fields: agentId, userId",
        );
        assert_eq!(
            reply.json["error"]["details"],
            json!({"missingFields": ["agentId", "userId"]})
        );
    }
    let no_body = app.call(TestRequest::post().uri(BASE)).await;
    assert_error(
        &no_body,
        400,
        "VALIDATION_ERROR",
        "Missing required fields: agentId, userId",
    );

    let reply = app.post(BASE, json!({"agentId": agent})).await;
    assert_error(
        &reply,
        400,
        "VALIDATION_ERROR",
        "Missing required fields: userId",
    );
    assert_eq!(
        reply.json["error"]["details"],
        json!({"missingFields": ["userId"]})
    );

    let reply = app
        .post(BASE, json!({"agentId": "agent-1", "userId": user}))
        .await;
    assert_error(
        &reply,
        400,
        "VALIDATION_ERROR",
        "Invalid UUID format for field 'agentId'",
    );
    assert_eq!(
        reply.json["error"]["details"],
        json!({"providedValue": "agent-1", "expectedFormat": "UUID v4"})
    );
    let reply = app
        .post(BASE, json!({"agentId": agent, "userId": ""}))
        .await;
    assert_error(
        &reply,
        400,
        "VALIDATION_ERROR",
        "Invalid UUID format for field 'userId'",
    );

    let malformed = app
        .call(
            TestRequest::post()
                .uri(BASE)
                .insert_header(("content-type", "application/json"))
                .set_payload("{nope"),
        )
        .await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.json
    );
    assert_eq!(malformed.json["error"]["code"], "VALIDATION_ERROR");
    let message = malformed.json["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Invalid JSON"), "{message}");

    let oversized = app
        .post(
            BASE,
            json!({"agentId": agent, "userId": user, "metadata": {"x": "y".repeat(3 << 20)}}),
        )
        .await;
    assert_error(
        &oversized,
        413,
        "PAYLOAD_TOO_LARGE",
        "Request body too large",
    );
}

#[actix_web::test]
async fn create_needs_a_running_agent() {
    let app = MessagingApp::new().await;
    let stopped = app.stopped_agent("Sleeper").await;
    let reply = app
        .post(BASE, json!({"agentId": stopped, "userId": user_id()}))
        .await;
    assert_error(
        &reply,
        404,
        "AGENT_NOT_FOUND",
        &format!("Agent with ID '{stopped}' not found"),
    );
    let reply = app
        .post(BASE, json!({"agentId": UNKNOWN_ID, "userId": user_id()}))
        .await;
    assert_error(
        &reply,
        404,
        "AGENT_NOT_FOUND",
        &format!("Agent with ID '{UNKNOWN_ID}' not found"),
    );
    assert_eq!(app.state.sessions.count().await.unwrap(), 0);
}

#[actix_web::test]
async fn create_recreates_a_deleted_default_server() {
    let (app, agent) = app_with_agent().await;
    let default = MessageServerId(DEFAULT_SERVER_ID);
    assert!(
        app.state
            .store
            .delete_message_server(default)
            .await
            .unwrap()
    );
    let (created, _) = create_session(&app, agent, json!({})).await;
    let channel = ChannelId::parse(created["channelId"].as_str().unwrap()).unwrap();
    let channel = app.state.store.get_channel(channel).await.unwrap();
    assert_eq!(
        channel.map(|channel| channel.message_server_id),
        Some(default)
    );
    assert!(
        app.state
            .store
            .get_message_server(default)
            .await
            .unwrap()
            .is_some()
    );
}

#[actix_web::test]
async fn create_refuses_when_the_registry_is_full() {
    let config = eliza_http::HttpConfig {
        sessions: SessionConfig {
            max_sessions: 1,
            ..SessionConfig::default()
        },
        ..eliza_http::HttpConfig::default()
    };
    let app = MessagingApp::with_config(config).await;
    let agent = app.echo_agent("Crowded").await;
    let (_, first) = create_session(&app, agent, json!({})).await;
    let reply = app
        .post(BASE, json!({"agentId": agent, "userId": user_id()}))
        .await;
    assert_error(
        &reply,
        503,
        "SESSION_LIMIT_REACHED",
        "Too many active sessions (at most 1); try again later",
    );
    let channels = app
        .state
        .store
        .list_server_channels(MessageServerId(DEFAULT_SERVER_ID))
        .await
        .unwrap();
    assert_eq!(
        channels
            .iter()
            .filter(|channel| channel.name.starts_with("session-"))
            .count(),
        1,
        "no channel for the refused session"
    );
    // Deleting the live session makes room again.
    assert_eq!(
        app.delete(&format!("{BASE}/{first}")).await.status,
        StatusCode::OK
    );
    create_session(&app, agent, json!({})).await;
}

#[actix_web::test]
async fn create_refuses_bad_metadata_and_timeout_config() {
    let (app, agent) = app_with_agent().await;
    let huge = json!({"agentId": agent, "userId": user_id(),
        "metadata": {"blob": "x".repeat(20_000)}});
    let reply = app.post(BASE, huge).await;
    assert_error(
        &reply,
        400,
        "VALIDATION_ERROR",
        "Invalid metadata: Metadata exceeds maximum size of 10240 bytes",
    );
    assert!(
        reply.json.to_string().len() < 1000,
        "the metadata is not echoed"
    );

    for metadata in [json!("platform"), json!([1]), json!(3)] {
        let reply = app
            .post(
                BASE,
                json!({"agentId": agent, "userId": user_id(), "metadata": metadata}),
            )
            .await;
        assert_error(
            &reply,
            400,
            "VALIDATION_ERROR",
            "Invalid metadata: Metadata must be an object",
        );
    }
    for config in [
        json!("long"),
        json!({"timeoutMinutes": true}),
        json!({"autoRenew": "no"}),
    ] {
        let reply = app
            .post(
                BASE,
                json!({"agentId": agent, "userId": user_id(), "timeoutConfig": config}),
            )
            .await;
        assert_error(
            &reply,
            400,
            "VALIDATION_ERROR",
            "Invalid timeout configuration: Invalid timeout configuration format",
        );
    }
    assert_eq!(app.state.sessions.count().await.unwrap(), 0);
}

// ---------------------------------------------------------------- list and get

#[actix_web::test]
async fn list_shows_live_sessions_and_counts_expired_ones() {
    let (app, agent) = app_with_agent().await;
    let empty = app.get(BASE).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(
        empty.json,
        json!({"sessions": [], "total": 0,
            "stats": {"totalSessions": 0, "activeSessions": 0, "expiredSessions": 0}})
    );

    let (_, first) = create_session(&app, agent, json!({})).await;
    let (_, second) = create_session(&app, agent, json!({})).await;
    expired_session(&app).await;
    let listed = app.get(BASE).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json["total"], 2);
    assert_eq!(
        listed.json["stats"],
        json!({"totalSessions": 3, "activeSessions": 2, "expiredSessions": 1})
    );
    let ids: Vec<&str> = listed.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(listed.json["sessions"][0]["renewalCount"], 0);
    let again = app.get(BASE).await;
    assert_eq!(
        again.json["stats"]["expiredSessions"], 0,
        "dropped by the first list"
    );
}

#[actix_web::test]
async fn get_answers_session_info() {
    let (app, agent) = app_with_agent().await;
    let (created, id) = create_session(&app, agent, json!({"metadata": {"k": "v"}})).await;
    let reply = app.get(&format!("{BASE}/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let info = &reply.json;
    assert_eq!(
        keys(info),
        [
            "sessionId",
            "channelId",
            "agentId",
            "userId",
            "createdAt",
            "lastActivity",
            "metadata",
            "expiresAt",
            "timeoutConfig",
            "renewalCount",
            "timeRemaining",
            "isNearExpiration"
        ]
    );
    for key in [
        "sessionId",
        "channelId",
        "agentId",
        "userId",
        "createdAt",
        "metadata",
        "expiresAt",
    ] {
        assert_eq!(info[key], created[key], "{key}");
    }
    assert_eq!(info["lastActivity"], created["createdAt"]);
    assert_eq!(info["renewalCount"], 0);
    let remaining = info["timeRemaining"].as_i64().unwrap();
    assert!(
        remaining > 29 * 60_000 && remaining <= 30 * 60_000,
        "{remaining}"
    );
    assert_eq!(info["isNearExpiration"], false);
}

#[actix_web::test]
async fn get_answers_404_for_unknown_ids_and_410_once_for_expired_ones() {
    let app = MessagingApp::new().await;
    let reply = app.get(&format!("{BASE}/{UNKNOWN_ID}")).await;
    assert_not_found(&reply, UNKNOWN_ID);
    let reply = app.get(&format!("{BASE}/not-a-uuid")).await;
    assert_not_found(&reply, "not-a-uuid");

    let (id, expired_at) = expired_session(&app).await;
    let reply = app.get(&format!("{BASE}/{id}")).await;
    assert_expired(&reply, &id, expired_at);
    let reply = app.get(&format!("{BASE}/{id}")).await;
    assert_not_found(&reply, &id);
}

// ---------------------------------------------------------------- send message

#[actix_web::test]
async fn websocket_messages_are_answered_through_the_channel() {
    let (app, agent) = app_with_agent().await;
    let (created, id) = create_session(&app, agent, json!({})).await;
    let user = created["userId"].as_str().unwrap();
    let reply = app
        .post(
            &format!("{BASE}/{id}/messages"),
            json!({"content": "hello", "metadata": {"source": "test"}, "attachments": [{"url": "u"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let body = &reply.json;
    assert_eq!(body["success"], true);
    assert!(body.get("agentResponse").is_none());
    let message = &body["userMessage"];
    assert_eq!(message["content"], "hello");
    assert_eq!(message["author_id"], user);
    assert_eq!(message["channel_id"], created["channelId"]);
    assert_eq!(message["source_type"], "user");
    assert_eq!(
        message["message_server_id"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert!(message["created_at"].is_i64());
    assert_eq!(
        message["raw_message"],
        json!({"content": "hello", "attachments": [{"url": "u"}]})
    );
    assert_eq!(message["metadata"]["sessionId"], id);
    assert_eq!(message["metadata"]["source"], "test");
    assert_eq!(message["metadata"]["agentId"], agent.to_string());
    let status = &body["sessionStatus"];
    assert_eq!(status["renewalCount"], 1);
    assert_eq!(status["wasRenewed"], true);
    assert_eq!(status["isNearExpiration"], false);
    parse_iso(&status["expiresAt"]);
    // `data` for api-client: the user message, with the answer's keys.
    assert_eq!(body["data"]["id"], message["id"]);
    assert_eq!(body["data"]["content"], "hello");
    assert_eq!(body["data"]["userMessage"], *message);
    assert_eq!(body["data"]["sessionStatus"], *status);
    assert_eq!(body["data"]["success"], true);

    let listed = wait_for_messages(&app, &id, 2).await;
    let messages = listed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let (answer, question) = (&messages[0], &messages[1]);
    assert_eq!(answer["content"], echo_of("hello"));
    assert_eq!(answer["isAgent"], true);
    assert_eq!(answer["authorId"], agent.to_string());
    assert_eq!(answer["metadata"]["thought"], "echoing");
    assert_eq!(answer["metadata"]["actions"], json!(["REPLY"]));
    assert_eq!(question["id"], message["id"]);
    assert_eq!(question["isAgent"], false);
    assert_eq!(question["authorId"], user);
    assert_eq!(question["metadata"]["sessionId"], id);
    parse_iso(&question["createdAt"]);
    assert_eq!(listed["hasMore"], false);
    let cursors = &listed["cursors"];
    assert!(cursors["before"].as_i64().unwrap() <= cursors["after"].as_i64().unwrap());
}

#[actix_web::test]
async fn http_transport_waits_for_the_agent_response() {
    let (app, agent) = app_with_agent().await;
    let (_, id) = create_session(&app, agent, json!({})).await;
    for body in [
        json!({"content": "sync please", "transport": "http"}),
        json!({"content": "sync please", "mode": "sync"}),
    ] {
        let reply = app.post(&format!("{BASE}/{id}/messages"), body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
        let answer = &reply.json["agentResponse"];
        assert_eq!(answer["text"], echo_of("sync please"));
        assert_eq!(answer["thought"], "echoing");
        assert_eq!(answer["actions"], json!(["REPLY"]));
        assert_eq!(answer["inReplyTo"], reply.json["userMessage"]["id"]);
        assert!(answer["responseId"].is_string());
        assert_eq!(reply.json["success"], true);
        assert_eq!(reply.json["userMessage"]["content"], "sync please");
        assert!(reply.json["sessionStatus"]["wasRenewed"].is_boolean());
        assert_eq!(reply.json["data"]["agentResponse"], *answer);
        assert_eq!(reply.json["data"]["userMessage"], reply.json["userMessage"]);
    }
}

#[actix_web::test]
async fn sse_transport_streams_the_user_message_then_the_reply() {
    let (app, agent) = app_with_agent().await;
    let (_, id) = create_session(&app, agent, json!({})).await;
    for body in [
        json!({"content": "stream it", "transport": "sse"}),
        json!({"content": "stream it", "mode": "stream"}),
    ] {
        let reply = app.post(&format!("{BASE}/{id}/messages"), body).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("content-type"), Some("text/event-stream"));
        assert_eq!(reply.header("cache-control"), Some("no-cache"));
        let text = reply.json.as_str().expect("an event stream");
        let user_at = text.find("event: user_message\ndata: ").expect(text);
        let done_at = text.find("event: done\ndata: ").expect(text);
        assert!(user_at < done_at, "{text}");
        let done_line = text[done_at..].lines().nth(1).unwrap();
        let done: Value = serde_json::from_str(done_line.trim_start_matches("data: ")).unwrap();
        assert_eq!(done["text"], echo_of("stream it"));
        let user_line = text[user_at..].lines().nth(1).unwrap();
        let user: Value = serde_json::from_str(user_line.trim_start_matches("data: ")).unwrap();
        assert_eq!(user["content"], "stream it");
        assert_eq!(done["inReplyTo"], user["id"]);
    }
}

#[actix_web::test]
async fn http_and_sse_without_a_listening_agent_say_so() {
    // Started (so the session can be created) but nothing takes its messages.
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Mute").await;
    let started = app
        .post(&format!("/api/agents/{agent}/start"), json!({}))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.json);
    let (_, id) = create_session(&app, agent, json!({})).await;

    let reply = app
        .post(
            &format!("{BASE}/{id}/messages"),
            json!({"content": "anyone?", "transport": "http"}),
        )
        .await;
    assert_error(
        &reply,
        404,
        "AGENT_NOT_FOUND",
        &format!("Agent with ID '{agent}' not found"),
    );
    assert!(reply.json["error"]["details"]["userMessageId"].is_string());

    let reply = app
        .post(
            &format!("{BASE}/{id}/messages"),
            json!({"content": "anyone?", "transport": "sse"}),
        )
        .await;
    let text = reply.json.as_str().expect("an event stream");
    assert!(text.contains("event: user_message\n"), "{text}");
    assert!(text.contains("event: error\n"), "{text}");

    // Both messages were stored nonetheless.
    let listed = wait_for_messages(&app, &id, 2).await;
    assert_eq!(listed["messages"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn send_refuses_bad_content_transport_and_metadata() {
    let (app, agent) = app_with_agent().await;
    let (_, id) = create_session(&app, agent, json!({})).await;
    let path = format!("{BASE}/{id}/messages");
    let cases = [
        (
            json!({"content": "x", "transport": "pigeon"}),
            "Invalid content: Invalid transport \"pigeon\". Must be one of: http, sse, websocket, sync, stream",
        ),
        (json!({}), "Invalid content: Invalid message request format"),
        (
            json!({"content": 42}),
            "Invalid content: Invalid message request format",
        ),
        (
            json!(["content"]),
            "Invalid content: Invalid message request format",
        ),
        (
            json!({"content": ""}),
            "Invalid content: Content cannot be empty",
        ),
        (
            json!({"content": "x".repeat(4001)}),
            "Invalid content: Content exceeds maximum length of 4000 characters",
        ),
        (
            json!({"content": "x", "metadata": {"blob": "y".repeat(11_000)}}),
            "Invalid metadata: Metadata exceeds maximum size of 10240 bytes",
        ),
        (
            json!({"content": "x", "metadata": "flat"}),
            "Invalid metadata: Metadata must be an object",
        ),
    ];
    for (body, message) in cases {
        let reply = app.post(&path, body).await;
        assert_error(&reply, 400, "VALIDATION_ERROR", message);
    }
    let reply = app.call(TestRequest::post().uri(&path)).await;
    assert_error(
        &reply,
        400,
        "VALIDATION_ERROR",
        "Invalid content: Invalid message request format",
    );
    let longest = app.post(&path, json!({"content": "é".repeat(4000)})).await;
    assert_eq!(
        longest.status,
        StatusCode::CREATED,
        "4000 characters are fine"
    );
}

#[actix_web::test]
async fn send_to_unknown_expired_or_orphaned_sessions() {
    let (app, agent) = app_with_agent().await;
    let body = json!({"content": "hi"});
    let reply = app
        .post(&format!("{BASE}/{UNKNOWN_ID}/messages"), body.clone())
        .await;
    assert_not_found(&reply, UNKNOWN_ID);
    let reply = app
        .post(&format!("{BASE}/nope/messages"), body.clone())
        .await;
    assert_not_found(&reply, "nope");

    let (id, expired_at) = expired_session(&app).await;
    let reply = app
        .post(&format!("{BASE}/{id}/messages"), body.clone())
        .await;
    assert_expired(&reply, &id, expired_at);

    // The session's channel was deleted behind its back: the session is gone too.
    let (created, id) = create_session(&app, agent, json!({})).await;
    let channel = ChannelId::parse(created["channelId"].as_str().unwrap()).unwrap();
    assert!(app.state.store.delete_channel(channel).await.unwrap());
    let reply = app.post(&format!("{BASE}/{id}/messages"), body).await;
    assert_not_found(&reply, &id);
    let reply = app.get(&format!("{BASE}/{id}")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- get messages

/// A session whose channel holds `count` user messages one second apart, from `start`.
async fn session_with_history(count: i64) -> (MessagingApp, String, DateTime<Utc>) {
    let (app, agent) = app_with_agent().await;
    let (created, id) = create_session(&app, agent, json!({})).await;
    let channel = ChannelId::parse(created["channelId"].as_str().unwrap()).unwrap();
    let start = DateTime::from_timestamp_millis(1_763_895_600_000).unwrap();
    for i in 0..count {
        let at = start + TimeDelta::seconds(i);
        let message = CentralMessage {
            id: MessageId::new_random(),
            channel_id: channel,
            author_id: created["userId"].as_str().unwrap().to_owned(),
            content: format!("m{i}"),
            raw_message: Some(json!({"content": format!("m{i}")})),
            source_type: Some(if i % 2 == 0 { "user" } else { "agent_response" }.to_owned()),
            source_id: None,
            metadata: Some(json!({"n": i})),
            in_reply_to_root_message_id: None,
            created_at: at,
            updated_at: at,
        };
        app.state.store.create_message(&message).await.unwrap();
    }
    (app, id, start)
}

fn contents(reply: &Reply) -> Vec<String> {
    reply.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn messages_page_with_limit_before_and_after() {
    let (app, id, start) = session_with_history(8).await;
    let ms = |i: i64| (start + TimeDelta::seconds(i)).timestamp_millis();

    let all = messages_of(&app, &id, "").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        contents(&all),
        ["m7", "m6", "m5", "m4", "m3", "m2", "m1", "m0"]
    );
    assert_eq!(all.json["hasMore"], false);
    assert_eq!(
        all.json["cursors"],
        json!({"before": ms(0), "after": ms(7)})
    );
    let first = &all.json["messages"][0];
    assert_eq!(first["isAgent"], true);
    assert_eq!(first["metadata"]["n"], 7);
    assert_eq!(all.json["messages"][1]["isAgent"], false);

    let limited = messages_of(&app, &id, "?limit=3").await;
    assert_eq!(contents(&limited), ["m7", "m6", "m5"]);
    assert_eq!(limited.json["hasMore"], true);
    assert_eq!(
        contents(&messages_of(&app, &id, "?limit=0").await),
        ["m7"],
        "at least 1"
    );
    assert_eq!(contents(&messages_of(&app, &id, "?limit=-4").await), ["m7"]);
    assert_eq!(
        contents(&messages_of(&app, &id, "?limit=lots").await).len(),
        8
    );
    assert_eq!(
        contents(&messages_of(&app, &id, "?limit=5000").await).len(),
        8
    );

    let before = messages_of(&app, &id, &format!("?before={}&limit=2", ms(5))).await;
    assert_eq!(contents(&before), ["m4", "m3"]);
    let iso = (start + TimeDelta::seconds(5)).to_rfc3339();
    let before_iso = messages_of(
        &app,
        &id,
        &format!("?before={}&limit=2", iso.replace('+', "%2B")),
    )
    .await;
    assert_eq!(contents(&before_iso), ["m4", "m3"], "ISO dates work too");

    let after = messages_of(&app, &id, &format!("?after={}&limit=3", ms(2))).await;
    assert_eq!(
        contents(&after),
        ["m5", "m4", "m3"],
        "the oldest ones after, newest first"
    );
    assert_eq!(after.json["hasMore"], true);
    let after_all = messages_of(&app, &id, &format!("?after={}", ms(5))).await;
    assert_eq!(contents(&after_all), ["m7", "m6"]);

    let range = messages_of(&app, &id, &format!("?after={}&before={}", ms(1), ms(6))).await;
    assert_eq!(contents(&range), ["m5", "m4", "m3", "m2"]);

    let none = messages_of(&app, &id, &format!("?after={}", ms(7))).await;
    assert_eq!(none.json, json!({"messages": [], "hasMore": false}));

    let blank = messages_of(&app, &id, "?before=&after=").await;
    assert_eq!(contents(&blank).len(), 8, "blank values are ignored");
}

#[actix_web::test]
async fn messages_refuse_bad_timestamps_and_unknown_sessions() {
    let (app, id, _) = session_with_history(1).await;
    for name in ["before", "after"] {
        let reply = messages_of(&app, &id, &format!("?{name}=yesterday")).await;
        assert_error(
            &reply,
            400,
            "VALIDATION_ERROR",
            &format!("Invalid pagination parameter '{name}': Must be a valid timestamp"),
        );
        assert_eq!(
            reply.json["error"]["details"],
            json!({"parameter": name, "value": "yesterday", "reason": "Must be a valid timestamp"})
        );
    }
    let reply = messages_of(&app, UNKNOWN_ID, "").await;
    assert_not_found(&reply, UNKNOWN_ID);
    let (expired, expired_at) = expired_session(&app).await;
    let reply = messages_of(&app, &expired, "").await;
    assert_expired(&reply, &expired, expired_at);
}

// ---------------------------------------------------------------- renew, timeout, heartbeat

#[actix_web::test]
async fn renew_extends_the_session() {
    let (app, agent) = app_with_agent().await;
    let (created, id) =
        create_session(&app, agent, json!({"timeoutConfig": {"autoRenew": false}})).await;
    let reply = app.post(&format!("{BASE}/{id}/renew"), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["renewalCount"], 1);
    assert_eq!(reply.json["sessionId"], id);
    assert_eq!(
        reply.json["timeoutConfig"]["autoRenew"], false,
        "left as it was"
    );
    assert!(parse_iso(&reply.json["expiresAt"]) >= parse_iso(&created["expiresAt"]));
    let no_body = app
        .call(TestRequest::post().uri(&format!("{BASE}/{id}/renew")))
        .await;
    assert_eq!(no_body.json["renewalCount"], 2);
}

#[actix_web::test]
async fn renew_errors() {
    let app = MessagingApp::new().await;
    let reply = app
        .post(&format!("{BASE}/{UNKNOWN_ID}/renew"), json!({}))
        .await;
    assert_not_found(&reply, UNKNOWN_ID);
    let (id, expired_at) = expired_session(&app).await;
    let reply = app.post(&format!("{BASE}/{id}/renew"), json!({})).await;
    assert_expired(&reply, &id, expired_at);

    // Alive (its expiry was set by hand) but past its maximum duration of 60 minutes.
    let created = Utc::now() - TimeDelta::minutes(90);
    let id = plant(&app, created, Utc::now() + TimeDelta::minutes(10), 60.0).await;
    let reply = app.post(&format!("{BASE}/{id}/renew"), json!({})).await;
    assert_error(
        &reply,
        400,
        "SESSION_RENEWAL_FAILED",
        &format!("Cannot renew session '{id}': Maximum duration reached"),
    );
    let details = &reply.json["error"]["details"];
    assert_eq!(details["maxDuration"], 60.0);
    assert!(details["timeSinceCreation"].as_i64().unwrap() >= 90 * 60_000);
}

#[actix_web::test]
async fn timeout_updates_change_the_config_and_the_expiry() {
    let (app, agent) = app_with_agent().await;
    let (created, id) = create_session(&app, agent, json!({})).await;
    let path = format!("{BASE}/{id}/timeout");
    let reply = app.patch(&path, json!({"timeoutMinutes": "60"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(
        reply.json["timeoutConfig"],
        json!({"timeoutMinutes": 60, "autoRenew": true, "maxDurationMinutes": 720,
            "warningThresholdMinutes": 5})
    );
    let created_at = parse_iso(&created["createdAt"]);
    assert_eq!(
        parse_iso(&reply.json["expiresAt"]) - created_at,
        TimeDelta::minutes(60)
    );

    let reply = app
        .patch(&path, json!({"autoRenew": false, "maxDurationMinutes": 90}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["timeoutConfig"]["timeoutMinutes"], 60, "kept");
    assert_eq!(reply.json["timeoutConfig"]["autoRenew"], false);
    assert_eq!(reply.json["timeoutConfig"]["maxDurationMinutes"], 90);

    let unchanged = app.call(TestRequest::patch().uri(&path)).await;
    assert_eq!(unchanged.status, StatusCode::OK);
    assert_eq!(unchanged.json["timeoutConfig"], reply.json["timeoutConfig"]);
}

#[actix_web::test]
async fn timeout_update_errors() {
    let (app, agent) = app_with_agent().await;
    let (_, id) = create_session(&app, agent, json!({})).await;
    let path = format!("{BASE}/{id}/timeout");
    for minutes in [json!(2), json!("2000")] {
        let reply = app.patch(&path, json!({"timeoutMinutes": minutes})).await;
        assert_error(
            &reply,
            400,
            "VALIDATION_ERROR",
            "Invalid timeout configuration: Timeout must be between 5 and 1440 minutes",
        );
    }
    for body in [
        json!({"autoRenew": "yes"}),
        json!({"timeoutMinutes": [5]}),
        json!("30"),
        json!([]),
    ] {
        let reply = app.patch(&path, body).await;
        assert_error(
            &reply,
            400,
            "VALIDATION_ERROR",
            "Invalid timeout configuration: Invalid timeout configuration format",
        );
    }
    let reply = app
        .patch(&format!("{BASE}/{UNKNOWN_ID}/timeout"), json!({}))
        .await;
    assert_not_found(&reply, UNKNOWN_ID);
    let (expired, expired_at) = expired_session(&app).await;
    let reply = app
        .patch(
            &format!("{BASE}/{expired}/timeout"),
            json!({"timeoutMinutes": 10}),
        )
        .await;
    assert_expired(&reply, &expired, expired_at);
}

#[actix_web::test]
async fn heartbeat_records_activity_and_renews() {
    let (app, agent) = app_with_agent().await;
    let (created, id) = create_session(&app, agent, json!({})).await;
    let reply = app.post(&format!("{BASE}/{id}/heartbeat"), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["renewalCount"], 1);
    assert!(parse_iso(&reply.json["lastActivity"]) >= parse_iso(&created["createdAt"]));

    let reply = app
        .post(&format!("{BASE}/{UNKNOWN_ID}/heartbeat"), json!({}))
        .await;
    assert_not_found(&reply, UNKNOWN_ID);
    let (expired, expired_at) = expired_session(&app).await;
    let reply = app
        .post(&format!("{BASE}/{expired}/heartbeat"), json!({}))
        .await;
    assert_expired(&reply, &expired, expired_at);
}

// ---------------------------------------------------------------- delete

#[actix_web::test]
async fn delete_forgets_the_session_but_keeps_its_channel() {
    let (app, agent) = app_with_agent().await;
    let (created, id) = create_session(&app, agent, json!({})).await;
    let reply = app.delete(&format!("{BASE}/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let message = format!("Session {id} deleted successfully");
    assert_eq!(
        reply.json,
        json!({"success": true, "message": message, "data": {"success": true, "message": message}})
    );
    let channel = ChannelId::parse(created["channelId"].as_str().unwrap()).unwrap();
    assert!(
        app.state
            .store
            .get_channel(channel)
            .await
            .unwrap()
            .is_some()
    );

    let again = app.delete(&format!("{BASE}/{id}")).await;
    assert_not_found(&again, &id);
    let gone = app.get(&format!("{BASE}/{id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // An expired session can still be deleted.
    let (expired, _) = expired_session(&app).await;
    assert_eq!(
        app.delete(&format!("{BASE}/{expired}")).await.status,
        StatusCode::OK
    );
    // `health` is a session id for every method but GET, as in Express.
    let reply = app.delete(&format!("{BASE}/health")).await;
    assert_not_found(&reply, "health");
}

/// The sessions' database is out of reach (a cluster node cut off): every route answers 503 in
/// the sessions envelope, and a refused session leaves no channel behind.
#[actix_web::test]
async fn sessions_answer_503_while_their_database_is_out_of_reach() {
    let (mut app, agent) = app_with_agent().await;
    app.app.state.sessions = Arc::new(SessionRegistry::with_records(
        &SessionConfig::default(),
        Arc::new(UnreachableRecords),
    ));
    let message = "Sessions are unavailable right now; try again later";
    let created = app
        .post(BASE, json!({"agentId": agent, "userId": user_id()}))
        .await;
    assert_error(&created, 503, "SERVICE_UNAVAILABLE", message);
    let server = MessageServerId(DEFAULT_SERVER_ID);
    let channels = app.state.store.list_server_channels(server).await.unwrap();
    assert!(channels.is_empty(), "{channels:?}");

    let session = format!("{BASE}/{UNKNOWN_ID}");
    for path in [BASE.to_owned(), format!("{BASE}/health"), session.clone()] {
        assert_error(&app.get(&path).await, 503, "SERVICE_UNAVAILABLE", message);
    }
    let sent = app
        .post(&format!("{session}/messages"), json!({"content": "hi"}))
        .await;
    assert_error(&sent, 503, "SERVICE_UNAVAILABLE", message);
    let deleted = app.call(TestRequest::delete().uri(&session)).await;
    assert_error(&deleted, 503, "SERVICE_UNAVAILABLE", message);
}
