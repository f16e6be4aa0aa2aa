//! Route modules, one per resource. Every route is registered through [`Routes`], from its
//! handler's `#[utoipa::path]`, so the OpenAPI document lists exactly what is served.

pub mod agent_logs;
pub mod agents;
pub mod audio;
pub mod health;
pub mod media;
pub mod media_files;
pub mod memory;
pub mod messaging;
pub mod plugins;
pub mod runs;
pub mod server;
pub mod socket_io;
pub mod system;

use crate::openapi::{self, Routes};

/// Everything under `/api` (documented paths start with `/api`, which the scope adds).
pub fn configure_api(routes: &mut Routes<'_>) {
    // First: `/api/agents/worlds` must win over `/api/agents/{agentId}`.
    memory::configure(routes);
    // Before messaging: its channel routes must not take `/channels/{id}/upload-media`.
    media::configure(routes);
    audio::configure(routes);
    agents::configure(routes);
    plugins::configure(routes);
    agent_logs::configure(routes);
    runs::configure(routes);
    messaging::configure(routes);
    server::configure(routes);
    system::configure(routes);
    openapi::configure(routes);
    // Last: only takes what no route above serves and a plugin route does.
    plugins::configure_api_fallback(routes);
}

/// Routes outside `/api`: `/healthz`, `/health`, `/metrics`, the media files, then plugin
/// routes (`/<plugin><path>`).
pub fn configure_public(routes: &mut Routes<'_>) {
    health::configure(routes);
    socket_io::configure(routes);
    media_files::configure(routes);
    agents::configure_seed_list(routes);
    plugins::configure_app_fallback(routes);
}
