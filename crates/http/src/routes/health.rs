//! Public routes outside `/api` (API spec §2.9): `/healthz` and `/health` (no API key, health rate
//! limit), and `/metrics` (Prometheus text, behind the API key when one is configured).

use crate::messaging::render::iso;
use crate::metrics::{self, Metrics};
use crate::middleware::require_api_key;
use crate::openapi::Routes;
use crate::rate_limit::limit_health;
use crate::state::AppState;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::web;
use serde_json::json;
use utoipa::ToSchema;

pub fn configure(routes: &mut Routes<'_>) {
    let limited = |route: actix_web::Route| route.wrap(from_fn(limit_health));
    routes
        .add_wrapped::<__path_healthz, _, _>("/healthz", healthz, limited)
        .add_wrapped::<__path_health, _, _>("/health", health, limited)
        .add_wrapped::<__path_prometheus, _, _>("/metrics", prometheus, |route| {
            route.wrap(from_fn(require_api_key))
        });
}

/// `{"status":"ok","timestamp":ISO}`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Healthz {
    pub status: String,
    pub timestamp: String,
}

/// The 1.7.2 health report (`agentCount` only on `GET /health`).
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct HealthReport {
    /// `OK`, or `DEGRADED` (`/health` without running agents).
    pub status: String,
    pub version: String,
    pub timestamp: String,
    /// Seconds since the server started (the api-client's `ServerHealth.uptime`).
    pub uptime: f64,
    /// `{"agents": "healthy" | "no_agents"}`, plus on a cluster node
    /// `"backplane": "healthy" | "disconnected"` (the link to the other nodes).
    pub dependencies: serde_json::Map<String, serde_json::Value>,
    /// This node's id, on a cluster node only (which node a load balancer reached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(rename = "agentCount", skip_serializing_if = "Option::is_none")]
    pub agent_count: Option<usize>,
}

/// The current time as JavaScript's `Date.toISOString()` prints it.
pub(crate) fn iso_now() -> String {
    iso(&chrono::Utc::now())
}

/// Which of the two 1.7.2 health answers to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthVariant {
    /// `GET /health`: `status` turns `DEGRADED` without agents and `agentCount` is added.
    Public,
    /// `GET /api/server/health`: `status` stays `OK` even with the 503.
    Server,
}

/// The health check: 200 with running agents, 503 and `agents:"no_agents"` without.
pub(crate) fn health_report(state: &AppState, variant: HealthVariant) -> HttpResponse {
    let agent_count = state.agents.running().len();
    let healthy = agent_count > 0;
    let status = if healthy || variant == HealthVariant::Server {
        "OK"
    } else {
        "DEGRADED"
    };
    let mut body = json!({
        "status": status,
        "version": state.config.app_version.as_deref().unwrap_or("unknown"),
        "timestamp": iso_now(),
        "uptime": state.started.elapsed().as_secs_f64(),
        "dependencies": {"agents": if healthy { "healthy" } else { "no_agents" }},
    });
    if let Some(cluster) = &state.cluster {
        // Without its backplane a node still serves the API, but its sockets miss the other
        // nodes' events: reported, and `DEGRADED` on `/health`, without failing the check.
        let connected = cluster.backplane.connected();
        body["dependencies"]["backplane"] =
            json!(if connected { "healthy" } else { "disconnected" });
        body["node"] = json!(cluster.node());
        if !connected && variant == HealthVariant::Public {
            body["status"] = json!("DEGRADED");
        }
    }
    if variant == HealthVariant::Public {
        body["agentCount"] = json!(agent_count);
    }
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(code).json(body)
}

#[utoipa::path(get, path = "/healthz", tag = "health", summary = "Liveness (no API key)",
    responses((status = 200, body = Healthz)))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "timestamp": iso_now()}))
}

#[utoipa::path(get, path = "/health", tag = "health", summary = "Health with the running agents (no API key)",
    responses((status = 200, body = HealthReport), (status = 503, description = "No agent runs", body = HealthReport)))]
async fn health(state: web::Data<AppState>) -> HttpResponse {
    health_report(&state, HealthVariant::Public)
}

/// `GET /metrics`: outside `/api`, so the route carries the API-key middleware itself.
#[utoipa::path(get, path = "/metrics", tag = "health", summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)),
    security((), ("apiKey" = [])))]
async fn prometheus(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(Metrics::render_for(&state))
}
