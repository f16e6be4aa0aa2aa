//! Route modules, one per resource.

pub mod agent_logs;
pub mod agents;
pub mod health;
pub mod messaging;
pub mod runs;
pub mod server;
pub mod system;

use actix_web::web::ServiceConfig;

/// Everything under `/api` (paths relative to the scope).
pub fn configure_api(cfg: &mut ServiceConfig) {
    agents::configure(cfg);
    agent_logs::configure(cfg);
    runs::configure(cfg);
    messaging::configure(cfg);
    server::configure(cfg);
    system::configure(cfg);
}

/// Routes outside `/api`: `/healthz`, `/health`, `/metrics`.
pub fn configure_public(cfg: &mut ServiceConfig) {
    health::configure(cfg);
    agents::configure_seed_list(cfg);
}
