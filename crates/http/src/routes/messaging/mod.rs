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

use crate::openapi::Routes;

pub fn configure(routes: &mut Routes<'_>) {
    // Static paths before their parameterised neighbours (`sessions/health` before `sessions/{id}`).
    sessions::configure(routes);
    jobs::configure(routes);
    core::configure(routes);
    servers::configure(routes);
    routes.with_prefix_alias(channels::CHANNELS, channels::CENTRAL_CHANNELS, |routes| {
        titles::configure(routes);
        messages::configure(routes);
        channels::configure(routes);
    });
}
