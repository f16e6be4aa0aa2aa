//! `/api/messaging/sessions` (API spec §2.3.4): unwrapped success bodies (family C) and the
//! sessions' own error body `{"error":{"code","message","timestamp","details"?}}`. 1.7.2 also
//! sends the stack trace of its development build; we never do.
//!
//! The sessions live in [`crate::sessions::SessionRegistry`]; their channels and messages are
//! ordinary central channels and messages, posted through the shared messaging service.
//!
//! Differences from 1.7.2, none of which breaks a client that worked with it:
//! - the session channel has the user as a participant besides the agent (see `create`);
//! - `POST …/messages` also answers a `data` key, so api-client's `sendMessage` returns something
//!   (see `message_answer`); `sessionStatus.isNearExpiration` is no longer always false;
//! - the `http` and `sse` transports go through the bus like `websocket`, so the agent's reply is
//!   stored in the channel whatever the transport; when no agent answers, the `http` transport
//!   says so in the sessions' error shape (404 `AGENT_NOT_FOUND`, 504 on a timeout);
//! - `before`/`after` also accept ISO dates; `PATCH …/timeout` keeps the fields it is not given;
//! - input of the wrong type (metadata that is not an object, a `timeoutConfig` with a boolean
//!   timeout, malformed JSON) is a 400 in the sessions' shape, never a 500; an oversized body a 413.
//! - at most [`crate::sessions::MAX_SESSIONS`] sessions live at once: beyond, creation answers 503
//!   `SESSION_LIMIT_REACHED` (1.7.2 grows without bound); a deleted default server is recreated
//!   for the session channel instead of failing with a 500.

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::messaging::Post;
use crate::messaging::render::schema::BusMessage;
use crate::messaging::render::{iso, list_item_json};
use crate::openapi::Routes;
use crate::openapi::schemas::ErrorBody;
use crate::routes::messaging::channels::{self, NewChannel};
use crate::routes::messaging::params::parse_time;
use crate::routes::messaging::transport::{
    Transport, WaitError, await_agent_response, sse_response,
};
use crate::sessions::{
    AgentSessionSettings, MAX_CONTENT_LENGTH, MAX_METADATA_SIZE, Session, SessionFault,
    TimeoutRequest, js_length, safe_parse_int,
};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, TimeDelta, Utc};
use eliza_bus::{MessageOrigin, NewMessage};
use eliza_domain::ids::{DEFAULT_SERVER_ID, validate_uuid};
use eliza_domain::messaging::{CentralMessage, ChannelType, MessagePage};
use eliza_domain::{AgentId, AgentStatus, MessageId, MessageServerId, StoreError, StoreResult};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use utoipa::ToSchema;
use uuid::Uuid;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 100;
/// Page size when walking a channel's history for `after`.
const WALK_PAGE: u32 = 200;
/// Longest client value echoed back in error details.
const ECHO_LIMIT: usize = 200;

/// Each route is its own resource with the method as a guard, so a method that does not match
/// falls through (e.g. `DELETE /sessions/health` reaches `DELETE /sessions/{sessionId}`, as in
/// Express).
pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, health);
    crate::route!(routes, create);
    crate::route!(routes, list);
    crate::route!(routes, get_session);
    crate::route!(routes, delete_session);
    crate::route!(routes, send_message);
    crate::route!(routes, get_messages);
    crate::route!(routes, renew);
    crate::route!(routes, update_timeout);
    crate::route!(routes, heartbeat);
}

/// A session's timeouts in minutes (numbers or numeric strings); what is absent keeps its value
/// (its default, on creation).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TimeoutConfigBody {
    pub timeout_minutes: Option<f64>,
    pub auto_renew: Option<bool>,
    pub max_duration_minutes: Option<f64>,
    pub warning_threshold_minutes: Option<f64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TimeoutConfigInfo {
    pub timeout_minutes: f64,
    pub auto_renew: bool,
    pub max_duration_minutes: f64,
    pub warning_threshold_minutes: f64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreateSessionBody {
    /// A running agent.
    pub agent_id: Uuid,
    pub user_id: Uuid,
    /// At most 10 KiB of JSON.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub timeout_config: Option<TimeoutConfigBody>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionCreated {
    pub session_id: Uuid,
    pub channel_id: Uuid,
    pub agent_id: Uuid,
    pub user_id: String,
    /// ISO-8601.
    pub created_at: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub expires_at: String,
    pub timeout_config: TimeoutConfigInfo,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionInfo {
    pub session_id: Uuid,
    pub channel_id: Uuid,
    pub agent_id: Uuid,
    pub user_id: String,
    /// ISO-8601.
    pub created_at: String,
    pub last_activity: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub expires_at: String,
    pub timeout_config: TimeoutConfigInfo,
    pub renewal_count: u64,
    /// Milliseconds.
    pub time_remaining: i64,
    pub is_near_expiration: bool,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionStats {
    pub total_sessions: u64,
    pub active_sessions: u64,
    pub expired_sessions: u64,
}

#[derive(ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
    pub total: u64,
    pub stats: SessionStats,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionsHealth {
    pub status: String,
    pub active_sessions: u64,
    /// ISO-8601.
    pub timestamp: String,
    pub expiring_soon: u64,
    /// Seconds.
    pub uptime: f64,
}

#[derive(ToSchema)]
pub struct SessionMessageBody {
    /// The maximum counts UTF-16 code units, as JavaScript does.
    #[schema(min_length = 1, max_length = 4000)]
    pub content: String,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub attachments: Option<Value>,
    /// `websocket` (default), `http` (or `sync`), `sse` (or `stream`); also read from `mode`.
    pub transport: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionStatusInfo {
    /// ISO-8601.
    pub expires_at: String,
    pub renewal_count: u64,
    pub was_renewed: bool,
    pub is_near_expiration: bool,
}

/// The 1.7.2 keys, plus `data`: the user message with those keys added.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionMessageAnswer {
    pub success: bool,
    pub user_message: BusMessage,
    /// With the `http` transport: the agent's reply (`null` when it declined).
    pub agent_response: Option<Value>,
    pub session_status: SessionStatusInfo,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionMessage {
    pub id: Uuid,
    pub content: String,
    pub author_id: String,
    pub is_agent: bool,
    /// ISO-8601.
    pub created_at: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
}

/// Epoch milliseconds of the oldest and newest message of the page.
#[derive(ToSchema)]
pub struct Cursors {
    pub before: i64,
    pub after: i64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionMessages {
    pub messages: Vec<SessionMessage>,
    pub has_more: bool,
    /// Absent for an empty page.
    pub cursors: Option<Cursors>,
}

#[derive(ToSchema)]
pub struct SessionDeleted {
    pub success: bool,
    pub message: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A sessions error: `{"error":{"code","message","timestamp","details"?}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl SessionError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        SessionError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    fn validation(message: impl Into<String>) -> Self {
        SessionError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    fn missing_fields(fields: &[&str]) -> Self {
        SessionError::validation(format!("Missing required fields: {}", fields.join(", ")))
            .with_details(json!({"missingFields": fields}))
    }

    fn invalid_uuid(field: &str, value: &str) -> Self {
        SessionError::validation(format!("Invalid UUID format for field '{field}'"))
            .with_details(json!({"providedValue": echo(value), "expectedFormat": "UUID v4"}))
    }

    fn invalid_content(reason: &str) -> Self {
        SessionError::validation(format!("Invalid content: {reason}"))
            .with_details(json!({"reason": reason}))
    }

    fn invalid_metadata(reason: &str) -> Self {
        SessionError::validation(format!("Invalid metadata: {reason}"))
            .with_details(json!({"reason": reason}))
    }

    fn invalid_timeout(reason: &str) -> Self {
        SessionError::validation(format!("Invalid timeout configuration: {reason}"))
            .with_details(json!({"reason": reason}))
    }

    fn invalid_pagination(parameter: &str, value: &str) -> Self {
        let reason = "Must be a valid timestamp";
        SessionError::validation(format!(
            "Invalid pagination parameter '{parameter}': {reason}"
        ))
        .with_details(json!({"parameter": parameter, "value": echo(value), "reason": reason}))
    }

    fn not_found(id: &str) -> Self {
        SessionError::new(
            StatusCode::NOT_FOUND,
            "SESSION_NOT_FOUND",
            format!("Session with ID '{id}' not found"),
        )
    }

    fn agent_not_found(id: &str) -> Self {
        SessionError::new(
            StatusCode::NOT_FOUND,
            "AGENT_NOT_FOUND",
            format!("Agent with ID '{id}' not found"),
        )
    }

    fn creation_failed(reason: &str) -> Self {
        SessionError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SESSION_CREATION_FAILED",
            format!("Failed to create session: {reason}"),
        )
    }

    fn send_failed(status: StatusCode, id: &str, reason: &str) -> Self {
        SessionError::new(
            status,
            "MESSAGE_SEND_FAILED",
            format!("Failed to send message in session '{id}': {reason}"),
        )
    }

    fn internal() -> Self {
        SessionError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "An unexpected error occurred",
        )
    }

    /// 404, 410 or the renewal refusal, for the session `id` as the client wrote it.
    fn from_fault(id: &str, fault: SessionFault) -> Self {
        match fault {
            SessionFault::NotFound => SessionError::not_found(id),
            SessionFault::Expired(at) => SessionError::new(
                StatusCode::GONE,
                "SESSION_EXPIRED",
                format!("Session '{id}' expired at {}", iso(&at)),
            ),
            SessionFault::MaxDurationReached {
                max_duration_minutes,
                created_at,
                since_creation_ms,
            } => SessionError::new(
                StatusCode::BAD_REQUEST,
                "SESSION_RENEWAL_FAILED",
                format!("Cannot renew session '{id}': Maximum duration reached"),
            )
            .with_details(json!({
                "maxDuration": max_duration_minutes,
                "createdAt": iso(&created_at),
                "timeSinceCreation": since_creation_ms,
            })),
            SessionFault::LimitReached { max_sessions } => SessionError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SESSION_LIMIT_REACHED",
                format!("Too many active sessions (at most {max_sessions}); try again later"),
            ),
            SessionFault::Store(err) => SessionError::store(&err),
        }
    }

    /// Where the sessions are kept failed: 503 while the database is out of reach.
    fn store(err: &StoreError) -> Self {
        tracing::error!(%err, "session registry failed");
        match err {
            StoreError::Unavailable(_) => SessionError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "Sessions are unavailable right now; try again later",
            ),
            _ => SessionError::internal(),
        }
    }

    /// A fault of a request that names no session (lists and counts).
    fn registry(fault: SessionFault) -> Self {
        SessionError::from_fault("", fault)
    }

    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        error.insert("timestamp".into(), json!(iso(&Utc::now())));
        if let Some(details) = &self.details {
            error.insert("details".into(), details.clone());
        }
        json!({"error": error})
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for SessionError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(self.body())
    }
}

type SessionResult = Result<HttpResponse, SessionError>;

/// A client value for error details, cut short when long.
fn echo(value: &str) -> String {
    if value.chars().count() <= ECHO_LIMIT {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(ECHO_LIMIT).collect();
    cut.push('…');
    cut
}

/// The JSON body, with a malformed or oversized one answered in the sessions' error shape.
fn body_of(body: Result<JsonBody, ApiError>) -> Result<Value, SessionError> {
    match body {
        Ok(JsonBody(value)) => Ok(value),
        Err(err) if err.status == StatusCode::PAYLOAD_TOO_LARGE => Err(SessionError::new(
            err.status,
            "PAYLOAD_TOO_LARGE",
            err.message,
        )),
        Err(err) => Err(SessionError::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            err.message,
        )),
    }
}

/// The `{sessionId}` path segment, as written.
fn session_id(req: &HttpRequest) -> &str {
    req.match_info().query("sessionId")
}

/// Optional metadata: absent or `null` is `{}`; otherwise an object of at most 10 KiB of JSON.
/// (1.7.2 took any value and spread strings into the channel metadata character by character.)
fn metadata_field(value: Option<&Value>) -> Result<Map<String, Value>, SessionError> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(object)) => {
            let size = serde_json::to_string(object).map_or(usize::MAX, |text| js_length(&text));
            if size > MAX_METADATA_SIZE {
                return Err(SessionError::invalid_metadata(&format!(
                    "Metadata exceeds maximum size of {MAX_METADATA_SIZE} bytes"
                )));
            }
            Ok(object.clone())
        }
        Some(_) => Err(SessionError::invalid_metadata("Metadata must be an object")),
    }
}

#[utoipa::path(get, path = "/api/messaging/sessions/health", tag = "sessions", summary = "Sessions health", operation_id = "sessions_health",
    responses((status = 200, body = SessionsHealth)))]
async fn health(state: web::Data<AppState>) -> SessionResult {
    let now = Utc::now();
    let health = state
        .sessions
        .health(now)
        .await
        .map_err(SessionError::registry)?;
    // `invalidSessions` is only sent when positive; typed sessions are never malformed.
    Ok(HttpResponse::Ok().json(json!({
        "status": "healthy",
        "activeSessions": health.active,
        "timestamp": iso(&now),
        "expiringSoon": health.expiring_soon,
        "uptime": state.started.elapsed().as_secs_f64(),
    })))
}

/// The agent's own `SESSION_*` settings; unreadable or missing ones fall back to the server's.
async fn agent_settings(state: &AppState, agent: AgentId) -> AgentSessionSettings {
    match state.store.get_agent(agent).await {
        Ok(Some(agent)) => AgentSessionSettings::from_character(
            &agent.character.settings,
            &agent.character.secrets,
            |text| state.cipher.decrypt(text),
        ),
        Ok(None) => AgentSessionSettings::default(),
        Err(err) => {
            tracing::warn!(%agent, %err, "agent settings unavailable; session defaults apply");
            AgentSessionSettings::default()
        }
    }
}

/// `POST /sessions`: a running agent, a user, optional metadata and timeouts → a DM channel
/// `session-<id>` and the session.
///
/// 1.7.2 adds only the agent as a participant of the channel. We add the user too: the channel
/// then lists both sides like the web UI's own DMs do, so it can be opened there, and it changes
/// nothing for the agent (it still answers every message that is not its own).
#[utoipa::path(post, path = "/api/messaging/sessions", tag = "sessions", summary = "Start a session with a running agent", operation_id = "create_session",
    request_body = CreateSessionBody,
    responses((status = 201, body = SessionCreated), (status = 400, description = "`VALIDATION_ERROR`", body = ErrorBody),
        (status = 404, description = "`AGENT_NOT_FOUND`: the agent is not running", body = ErrorBody),
        (status = 503, description = "`SESSION_LIMIT_REACHED`", body = ErrorBody)))]
async fn create(state: web::Data<AppState>, body: Result<JsonBody, ApiError>) -> SessionResult {
    let body = body_of(body)?;
    let empty = Map::new();
    let fields = body.as_object().unwrap_or(&empty);
    let agent_text = fields.get("agentId").and_then(Value::as_str);
    let user_text = fields.get("userId").and_then(Value::as_str);
    let (Some(agent_text), Some(user_text)) = (agent_text, user_text) else {
        let missing: Vec<&str> = [("agentId", agent_text), ("userId", user_text)]
            .into_iter()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name)
            .collect();
        return Err(SessionError::missing_fields(&missing));
    };
    let agent_id = AgentId::parse(agent_text)
        .map_err(|_| SessionError::invalid_uuid("agentId", agent_text))?;
    if validate_uuid(user_text).is_none() {
        return Err(SessionError::invalid_uuid("userId", user_text));
    }
    // 1.7.2 looks the agent up among the started runtimes: a stopped agent is "not found".
    if state.agents.status(agent_id) != AgentStatus::Active {
        return Err(SessionError::agent_not_found(agent_text));
    }
    let metadata = metadata_field(fields.get("metadata"))?;
    let request = match fields.get("timeoutConfig") {
        None | Some(Value::Null) => TimeoutRequest::default(),
        Some(value) => TimeoutRequest::from_json(value)
            .map_err(|reason| SessionError::invalid_timeout(&reason))?,
    };
    let config = state.sessions.config();
    let settings = agent_settings(&state, agent_id).await;
    let timeout = config.merge(config.agent_defaults(&settings), &request);

    let now = Utc::now();
    let session = Session::new(
        agent_id,
        eliza_domain::ChannelId::new_random(),
        user_text.to_owned(),
        metadata,
        timeout,
        now,
    );
    let mut channel_metadata = Map::new();
    channel_metadata.insert("sessionId".into(), json!(session.id));
    channel_metadata.insert("agentId".into(), json!(agent_id));
    channel_metadata.insert("userId".into(), json!(user_text));
    channel_metadata.insert("timeoutConfig".into(), timeout.to_json());
    channel_metadata.extend(session.metadata.clone());
    let mut participants = vec![agent_id.to_string()];
    if validate_uuid(user_text) != Some(agent_id.as_uuid()) {
        participants.push(user_text.to_owned());
    }
    let channel = NewChannel {
        id: session.channel_id,
        server: MessageServerId(DEFAULT_SERVER_ID),
        name: format!("session-{}", session.id),
        channel_type: ChannelType::Dm,
        source_type: None,
        metadata: Some(Value::Object(channel_metadata)),
        participants,
    };
    let created = session.created_json();
    let session_id = session.id.to_string();
    // The session takes its place first, so a full registry refuses before a channel is made.
    state
        .sessions
        .insert(session, now)
        .await
        .map_err(|fault| SessionError::from_fault(&session_id, fault))?;
    if let Err(err) =
        channels::create(state.store.as_ref(), channel, "Failed to create channel").await
    {
        forget(&state, &session_id).await;
        tracing::error!(err = %err.message, session = %session_id, "session channel not created");
        return Err(SessionError::creation_failed(
            "Failed to create channel or add participants",
        ));
    }
    Ok(HttpResponse::Created().json(created))
}

/// `GET /sessions`: the live sessions; expired ones are counted, then dropped.
#[utoipa::path(get, path = "/api/messaging/sessions", tag = "sessions", summary = "The live sessions", operation_id = "list_sessions",
    responses((status = 200, body = SessionList)))]
async fn list(state: web::Data<AppState>) -> SessionResult {
    let now = Utc::now();
    let listed = state
        .sessions
        .list(now)
        .await
        .map_err(SessionError::registry)?;
    let sessions: Vec<Value> = listed
        .sessions
        .iter()
        .map(|session| session.info_json(now))
        .collect();
    let active = sessions.len();
    Ok(HttpResponse::Ok().json(json!({
        "sessions": sessions,
        "total": active,
        "stats": {
            "totalSessions": active + listed.expired,
            "activeSessions": active,
            "expiredSessions": listed.expired,
        },
    })))
}

#[utoipa::path(get, path = "/api/messaging/sessions/{sessionId}", tag = "sessions", summary = "One session",
    params(("sessionId" = Uuid, Path)),
    responses((status = 200, body = SessionInfo), (status = 404, description = "`SESSION_NOT_FOUND`", body = ErrorBody), (status = 410, description = "`SESSION_EXPIRED`", body = ErrorBody)))]
async fn get_session(req: HttpRequest, state: web::Data<AppState>) -> SessionResult {
    let id = session_id(&req);
    let now = Utc::now();
    let session = state
        .sessions
        .get(id, now)
        .await
        .map_err(|fault| SessionError::from_fault(id, fault))?;
    Ok(HttpResponse::Ok().json(session.info_json(now)))
}

/// `POST /sessions/:id/messages`: renews the session, stores the message in its channel and
/// answers by transport.
#[utoipa::path(post, path = "/api/messaging/sessions/{sessionId}/messages", tag = "sessions", summary = "Send a message in a session",
    description = "Renews the session and stores the message; the agent answers over the socket (`websocket`), in the answer (`http`) or as a `text/event-stream` (`sse`).",
    params(("sessionId" = Uuid, Path)),
    request_body = SessionMessageBody,
    responses((status = 201, body = SessionMessageAnswer),
        (status = 200, description = "The `sse` transport's event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorBody), (status = 404, description = "`SESSION_NOT_FOUND`", body = ErrorBody), (status = 410, description = "`SESSION_EXPIRED`", body = ErrorBody),
        (status = 500, description = "`MESSAGE_SEND_FAILED`: `http`, the agent failed", body = ErrorBody),
        (status = 504, description = "`http`: no answer in time", body = ErrorBody)))]
async fn send_message(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Result<JsonBody, ApiError>,
) -> SessionResult {
    let id = session_id(&req);
    let body = body_of(body)?;
    let Some(fields) = body.as_object() else {
        return Err(SessionError::invalid_content(
            "Invalid message request format",
        ));
    };
    let transport =
        Transport::from_body(fields).map_err(|reason| SessionError::invalid_content(&reason))?;
    let Some(content) = fields.get("content").and_then(Value::as_str) else {
        return Err(SessionError::invalid_content(
            "Invalid message request format",
        ));
    };
    let fault = |fault| SessionError::from_fault(id, fault);
    let now = Utc::now();
    state.sessions.get(id, now).await.map_err(fault)?;
    if content.is_empty() {
        return Err(SessionError::invalid_content("Content cannot be empty"));
    }
    if js_length(content) > MAX_CONTENT_LENGTH {
        return Err(SessionError::invalid_content(&format!(
            "Content exceeds maximum length of {MAX_CONTENT_LENGTH} characters"
        )));
    }
    let body_metadata = metadata_field(fields.get("metadata"))?;
    let (session, status) = state
        .sessions
        .record_message(id, now)
        .await
        .map_err(fault)?;
    let canonical_id = session.id.to_string();

    let channel = match state.store.get_channel(session.channel_id).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return Err(channel_gone(&state, &canonical_id, id).await),
        Err(err) => {
            tracing::error!(%err, session = %canonical_id, "session channel unavailable");
            return Err(store_failed(id));
        }
    };
    let mut metadata = match &channel.metadata {
        Some(Value::Object(object)) => object.clone(),
        _ => Map::new(),
    };
    metadata.insert("sessionId".into(), json!(canonical_id));
    metadata.extend(body_metadata);
    let mut raw_message = Map::new();
    raw_message.insert("content".into(), json!(content));
    if let Some(attachments) = fields.get("attachments").filter(|value| !value.is_null()) {
        raw_message.insert("attachments".into(), attachments.clone());
    }

    // Watch before posting, so a fast reply cannot slip past.
    let watch = matches!(transport, Transport::Http | Transport::Sse)
        .then(|| state.messaging.watch(session.channel_id));
    let post = Post {
        message: NewMessage {
            id: None,
            channel_id: session.channel_id,
            message_server_id: channel.message_server_id,
            author_id: session.user_id.clone(),
            content: content.to_owned(),
            raw_message: Value::Object(raw_message),
            source_type: "user".to_owned(),
            source_id: None,
            in_reply_to: None,
            metadata: Some(Value::Object(metadata)),
        },
        origin: MessageOrigin::Gui,
        author_display_name: None,
    };
    let posted = match state.messaging.post_in(channel, post).await {
        Ok(posted) => posted,
        // The channel was read above; a failure now is the store's.
        Err(err) => {
            tracing::error!(%err, session = %canonical_id, "session message not stored");
            return Err(store_failed(id));
        }
    };
    let user_message = serde_json::to_value(&posted.message).map_err(|err| {
        tracing::error!(%err, "bus message not serializable");
        SessionError::internal()
    })?;
    let session_status = status.to_json();
    let timeout = state.config.reply_timeout;
    match (transport, watch) {
        (Transport::Sse, Some(watch)) => Ok(sse_response(
            user_message,
            watch,
            posted.message,
            posted.dispatched.len(),
            timeout,
        )),
        (Transport::Http, Some(watch)) => {
            let waited =
                await_agent_response(watch, &posted.message, posted.dispatched.len(), timeout)
                    .await;
            match waited {
                Ok(agent_response) => Ok(HttpResponse::Created().json(message_answer(
                    &user_message,
                    agent_response,
                    &session_status,
                ))),
                Err(err) => Err(wait_error(err, id, &session, posted.message.id)),
            }
        }
        _ => Ok(HttpResponse::Created().json(message_answer(&user_message, None, &session_status))),
    }
}

/// Someone deleted the session's channel: the session cannot be used any more and is dropped.
async fn channel_gone(state: &AppState, canonical_id: &str, id: &str) -> SessionError {
    forget(state, canonical_id).await;
    SessionError::not_found(id)
        .with_details(json!({"reason": "The session's channel no longer exists"}))
}

/// Drops a session that cannot work (its channel is missing); a failure only leaves it to expire.
async fn forget(state: &AppState, id: &str) {
    if let Err(fault) = state.sessions.remove(id).await {
        tracing::warn!(
            session = id,
            ?fault,
            "unusable session not dropped; it will expire"
        );
    }
}

/// The store failed while sending in session `id`.
fn store_failed(id: &str) -> SessionError {
    SessionError::send_failed(
        StatusCode::INTERNAL_SERVER_ERROR,
        id,
        "Failed to create message in database",
    )
}

/// The 201 body: every 1.7.2 key, plus `data` for api-client (which returns `json.data` when
/// there is a `success` key). `data` is the user message itself with the answer's keys added
/// (`success`, `userMessage`, `agentResponse`, `sessionStatus`): api-client's `MessageResponse`
/// type (`response.userMessage.id`, `response.agentResponse?.text`) and readers of the message
/// fields (`response.id`, `response.content`) both find what they look for.
fn message_answer(
    user_message: &Value,
    agent_response: Option<Value>,
    session_status: &Value,
) -> Value {
    let mut user_message = user_message.clone();
    if let Value::Object(message) = &mut user_message {
        // api-client's `userMessage` type reads camelCase beside 1.7.2's snake_case keys.
        for (snake, camel) in [("author_id", "authorId"), ("created_at", "createdAt")] {
            if let Some(value) = message.get(snake).cloned() {
                message.entry(camel).or_insert(value);
            }
        }
    }
    let user_message = &user_message;
    let mut answer = Map::new();
    answer.insert("success".into(), json!(true));
    answer.insert("userMessage".into(), user_message.clone());
    if let Some(agent_response) = agent_response {
        answer.insert("agentResponse".into(), agent_response);
    }
    answer.insert("sessionStatus".into(), session_status.clone());
    let mut data = match user_message {
        Value::Object(object) => object.clone(),
        _ => Map::new(),
    };
    data.extend(answer.clone());
    answer.insert("data".into(), Value::Object(data));
    Value::Object(answer)
}

/// Why the `http` transport has no answer. The message itself is stored either way.
fn wait_error(err: WaitError, id: &str, session: &Session, message: MessageId) -> SessionError {
    let details = json!({"reason": err.to_string(), "userMessageId": message});
    match err {
        WaitError::NoAgent => {
            SessionError::agent_not_found(&session.agent_id.to_string()).with_details(details)
        }
        WaitError::TimedOut => {
            SessionError::send_failed(StatusCode::GATEWAY_TIMEOUT, id, &err.to_string())
                .with_details(details)
        }
        WaitError::Failed(_) => {
            SessionError::send_failed(StatusCode::INTERNAL_SERVER_ERROR, id, &err.to_string())
                .with_details(details)
        }
    }
}

/// A `before`/`after` value: epoch ms or an ISO date; blank counts as absent.
fn time_param(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, SessionError> {
    match query.get(name).map(String::as_str) {
        None | Some("") => Ok(None),
        Some(text) => parse_time(text)
            .map(Some)
            .ok_or_else(|| SessionError::invalid_pagination(name, text)),
    }
}

/// `GET /sessions/:id/messages`: newest first, `limit` 1..100 (default 50), `before`/`after`.
#[utoipa::path(get, path = "/api/messaging/sessions/{sessionId}/messages", tag = "sessions", summary = "A session's messages, newest first",
    params(("sessionId" = Uuid, Path),
        ("limit" = Option<u32>, Query, description = "Default 50, between 1 and 100"),
        ("before" = Option<String>, Query, description = "Epoch milliseconds or ISO-8601"),
        ("after" = Option<String>, Query, description = "Epoch milliseconds or ISO-8601")),
    responses((status = 200, body = SessionMessages), (status = 400, description = "`VALIDATION_ERROR`", body = ErrorBody), (status = 404, description = "`SESSION_NOT_FOUND`", body = ErrorBody), (status = 410, description = "`SESSION_EXPIRED`", body = ErrorBody)))]
async fn get_messages(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> SessionResult {
    let id = session_id(&req);
    let session = state
        .sessions
        .get(id, Utc::now())
        .await
        .map_err(|fault| SessionError::from_fault(id, fault))?;
    let limit = safe_parse_int(
        query.get("limit").map(String::as_str),
        DEFAULT_LIMIT,
        Some(1),
        Some(MAX_LIMIT),
    );
    let limit = u32::try_from(limit).unwrap_or(50);
    let before = time_param(&query, "before")?;
    let after = time_param(&query, "after")?;

    let store = &state.store;
    let channel = session.channel_id;
    let fetched = match after {
        // The newest messages older than `before` (or than now), then those newer than `after`:
        // a newest-first page keeps the newer ones in front, so the filter is exact.
        None => {
            store
                .list_channel_messages(channel, MessagePage { before, limit })
                .await
        }
        Some(after) if before.is_some() => store
            .list_channel_messages(channel, MessagePage { before, limit })
            .await
            .map(|page| {
                page.into_iter()
                    .filter(|message| message.created_at > after)
                    .collect()
            }),
        // Only `after`: the oldest `limit` messages newer than it (1.7.2), newest first.
        Some(after) => {
            oldest_after(
                |before, limit| store.list_channel_messages(channel, MessagePage { before, limit }),
                after,
                limit as usize,
                WALK_PAGE,
            )
            .await
        }
    };
    let messages = fetched.map_err(|err| {
        tracing::error!(%err, session = %session.id, "session messages unavailable");
        SessionError::internal()
    })?;

    let items: Vec<Value> = messages
        .iter()
        .map(|message| simplified_message(message, &state.config.media))
        .collect();
    let mut answer = Map::new();
    answer.insert("messages".into(), Value::Array(items));
    answer.insert("hasMore".into(), json!(messages.len() == limit as usize));
    if let (Some(newest), Some(oldest)) = (messages.first(), messages.last()) {
        answer.insert(
            "cursors".into(),
            json!({
                "before": oldest.created_at.timestamp_millis(),
                "after": newest.created_at.timestamp_millis(),
            }),
        );
    }
    Ok(HttpResponse::Ok().json(Value::Object(answer)))
}

/// A message as the session list shows it.
fn simplified_message(message: &CentralMessage, media: &crate::media::MediaConfig) -> Value {
    let listed = list_item_json(message, media);
    json!({
        "id": message.id,
        "content": message.content,
        "authorId": message.author_id,
        "isAgent": message.source_type.as_deref() == Some("agent_response"),
        "createdAt": iso(&message.created_at),
        "metadata": listed.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The oldest `limit` messages strictly newer than `after`, newest first, found by walking the
/// channel's history backwards a page at a time (`fetch(before, size)` gives a newest-first page
/// of messages strictly older than `before`). Messages that share a millisecond at a page
/// boundary are neither skipped nor repeated: the next page starts one millisecond after the
/// oldest message seen, messages already seen are left out, and when that does not move the
/// window (a page full of one millisecond) the page grows instead.
async fn oldest_after<F, Fut>(
    mut fetch: F,
    after: DateTime<Utc>,
    limit: usize,
    page_size: u32,
) -> StoreResult<Vec<CentralMessage>>
where
    F: FnMut(Option<DateTime<Utc>>, u32) -> Fut,
    Fut: Future<Output = StoreResult<Vec<CentralMessage>>>,
{
    let page_size = page_size.max(1);
    let mut kept: VecDeque<CentralMessage> = VecDeque::with_capacity(limit.saturating_add(1));
    let mut cursor: Option<DateTime<Utc>> = None;
    let mut size = page_size;
    // Messages already seen that a later page may return again (those after its start).
    let mut seen: HashMap<MessageId, DateTime<Utc>> = HashMap::new();
    loop {
        let page = fetch(cursor, size).await?;
        let full = page.len() >= size as usize;
        let Some(oldest) = page.last().map(|message| message.created_at) else {
            break;
        };
        for message in page {
            if message.created_at <= after {
                return Ok(kept.into());
            }
            if seen.contains_key(&message.id) {
                continue;
            }
            seen.insert(message.id, message.created_at);
            kept.push_back(message);
            if kept.len() > limit {
                kept.pop_front();
            }
        }
        if !full {
            break;
        }
        // Whole milliseconds, so the window never moves forwards.
        let next = DateTime::from_timestamp_millis(oldest.timestamp_millis()).unwrap_or(oldest)
            + TimeDelta::milliseconds(1);
        if cursor == Some(next) {
            size = size.saturating_mul(2);
            if size == u32::MAX {
                break;
            }
        } else {
            cursor = Some(next);
            size = page_size;
            seen.retain(|_, created| *created < next);
        }
    }
    Ok(kept.into())
}

#[utoipa::path(post, path = "/api/messaging/sessions/{sessionId}/renew", tag = "sessions", summary = "Renew a session",
    params(("sessionId" = Uuid, Path)),
    responses((status = 200, body = SessionInfo), (status = 400, description = "`SESSION_RENEWAL_FAILED`", body = ErrorBody), (status = 404, description = "`SESSION_NOT_FOUND`", body = ErrorBody), (status = 410, description = "`SESSION_EXPIRED`", body = ErrorBody)))]
async fn renew(req: HttpRequest, state: web::Data<AppState>) -> SessionResult {
    let id = session_id(&req);
    let now = Utc::now();
    let session = state
        .sessions
        .renew(id, now)
        .await
        .map_err(|fault| SessionError::from_fault(id, fault))?;
    Ok(HttpResponse::Ok().json(session.info_json(now)))
}

/// `PATCH /sessions/:id/timeout`: numbers or numeric strings, `autoRenew` a boolean.
#[utoipa::path(patch, path = "/api/messaging/sessions/{sessionId}/timeout", tag = "sessions", summary = "Change a session's timeouts",
    params(("sessionId" = Uuid, Path)),
    request_body = TimeoutConfigBody,
    responses((status = 200, body = SessionInfo), (status = 400, description = "`VALIDATION_ERROR`", body = ErrorBody), (status = 404, description = "`SESSION_NOT_FOUND`", body = ErrorBody), (status = 410, description = "`SESSION_EXPIRED`", body = ErrorBody)))]
async fn update_timeout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Result<JsonBody, ApiError>,
) -> SessionResult {
    let id = session_id(&req);
    let fault = |fault| SessionError::from_fault(id, fault);
    state.sessions.get(id, Utc::now()).await.map_err(fault)?;
    let body = body_of(body)?;
    let request = TimeoutRequest::from_json(&body)
        .map_err(|reason| SessionError::invalid_timeout(&reason))?;
    state
        .sessions
        .config()
        .check_timeout(&request)
        .map_err(|reason| SessionError::invalid_timeout(&reason))?;
    let now = Utc::now();
    let session = state
        .sessions
        .update_timeout(id, &request, now)
        .await
        .map_err(fault)?;
    Ok(HttpResponse::Ok().json(session.info_json(now)))
}

#[utoipa::path(post, path = "/api/messaging/sessions/{sessionId}/heartbeat", tag = "sessions", summary = "Keep a session alive",
    params(("sessionId" = Uuid, Path)),
    responses((status = 200, body = SessionInfo), (status = 404, description = "`SESSION_NOT_FOUND`", body = ErrorBody), (status = 410, description = "`SESSION_EXPIRED`", body = ErrorBody)))]
async fn heartbeat(req: HttpRequest, state: web::Data<AppState>) -> SessionResult {
    let id = session_id(&req);
    let now = Utc::now();
    let session = state
        .sessions
        .heartbeat(id, now)
        .await
        .map_err(|fault| SessionError::from_fault(id, fault))?;
    Ok(HttpResponse::Ok().json(session.info_json(now)))
}

/// `DELETE /sessions/:id`: forgets the session (expired or not); its channel stays.
#[utoipa::path(delete, path = "/api/messaging/sessions/{sessionId}", tag = "sessions", summary = "End a session (its channel stays)",
    params(("sessionId" = Uuid, Path)),
    responses((status = 200, body = SessionDeleted), (status = 404, description = "`SESSION_NOT_FOUND`", body = ErrorBody)))]
async fn delete_session(req: HttpRequest, state: web::Data<AppState>) -> SessionResult {
    let id = session_id(&req);
    let removed = state.sessions.remove(id).await;
    if !removed.map_err(|fault| SessionError::from_fault(id, fault))? {
        return Err(SessionError::not_found(id));
    }
    tracing::info!(session = id, "session deleted");
    let message = format!("Session {id} deleted successfully");
    // `data` is what the api-client returns (`{success}`); 1.7.2 sent none, so it got undefined.
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "message": message,
        "data": {"success": true, "message": message},
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eliza_domain::ChannelId;
    use std::sync::Mutex;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_763_895_600_000 + ms).unwrap()
    }

    fn message(channel: ChannelId, ms: i64) -> CentralMessage {
        CentralMessage {
            id: MessageId::new_random(),
            channel_id: channel,
            author_id: "u".into(),
            content: format!("m{ms}"),
            raw_message: None,
            source_type: Some("user".into()),
            source_id: None,
            metadata: None,
            in_reply_to_root_message_id: None,
            created_at: at(ms),
            updated_at: at(ms),
        }
    }

    /// A channel history (newest first) and a store-like pager over it.
    async fn walk(times: &[i64], after: i64, limit: usize, page: u32) -> Vec<i64> {
        let channel = ChannelId::new_random();
        let mut history: Vec<CentralMessage> = times.iter().map(|t| message(channel, *t)).collect();
        history.sort_by_key(|m| std::cmp::Reverse(m.created_at));
        let calls = Mutex::new(0);
        let found = oldest_after(
            |before: Option<DateTime<Utc>>, limit: u32| {
                *calls.lock().unwrap() += 1;
                let page: Vec<CentralMessage> = history
                    .iter()
                    .filter(|m| before.is_none_or(|before| m.created_at < before))
                    .take(limit as usize)
                    .cloned()
                    .collect();
                async move { Ok(page) }
            },
            at(after),
            limit,
            page,
        )
        .await
        .unwrap();
        assert!(*calls.lock().unwrap() <= times.len() + 2, "the walk ends");
        found
            .iter()
            .map(|m| (m.created_at - at(0)).num_milliseconds())
            .collect()
    }

    #[actix_web::test]
    async fn after_finds_the_oldest_newer_messages_newest_first() {
        let times: Vec<i64> = (1..=10).collect();
        assert_eq!(walk(&times, 3, 4, 3).await, [7, 6, 5, 4]);
        assert_eq!(walk(&times, 3, 50, 3).await, [10, 9, 8, 7, 6, 5, 4]);
        assert_eq!(walk(&times, 10, 5, 3).await, Vec::<i64>::new());
        assert_eq!(walk(&times, 0, 2, 100).await, [2, 1]);
    }

    #[actix_web::test]
    async fn after_keeps_messages_that_share_a_millisecond_across_pages() {
        let times = [1, 2, 5, 5, 5, 5, 8, 9];
        let mut found = walk(&times, 1, 50, 3).await;
        found.sort_unstable();
        assert_eq!(found, [2, 5, 5, 5, 5, 8, 9]);
        // More messages in one millisecond than a page holds: the walk still ends.
        let crowded = [1, 4, 4, 4, 4, 4, 7];
        assert_eq!(walk(&crowded, 0, 50, 2).await, [7, 4, 4, 4, 4, 4, 1]);
        assert_eq!(walk(&crowded, 1, 3, 2).await, [4, 4, 4]);
    }

    #[test]
    fn errors_have_the_sessions_shape() {
        let err = SessionError::missing_fields(&["agentId", "userId"]);
        let body = err.body();
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(
            body["error"]["message"],
            "Missing required fields: agentId, userId"
        );
        assert_eq!(
            body["error"]["details"],
            json!({"missingFields": ["agentId", "userId"]})
        );
        assert!(body["error"]["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(body["error"].get("stack").is_none());
        assert!(
            SessionError::not_found("x").body()["error"]
                .get("details")
                .is_none()
        );
    }

    #[test]
    fn long_client_values_are_cut_in_details() {
        assert_eq!(echo("short"), "short");
        assert_eq!(echo(&"x".repeat(1000)).chars().count(), ECHO_LIMIT + 1);
    }

    #[test]
    fn metadata_must_be_a_small_object() {
        assert_eq!(metadata_field(None).unwrap(), Map::new());
        assert_eq!(metadata_field(Some(&Value::Null)).unwrap(), Map::new());
        assert!(metadata_field(Some(&json!({"a": 1}))).is_ok());
        let err = metadata_field(Some(&json!("text"))).unwrap_err();
        assert_eq!(err.message, "Invalid metadata: Metadata must be an object");
        let big = json!({"blob": "x".repeat(MAX_METADATA_SIZE)});
        let err = metadata_field(Some(&big)).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid metadata: Metadata exceeds maximum size of 10240 bytes"
        );
        assert!(err.details.unwrap().get("providedMetadata").is_none());
    }

    #[test]
    fn the_message_answer_keeps_the_1_7_2_keys_and_adds_data() {
        let user = json!({"id": "m", "content": "hi"});
        let status = json!({"wasRenewed": true});
        let answer = message_answer(&user, Some(json!({"text": "echo: hi"})), &status);
        assert_eq!(answer["success"], true);
        assert_eq!(answer["userMessage"], user);
        assert_eq!(answer["agentResponse"]["text"], "echo: hi");
        assert_eq!(answer["sessionStatus"], status);
        assert_eq!(answer["data"]["id"], "m");
        assert_eq!(answer["data"]["content"], "hi");
        assert_eq!(answer["data"]["userMessage"], user);
        assert_eq!(answer["data"]["agentResponse"]["text"], "echo: hi");
        // The api-client's camelCase keys beside 1.7.2's snake_case ones.
        let user = json!({"id": "m", "author_id": "u", "created_at": "t"});
        let answer = message_answer(&user, None, &status);
        assert_eq!(answer["userMessage"]["author_id"], "u");
        assert_eq!(answer["userMessage"]["authorId"], "u");
        assert_eq!(answer["data"]["userMessage"]["createdAt"], "t");
        assert!(answer["data"].get("data").is_none());
    }
}
