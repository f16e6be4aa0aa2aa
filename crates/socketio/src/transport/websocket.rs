//! The WebSocket transport on actix-ws: direct sessions and the polling → WebSocket upgrade.
//!
//! One task per connection owns the socket: it reads frames, and writes the packets it
//! takes out of the session's queue after the lock is released. Taken packets stay in the
//! task's own `unsent` queue until written, so a write cut short by the session closing loses
//! nothing: the final flush delivers the rest, the closing `1` included.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream};

use super::EngineError;
use crate::engine::packet::Packet;
use crate::server::ServerInner;
use crate::session::{CloseReason, Handshake, Session, TransportKind};

/// How long a probing WebSocket may take to send `2probe` and `5` (engine.io's default).
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closing session may spend delivering its last packets to a client.
const FINAL_FLUSH: Duration = Duration::from_secs(1);

type Accepted = (HttpResponse, actix_ws::Session, AggregatedMessageStream);

fn accept(
    req: &HttpRequest,
    body: web::Payload,
    max_payload: usize,
) -> Result<Accepted, actix_web::Error> {
    let (response, ws, stream) = actix_ws::handle(req, body)?;
    // actix-ws allows 64 KiB frames by default; engine.io messages may be maxPayload.
    let stream = stream
        .max_frame_size(max_payload)
        .aggregate_continuations()
        .max_continuation_size(max_payload);
    Ok((response, ws, stream))
}

/// `transport=websocket` without sid: a WebSocket-only session (`"upgrades":[]`).
pub(crate) fn open(
    req: &HttpRequest,
    body: web::Payload,
    server: &Arc<ServerInner>,
    handshake: Handshake,
) -> HttpResponse {
    let (response, ws, stream) = match accept(req, body, server.config.max_payload) {
        Ok(accepted) => accepted,
        Err(error) => return error.error_response(),
    };
    let session = server.open_session(TransportKind::WebSocket, handshake);
    let open = Packet::Open(server.open_packet(session.sid(), TransportKind::WebSocket));
    actix_web::rt::spawn(run(ws, stream, session, Phase::Open, Some(open)));
    response
}

/// `transport=websocket&sid=…` on a polling session: the upgrade starts with probing.
pub(crate) fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    server: &Arc<ServerInner>,
    session: Arc<Session>,
) -> HttpResponse {
    if session.begin_upgrade().is_err() {
        return EngineError::BadRequest.response();
    }
    match accept(req, body, server.config.max_payload) {
        Ok((response, ws, stream)) => {
            actix_web::rt::spawn(run(ws, stream, session, Phase::Probing, None));
            response
        }
        Err(error) => {
            session.abort_upgrade();
            error.error_response()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for `2probe` then `5`; polling still carries the session.
    Probing,
    /// This WebSocket is the session's transport.
    Open,
}

enum Step {
    Continue,
    Stop,
}

async fn run(
    mut ws: actix_ws::Session,
    mut stream: AggregatedMessageStream,
    session: Arc<Session>,
    mut phase: Phase,
    open: Option<Packet>,
) {
    if let Some(open) = open
        && write(&mut ws, &open).await.is_err()
    {
        session.close(CloseReason::TransportClose);
        return;
    }
    let upgrade_deadline = tokio::time::sleep(UPGRADE_TIMEOUT);
    tokio::pin!(upgrade_deadline);
    let mut changes = session.subscribe();
    let mut unsent = VecDeque::new();
    loop {
        changes.borrow_and_update();
        if phase == Phase::Open {
            // A peer that stops reading blocks the write; the session closing (e.g. as a slow
            // client) must still end this task, or the connection would be held forever.
            let mut closing = session.subscribe_control();
            let flushed = tokio::select! {
                flushed = flush(&mut ws, &session, &mut unsent) => flushed,
                () = session.wait_until(&mut closing, |s| s.close_reason().is_some()) => Ok(()),
            };
            if flushed.is_err() {
                session.close(CloseReason::TransportClose);
                break;
            }
        }
        if session.close_reason().is_some() {
            // Deliver what was queued before the close (its `1` included), boundedly.
            if phase == Phase::Open {
                let final_flush = flush(&mut ws, &session, &mut unsent);
                let _ = tokio::time::timeout(FINAL_FLUSH, final_flush).await;
            }
            break;
        }
        tokio::select! {
            frame = stream.recv() => {
                let step = match frame {
                    Some(Ok(message)) => on_message(&mut ws, &session, &mut phase, message).await,
                    _ => Step::Stop,
                };
                if let Step::Stop = step {
                    end_transport(&session, phase, CloseReason::TransportClose);
                    break;
                }
            }
            _ = changes.changed() => {}
            () = &mut upgrade_deadline, if phase == Phase::Probing => {
                session.abort_upgrade();
                break;
            }
        }
    }
    let _ = tokio::time::timeout(FINAL_FLUSH, ws.close(None)).await;
}

/// A probing WebSocket that fails only cancels the upgrade; an open one closes the session.
fn end_transport(session: &Session, phase: Phase, reason: CloseReason) {
    match phase {
        Phase::Probing => session.abort_upgrade(),
        Phase::Open => {
            session.close(reason);
        }
    }
}

/// Writes what the session queued. Cancel-safe: a packet leaves `unsent` only once written
/// (a cancelled actix-ws send sends nothing), so a cancelled flush resumes where it stopped.
async fn flush(
    ws: &mut actix_ws::Session,
    session: &Session,
    unsent: &mut VecDeque<Packet>,
) -> Result<(), actix_ws::Closed> {
    unsent.extend(session.take_for_websocket());
    while let Some(packet) = unsent.front() {
        write(ws, packet).await?;
        unsent.pop_front();
    }
    Ok(())
}

async fn write(ws: &mut actix_ws::Session, packet: &Packet) -> Result<(), actix_ws::Closed> {
    match packet {
        // A binary frame is implicitly a message packet.
        Packet::Binary(bytes) => ws.binary(bytes.clone()).await,
        other => ws.text(other.encode()).await,
    }
}

async fn on_message(
    ws: &mut actix_ws::Session,
    session: &Session,
    phase: &mut Phase,
    message: AggregatedMessage,
) -> Step {
    match message {
        AggregatedMessage::Text(text) => match Packet::decode(&text) {
            Ok(packet) => on_packet(ws, session, phase, packet).await,
            Err(_) => {
                end_transport(session, *phase, CloseReason::ParseError);
                Step::Stop
            }
        },
        AggregatedMessage::Binary(bytes) if *phase == Phase::Open => {
            session.receive(Packet::Binary(bytes.to_vec())).await;
            Step::Continue
        }
        AggregatedMessage::Binary(_) => Step::Stop,
        // WebSocket-level pings are answered too (some proxies send them).
        AggregatedMessage::Ping(bytes) => match ws.pong(&bytes).await {
            Ok(()) => Step::Continue,
            Err(_) => Step::Stop,
        },
        AggregatedMessage::Pong(_) => Step::Continue,
        AggregatedMessage::Close(_) => Step::Stop,
    }
}

async fn on_packet(
    ws: &mut actix_ws::Session,
    session: &Session,
    phase: &mut Phase,
    packet: Packet,
) -> Step {
    match (*phase, packet) {
        (Phase::Probing, Packet::Ping(data)) if data == "probe" => {
            if session.on_probe().is_err() || ws.text("3probe").await.is_err() {
                return Step::Stop;
            }
            Step::Continue
        }
        (Phase::Probing, Packet::Upgrade) => {
            if session.finish_upgrade().is_err() {
                return Step::Stop;
            }
            *phase = Phase::Open;
            Step::Continue
        }
        (Phase::Probing, _) => Step::Stop,
        (Phase::Open, packet) => {
            session.receive(packet).await;
            if session.close_reason().is_some() {
                Step::Stop
            } else {
                Step::Continue
            }
        }
    }
}
