//! The server ("runtime") routes of API spec §2.6, unwrapped (family C) as in 1.7.2. They are
//! mounted at `/api/server` (1.7.2) and again at `/api/runtime` (the path seed 004 documents).

use super::health::{HealthVariant, health_report, iso_now};
use super::system::{Vitals, memory};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::logs::{LEVELS, LogEntry, LogFilter, level_value};
use crate::messaging::render::server_json;
use crate::middleware::has_valid_api_key;
use crate::openapi::Routes;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use chrono::DateTime;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use utoipa::IntoParams;

/// `since` defaults to one hour ago.
const DEFAULT_WINDOW_MS: i64 = 60 * 60 * 1000;
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;
/// pino's `info`, for a submitted entry with no or an unknown level.
const INFO_LEVEL: u8 = 30;

/// Registers the routes at `/api/server` and again at `/api/runtime`.
pub fn configure(routes: &mut Routes<'_>) {
    routes.with_prefix_alias("/api/server", "/api/runtime", |routes| {
        crate::route!(routes, ping);
        crate::route!(routes, hello);
        crate::route!(routes, status);
        crate::route!(routes, health);
        crate::route!(routes, stop);
        crate::route!(routes, debug_servers);
        crate::route!(routes, logs);
        crate::route!(routes, submit_logs);
        crate::route!(routes, clear_logs);
    });
}

#[utoipa::path(get, path = "/api/server/ping", tag = "server", summary = "Ping",
    responses((status = 200, description = "`{pong:true,timestamp:<ms>}`", body = Object)))]
async fn ping() -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({"pong": true, "timestamp": chrono::Utc::now().timestamp_millis()}))
}

#[utoipa::path(get, path = "/api/server/hello", tag = "server",
    responses((status = 200, description = "`{message:\"Hello World!\"}`", body = Object)))]
async fn hello() -> HttpResponse {
    HttpResponse::Ok().json(json!({"message": "Hello World!"}))
}

#[utoipa::path(get, path = "/api/server/status", tag = "server", operation_id = "server_status", summary = "Running agent count",
    responses((status = 200, description = "`{status:\"ok\",agentCount,timestamp}` and the api-client's `ServerStatus` (`agents{total,active,inactive}`, `memory{used,total,percentage}`, `uptime`, `version`)", body = Object)))]
async fn status(state: web::Data<AppState>) -> ApiResult {
    let vitals = Vitals::read(&state).await?;
    let percentage = if vitals.memory_total == 0 {
        0.0
    } else {
        vitals.memory_used as f64 * 100.0 / vitals.memory_total as f64
    };
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "agentCount": vitals.active_agents,
        "timestamp": iso_now(),
        "agents": {
            "total": vitals.total_agents,
            "active": vitals.active_agents,
            "inactive": vitals.total_agents - vitals.active_agents,
        },
        "memory": {"used": vitals.memory_used, "total": vitals.memory_total, "percentage": percentage},
        "uptime": vitals.uptime,
        "version": app_version(&state),
    })))
}

/// The version the server reports (`APP_VERSION`, else `unknown` as in 1.7.2).
fn app_version(state: &AppState) -> &str {
    state.config.app_version.as_deref().unwrap_or("unknown")
}

#[utoipa::path(get, path = "/api/server/health", tag = "server", operation_id = "server_health",
    responses((status = 200, body = super::health::HealthReport), (status = 503, description = "No agent runs", body = super::health::HealthReport)))]
async fn health(state: web::Data<AppState>) -> HttpResponse {
    health_report(&state, HealthVariant::Server)
}

#[utoipa::path(post, path = "/api/server/stop", tag = "server", operation_id = "stop_server", summary = "Stop the server (local caller or API key)",
    responses((status = 200, description = "`{message:\"Server stopping...\"}`", body = Object), (status = 403, body = crate::openapi::schemas::ErrorBody)))]
/// Stops the server, but only for a local caller or one presenting the API key: without a token
/// configured, `/api` is open and anyone could otherwise shut the server down.
async fn stop(req: HttpRequest, state: web::Data<AppState>) -> ApiResult {
    let local = is_local_caller(req.peer_addr(), req.headers());
    let keyed = state
        .config
        .auth_token
        .as_deref()
        .is_some_and(|token| has_valid_api_key(req.headers(), token));
    if !local && !keyed {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "Stopping the server requires a local connection or the API key",
        ));
    }
    tracing::warn!(peer = ?req.peer_addr(), "server stop requested over HTTP");
    state.shutdown.request();
    Ok(HttpResponse::Ok().json(json!({"message": "Server stopping..."})))
}

/// A loopback peer that relays nobody else. A reverse proxy on this host is a loopback peer too,
/// so any forwarding header naming a non-loopback (or unparsable) address, or a `Forwarded`
/// header, means a remote client. `X-Forwarded-For` is checked whatever `trust_forwarded_for`
/// says: its first hop is client-controlled, so it can only ever take trust away here.
fn is_local_caller(peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    let loopback = |hop: &str| {
        let hop = hop.trim();
        hop.parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
    };
    let relayed = ["x-forwarded-for", "x-real-ip"]
        .into_iter()
        .flat_map(|name| headers.get_all(name))
        .any(|value| {
            value
                .to_str()
                .map_or(true, |hops| !hops.split(',').all(loopback))
        })
        || headers.contains_key(header::FORWARDED);
    peer.is_some_and(|peer| peer.ip().to_canonical().is_loopback()) && !relayed
}

/// The raw `/logs` query; every value is validated by [`LogsQuery::parse`] (the documented
/// types are what it accepts).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LogsQuery {
    /// Epoch ms (or ISO-8601); default one hour ago.
    #[param(value_type = Option<i64>)]
    since: Option<String>,
    /// `all` or a level name (exact match).
    level: Option<String>,
    #[serde(rename = "agentName")]
    agent_name: Option<String>,
    #[serde(rename = "agentId")]
    agent_id: Option<String>,
    /// Default 100, at most 1000.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

/// A validated `/logs` query: the filter and the values echoed back (`"all"` when absent).
#[derive(Debug, PartialEq)]
struct LogsRequest {
    filter: LogFilter,
    requested_level: String,
    agent_name: String,
    agent_id: String,
}

fn invalid_query(message: String) -> ApiError {
    ApiError::bad_request("INVALID_QUERY", message)
}

/// An absent or empty parameter counts as not given, as in 1.7.2 (`req.query.x || default`).
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl LogsQuery {
    fn parse(&self, now_ms: i64) -> Result<LogsRequest, ApiError> {
        let since = given(&self.since).map_or(Ok(now_ms - DEFAULT_WINDOW_MS), parse_since)?;
        let requested_level = given(&self.level).unwrap_or("all").to_ascii_lowercase();
        let level = match requested_level.as_str() {
            "all" => None,
            name => Some(level_value(name).ok_or_else(|| {
                let names: Vec<&str> = LEVELS.iter().map(|(name, _)| *name).collect();
                invalid_query(format!(
                    "Invalid \"level\": expected all, {}",
                    names.join(", ")
                ))
            })?),
        };
        let limit = given(&self.limit).map_or(Ok(DEFAULT_LIMIT), parse_limit)?;
        let agent_name = given(&self.agent_name).unwrap_or("all").to_owned();
        let agent_id = given(&self.agent_id).unwrap_or("all").to_owned();
        let only = |value: &str| (value != "all").then(|| value.to_owned());
        let filter = LogFilter {
            since,
            level,
            agent_name: only(&agent_name),
            agent_id: only(&agent_id),
            limit,
        };
        Ok(LogsRequest {
            filter,
            requested_level,
            agent_name,
            agent_id,
        })
    }
}

/// Epoch milliseconds (as 1.7.2's `Number(since)`) or, as an extension, an ISO-8601 timestamp.
fn parse_since(text: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = text.parse::<f64>()
        && ms.is_finite()
    {
        // Saturating float-to-int conversion; sub-millisecond digits are dropped.
        return Ok(ms as i64);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .map_err(|_| {
            invalid_query(format!(
                "Invalid \"since\": expected epoch milliseconds or an ISO date, got {text:?}"
            ))
        })
}

/// A non-negative integer; 0 means the default (1.7.2's `Number(limit) || 100`); capped at 1000.
fn parse_limit(text: &str) -> Result<usize, ApiError> {
    match text.parse::<u64>() {
        Ok(0) => Ok(DEFAULT_LIMIT),
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
        Err(_) => Err(invalid_query(format!(
            "Invalid \"limit\": expected a positive integer, got {text:?}"
        ))),
    }
}

#[utoipa::path(get, path = "/api/server/logs", tag = "server", summary = "The in-memory log buffer",
    params(LogsQuery),
    responses((status = 200, description = "`{logs,count,total,requestedLevel,agentName,agentId,levels}`", body = Object)))]
async fn logs(query: web::Query<LogsQuery>, state: web::Data<AppState>) -> ApiResult {
    Ok(HttpResponse::Ok().json(log_listing(&query, &state)?))
}

#[utoipa::path(post, path = "/api/server/logs", tag = "server", operation_id = "submit_logs",
    summary = "The log buffer (as GET); the api-client's submitted entries are added first",
    params(LogsQuery),
    request_body(content = Object, description = "Optional `{logs:[{level, message, source?}]}` (api-client `submitLogs`; 1.7.2 ignored the body)"),
    responses(
        (status = 200, description = "The listing of GET, plus `received`: the entries added", body = Object),
        (status = 400, description = "Not JSON (family E), or `INVALID_REQUEST`: `logs` not an array, an entry without a `message`", body = crate::openapi::schemas::ErrorBody),
    ))]
async fn submit_logs(
    query: web::Query<LogsQuery>,
    state: web::Data<AppState>,
    body: JsonBody,
) -> ApiResult {
    let entries = submitted_logs(&body.0)?;
    let received = entries.len();
    for entry in entries {
        state.logs.push(entry);
    }
    let mut listing = log_listing(&query, &state)?;
    listing["received"] = json!(received);
    Ok(HttpResponse::Ok().json(listing))
}

fn log_listing(query: &LogsQuery, state: &AppState) -> Result<Value, ApiError> {
    let request = query.parse(chrono::Utc::now().timestamp_millis())?;
    let page = state.logs.query(&request.filter);
    Ok(json!({
        "logs": page.logs,
        "count": page.logs.len(),
        "total": page.total,
        "requestedLevel": request.requested_level,
        "agentName": request.agent_name,
        "agentId": request.agent_id,
        "levels": LEVELS.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
    }))
}

/// The entries of a `{logs:[…]}` body (none for an empty body or one without `logs`), tagged as
/// coming from a client so they cannot pass for the server's own.
fn submitted_logs(body: &Value) -> Result<Vec<LogEntry>, ApiError> {
    let invalid = |message: String| ApiError::bad_request("INVALID_REQUEST", message);
    let Some(entries) = body.get("logs").filter(|logs| !logs.is_null()) else {
        return Ok(Vec::new());
    };
    let entries = entries
        .as_array()
        .ok_or_else(|| invalid("\"logs\" must be an array".into()))?;
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let message = entry["message"]
                .as_str()
                .ok_or_else(|| invalid(format!("logs[{index}] has no \"message\" string")))?;
            let level = entry["level"]
                .as_str()
                .and_then(level_value)
                .unwrap_or(INFO_LEVEL);
            let prefix = match entry["source"].as_str() {
                Some(source) => format!("[client:{source}]"),
                None => "[client]".to_owned(),
            };
            Ok(LogEntry::now(level, format!("{prefix} {message}")))
        })
        .collect()
}

#[utoipa::path(delete, path = "/api/server/logs", tag = "server",
    responses((status = 200, description = "`{status:\"success\",message,cleared}` (`cleared`: entries removed, for the api-client)", body = Object)))]
async fn clear_logs(state: web::Data<AppState>) -> HttpResponse {
    let cleared = state.logs.clear();
    HttpResponse::Ok().json(json!({
        "status": "success",
        "message": "Logs cleared successfully",
        "cleared": cleared,
    }))
}

#[utoipa::path(get, path = "/api/server/debug/servers", tag = "server",
    responses((status = 200, description = "`{success:true,servers,count}` as 1.7.2, plus `data` (the api-client's `ServerDebugInfo`: `runtime{agents,connections,memory}`, `environment`)", body = Object)))]
async fn debug_servers(state: web::Data<AppState>) -> ApiResult {
    let servers = state.store.list_message_servers().await.map_err(|err| {
        ApiError::from_store(err, "DB_ERROR", "Failed to retrieve message servers")
    })?;
    let servers: Vec<Value> = servers.iter().map(server_json).collect();
    let agents =
        state.store.list_agents().await.map_err(|err| {
            ApiError::from_store(err, "DB_ERROR", "Failed to retrieve the agents")
        })?;
    let agents: Vec<Value> = agents
        .iter()
        .map(|agent| {
            let status = state.agents.status(agent.id);
            json!({"id": agent.id, "name": agent.character.name, "status": status})
        })
        .collect();
    let (resident, machine) = memory::usage().await;
    // Only what describes the build and host: the environment holds secrets.
    let environment = json!({
        "version": app_version(&state),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    });
    let data = json!({
        "runtime": {
            "agents": agents,
            "connections": state.socket_io.socket_count(),
            "memory": {"rss": resident, "total": machine},
        },
        "environment": environment,
    });
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "count": servers.len(),
        "servers": servers,
        "data": data,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> LogsQuery {
        let mut q = LogsQuery::default();
        for (key, value) in pairs {
            let value = Some((*value).to_owned());
            match *key {
                "since" => q.since = value,
                "level" => q.level = value,
                "agentName" => q.agent_name = value,
                "agentId" => q.agent_id = value,
                "limit" => q.limit = value,
                _ => {}
            }
        }
        q
    }

    #[test]
    fn local_callers_are_loopback_peers_relaying_nobody() {
        let local: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let remote: SocketAddr = "203.0.113.1:1".parse().unwrap();
        let with = |name: &'static str, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::HeaderName::from_static(name),
                header::HeaderValue::from_static(value),
            );
            headers
        };
        assert!(is_local_caller(Some(local), &HeaderMap::new()));
        assert!(is_local_caller(
            Some("[::1]:1".parse().unwrap()),
            &HeaderMap::new()
        ));
        assert!(is_local_caller(
            Some(local),
            &with("x-forwarded-for", "127.0.0.1, ::1")
        ));
        assert!(!is_local_caller(Some(remote), &HeaderMap::new()));
        assert!(!is_local_caller(None, &HeaderMap::new()));
        assert!(!is_local_caller(
            Some(local),
            &with("x-forwarded-for", "127.0.0.1, 203.0.113.9")
        ));
        assert!(!is_local_caller(
            Some(local),
            &with("x-forwarded-for", "garbage")
        ));
        assert!(!is_local_caller(
            Some(local),
            &with("x-real-ip", "203.0.113.9")
        ));
        assert!(!is_local_caller(
            Some(local),
            &with("forwarded", "for=127.0.0.1")
        ));
        assert!(
            !is_local_caller(Some(remote), &with("x-forwarded-for", "127.0.0.1")),
            "spoofed hop"
        );
    }

    #[test]
    fn defaults_follow_1_7_2() {
        let request = query(&[]).parse(10_000_000).unwrap();
        assert_eq!(request.filter.since, 10_000_000 - DEFAULT_WINDOW_MS);
        assert_eq!(request.filter.level, None);
        assert_eq!(request.filter.limit, 100);
        assert_eq!(
            (
                request.requested_level.as_str(),
                request.agent_name.as_str(),
                request.agent_id.as_str()
            ),
            ("all", "all", "all")
        );
        assert_eq!(request.filter.agent_name, None);
        let empty = query(&[("since", ""), ("limit", ""), ("level", "")])
            .parse(5)
            .unwrap();
        assert_eq!(
            (empty.filter.since, empty.filter.limit, empty.filter.level),
            (5 - DEFAULT_WINDOW_MS, 100, None)
        );
    }

    #[test]
    fn values_are_parsed_and_clamped() {
        let request = query(&[
            ("since", "1234"),
            ("level", "WARN"),
            ("agentName", "Eliza"),
            ("limit", "5000"),
        ])
        .parse(0)
        .unwrap();
        assert_eq!(request.filter.since, 1234);
        assert_eq!(request.filter.level, Some(40));
        assert_eq!(request.requested_level, "warn");
        assert_eq!(request.filter.agent_name.as_deref(), Some("Eliza"));
        assert_eq!(request.filter.limit, 1000);
        assert_eq!(query(&[("limit", "0")]).parse(0).unwrap().filter.limit, 100);
        assert_eq!(
            query(&[("since", "2024-01-01T00:00:00.000Z")])
                .parse(0)
                .unwrap()
                .filter
                .since,
            1_704_067_200_000
        );
        assert_eq!(
            query(&[("agentId", "all")])
                .parse(0)
                .unwrap()
                .filter
                .agent_id,
            None
        );
    }

    #[test]
    fn bad_values_are_400_invalid_query() {
        for pairs in [
            [("level", "loud")],
            [("limit", "ten")],
            [("limit", "-1")],
            [("since", "yesterday")],
            [("since", "NaN")],
        ] {
            let err = query(&pairs).parse(0).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_str()),
                (StatusCode::BAD_REQUEST, "INVALID_QUERY"),
                "{pairs:?}"
            );
        }
    }
}
