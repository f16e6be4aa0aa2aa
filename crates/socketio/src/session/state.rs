//! The Engine.IO session state machine, free of I/O so every rule is unit-tested.
//!
//! handshake → open (polling or websocket) → [probing → upgraded] → closed.
//! The outbound queue is bounded: a client that does not read is closed ("slow client")
//! instead of growing memory without limit.

use std::collections::VecDeque;

use crate::engine::packet::Packet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

/// Why a session closed; the texts are engine.io's, plus "slow client".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed (a `1` packet or the WebSocket went away).
    TransportClose,
    /// The transport misbehaved (e.g. overlapping polling requests).
    TransportError,
    PingTimeout,
    /// A packet could not be decoded.
    ParseError,
    /// The outbound queue was full.
    SlowClient,
    /// The server closed it (application request or no namespace CONNECT in time).
    ForcedClose,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::SlowClient => "slow client",
            Self::ForcedClose => "forced close",
        }
    }

    /// Server-initiated closes tell a still-listening client with a `1` packet.
    fn notifies_client(self) -> bool {
        matches!(self, Self::SlowClient | Self::ForcedClose)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeState {
    None,
    /// A WebSocket attached with this sid and is exchanging `2probe`/`3probe`.
    Probing,
    /// The client sent `5`: the WebSocket is now the transport.
    Done,
}

/// Why a polling request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollError {
    /// A second concurrent GET (or POST): 400, and the session is closed.
    Overlap,
    /// The session moved to WebSocket, or is not a polling session: 400 "Bad request".
    WrongTransport,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeError {
    /// Only an open polling session that is not already upgrading may upgrade.
    NotAllowed,
}

/// How much a session may hold for a client that has not read it yet: both bounds apply, so
/// neither many small packets nor a few huge ones can grow a session without limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    pub packets: usize,
    pub bytes: usize,
}

impl OutboundLimits {
    /// A packet count limit only.
    pub fn packets(packets: usize) -> Self {
        Self {
            packets,
            bytes: usize::MAX,
        }
    }
}

/// The size a queued packet holds in memory (its payload).
fn queued_size(packet: &Packet) -> usize {
    match packet {
        Packet::Message(text) | Packet::Ping(text) | Packet::Pong(text) => text.len(),
        Packet::Binary(bytes) => bytes.len(),
        _ => 1,
    }
}

#[derive(Debug)]
pub struct SessionState {
    transport: TransportKind,
    upgrade: UpgradeState,
    outbound: VecDeque<Packet>,
    limits: OutboundLimits,
    queued_bytes: usize,
    closed: Option<CloseReason>,
    get_pending: bool,
    post_pending: bool,
    awaiting_pong: bool,
}

impl SessionState {
    pub fn new(transport: TransportKind, limits: OutboundLimits) -> Self {
        Self {
            transport,
            upgrade: UpgradeState::None,
            outbound: VecDeque::new(),
            limits: OutboundLimits {
                packets: limits.packets.max(1),
                bytes: limits.bytes.max(1),
            },
            queued_bytes: 0,
            closed: None,
            get_pending: false,
            post_pending: false,
            awaiting_pong: false,
        }
    }

    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    pub fn upgrade_state(&self) -> UpgradeState {
        self.upgrade
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.closed
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    pub fn queued(&self) -> usize {
        self.outbound.len()
    }

    /// Closes once; returns whether this call closed it.
    pub fn close(&mut self, reason: CloseReason) -> bool {
        if self.closed.is_some() {
            return false;
        }
        self.closed = Some(reason);
        if reason.notifies_client() {
            self.outbound.push_back(Packet::Close);
        }
        true
    }

    /// Queues a packet; a full queue closes the session as a slow client.
    pub fn enqueue(&mut self, packet: Packet) -> Result<(), CloseReason> {
        if let Some(reason) = self.closed {
            return Err(reason);
        }
        let size = queued_size(&packet);
        let too_many = self.outbound.len() >= self.limits.packets;
        let too_big = self.queued_bytes.saturating_add(size) > self.limits.bytes;
        if too_many || (too_big && !self.outbound.is_empty()) {
            self.close(CloseReason::SlowClient);
            return Err(CloseReason::SlowClient);
        }
        self.queued_bytes += size;
        self.outbound.push_back(packet);
        Ok(())
    }

    /// A long-poll GET starts; only one may be outstanding.
    pub fn begin_get(&mut self) -> Result<(), PollError> {
        self.check_polling()?;
        if self.get_pending {
            self.close(CloseReason::TransportError);
            return Err(PollError::Overlap);
        }
        self.get_pending = true;
        Ok(())
    }

    pub fn end_get(&mut self) {
        self.get_pending = false;
    }

    /// A POST starts; only one may be outstanding.
    pub fn begin_post(&mut self) -> Result<(), PollError> {
        self.check_polling()?;
        if self.post_pending {
            self.close(CloseReason::TransportError);
            return Err(PollError::Overlap);
        }
        self.post_pending = true;
        Ok(())
    }

    pub fn end_post(&mut self) {
        self.post_pending = false;
    }

    fn check_polling(&self) -> Result<(), PollError> {
        if self.closed.is_some() {
            return Err(PollError::Closed);
        }
        if self.transport != TransportKind::Polling {
            return Err(PollError::WrongTransport);
        }
        Ok(())
    }

    /// What a pending GET answers now, or `None` to keep waiting: the queued packets;
    /// a `6` once the session closed or moved to WebSocket, so the client moves on.
    pub fn take_for_poll(&mut self) -> Option<Vec<Packet>> {
        if !self.outbound.is_empty() && self.transport == TransportKind::Polling {
            self.queued_bytes = 0;
            return Some(self.outbound.drain(..).collect());
        }
        if self.closed.is_some() || self.transport != TransportKind::Polling {
            return Some(vec![Packet::Noop]);
        }
        None
    }

    /// Packets for the WebSocket writer, once the WebSocket is the transport.
    pub fn take_for_websocket(&mut self) -> Vec<Packet> {
        if self.transport == TransportKind::WebSocket {
            self.queued_bytes = 0;
            self.outbound.drain(..).collect()
        } else {
            Vec::new()
        }
    }

    /// A WebSocket arrived with this sid: probing starts.
    pub fn begin_upgrade(&mut self) -> Result<(), UpgradeError> {
        let open_polling = self.closed.is_none() && self.transport == TransportKind::Polling;
        if !open_polling || self.upgrade != UpgradeState::None {
            return Err(UpgradeError::NotAllowed);
        }
        self.upgrade = UpgradeState::Probing;
        Ok(())
    }

    /// The probe WebSocket went away before `5`: polling carries on.
    pub fn abort_upgrade(&mut self) {
        if self.upgrade == UpgradeState::Probing {
            self.upgrade = UpgradeState::None;
        }
    }

    /// `2probe` on the new WebSocket: release any pending GET with a `6` so the client can
    /// pause polling. The noop bypasses the capacity check: it is the upgrade's own packet.
    pub fn on_probe(&mut self) -> Result<(), UpgradeError> {
        if self.upgrade != UpgradeState::Probing || self.closed.is_some() {
            return Err(UpgradeError::NotAllowed);
        }
        self.outbound.push_back(Packet::Noop);
        Ok(())
    }

    /// `5` on the new WebSocket: it becomes the transport; queued packets go there.
    pub fn finish_upgrade(&mut self) -> Result<(), UpgradeError> {
        if self.upgrade != UpgradeState::Probing || self.closed.is_some() {
            return Err(UpgradeError::NotAllowed);
        }
        self.upgrade = UpgradeState::Done;
        self.transport = TransportKind::WebSocket;
        // The noops were for the polling transport only.
        self.outbound.retain(|packet| *packet != Packet::Noop);
        Ok(())
    }

    /// The heartbeat sends `2` and starts waiting for `3`.
    pub fn send_ping(&mut self) -> Result<(), CloseReason> {
        self.enqueue(Packet::Ping(String::new()))?;
        self.awaiting_pong = true;
        Ok(())
    }

    pub fn on_pong(&mut self) {
        self.awaiting_pong = false;
    }

    pub fn awaiting_pong(&self) -> bool {
        self.awaiting_pong
    }

    /// Called when pingTimeout has passed since the ping: no pong → closed.
    pub fn check_pong_deadline(&mut self) -> Result<(), CloseReason> {
        if self.awaiting_pong {
            self.close(CloseReason::PingTimeout);
            return Err(CloseReason::PingTimeout);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polling() -> SessionState {
        SessionState::new(TransportKind::Polling, OutboundLimits::packets(4))
    }

    fn message(text: &str) -> Packet {
        Packet::Message(text.to_owned())
    }

    #[test]
    fn a_get_waits_until_something_is_queued() {
        let mut state = polling();
        assert_eq!(state.begin_get(), Ok(()));
        assert_eq!(state.take_for_poll(), None);
        assert_eq!(state.enqueue(message("a")), Ok(()));
        assert_eq!(state.enqueue(message("b")), Ok(()));
        assert_eq!(
            state.take_for_poll(),
            Some(vec![message("a"), message("b")])
        );
        assert_eq!(state.queued(), 0);
        state.end_get();
        assert_eq!(state.begin_get(), Ok(()));
    }

    #[test]
    fn a_second_concurrent_get_closes_the_session() {
        let mut state = polling();
        assert_eq!(state.begin_get(), Ok(()));
        assert_eq!(state.begin_get(), Err(PollError::Overlap));
        assert_eq!(state.close_reason(), Some(CloseReason::TransportError));
        // The first GET is released.
        assert_eq!(state.take_for_poll(), Some(vec![Packet::Noop]));
    }

    #[test]
    fn a_second_concurrent_post_closes_the_session() {
        let mut state = polling();
        assert_eq!(state.begin_post(), Ok(()));
        assert_eq!(state.begin_get(), Ok(()));
        assert_eq!(state.begin_post(), Err(PollError::Overlap));
        assert!(state.is_closed());
        assert_eq!(state.begin_post(), Err(PollError::Closed));
    }

    #[test]
    fn a_full_queue_closes_the_session_as_slow_client() {
        let mut state = polling();
        for index in 0..4 {
            assert_eq!(state.enqueue(message(&index.to_string())), Ok(()));
        }
        assert_eq!(
            state.enqueue(message("overflow")),
            Err(CloseReason::SlowClient)
        );
        assert_eq!(state.close_reason(), Some(CloseReason::SlowClient));
        assert_eq!(
            state.enqueue(message("after")),
            Err(CloseReason::SlowClient)
        );
        // The client still learns it was closed.
        assert_eq!(
            state.take_for_poll().and_then(|p| p.last().cloned()),
            Some(Packet::Close)
        );
    }

    #[test]
    fn close_happens_once_and_client_closes_are_silent() {
        let mut state = polling();
        assert!(state.close(CloseReason::TransportClose));
        assert!(!state.close(CloseReason::ForcedClose));
        assert_eq!(state.close_reason(), Some(CloseReason::TransportClose));
        assert_eq!(state.take_for_poll(), Some(vec![Packet::Noop]));
    }

    #[test]
    fn ping_pong_deadlines() {
        let mut state = polling();
        assert_eq!(state.send_ping(), Ok(()));
        assert!(state.awaiting_pong());
        state.on_pong();
        assert_eq!(state.check_pong_deadline(), Ok(()));
        assert_eq!(state.send_ping(), Ok(()));
        assert_eq!(state.check_pong_deadline(), Err(CloseReason::PingTimeout));
        assert_eq!(state.close_reason(), Some(CloseReason::PingTimeout));
    }

    #[test]
    fn upgrade_probe_then_commit() {
        let mut state = polling();
        assert_eq!(state.enqueue(message("queued")), Ok(()));
        assert_eq!(state.begin_upgrade(), Ok(()));
        assert_eq!(state.begin_upgrade(), Err(UpgradeError::NotAllowed));
        assert_eq!(state.on_probe(), Ok(()));
        // The pending GET gets the queued packet and the noop.
        assert_eq!(
            state.take_for_poll(),
            Some(vec![message("queued"), Packet::Noop])
        );
        assert_eq!(state.enqueue(message("later")), Ok(()));
        assert_eq!(state.on_probe(), Ok(()));
        assert_eq!(state.take_for_websocket(), Vec::<Packet>::new());
        assert_eq!(state.finish_upgrade(), Ok(()));
        assert_eq!(state.transport(), TransportKind::WebSocket);
        assert_eq!(state.take_for_websocket(), vec![message("later")]);
        // Polling is over for this sid.
        assert_eq!(state.begin_get(), Err(PollError::WrongTransport));
        assert_eq!(state.begin_post(), Err(PollError::WrongTransport));
        assert_eq!(state.begin_upgrade(), Err(UpgradeError::NotAllowed));
    }

    #[test]
    fn upgrade_rules() {
        let mut state = polling();
        assert_eq!(state.on_probe(), Err(UpgradeError::NotAllowed));
        assert_eq!(state.finish_upgrade(), Err(UpgradeError::NotAllowed));
        assert_eq!(state.begin_upgrade(), Ok(()));
        state.abort_upgrade();
        assert_eq!(state.upgrade_state(), UpgradeState::None);
        assert_eq!(state.begin_upgrade(), Ok(()));
        let mut websocket = SessionState::new(TransportKind::WebSocket, OutboundLimits::packets(4));
        assert_eq!(websocket.begin_upgrade(), Err(UpgradeError::NotAllowed));
        assert_eq!(websocket.begin_get(), Err(PollError::WrongTransport));
    }

    #[test]
    fn a_byte_budget_closes_a_session_holding_too_much() {
        let limits = OutboundLimits {
            packets: 100,
            bytes: 10,
        };
        let mut state = SessionState::new(TransportKind::WebSocket, limits);
        // One packet larger than the budget still goes out when nothing else waits.
        assert_eq!(state.enqueue(Packet::Message("x".repeat(12))), Ok(()));
        assert_eq!(state.take_for_websocket().len(), 1);
        assert_eq!(state.enqueue(Packet::Message("12345".into())), Ok(()));
        assert_eq!(state.enqueue(Packet::Message("12345".into())), Ok(()));
        assert_eq!(
            state.enqueue(Packet::Message("1".into())),
            Err(CloseReason::SlowClient)
        );
        assert_eq!(state.close_reason(), Some(CloseReason::SlowClient));
    }
}
