//! `/api/messaging` (API spec §2.3, envelope family B; sessions and jobs family C): core,
//! message servers, channels, channel messages, sessions and jobs, with the deprecated aliases.

pub mod channels;
pub mod core;
pub mod jobs;
pub mod messages;
pub mod params;
pub mod servers;
pub mod sessions;
pub mod titles;
pub mod transport;

use actix_web::web::ServiceConfig;

pub fn configure(cfg: &mut ServiceConfig) {
    // Static paths before their parameterised neighbours (`sessions/health` before `sessions/{id}`).
    sessions::configure(cfg);
    jobs::configure(cfg);
    core::configure(cfg);
    servers::configure(cfg);
    titles::configure(cfg);
    messages::configure(cfg);
    channels::configure(cfg);
}
