//! The public API the application builds its events on: configuration, the [`Handler`]
//! callbacks, [`Socket`]s, rooms and broadcasts, and the actix mount point.

mod dispatch;
mod rooms;
mod socket;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::web;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokio::sync::mpsc;

pub use rooms::Operator;
pub use socket::{Ack, EmitError, Socket};

use crate::session::{CloseReason, Handshake, Session, TransportKind, heartbeat};
use rooms::Rooms;

/// Engine.IO / Socket.IO settings; the defaults are the elizaOS 1.7.2 server's.
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    /// Largest accepted polling body or WebSocket message, in bytes.
    pub max_payload: usize,
    /// A session without a namespace CONNECT by then is closed.
    pub connect_timeout: Duration,
    /// Packets a session may have queued for its client before it is closed as slow.
    pub outbound_capacity: usize,
    /// Bytes a session may have queued for its client before it is closed as slow.
    pub outbound_max_bytes: usize,
    /// Messages from one client waiting for the handler; a full queue slows the reader.
    pub inbound_capacity: usize,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            connect_timeout: Duration::from_millis(10_000),
            outbound_capacity: 1024,
            // Room for a few maximal (2 MB) messages, never more than this per client.
            outbound_max_bytes: 16 * 1024 * 1024,
            inbound_capacity: 64,
        }
    }
}

/// Why a socket left its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client sent DISCONNECT (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The application called [`Socket::disconnect`].
    ServerNamespaceDisconnect,
    /// The underlying Engine.IO session closed.
    Transport(CloseReason),
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::Transport(reason) => reason.as_str(),
        }
    }
}

/// The application's callbacks. They run on the session's dispatcher task, one at a time
/// per session and in arrival order, never holding a lock across an `.await`.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    /// CONNECT on `/`: `Ok` → `40{"sid":…}`; `Err(message)` → `44{"message":…}`.
    /// Like an `io.use` middleware: decide, but greet the client in [`Handler::on_connected`].
    async fn on_connect(
        &self,
        socket: &Socket,
        auth: Option<Value>,
        handshake: &Handshake,
    ) -> Result<(), String>;

    /// After the CONNECT reply was queued: emits from here reach a connected client.
    async fn on_connected(&self, _socket: &Socket) {}

    /// An EVENT; `ack` is set when the client asked for an acknowledgement.
    async fn on_event(&self, socket: &Socket, event: String, args: Vec<Value>, ack: Option<Ack>);

    async fn on_disconnect(&self, socket: &Socket, reason: DisconnectReason);
}

/// The Socket.IO server: mount it with [`SocketIo::configure`], broadcast with [`SocketIo::to`].
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<ServerInner>,
}

pub(crate) struct ServerInner {
    pub(crate) config: SocketIoConfig,
    handler: Arc<dyn Handler>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    pub(crate) rooms: Rooms,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A random URL-safe id with 128 bits of entropy (engine.io asks for at least 120).
pub(crate) fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

impl SocketIo {
    pub fn new(config: SocketIoConfig, handler: Arc<dyn Handler>) -> Self {
        let inner = ServerInner {
            config,
            handler,
            sessions: Mutex::default(),
            rooms: Rooms::default(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Mounts `/socket.io/` (with and without the trailing slash), every method.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.service(
            web::resource(["/socket.io/", "/socket.io"])
                .app_data(web::Data::from(Arc::clone(&self.inner)))
                .route(web::route().to(crate::transport::entry)),
        );
    }

    /// Emits to the local sockets in `room` (chain `.to()` and `.except()` first).
    pub fn to(&self, room: &str) -> Operator {
        Operator::new(Arc::clone(&self.inner), room)
    }

    /// Connected sockets (on `/`).
    pub fn socket_count(&self) -> usize {
        self.inner.rooms.socket_count()
    }

    /// Open Engine.IO sessions, connected to a namespace or not.
    pub fn session_count(&self) -> usize {
        lock(&self.inner.sessions).len()
    }

    /// The socket with this id, if it is connected here.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        self.inner.rooms.socket(id)
    }
}

impl ServerInner {
    pub(crate) fn session(&self, sid: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(sid).cloned()
    }

    /// Creates a session and starts its dispatcher and heartbeat tasks.
    pub(crate) fn open_session(
        self: &Arc<Self>,
        transport: TransportKind,
        handshake: Handshake,
    ) -> Arc<Session> {
        let (inbound_tx, inbound_rx) = mpsc::channel(self.config.inbound_capacity.max(1));
        let sid = random_id();
        let session = Session::new(
            sid.clone(),
            handshake,
            transport,
            crate::session::OutboundLimits {
                packets: self.config.outbound_capacity,
                bytes: self.config.outbound_max_bytes,
            },
            inbound_tx,
        );
        let session = Arc::new(session);
        lock(&self.sessions).insert(sid, Arc::clone(&session));
        actix_web::rt::spawn(dispatch::run(
            Arc::clone(self),
            Arc::clone(&session),
            inbound_rx,
        ));
        let heartbeat = heartbeat::run(
            Arc::clone(&session),
            self.config.ping_interval,
            self.config.ping_timeout,
        );
        actix_web::rt::spawn(heartbeat);
        session
    }

    fn remove_session(&self, sid: &str) {
        lock(&self.sessions).remove(sid);
    }

    /// The `0{…}` open packet's JSON; `upgrades` is empty on a WebSocket session.
    pub(crate) fn open_packet(&self, sid: &str, transport: TransportKind) -> String {
        let upgrades: &[&str] = match transport {
            TransportKind::Polling => &["websocket"],
            TransportKind::WebSocket => &[],
        };
        let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        serde_json::json!({
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": millis(self.config.ping_interval),
            "pingTimeout": millis(self.config.ping_timeout),
            "maxPayload": self.config.max_payload,
        })
        .to_string()
    }
}
