//! `/api/messaging/jobs` (API spec §2.3.5): one question to one agent, answered asynchronously.
//! Success bodies are unwrapped (family C); errors are `{"success":false,"error":"…"}`.
//!
//! Unlike 1.7.2, a job completes: it waits for the agent's reply to its question through the
//! messaging service (which sees agent replies, where 1.7.2's bus listener never did).

use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{
    DEFAULT_TIMEOUT_MS, Job, JobRegistry, JobReply, JobStatus, MAX_CONTENT_LENGTH,
    MAX_METADATA_SIZE, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, NewJob,
};
use crate::messaging::{NoReply, Post, ReplyWatch};
use crate::openapi::Routes;
use crate::openapi::schemas::ErrorBody;
use crate::routes::messaging::channels::{self, NewChannel};
use crate::routes::messaging::params::{bad_request, store_error};
use crate::sessions::{js_length, js_parse_int};
use crate::state::AppState;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use chrono::Utc;
use eliza_bus::{BusMessage, MessageOrigin, NewMessage};
use eliza_domain::ids::{DEFAULT_SERVER_ID, validate_uuid};
use eliza_domain::messaging::{Channel, ChannelType};
use eliza_domain::{AgentId, ChannelId, MessageServerId, StoreResult};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// Agents post this before running an action; the job waits for the message after it (1.7.2).
const ACTION_NOTICE_PREFIX: &str = "Executing action:";

/// `health` comes before `{jobId}`.
pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, create_job);
    crate::route!(routes, list_jobs);
    crate::route!(routes, health);
    crate::route!(routes, get_job);
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreateJobBody {
    pub user_id: Uuid,
    /// The maximum counts UTF-16 code units, as JavaScript does.
    #[schema(min_length = 1, max_length = 50000)]
    pub content: String,
    /// A running agent; default the first one.
    pub agent_id: Option<Uuid>,
    /// At most 10000 characters of JSON.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Default 30000.
    #[schema(minimum = 1000, maximum = 300000)]
    pub timeout_ms: Option<f64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct JobCreated {
    pub job_id: Uuid,
    pub status: JobStatus,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(ToSchema)]
pub struct JobListBody {
    pub jobs: Vec<Job>,
    /// Every job held.
    pub total: u64,
    /// The jobs listed.
    pub filtered: u64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct JobMetrics {
    pub average_processing_time_ms: f64,
    pub success_rate: f64,
    pub failure_rate: f64,
    pub timeout_rate: f64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct JobHealthBody {
    pub healthy: bool,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub total_jobs: u64,
    /// Jobs per status.
    pub status_counts: BTreeMap<String, u64>,
    pub metrics: JobMetrics,
    pub max_jobs: u64,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::plain(StatusCode::NOT_FOUND, message)
}

/// A `POST /jobs` body that passed validation.
#[derive(Debug, Clone, PartialEq)]
struct CreateRequest {
    user_id: String,
    content: String,
    /// The `agentId` as sent (absent or empty: the first running agent).
    agent_id: Option<String>,
    metadata: Map<String, Value>,
    timeout_ms: i64,
}

/// The checks of 1.7.2's `validateCreateJobRequest`, in its order, then the UUID checks.
fn validate(body: &Value) -> Result<CreateRequest, ApiError> {
    let Some(body) = body.as_object() else {
        return Err(bad_request("Request body must be an object"));
    };
    let agent_id = match body.get("agentId") {
        None => None,
        Some(Value::String(text)) => Some(text.as_str()),
        Some(_) => return Err(bad_request("agentId must be a valid UUID string")),
    };
    let Some(Value::String(user_id)) = body.get("userId") else {
        return Err(bad_request(
            "userId is required and must be a valid UUID string",
        ));
    };
    let Some(Value::String(content)) = body.get("content") else {
        return Err(bad_request("content is required and must be a string"));
    };
    if content.is_empty() {
        return Err(bad_request("content cannot be empty"));
    }
    if js_length(content) > MAX_CONTENT_LENGTH {
        return Err(bad_request(format!(
            "content exceeds maximum length of {MAX_CONTENT_LENGTH} characters"
        )));
    }
    let metadata = match body.get("metadata") {
        None => Map::new(),
        // 1.7.2 lets arrays through (`typeof [] === "object"`) and then spreads their indexes
        // into the channel metadata; only objects make sense.
        Some(Value::Object(metadata)) => metadata.clone(),
        Some(_) => return Err(bad_request("metadata must be an object")),
    };
    let metadata_size =
        serde_json::to_string(&metadata).map_or(usize::MAX, |text| js_length(&text));
    if metadata_size > MAX_METADATA_SIZE {
        return Err(bad_request(format!(
            "metadata exceeds maximum size of {MAX_METADATA_SIZE} bytes"
        )));
    }
    let timeout_ms = match body.get("timeoutMs") {
        None => DEFAULT_TIMEOUT_MS,
        Some(value) => {
            let millis = value
                .as_f64()
                .filter(|millis| *millis >= 0.0)
                .ok_or_else(|| bad_request("timeoutMs must be a positive number"))?;
            if millis < MIN_TIMEOUT_MS as f64 {
                return Err(bad_request(format!(
                    "timeoutMs must be at least {MIN_TIMEOUT_MS}ms"
                )));
            }
            if millis > MAX_TIMEOUT_MS as f64 {
                return Err(bad_request(format!(
                    "timeoutMs cannot exceed {MAX_TIMEOUT_MS}ms"
                )));
            }
            (millis.round() as i64).clamp(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS)
        }
    };
    if validate_uuid(user_id).is_none() {
        return Err(bad_request("Invalid userId format (must be valid UUID)"));
    }
    let agent_id = agent_id.filter(|text| !text.is_empty());
    if let Some(text) = agent_id
        && validate_uuid(text).is_none()
    {
        return Err(bad_request("Invalid agentId format (must be valid UUID)"));
    }
    Ok(CreateRequest {
        user_id: user_id.clone(),
        content: content.clone(),
        agent_id: agent_id.map(str::to_owned),
        metadata,
        timeout_ms,
    })
}

/// The agent to ask: the one named, else the first running agent. It must be running: an agent
/// that exists but is stopped gets a 404 saying so (1.7.2 only knows running agents and answers
/// "Agent <id> not found" for it).
async fn resolve_agent(state: &AppState, requested: Option<&str>) -> Result<AgentId, ApiError> {
    let running = state.agents.running();
    let Some(text) = requested else {
        return running
            .first()
            .copied()
            .ok_or_else(|| not_found("No agents available on server"));
    };
    let agent = AgentId::parse(text)
        .map_err(|_| bad_request("Invalid agentId format (must be valid UUID)"))?;
    if running.contains(&agent) {
        return Ok(agent);
    }
    match state.store.get_agent(agent).await {
        Ok(Some(_)) => Err(not_found(format!("Agent {text} is not running"))),
        Ok(None) => Err(not_found(format!("Agent {text} not found"))),
        Err(err) => Err(store_error(err, "Failed to create job")),
    }
}

/// `{…defaults, …extra}` as JavaScript spreads it (an existing key keeps its place, takes the
/// new value).
fn spread(defaults: Value, extra: &Map<String, Value>) -> Value {
    let mut spread = match defaults {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    spread.extend(extra.clone());
    Value::Object(spread)
}

#[utoipa::path(post, path = "/api/messaging/jobs", tag = "jobs", summary = "Ask an agent one question, answered asynchronously",
    request_body = CreateJobBody,
    responses((status = 201, body = JobCreated), (status = 400, body = ErrorBody),
        (status = 404, description = "No running agent, or not that one", body = ErrorBody)))]
async fn create_job(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let request = validate(&body.0)?;
    let agent_id = resolve_agent(&state, request.agent_id.as_deref()).await?;

    let job_id = Uuid::new_v4();
    let channel_id = ChannelId::new_random();
    let job = state
        .jobs
        .create(
            NewJob {
                id: job_id,
                agent_id,
                user_id: request.user_id.clone(),
                channel_id,
                prompt: request.content.clone(),
                metadata: Value::Object(request.metadata.clone()),
                timeout_ms: request.timeout_ms,
            },
            now_ms(),
        )
        .await
        .map_err(|err| store_error(err, "Failed to create job"))?;
    tracing::info!(job = %job_id, agent = %agent_id, timeout_ms = request.timeout_ms, "job created");

    let channel = match create_job_channel(&state, &request, job_id, agent_id, channel_id).await {
        Ok(channel) => channel,
        Err(err) => {
            if let Err(err) = state.jobs.remove(job_id).await {
                tracing::warn!(job = %job_id, %err, "job without a channel not removed; it will time out");
            }
            tracing::error!(job = %job_id, err = %err.message, "failed to create job channel");
            return Err(err);
        }
    };

    let started = state.jobs.start_processing(job_id).await;
    let Some(job) = started.map_err(|err| store_error(err, "Failed to start job"))? else {
        // Evicted meanwhile (the registry is full of newer jobs): report what was created.
        return Ok(HttpResponse::Created().json(job.created_json()));
    };
    let watch = state.messaging.watch(channel_id);
    let post = Post {
        message: NewMessage {
            id: None,
            channel_id,
            message_server_id: MessageServerId(DEFAULT_SERVER_ID),
            author_id: request.user_id.clone(),
            content: request.content.clone(),
            raw_message: json!({"content": request.content}),
            source_type: "job_request".to_owned(),
            source_id: None,
            in_reply_to: None,
            metadata: Some(spread(
                json!({"jobId": job_id, "isJobMessage": true}),
                &request.metadata,
            )),
        },
        origin: MessageOrigin::Gui,
        author_display_name: None,
    };
    let mut answer = job.created_json();
    match state.messaging.post_in(channel, post).await {
        Ok(posted) => {
            if let Err(err) = state.jobs.set_user_message(job_id, posted.message.id).await {
                tracing::warn!(job = %job_id, %err, "job question id not recorded");
            }
            if posted.dispatched.is_empty() {
                tracing::debug!(job = %job_id, agent = %agent_id, "no local agent took the job; waiting on the bus");
            }
            let timeout =
                Duration::from_millis(job.expires_at.saturating_sub(now_ms()).max(0) as u64);
            actix_web::rt::spawn(await_answer(
                Arc::clone(&state.jobs),
                job_id,
                agent_id,
                watch,
                posted.message,
                timeout,
            ));
        }
        Err(err) => {
            tracing::error!(job = %job_id, %err, "failed to create message for job");
            let failed = state
                .jobs
                .fail(job_id, "Failed to create user message", now_ms());
            if let Ok(Some(status)) = failed.await {
                answer["status"] = json!(status.as_str());
            }
        }
    }
    Ok(HttpResponse::Created().json(answer))
}

/// The job's DM channel `job-<jobId>` on the default server; only the agent takes part (1.7.2).
async fn create_job_channel(
    state: &AppState,
    request: &CreateRequest,
    job_id: Uuid,
    agent_id: AgentId,
    channel_id: ChannelId,
) -> Result<Channel, ApiError> {
    let metadata = spread(
        json!({
            "jobId": job_id,
            "agentId": agent_id,
            "userId": request.user_id,
            "isJobChannel": true,
        }),
        &request.metadata,
    );
    let new = NewChannel {
        id: channel_id,
        server: MessageServerId(DEFAULT_SERVER_ID),
        name: format!("job-{job_id}"),
        channel_type: ChannelType::Dm,
        source_type: None,
        metadata: Some(metadata),
        participants: vec![agent_id.to_string()],
    };
    // 1.7.2's text for this route.
    channels::create(state.store.as_ref(), new, "Failed to create job channel").await
}

/// Waits (at most `timeout`) for the agent's answer and records the outcome.
async fn await_answer(
    jobs: Arc<JobRegistry>,
    job_id: Uuid,
    agent_id: AgentId,
    mut watch: ReplyWatch,
    question: BusMessage,
    timeout: Duration,
) {
    let outcome = tokio::time::timeout(timeout, answer_of(&mut watch, &question, agent_id)).await;
    let now = now_ms();
    let status = match outcome {
        Ok(Ok(reply)) => {
            jobs.complete(
                job_id,
                JobReply {
                    id: reply.id,
                    content: reply.content,
                    author_id: reply.author_id,
                    created_at: reply.created_at,
                    metadata: reply.metadata,
                },
                now,
            )
            .await
        }
        Ok(Err(error)) => {
            jobs.fail(job_id, format!("Agent failed to respond: {error}"), now)
                .await
        }
        Err(_elapsed) => jobs.time_out(job_id, now).await,
    };
    match status {
        Ok(status) => {
            tracing::info!(job = %job_id, status = status.map(|status| status.as_str()), "job finished");
        }
        // A poll still times the job out at its expiry.
        Err(err) => tracing::error!(job = %job_id, %err, "job outcome not recorded"),
    }
}

/// The agent's answer to `question`: its first reply that is not an action notice.
async fn answer_of(
    watch: &mut ReplyWatch,
    question: &BusMessage,
    agent_id: AgentId,
) -> Result<BusMessage, String> {
    loop {
        match watch.reply(question).await {
            Some(Ok(reply)) => {
                if is_answer(&reply.author_id, &reply.content, agent_id) {
                    return Ok(reply);
                }
            }
            Some(Err(NoReply::Failed(error))) => return Err(error),
            Some(Err(NoReply::Declined)) => {
                return Err("the agent chose not to reply to this message".to_owned());
            }
            // The bus is gone: nothing will come; the timeout decides.
            None => std::future::pending::<()>().await,
        }
    }
}

/// A reply by the agent that is not an action notice.
fn is_answer(author_id: &str, content: &str, agent_id: AgentId) -> bool {
    AgentId::parse(author_id) == Ok(agent_id) && !content.starts_with(ACTION_NOTICE_PREFIX)
}

/// The agent's answer to a job's question as stored. In a cluster the node that created the job
/// waits for the answer; if that node died, any node polling the job finds the answer here.
async fn stored_answer(state: &AppState, job: &Job) -> Option<JobReply> {
    let question = job.user_message_id?;
    let replies = match state.store.list_replies(question).await {
        Ok(replies) => replies,
        Err(err) => {
            tracing::warn!(job = %job.id, %err, "stored answers of a job unavailable");
            return None;
        }
    };
    let answer = replies
        .into_iter()
        .find(|reply| is_answer(&reply.author_id, &reply.content, job.agent_id))?;
    Some(JobReply {
        id: answer.id,
        content: answer.content,
        author_id: answer.author_id,
        created_at: answer.created_at.timestamp_millis(),
        metadata: answer.metadata,
    })
}

/// `limit` as 1.7.2 reads it (`parseInt(limit) || 50`); a negative limit also means 50, one too
/// large to read means "everything".
fn list_limit(text: Option<&str>) -> usize {
    const DEFAULT: usize = 50;
    match text.and_then(js_parse_int) {
        // `js_parse_int` saturates: the number was too large to read.
        Some(i64::MAX) => usize::MAX,
        Some(limit) if limit > 0 => usize::try_from(limit).unwrap_or(usize::MAX),
        _ => DEFAULT,
    }
}

#[utoipa::path(get, path = "/api/messaging/jobs", tag = "jobs", summary = "The jobs, newest first",
    params(("limit" = Option<u64>, Query, description = "Default 50"),
        ("status" = Option<JobStatus>, Query, description = "Only jobs in this status (anything else is ignored)")),
    responses((status = 200, body = JobListBody)))]
async fn list_jobs(
    state: web::Data<AppState>,
    query: web::Query<Vec<(String, String)>>,
) -> ApiResult {
    let first = |key: &str| {
        query
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    };
    let limit = list_limit(first("limit"));
    // An unknown status is ignored, as in 1.7.2.
    let status = first("status").and_then(JobStatus::parse);
    let list = state.jobs.list(status, limit, now_ms()).await;
    let list = list.map_err(|err| store_error(err, "Failed to list jobs"))?;
    Ok(HttpResponse::Ok().json(list.to_json()))
}

#[utoipa::path(get, path = "/api/messaging/jobs/health", tag = "jobs", summary = "Jobs health", operation_id = "jobs_health",
    responses((status = 200, body = JobHealthBody)))]
async fn health(state: web::Data<AppState>) -> ApiResult {
    let health = state.jobs.health(now_ms()).await;
    let health = health.map_err(|err| store_error(err, "Failed to read job health"))?;
    Ok(HttpResponse::Ok().json(health.to_json()))
}

#[utoipa::path(get, path = "/api/messaging/jobs/{jobId}", tag = "jobs", summary = "One job (poll it until it is finished)",
    params(("jobId" = Uuid, Path)),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody)))]
async fn get_job(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = validate_uuid(&path).ok_or_else(|| not_found("Job not found"))?;
    let failed = |err| store_error(err, "Failed to read job");
    let job = state.jobs.get(id, now_ms()).await;
    let job = job
        .map_err(failed)?
        .ok_or_else(|| not_found("Job not found"))?;
    let job = with_stored_answer(&state, job).await.map_err(failed)?;
    Ok(HttpResponse::Ok().json(job.to_json()))
}

/// In a cluster, a processing job whose answer is already stored is completed by this poll.
async fn with_stored_answer(state: &AppState, job: Job) -> StoreResult<Job> {
    if job.status != JobStatus::Processing || state.cluster.is_none() {
        return Ok(job);
    }
    let Some(answer) = stored_answer(state, &job).await else {
        return Ok(job);
    };
    let answered_at = answer.created_at;
    let answered = state.jobs.complete_job(job.id, answer, answered_at).await?;
    Ok(answered.unwrap_or(job))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "8a3c7f1e-0000-4000-8000-000000000001";

    fn error_of(body: Value) -> String {
        validate(&body).unwrap_err().message
    }

    #[test]
    fn a_minimal_body_gets_the_defaults() {
        let request = validate(&json!({"userId": USER, "content": "hi"})).unwrap();
        assert_eq!(request.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(request.agent_id, None);
        assert!(request.metadata.is_empty());
        let request =
            validate(&json!({"userId": USER, "content": "hi", "agentId": "", "timeoutMs": 1500.4}))
                .unwrap();
        assert_eq!(request.agent_id, None);
        assert_eq!(request.timeout_ms, 1500);
    }

    #[test]
    fn validation_follows_the_1_7_2_order_and_texts() {
        let cases = [
            (json!([]), "Request body must be an object"),
            (json!({"agentId": 5}), "agentId must be a valid UUID string"),
            (
                json!({"agentId": null, "userId": USER, "content": "x"}),
                "agentId must be a valid UUID string",
            ),
            (
                json!({}),
                "userId is required and must be a valid UUID string",
            ),
            (
                json!({"userId": 1}),
                "userId is required and must be a valid UUID string",
            ),
            (
                json!({"userId": "u"}),
                "content is required and must be a string",
            ),
            (
                json!({"userId": "u", "content": ""}),
                "content cannot be empty",
            ),
            (
                json!({"userId": "u", "content": "x".repeat(50_001)}),
                "content exceeds maximum length of 50000 characters",
            ),
            (
                json!({"userId": "u", "content": "x", "metadata": "m"}),
                "metadata must be an object",
            ),
            (
                json!({"userId": "u", "content": "x", "metadata": null}),
                "metadata must be an object",
            ),
            (
                json!({"userId": "u", "content": "x", "metadata": [1]}),
                "metadata must be an object",
            ),
            (
                json!({"userId": "u", "content": "x", "metadata": {"k": "v".repeat(10_000)}}),
                "metadata exceeds maximum size of 10000 bytes",
            ),
            (
                json!({"userId": "u", "content": "x", "timeoutMs": "5"}),
                "timeoutMs must be a positive number",
            ),
            (
                json!({"userId": "u", "content": "x", "timeoutMs": -1}),
                "timeoutMs must be a positive number",
            ),
            (
                json!({"userId": "u", "content": "x", "timeoutMs": 999}),
                "timeoutMs must be at least 1000ms",
            ),
            (
                json!({"userId": "u", "content": "x", "timeoutMs": 300_001}),
                "timeoutMs cannot exceed 300000ms",
            ),
            (
                json!({"userId": "u", "content": "x"}),
                "Invalid userId format (must be valid UUID)",
            ),
            (
                json!({"userId": USER, "content": "x", "agentId": "nope"}),
                "Invalid agentId format (must be valid UUID)",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(error_of(body.clone()), expected, "{body}");
        }
    }

    #[test]
    fn content_length_counts_like_javascript() {
        // An emoji is two UTF-16 units: 25 000 of them are exactly the limit.
        let ok = "😀".repeat(25_000);
        assert!(validate(&json!({"userId": USER, "content": ok})).is_ok());
        let long = "😀".repeat(25_001);
        assert_eq!(
            error_of(json!({"userId": USER, "content": long})),
            "content exceeds maximum length of 50000 characters"
        );
    }

    #[test]
    fn metadata_spreads_over_the_defaults() {
        let extra = json!({"jobId": "mine", "topic": "t"});
        let spread = spread(
            json!({"jobId": "j", "isJobMessage": true}),
            extra.as_object().unwrap(),
        );
        assert_eq!(
            spread.to_string(),
            r#"{"jobId":"mine","isJobMessage":true,"topic":"t"}"#
        );
    }

    #[test]
    fn limits_are_read_like_parse_int() {
        assert_eq!(list_limit(None), 50);
        assert_eq!(list_limit(Some("2")), 2);
        assert_eq!(list_limit(Some(" 7abc")), 7);
        assert_eq!(list_limit(Some("3.9")), 3);
        assert_eq!(list_limit(Some("0")), 50);
        assert_eq!(list_limit(Some("-4")), 50);
        assert_eq!(list_limit(Some("many")), 50);
        assert_eq!(
            list_limit(Some("99999999999999999999999999999999999999999")),
            usize::MAX
        );
    }
}
