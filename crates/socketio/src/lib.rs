//! Engine.IO v4 + Socket.IO v5 server on actix-web and actix-ws: the protocol only.
//!
//! The application (eliza-http) builds its events on [`SocketIo`] and [`Handler`];
//! this crate knows nothing about elizaOS.
//!
//! - [`engine::packet`], [`socket::packet`], [`socket::binary`]: the wire formats.
//! - [`session`]: the Engine.IO session state machine, its shared handle and heartbeat.
//! - [`transport`]: the `/socket.io/` endpoint (polling and WebSocket).
//! - [`server`]: the public API.

pub mod engine;
pub mod server;
pub mod session;
pub mod socket;
pub mod transport;

pub use server::{
    Ack, DisconnectReason, EmitError, Handler, Operator, Socket, SocketIo, SocketIoConfig,
};
pub use session::{CloseReason, Handshake};
