//! Route modules, one per resource. Every route is registered through [`Routes`], from its
//! handler's `#[utoipa::path]`, so the OpenAPI document lists exactly what is served.

pub mod agent_logs;
pub mod agents;
pub mod audio;
pub mod health;
pub mod media;
pub mod media_files;
pub mod messaging;
pub mod plugins;
pub mod runs;
pub mod server;
pub mod system;

use crate::openapi::{self, Routes};

/// Everything under `/api` (documented paths start with `/api`, which the scope adds).
pub fn configure_api(routes: &mut Routes<'_>) {
    // Before messaging: its channel routes must not take `/channels/{id}/upload-media`.
    media::configure(routes);
    audio::configure(routes);
    if let Some(cfg) = routes.actix() {
        agents::configure(cfg);
        plugins::configure(cfg);
        agent_logs::configure(cfg);
        runs::configure(cfg);
        messaging::configure(cfg);
    }
    server::configure(routes);
    if let Some(cfg) = routes.actix() {
        system::configure(cfg);
    }
    openapi::configure(routes);
    // Last: only takes what no route above serves and a plugin route does.
    if let Some(cfg) = routes.actix() {
        plugins::configure_api_fallback(cfg);
    }
}

/// Routes outside `/api`: `/healthz`, `/health`, `/metrics`, the media files, then plugin
/// routes (`/<plugin><path>`).
pub fn configure_public(routes: &mut Routes<'_>) {
    health::configure(routes);
    media_files::configure(routes);
    if let Some(cfg) = routes.actix() {
        agents::configure_seed_list(cfg);
        plugins::configure_app_fallback(cfg);
    }
}
