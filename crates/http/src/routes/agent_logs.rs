//! `GET /api/agents/:agentId/logs` and `DELETE /api/agents/:agentId/logs/:logId` (API spec §2.1, runtime
//! spec §7), family A. Logs carry their agent, so an agent only ever sees its own (1.7.2 shows every
//! agent's logs).

use crate::error::{ApiError, ApiResult, ok};
use crate::messaging::render::iso;
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use eliza_domain::log::{AgentLog, LogQuery};
use eliza_domain::{AgentId, AgentStatus, LogId, RoomId};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, list_logs);
    crate::route!(routes, delete_log);
}

/// `count` when absent (1.7.2's store default).
const DEFAULT_COUNT: u32 = 10;
/// The most rows one request returns; larger `count`/`limit` values are lowered to it.
pub const MAX_COUNT: u32 = 1_000;

/// The query string as pairs, in order, so that repeated keys survive (`excludeTypes=a&excludeTypes=b`).
pub(crate) type QueryPairs = web::Query<Vec<(String, String)>>;

/// The first non-empty value of `key` (Express treats an empty value as absent).
pub(crate) fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(name, value)| name == key && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

/// Every value of `key`, spelled `key`, `key[]` or `key[<n>]` as Express's `qs` reads arrays.
fn all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(name, _)| {
            name.strip_prefix(key).is_some_and(|rest| {
                rest.is_empty()
                    || rest
                        .strip_prefix('[')
                        .and_then(|inner| inner.strip_suffix(']'))
                        .is_some_and(|index| index.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .map(|(_, value)| value.clone())
        .collect()
}

/// A 400 `INVALID_QUERY` for a parameter that is not what it should be.
pub(crate) fn invalid_query(name: &str, value: &str, expected: &str) -> ApiError {
    ApiError::bad_request(
        "INVALID_QUERY",
        format!("Invalid {name} \"{value}\": expected {expected}"),
    )
}

/// A non-negative integer parameter.
fn count_param(pairs: &[(String, String)], name: &str) -> Result<Option<u64>, ApiError> {
    first(pairs, name)
        .map(|text| {
            text.parse::<u64>()
                .map_err(|_| invalid_query(name, text, "a non-negative integer"))
        })
        .transpose()
}

/// 404 "Agent not found" unless the agent runs (1.7.2 looks the runtime up, not the database row).
pub(crate) fn require_running(state: &AppState, agent: AgentId) -> Result<(), ApiError> {
    if state.agents.status(agent) == AgentStatus::Active {
        Ok(())
    } else {
        Err(ApiError::not_found("Agent not found"))
    }
}

/// The optional `roomId` parameter; 400 "Invalid room ID format" when it is not a UUID.
pub(crate) fn room_param(pairs: &[(String, String)]) -> Result<Option<RoomId>, ApiError> {
    first(pairs, "roomId")
        .map(|text| RoomId::parse(text).map_err(|_| ApiError::invalid_id("Invalid room ID format")))
        .transpose()
}

/// An agent log row.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Log {
    pub id: Uuid,
    /// ISO-8601.
    pub created_at: String,
    pub entity_id: Uuid,
    pub room_id: Uuid,
    /// `useModel:TEXT_LARGE`, `action`, `evaluator`, `run_event`, …
    #[schema(rename = "type")]
    pub log_type: String,
    pub body: Value,
}

/// A log as 1.7.2 answers it: `{id, createdAt (ISO), entityId, roomId, type, body}`.
pub fn log_json(log: &AgentLog) -> Value {
    json!({
        "id": log.id,
        "createdAt": iso(&log.created_at),
        "entityId": log.entity_id,
        "roomId": log.room_id,
        "type": log.log_type,
        "body": log.body,
    })
}

/// Newest first. `count` wins over `limit` (the api-client and UI send `limit=50`, which 1.7.2 ignores);
/// both are capped at [`MAX_COUNT`]. `excludeTypes` is applied before paging, so pages stay full.
#[utoipa::path(get, path = "/api/agents/{agentId}/logs", tag = "agents", summary = "The running agent's logs, newest first",
    params(("agentId" = Uuid, Path),
        ("roomId" = Option<Uuid>, Query, description = "Only this room's logs"),
        ("type" = Option<String>, Query, description = "Only logs of this type"),
        ("count" = Option<u32>, Query, description = "Page size (default 10, at most 1000)"),
        ("limit" = Option<u32>, Query, description = "Page size when `count` is absent"),
        ("offset" = Option<u32>, Query),
        ("excludeTypes" = Option<Vec<String>>, Query, explode, description = "Drop logs of these types (or whose `body.modelType` contains one)")),
    responses((status = 200, body = Success<Vec<Log>>), (status = 400, body = ErrorBody),
        (status = 404, description = "The agent is not running", body = ErrorBody)))]
async fn list_logs(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult {
    let agent =
        AgentId::parse(&path).map_err(|_| ApiError::invalid_id("Invalid agent ID format"))?;
    require_running(&state, agent)?;
    let room = room_param(&query)?;
    let count = count_param(&query, "count")?;
    let limit = count_param(&query, "limit")?;
    let offset = count_param(&query, "offset")?.unwrap_or(0);
    let limit = count.or(limit).map_or(DEFAULT_COUNT, |n| {
        u32::try_from(n.min(u64::from(MAX_COUNT))).unwrap_or(MAX_COUNT)
    });
    let offset = u32::try_from(offset)
        .map_err(|_| invalid_query("offset", &offset.to_string(), "at most 4294967295"))?;
    let logs = state
        .store
        .list_logs(&LogQuery {
            agent_id: Some(agent),
            room_id: room,
            log_type: first(&query, "type").map(str::to_owned),
            exclude_types: all(&query, "excludeTypes"),
            limit,
            offset,
        })
        .await
        .map_err(|err| ApiError::from_store(err, "LOG_ERROR", "Error retrieving agent logs"))?;
    Ok(ok(logs.iter().map(log_json).collect::<Vec<_>>()))
}

/// 204; 404 when the agent does not run or the log is not one of its logs (1.7.2 answers 204 for an
/// unknown log).
#[utoipa::path(delete, path = "/api/agents/{agentId}/logs/{logId}", tag = "agents", summary = "Delete one of the agent's logs",
    params(("agentId" = Uuid, Path), ("logId" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 404, description = "The agent is not running, or the log is not one of its logs", body = ErrorBody)))]
async fn delete_log(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let (agent, log) = path.into_inner();
    let (Ok(agent), Ok(log)) = (AgentId::parse(&agent), LogId::parse(&log)) else {
        return Err(ApiError::invalid_id("Invalid agent or log ID format"));
    };
    require_running(&state, agent)?;
    let deleted = state
        .store
        .delete_log(agent, log)
        .await
        .map_err(|err| ApiError::from_store(err, "DELETE_ERROR", "Failed to delete log"))?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("Log not found"))
    }
}

/// Query pairs from string pairs, for the query-parsing tests of the route modules.
#[cfg(test)]
pub(crate) fn test_pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::test_pairs as pairs;
    use super::*;

    #[test]
    fn arrays_are_read_in_every_qs_spelling() {
        let query = pairs(&[
            ("excludeTypes", "a"),
            ("excludeTypes[]", "b"),
            ("excludeTypes[3]", "c"),
            ("excludeTypesX", "no"),
            ("excludeTypes[x]", "no"),
            ("type", ""),
            ("type", "action"),
        ]);
        assert_eq!(all(&query, "excludeTypes"), ["a", "b", "c"]);
        assert_eq!(first(&query, "type"), Some("action"));
        assert_eq!(first(&query, "roomId"), None);
    }

    #[test]
    fn counts_must_be_non_negative_integers() {
        assert_eq!(count_param(&pairs(&[("count", "7")]), "count"), Ok(Some(7)));
        for bad in ["-1", "1.5", "ten"] {
            let err = count_param(&pairs(&[("count", bad)]), "count").unwrap_err();
            assert_eq!(err.code, "INVALID_QUERY");
        }
    }
}
