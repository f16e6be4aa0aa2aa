//! A connected Socket.IO socket: emit, acks, rooms, disconnect.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use super::rooms::Operator;
use super::{ServerInner, lock};
use crate::engine::packet::Packet as EnginePacket;
use crate::session::{Handshake, Session};
use crate::socket::packet::Packet as SioPacket;

/// Why an emit failed. A full queue has closed the session: the client is too slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("the session is closed")]
    Closed,
    #[error("the outbound queue is full; the session was closed")]
    QueueFull,
}

/// A socket connected to a namespace. Cheap to clone; all clones are the same socket.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<SocketInner>,
}

struct SocketInner {
    id: String,
    namespace: String,
    session: Arc<Session>,
    server: Weak<ServerInner>,
    rooms: Mutex<HashSet<String>>,
    /// Asks the dispatcher to run the server-side disconnect (it owns the handler calls).
    disconnect: Notify,
    next_ack_id: AtomicU64,
    pending_acks: Mutex<HashMap<u64, oneshot::Sender<Vec<Value>>>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.inner.id)
            .field("namespace", &self.inner.namespace)
            .finish()
    }
}

impl Socket {
    pub(crate) fn new(
        id: String,
        namespace: &str,
        session: Arc<Session>,
        server: Weak<ServerInner>,
    ) -> Self {
        let inner = SocketInner {
            id,
            namespace: namespace.to_owned(),
            session,
            server,
            rooms: Mutex::default(),
            disconnect: Notify::new(),
            next_ack_id: AtomicU64::new(0),
            pending_acks: Mutex::default(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The Socket.IO id (distinct from the Engine.IO session id).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The Engine.IO session id.
    pub fn sid(&self) -> &str {
        self.inner.session.sid()
    }

    pub fn handshake(&self) -> &Handshake {
        self.inner.session.handshake()
    }

    /// Emits `event` with one argument.
    pub fn emit(&self, event: &str, data: Value) -> Result<(), EmitError> {
        self.emit_args(event, vec![data])
    }

    /// Emits `event` with any number of arguments.
    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.send(SioPacket::event(&self.inner.namespace, event, args, None))
    }

    /// Emits `event` asking for an acknowledgement; the receiver yields the client's
    /// answer, or an error if the socket goes away first. Add a timeout as needed.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<oneshot::Receiver<Vec<Value>>, EmitError> {
        let id = self.inner.next_ack_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.pending_acks).insert(id, tx);
        let sent = self.send(SioPacket::event(
            &self.inner.namespace,
            event,
            args,
            Some(id),
        ));
        if sent.is_err() {
            lock(&self.inner.pending_acks).remove(&id);
        }
        sent.map(|()| rx)
    }

    /// Delivers the client's answer to an [`Socket::emit_with_ack`]; unknown ids are ignored.
    pub(crate) fn resolve_ack(&self, id: u64, args: Vec<Value>) {
        if let Some(tx) = lock(&self.inner.pending_acks).remove(&id) {
            let _ = tx.send(args);
        }
    }

    pub(crate) fn send(&self, packet: SioPacket) -> Result<(), EmitError> {
        self.send_encoded(&crate::socket::binary::encode_outgoing(packet))
    }

    /// Queues an encoded packet and its binary attachments, in order.
    pub(crate) fn send_encoded(
        &self,
        encoded: &crate::socket::binary::Encoded,
    ) -> Result<(), EmitError> {
        self.enqueue(EnginePacket::Message(encoded.text.clone()))?;
        for bytes in &encoded.attachments {
            self.enqueue(EnginePacket::Binary(bytes.clone()))?;
        }
        Ok(())
    }

    fn enqueue(&self, packet: EnginePacket) -> Result<(), EmitError> {
        use crate::session::CloseReason;
        match self.inner.session.enqueue(packet) {
            Ok(()) => Ok(()),
            Err(CloseReason::SlowClient) => Err(EmitError::QueueFull),
            Err(_) => Err(EmitError::Closed),
        }
    }

    /// Leaves the namespace: the client gets `41` ("io server disconnect") and the
    /// handler's `on_disconnect` runs with [`super::DisconnectReason::ServerNamespaceDisconnect`].
    pub fn disconnect(&self) {
        self.inner.disconnect.notify_one();
    }

    pub(crate) async fn disconnect_requested(&self) {
        self.inner.disconnect.notified().await;
    }

    /// Closes the whole Engine.IO session (the client will reconnect by itself).
    pub fn close_session(&self) {
        self.inner
            .session
            .close(crate::session::CloseReason::ForcedClose);
    }

    pub fn join(&self, room: &str) {
        lock(&self.inner.rooms).insert(room.to_owned());
        if let Some(server) = self.inner.server.upgrade() {
            server.rooms.join(room, &self.inner.id);
        }
    }

    pub fn leave(&self, room: &str) {
        lock(&self.inner.rooms).remove(room);
        if let Some(server) = self.inner.server.upgrade() {
            server.rooms.leave(room, &self.inner.id);
        }
    }

    pub fn rooms(&self) -> Vec<String> {
        lock(&self.inner.rooms).iter().cloned().collect()
    }

    /// Broadcast to `room` without this socket, like `socket.to(room)` in Node.
    pub fn to(&self, room: &str) -> Option<Operator> {
        Some(self.room(room)?.except(&self.inner.id))
    }

    /// Every local socket in `room`, this one included; `None` once the server is gone.
    pub fn room(&self, room: &str) -> Option<Operator> {
        let server = self.inner.server.upgrade()?;
        Some(Operator::new(server, room))
    }
}

/// The client asked for an acknowledgement; answer it with [`Ack::send`].
#[derive(Debug)]
pub struct Ack {
    socket: Socket,
    id: u64,
}

impl Ack {
    pub(crate) fn new(socket: Socket, id: u64) -> Self {
        Self { socket, id }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends `3<id>[args…]`.
    pub fn send(self, args: Vec<Value>) -> Result<(), EmitError> {
        self.socket
            .send(SioPacket::ack(self.socket.namespace(), self.id, args))
    }
}
