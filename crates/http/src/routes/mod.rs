//! Route modules, one per resource.

pub mod agent_logs;
pub mod agents;
pub mod health;
pub mod messaging;
pub mod plugins;
pub mod runs;
pub mod server;
pub mod system;

use actix_web::web::ServiceConfig;

/// Everything under `/api` (paths relative to the scope).
pub fn configure_api(cfg: &mut ServiceConfig) {
    agents::configure(cfg);
    plugins::configure(cfg);
    agent_logs::configure(cfg);
    runs::configure(cfg);
    messaging::configure(cfg);
    server::configure(cfg);
    system::configure(cfg);
    // Last: only takes what no route above serves and a plugin route does.
    plugins::configure_api_fallback(cfg);
}

/// Routes outside `/api`: `/healthz`, `/health`, `/metrics`, then plugin routes (`/<plugin><path>`).
pub fn configure_public(cfg: &mut ServiceConfig) {
    health::configure(cfg);
    agents::configure_seed_list(cfg);
    plugins::configure_app_fallback(cfg);
}
