//! The shared session: the state machine behind a short-lived lock, a change signal for
//! the tasks that wait on it, and the bounded inbound queue to the Socket.IO dispatcher.
//!
//! The lock is a `std::sync::Mutex` held only for a state transition, never across an
//! `.await`; transports take packets out and write them after releasing it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::http::header::HeaderMap;
use tokio::sync::{mpsc, watch};

use super::state::{
    CloseReason, OutboundLimits, PollError, SessionState, TransportKind, UpgradeError,
};
use crate::engine::packet::Packet;

/// What the application may need from the handshake request (auth, origin checks).
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    pub headers: HeaderMap,
    pub query: HashMap<String, String>,
    pub peer_addr: Option<SocketAddr>,
}

/// Engine.IO `message` payloads for the Socket.IO dispatcher.
#[derive(Debug)]
pub enum Inbound {
    Text(String),
    Binary(Vec<u8>),
}

#[derive(Debug)]
pub struct Session {
    sid: String,
    handshake: Handshake,
    state: Mutex<SessionState>,
    /// Bumped on every change a waiter cares about (queued packet, close, upgrade, pong).
    changed: watch::Sender<()>,
    /// Bumped on every change except a queued packet: what the dispatcher and the heartbeat wait
    /// for, so a busy outbound queue does not wake them for every packet.
    control: watch::Sender<()>,
    inbound: mpsc::Sender<Inbound>,
}

impl Session {
    pub fn new(
        sid: String,
        handshake: Handshake,
        transport: TransportKind,
        outbound: OutboundLimits,
        inbound: mpsc::Sender<Inbound>,
    ) -> Self {
        Self {
            sid,
            handshake,
            state: Mutex::new(SessionState::new(transport, outbound)),
            changed: watch::channel(()).0,
            control: watch::channel(()).0,
            inbound,
        }
    }

    pub fn sid(&self) -> &str {
        &self.sid
    }

    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        // A panic while holding the lock leaves a consistent state machine: keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs a transition and wakes the waiters.
    fn change<R>(&self, transition: impl FnOnce(&mut SessionState) -> R) -> R {
        let result = transition(&mut self.lock());
        self.changed.send_replace(());
        self.control.send_replace(());
        result
    }

    /// Runs a query or a take that needs no wake-up (waking would make the taker spin).
    fn read<R>(&self, query: impl FnOnce(&mut SessionState) -> R) -> R {
        query(&mut self.lock())
    }

    /// A receiver that sees every change from now on (transports: they send the queued packets).
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    /// A receiver that sees every change but a queued packet (close, upgrade, pong).
    pub fn subscribe_control(&self) -> watch::Receiver<()> {
        self.control.subscribe()
    }

    pub fn enqueue(&self, packet: Packet) -> Result<(), CloseReason> {
        let queued = self.read(|state| state.enqueue(packet));
        self.changed.send_replace(());
        if queued.is_err() {
            // Refused because closed, or closed now as a slow client: a control change too.
            self.control.send_replace(());
        }
        if queued == Err(CloseReason::SlowClient) {
            tracing::info!(sid = %self.sid, "engine.io session closed: its client does not read (slow client)");
        }
        queued
    }

    pub fn close(&self, reason: CloseReason) -> bool {
        let closed = self.change(|state| state.close(reason));
        if closed {
            tracing::debug!(sid = %self.sid, reason = reason.as_str(), "engine.io session closed");
        }
        closed
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.read(|state| state.close_reason())
    }

    pub fn transport(&self) -> TransportKind {
        self.read(|state| state.transport())
    }

    pub fn begin_get(&self) -> Result<(), PollError> {
        self.change(SessionState::begin_get)
    }

    pub fn end_get(&self) {
        self.read(SessionState::end_get);
    }

    pub fn begin_post(&self) -> Result<(), PollError> {
        self.change(SessionState::begin_post)
    }

    pub fn end_post(&self) {
        self.read(SessionState::end_post);
    }

    pub fn take_for_poll(&self) -> Option<Vec<Packet>> {
        self.read(SessionState::take_for_poll)
    }

    pub fn take_for_websocket(&self) -> Vec<Packet> {
        self.read(SessionState::take_for_websocket)
    }

    pub fn begin_upgrade(&self) -> Result<(), UpgradeError> {
        self.change(SessionState::begin_upgrade)
    }

    pub fn abort_upgrade(&self) {
        self.change(SessionState::abort_upgrade);
    }

    pub fn on_probe(&self) -> Result<(), UpgradeError> {
        self.change(SessionState::on_probe)
    }

    pub fn finish_upgrade(&self) -> Result<(), UpgradeError> {
        self.change(SessionState::finish_upgrade)
    }

    pub fn send_ping(&self) -> Result<(), CloseReason> {
        self.change(SessionState::send_ping)
    }

    pub fn check_pong_deadline(&self) -> Result<(), CloseReason> {
        self.change(SessionState::check_pong_deadline)
    }

    pub fn awaiting_pong(&self) -> bool {
        self.read(|state| state.awaiting_pong())
    }

    /// Waits until `ready` holds (checked after every change). Race-free: the receiver
    /// was subscribed before the caller last looked at the state.
    pub async fn wait_until(
        &self,
        changes: &mut watch::Receiver<()>,
        ready: impl Fn(&Session) -> bool,
    ) {
        loop {
            changes.borrow_and_update();
            if ready(self) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Handles one packet from the client. Engine-level packets are answered here;
    /// messages go to the dispatcher through a bounded queue, so a flooding client is
    /// slowed down rather than buffered without limit.
    pub async fn receive(&self, packet: Packet) {
        match packet {
            Packet::Message(text) => self.forward(Inbound::Text(text)).await,
            Packet::Binary(bytes) => self.forward(Inbound::Binary(bytes)).await,
            Packet::Pong(_) => self.change(SessionState::on_pong),
            Packet::Close => {
                self.close(CloseReason::TransportClose);
            }
            // The probe and upgrade belong to the WebSocket transport, noops mean nothing.
            Packet::Ping(_) | Packet::Upgrade | Packet::Noop => {}
            Packet::Open(_) => {
                self.close(CloseReason::ParseError);
            }
        }
    }

    async fn forward(&self, inbound: Inbound) {
        if self.close_reason().is_some() {
            return;
        }
        // An error means the dispatcher ended, which only happens once the session closed.
        let _ = self.inbound.send(inbound).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn session(capacity: usize) -> (Arc<Session>, mpsc::Receiver<Inbound>) {
        let (tx, rx) = mpsc::channel(4);
        let session = Session::new(
            "sid".into(),
            Handshake::default(),
            TransportKind::Polling,
            OutboundLimits::packets(capacity),
            tx,
        );
        (Arc::new(session), rx)
    }

    #[tokio::test]
    async fn messages_reach_the_dispatcher_and_pongs_clear_the_deadline() {
        let (session, mut rx) = session(8);
        session.receive(Packet::Message("2[\"a\"]".into())).await;
        assert!(matches!(rx.recv().await, Some(Inbound::Text(text)) if text == "2[\"a\"]"));
        assert_eq!(session.send_ping(), Ok(()));
        session.receive(Packet::Pong(String::new())).await;
        assert!(!session.awaiting_pong());
        session.receive(Packet::Close).await;
        assert_eq!(session.close_reason(), Some(CloseReason::TransportClose));
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_a_packet_is_queued() {
        let (session, _rx) = session(8);
        let mut changes = session.subscribe();
        let producer = Arc::clone(&session);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = producer.enqueue(Packet::Noop);
        });
        let wait = session.wait_until(&mut changes, |s| s.read(|state| state.queued() > 0));
        assert!(
            tokio::time::timeout(Duration::from_secs(2), wait)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn control_waiters_see_a_close_but_not_a_queued_packet() {
        let (session, _rx) = session(1);
        let mut control = session.subscribe_control();
        control.borrow_and_update();
        session.enqueue(Packet::Noop).unwrap();
        assert!(!control.has_changed().unwrap(), "woken by a queued packet");
        // The next packet overflows the queue: the session closes, which is a control change.
        assert_eq!(session.enqueue(Packet::Noop), Err(CloseReason::SlowClient));
        assert!(control.has_changed().unwrap());
    }
}
