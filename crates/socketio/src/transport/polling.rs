//! HTTP long-polling: the handshake GET, the long-poll GET and the POST of packets.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use futures_util::StreamExt as _;

use super::EngineError;
use crate::engine::packet::{Packet, decode_payload, encode_payload};
use crate::server::ServerInner;
use crate::session::{CloseReason, Handshake, PollError, Session, TransportKind};

const TEXT: &str = "text/plain; charset=UTF-8";

fn payload_response(packets: &[Packet]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TEXT)
        .body(encode_payload(packets))
}

/// GET without sid: a new polling session; the body is its open packet.
pub(crate) fn open(server: &Arc<ServerInner>, handshake: Handshake) -> HttpResponse {
    let session = server.open_session(TransportKind::Polling, handshake);
    let open = server.open_packet(session.sid(), TransportKind::Polling);
    payload_response(&[Packet::Open(open)])
}

fn refused(error: PollError) -> HttpResponse {
    match error {
        // engine.io answers an overlapping request with a bare 400 and closes the session.
        PollError::Overlap => HttpResponse::BadRequest().finish(),
        PollError::WrongTransport => EngineError::BadRequest.response(),
        PollError::Closed => EngineError::UnknownSid.response(),
    }
}

/// Clears the outstanding-request flag however the request ends (even if the client
/// goes away and actix drops the handler).
struct Outstanding<'a> {
    session: &'a Session,
    end: fn(&Session),
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        (self.end)(self.session);
    }
}

/// GET with sid: answers with the queued packets, waiting for some if there are none
/// (the heartbeat's ping bounds the wait).
pub(crate) async fn long_poll(session: Arc<Session>) -> HttpResponse {
    if let Err(error) = session.begin_get() {
        return refused(error);
    }
    let _outstanding = Outstanding {
        session: &session,
        end: Session::end_get,
    };
    let mut changes = session.subscribe();
    loop {
        changes.borrow_and_update();
        if let Some(packets) = session.take_for_poll() {
            return payload_response(&packets);
        }
        if changes.changed().await.is_err() {
            return payload_response(&[Packet::Noop]);
        }
    }
}

/// POST with sid: a payload of packets; answered `ok`.
pub(crate) async fn post(
    session: Arc<Session>,
    body: web::Payload,
    max_payload: usize,
) -> HttpResponse {
    if let Err(error) = session.begin_post() {
        return refused(error);
    }
    let _outstanding = Outstanding {
        session: &session,
        end: Session::end_post,
    };
    let Some(bytes) = read_limited(body, max_payload).await else {
        session.close(CloseReason::TransportError);
        return HttpResponse::PayloadTooLarge().finish();
    };
    let packets = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| decode_payload(text).ok());
    let Some(packets) = packets else {
        session.close(CloseReason::ParseError);
        return EngineError::BadRequest.response();
    };
    for packet in packets {
        session.receive(packet).await;
    }
    HttpResponse::Ok().content_type("text/html").body("ok")
}

/// The body, or `None` when it is larger than maxPayload or broken.
async fn read_limited(mut body: web::Payload, limit: usize) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.ok()?;
        if bytes.len() + chunk.len() > limit {
            return None;
        }
        bytes.extend_from_slice(&chunk);
    }
    Some(bytes)
}
