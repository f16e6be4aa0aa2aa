//! Public routes outside `/api` (API spec §2.9): `/healthz` and `/health` (no API key, health rate
//! limit), and `/metrics` (Prometheus text, behind the API key when one is configured).

use crate::messaging::render::iso;
use crate::metrics::{self, Metrics};
use crate::middleware::require_api_key;
use crate::rate_limit::limit_health;
use crate::state::AppState;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use serde_json::json;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        web::resource("/healthz")
            .wrap(from_fn(limit_health))
            .route(web::get().to(healthz)),
    )
    .service(
        web::resource("/health")
            .wrap(from_fn(limit_health))
            .route(web::get().to(health)),
    )
    .service(
        web::resource("/metrics")
            .wrap(from_fn(require_api_key))
            .route(web::get().to(prometheus)),
    );
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
        "dependencies": {"agents": if healthy { "healthy" } else { "no_agents" }},
    });
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

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "timestamp": iso_now()}))
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    health_report(&state, HealthVariant::Public)
}

/// `GET /metrics`: outside `/api`, so the resource carries the API-key middleware itself.
async fn prometheus(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(Metrics::render_for(&state))
}
