//! Engine.IO sessions: a pure state machine ([`state`]) and the shared handle the
//! transports and tasks use ([`handle`]).

pub mod handle;
pub mod heartbeat;
pub mod state;

pub use handle::{Handshake, Inbound, Session};
pub use state::{
    CloseReason, OutboundLimits, PollError, SessionState, TransportKind, UpgradeError,
};
