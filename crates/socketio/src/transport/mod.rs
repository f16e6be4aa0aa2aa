//! The `/socket.io/` endpoint: request validation with engine.io's 400 bodies, then the
//! polling or WebSocket transport.

pub mod polling;
pub mod websocket;

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::server::ServerInner;
use crate::session::{Handshake, TransportKind};

/// engine.io's error codes and texts (`Server.errors` / `Server.errorMessages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineError {
    TransportUnknown = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl EngineError {
    pub fn message(self) -> &'static str {
        match self {
            Self::TransportUnknown => "Transport unknown",
            Self::UnknownSid => "Session ID unknown",
            Self::BadHandshakeMethod => "Bad handshake method",
            Self::BadRequest => "Bad request",
            Self::Forbidden => "Forbidden",
            Self::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    pub fn response(self) -> HttpResponse {
        HttpResponse::BadRequest()
            .content_type("application/json")
            .body(serde_json::json!({ "code": self as u8, "message": self.message() }).to_string())
    }
}

fn parse_query(query: &str) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(query)
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

fn handshake(req: &HttpRequest, query: HashMap<String, String>) -> Handshake {
    Handshake {
        headers: req.headers().clone(),
        query,
        peer_addr: req.peer_addr(),
    }
}

fn is_websocket_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// Checks in engine.io's order: transport, sid (unknown, wrong transport), handshake
/// method, WebSocket without upgrade, protocol version.
pub(crate) async fn entry(
    req: HttpRequest,
    body: web::Payload,
    server: web::Data<ServerInner>,
) -> HttpResponse {
    let server: Arc<ServerInner> = server.into_inner();
    let query = parse_query(req.query_string());
    let transport = match query.get("transport").map(String::as_str) {
        Some("polling") => TransportKind::Polling,
        Some("websocket") => TransportKind::WebSocket,
        _ => return EngineError::TransportUnknown.response(),
    };

    if let Some(sid) = query.get("sid") {
        let Some(session) = server.session(sid) else {
            return EngineError::UnknownSid.response();
        };
        return match (transport, req.method().clone()) {
            (TransportKind::Polling, Method::GET) => polling::long_poll(session).await,
            (TransportKind::Polling, Method::POST) => {
                polling::post(session, body, server.config.max_payload).await
            }
            (TransportKind::WebSocket, Method::GET) if is_websocket_upgrade(&req) => {
                websocket::upgrade(&req, body, &server, session)
            }
            _ => EngineError::BadRequest.response(),
        };
    }

    if req.method() != Method::GET {
        return EngineError::BadHandshakeMethod.response();
    }
    if transport == TransportKind::WebSocket && !is_websocket_upgrade(&req) {
        return EngineError::BadRequest.response();
    }
    if query.get("EIO").map(String::as_str) != Some("4") {
        return EngineError::UnsupportedProtocolVersion.response();
    }
    let handshake = handshake(&req, query);
    match transport {
        TransportKind::Polling => polling::open(&server, handshake),
        TransportKind::WebSocket => websocket::open(&req, body, &server, handshake),
    }
}
