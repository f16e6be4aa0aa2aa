//! `/socket.io/`: served by `crates/socketio` (mounted in `app.rs`), documented here.

use crate::openapi::Routes;
use utoipa::ToSchema;

pub fn configure(routes: &mut Routes<'_>) {
    routes.external::<__path_socket_io>();
}

/// engine.io's refusal: `{code, message}` (0 transport unknown, 1 session id unknown, 2 bad
/// handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol version).
#[derive(ToSchema)]
pub struct EngineIoError {
    pub code: u8,
    pub message: String,
}

#[utoipa::path(method(get, post), path = "/socket.io/", tag = "realtime", summary = "Socket.IO 4 (Engine.IO v4)",
    description = "HTTP long-polling (`GET` opens a session or polls it, `POST` sends packets) and the WebSocket upgrade. \
        The handshake's `auth.entityId` must be a UUID; with `SERVER_API_KEY` set, `auth.apiKey` or `X-API-KEY` must match. \
        Events: API spec §3.",
    params(("EIO" = u8, Query, description = "Engine.IO protocol: 4"),
        ("transport" = String, Query, description = "`polling` or `websocket`"),
        ("sid" = Option<String>, Query, description = "The session, after the handshake")),
    responses((status = 200, description = "Engine.IO packets (polling), or `ok` after a POST", content_type = "text/plain", body = String),
        (status = 101, description = "Switched to WebSocket"),
        (status = 400, body = EngineIoError),
        (status = 413, description = "A POST larger than `maxHttpBufferSize`")),
    security(()))]
#[allow(dead_code)] // Documents the endpoint; `crates/socketio` serves it.
fn socket_io() {}
