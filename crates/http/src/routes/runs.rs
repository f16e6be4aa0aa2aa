//! `GET /api/agents/:agentId/runs` and `GET /api/agents/:agentId/runs/:runId` (API spec §2.1), family A:
//! the agent's runs as its `run_event` rows describe them, and one run's rows as a timeline.
//!
//! A row belongs to a run when its `body.runId` or `body.parentRunId` is the run's id. The counts are
//! those of [`RunCounts::tally`]: `action` rows (errors when `result.success` is `false`), `useModel:*`
//! rows, `evaluator` rows and failed `embedding_event` rows, plus one error when the run ended with
//! status `error`. Unlike 1.7.2 there is no 15 s cache, and an unknown run is a 404.

use crate::error::{ApiError, ApiResult, ok};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::routes::agent_logs::{QueryPairs, first, invalid_query, require_running, room_param};
use crate::state::AppState;
use actix_web::web;
use chrono::{DateTime, Utc};
use eliza_domain::AgentId;
use eliza_domain::ids::validate_uuid;
use eliza_domain::log::{AgentLog, RunCounts, RunQuery, RunStatus, RunSummary};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, list_runs);
    crate::route!(routes, get_run);
}

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// `limit` as 1.7.2 reads it (`Math.min(Number(limit) || 20, 100)`, at least 1), except that a value that
/// is not a number is a 400 instead of the default.
fn limit_param(pairs: &[(String, String)]) -> Result<u32, ApiError> {
    let Some(text) = first(pairs, "limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    let value = js_number(text).ok_or_else(|| invalid_query("limit", text, "a number"))?;
    Ok(if value == 0.0 {
        DEFAULT_LIMIT
    } else {
        // In range by the clamp, so the cast is exact.
        value.floor().clamp(1.0, f64::from(MAX_LIMIT)) as u32
    })
}

/// `from`/`to`: epoch milliseconds (fractions allowed); a value that is not a number is a 400.
fn time_param(pairs: &[(String, String)], name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = first(pairs, name) else {
        return Ok(None);
    };
    let ms = js_number(text).ok_or_else(|| invalid_query(name, text, "epoch milliseconds"))?;
    // Saturating casts; the store clamps times beyond the storable range.
    let micros = (ms * 1000.0).round() as i64;
    Ok(Some(DateTime::from_timestamp_micros(micros).unwrap_or(
        if micros < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        },
    )))
}

/// A finite number in JavaScript's `Number(text)` spelling (surrounding blanks allowed).
fn js_number(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

/// What a run did.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RunCountsBody {
    pub actions: u64,
    pub model_calls: u64,
    pub errors: u64,
    pub evaluators: u64,
}

/// A run of the list.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RunListItem {
    pub run_id: String,
    /// `started`, `completed`, `timeout` or `error`.
    pub status: String,
    /// Epoch milliseconds.
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub message_id: Option<String>,
    pub room_id: Option<Uuid>,
    pub entity_id: Option<Uuid>,
    pub metadata: Value,
    pub counts: RunCountsBody,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RunList {
    pub runs: Vec<RunListItem>,
    pub total: u64,
    pub has_more: bool,
}

/// One run: `summary` `{runId, status, startedAt, endedAt, durationMs, messageId, roomId,
/// entityId, counts}` (unknown values omitted) and its `events` `{type, timestamp, data}`,
/// oldest first (`RUN_STARTED`, `RUN_ENDED`, `ACTION_STARTED`, `ACTION_COMPLETED`, `MODEL_USED`,
/// `EVALUATOR_COMPLETED`, `EMBEDDING_EVENT`).
#[derive(ToSchema)]
pub struct RunDetail {
    #[schema(value_type = Object)]
    pub summary: Value,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

fn counts_json(counts: &RunCounts) -> Value {
    json!({
        "actions": counts.actions,
        "modelCalls": counts.model_calls,
        "errors": counts.errors,
        "evaluators": counts.evaluators,
    })
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

/// A RunSummary of the list: `startedAt`/`endedAt` in ms or null, `durationMs` null unless both are known;
/// `messageId`, `roomId` and `entityId` omitted when unknown (undefined in 1.7.2).
fn summary_json(run: &RunSummary) -> Value {
    let started = run.started_at.map(|at| at.timestamp_millis());
    let ended = run.ended_at.map(|at| at.timestamp_millis());
    let duration = started.zip(ended).map(|(start, end)| (end - start).max(0));
    let mut map = Map::new();
    map.insert("runId".into(), json!(run.run_id));
    map.insert("status".into(), json!(run.status.as_str()));
    map.insert("startedAt".into(), json!(started));
    map.insert("endedAt".into(), json!(ended));
    map.insert("durationMs".into(), json!(duration));
    put(
        &mut map,
        "messageId",
        run.message_id.as_ref().map(|id| json!(id)),
    );
    put(&mut map, "roomId", run.room_id.map(|id| json!(id)));
    put(&mut map, "entityId", run.entity_id.map(|id| json!(id)));
    map.insert("metadata".into(), run.metadata.clone());
    map.insert("counts".into(), counts_json(&run.counts));
    Value::Object(map)
}

#[utoipa::path(get, path = "/api/agents/{agentId}/runs", tag = "agents", summary = "The running agent's runs, newest first",
    params(("agentId" = Uuid, Path),
        ("roomId" = Option<Uuid>, Query),
        ("status" = Option<String>, Query, description = "`started`, `completed`, `timeout`, `error` or `all`; anything else is ignored"),
        ("limit" = Option<f64>, Query, description = "Default 20, between 1 and 100"),
        ("from" = Option<f64>, Query, description = "Epoch milliseconds"),
        ("to" = Option<f64>, Query, description = "Epoch milliseconds")),
    responses((status = 200, body = Success<RunList>), (status = 400, body = ErrorBody),
        (status = 404, description = "The agent is not running", body = ErrorBody)))]
/// Newest start first; `status` other than `started`, `completed`, `timeout`, `error` (or `all`) is ignored.
async fn list_runs(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult {
    let agent =
        AgentId::parse(&path).map_err(|_| ApiError::invalid_id("Invalid agent ID format"))?;
    require_running(&state, agent)?;
    let room = room_param(&query)?;
    let limit = limit_param(&query)?;
    let run_query = RunQuery {
        agent_id: agent,
        room_id: room,
        status: first(&query, "status").and_then(RunStatus::parse),
        from: time_param(&query, "from")?,
        to: time_param(&query, "to")?,
        limit,
    };
    let page =
        state.store.list_runs(&run_query).await.map_err(|err| {
            ApiError::from_store(err, "RUNS_ERROR", "Error retrieving agent runs")
        })?;
    Ok(ok(json!({
        "runs": page.runs.iter().map(summary_json).collect::<Vec<_>>(),
        "total": page.total,
        "hasMore": page.total > u64::from(limit),
    })))
}

#[utoipa::path(get, path = "/api/agents/{agentId}/runs/{runId}", tag = "agents", summary = "One run and its events",
    params(("agentId" = Uuid, Path), ("runId" = Uuid, Path), ("roomId" = Option<Uuid>, Query)),
    responses((status = 200, body = Success<RunDetail>), (status = 400, body = ErrorBody),
        (status = 404, description = "The agent is not running, or has no row of that run", body = ErrorBody)))]
/// One run: `{summary, events}`, events oldest first; 404 when the agent has no row of that run.
async fn get_run(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: QueryPairs,
) -> ApiResult {
    let (agent, run) = path.into_inner();
    let (Ok(agent), Some(run)) = (AgentId::parse(&agent), validate_uuid(&run)) else {
        return Err(ApiError::invalid_id("Invalid agent or run ID format"));
    };
    let room = room_param(&query)?;
    require_running(&state, agent)?;
    let run_id = run.hyphenated().to_string();
    let logs = state
        .store
        .list_run_logs(agent, &run_id, room)
        .await
        .map_err(|err| {
            ApiError::from_store(err, "RUN_DETAIL_ERROR", "Error retrieving run details")
        })?;
    if logs.is_empty() {
        return Err(ApiError::not_found("Run not found"));
    }
    Ok(ok(run_detail(
        agent,
        &run_id,
        room.map(|id| id.to_string()),
        &logs,
    )))
}

/// A JavaScript-truthy value (what `a || b` keeps).
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `body[key]` when present (an absent key is undefined in 1.7.2, so omitted).
fn field(body: &Value, key: &str) -> Option<Value> {
    body.get(key).cloned()
}

/// An object of the present fields.
fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    let mut map = Map::new();
    for (key, value) in fields {
        put(&mut map, key, value);
    }
    Value::Object(map)
}

fn millis(log: &AgentLog) -> i64 {
    log.created_at.timestamp_millis()
}

/// 1.7.2's run detail over the run's rows (oldest first).
fn run_detail(agent: AgentId, run_id: &str, room: Option<String>, logs: &[AgentLog]) -> Value {
    let of_type = |kind: &'static str| logs.iter().filter(move |log| log.log_type == kind);
    let run_events: Vec<&AgentLog> = of_type("run_event").collect();
    let status_of = |log: &AgentLog| log.body.get("status").cloned().unwrap_or(Value::Null);
    let started = run_events
        .iter()
        .copied()
        .find(|log| log.body.get("status").and_then(Value::as_str) == Some("started"));
    let last = run_events.last().copied();
    let started_at = started.map(millis);
    let ended_at = last
        .filter(|log| log.body.get("status").and_then(Value::as_str) != Some("started"))
        .map(millis);
    let status = last
        .map(status_of)
        .filter(truthy)
        .unwrap_or_else(|| json!("started"));
    let duration = started_at
        .zip(ended_at)
        .filter(|(start, end)| *start != 0 && *end != 0)
        .map(|(start, end)| end - start);

    let mut counts = RunCounts::default();
    for log in logs {
        counts.tally(&log.log_type, &log.body);
    }
    if let Some(status) = status.as_str().and_then(RunStatus::parse) {
        counts = counts.with_status(status);
    }

    let mut events: Vec<(i64, Value)> = Vec::new();
    let mut push = |log: &AgentLog, kind: &str, data: Value| {
        events.push((
            millis(log),
            json!({"type": kind, "timestamp": millis(log), "data": data}),
        ));
    };
    for log in &run_events {
        let body = &log.body;
        if body.get("status").and_then(Value::as_str) == Some("started") {
            push(
                log,
                "RUN_STARTED",
                object(vec![
                    ("source", field(body, "source")),
                    ("messageId", field(body, "messageId")),
                ]),
            );
        } else {
            push(
                log,
                "RUN_ENDED",
                object(vec![
                    ("status", field(body, "status")),
                    ("error", field(body, "error")),
                    ("durationMs", field(body, "duration")),
                ]),
            );
        }
    }
    for log in of_type("action_event") {
        let body = &log.body;
        let action_name = field(body, "actionName")
            .filter(truthy)
            .or_else(|| body.pointer("/content/actions/0").cloned());
        push(
            log,
            "ACTION_STARTED",
            object(vec![
                ("actionId", field(body, "actionId").filter(Value::is_string)),
                ("actionName", action_name),
                ("messageId", field(body, "messageId")),
                ("planStep", field(body, "planStep")),
            ]),
        );
    }
    for log in of_type("action") {
        let body = &log.body;
        let success = body.pointer("/result/success") != Some(&Value::Bool(false));
        push(
            log,
            "ACTION_COMPLETED",
            object(vec![
                ("actionId", field(body, "actionId")),
                ("actionName", field(body, "action")),
                ("success", Some(json!(success))),
                ("result", field(body, "result")),
                ("promptCount", field(body, "promptCount")),
                ("prompts", field(body, "prompts")),
                ("params", field(body, "params")),
                ("response", field(body, "response")),
            ]),
        );
    }
    for log in logs
        .iter()
        .filter(|log| log.log_type.starts_with("useModel:"))
    {
        let body = &log.body;
        let model_type = field(body, "modelType").filter(truthy).or_else(|| {
            Some(json!(
                log.log_type.strip_prefix("useModel:").unwrap_or_default()
            ))
        });
        let mut fields = vec![("modelType", model_type)];
        for key in [
            "provider",
            "executionTime",
            "actionContext",
            "params",
            "response",
            "usage",
            "prompts",
            "prompt",
            "inputTokens",
            "outputTokens",
            "cost",
        ] {
            fields.push((key, field(body, key)));
        }
        push(log, "MODEL_USED", object(fields));
    }
    for log in of_type("evaluator") {
        push(
            log,
            "EVALUATOR_COMPLETED",
            object(vec![
                ("evaluatorName", field(&log.body, "evaluator")),
                ("success", Some(json!(true))),
            ]),
        );
    }
    for log in of_type("embedding_event") {
        let body = &log.body;
        push(
            log,
            "EMBEDDING_EVENT",
            object(vec![
                ("status", field(body, "status")),
                ("memoryId", field(body, "memoryId")),
                ("durationMs", field(body, "duration")),
            ]),
        );
    }
    // Stable, as JavaScript's sort: same-millisecond events keep the order above.
    events.sort_by_key(|(at, _)| *at);

    // 1.7.2 takes messageId, roomId and entityId from the started row, else the first run_event row,
    // else the first row of the run.
    let first = started.or(run_events.first().copied()).or(logs.first());
    let first_body = first.map(|log| &log.body);
    let pick = |key: &str| first_body.and_then(|body| field(body, key));
    let summary = object(vec![
        ("runId", Some(json!(run_id))),
        ("status", Some(status)),
        (
            "startedAt",
            started_at.or(first.map(millis)).map(|ms| json!(ms)),
        ),
        ("endedAt", ended_at.map(|ms| json!(ms))),
        ("durationMs", duration.map(|ms| json!(ms))),
        ("messageId", pick("messageId")),
        (
            "roomId",
            pick("roomId")
                .filter(truthy)
                .or_else(|| room.map(|room| json!(room))),
        ),
        (
            "entityId",
            pick("entityId")
                .filter(truthy)
                .or_else(|| Some(json!(agent))),
        ),
        ("counts", Some(counts_json(&counts))),
    ]);
    json!({
        "summary": summary,
        "events": events.into_iter().map(|(_, event)| event).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::agent_logs::test_pairs as pairs;

    #[test]
    fn limit_defaults_clamps_and_refuses_words() {
        let limit = |text: &str| limit_param(&pairs(&[("limit", text)]));
        assert_eq!(limit_param(&[]), Ok(20));
        assert_eq!(limit(""), Ok(20));
        assert_eq!(limit("0"), Ok(20));
        assert_eq!(limit("5"), Ok(5));
        assert_eq!(limit("2.7"), Ok(2));
        assert_eq!(limit("-3"), Ok(1));
        assert_eq!(limit("1000"), Ok(100));
        assert_eq!(limit("lots").unwrap_err().code, "INVALID_QUERY");
        assert_eq!(limit("Infinity").unwrap_err().code, "INVALID_QUERY");
    }

    #[test]
    fn times_are_epoch_milliseconds() {
        let at = |text: &str| time_param(&pairs(&[("from", text)]), "from");
        assert_eq!(
            at("1700000000123").unwrap().unwrap().timestamp_millis(),
            1_700_000_000_123
        );
        assert_eq!(at("1e30").unwrap(), Some(DateTime::<Utc>::MAX_UTC));
        assert_eq!(at("-1e30").unwrap(), Some(DateTime::<Utc>::MIN_UTC));
        assert_eq!(at("soon").unwrap_err().code, "INVALID_QUERY");
        assert_eq!(time_param(&[], "from"), Ok(None));
    }
}
