//! The actix-web adapter of eliza-rs: the elizaOS 1.7.2 HTTP API (routes, envelopes, auth, limits).
//! Build the application with [`app`] from an [`AppState`].

pub mod agent_ops;
pub mod app;
pub mod body;
pub mod character_source;
pub mod cluster;
pub mod error;
pub mod forward;
pub mod jobs;
pub mod logs;
pub mod media;
pub mod messaging;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod rate_limit;
pub mod realtime;
pub mod routes;
pub mod sessions;
pub mod state;
pub mod ui;
pub mod upload;

pub use app::app;
pub use eliza_socketio::SocketIoConfig;
pub use state::{AppState, CorsOrigins, HttpConfig, Shutdown};
