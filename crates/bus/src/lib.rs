//! The eliza-rs message bus and agent dispatch.
//!
//! Two deliveries with different promises, as the design (style anchors §11.5) asks:
//! - [`Bus`]: fan-out of [`BusEvent`]s to whoever listens (sockets, SSE streams, waiting
//!   requests). At most once, never blocks a publisher; a subscriber that falls behind is told to
//!   resync instead of silently missing events.
//! - [`AgentDispatch`]: work for running agents (messages in channels they take part in), in a
//!   bounded queue per agent, at least once. Agents answer through an [`AgentOutbox`].
//!
//! [`InProcessBus`] and [`AgentInboxes`] are the single-node implementations; a cross-node
//! backend implements the same traits, so no caller may assume in-process delivery.

pub mod bus;
pub mod cluster;
pub mod dispatch;
pub mod event;
pub mod outbox;
#[cfg(feature = "testing")]
pub mod responder;

pub use bus::{Bus, InProcessBus, Received, Subscription, Topic};
pub use dispatch::{
    AgentDispatch, AgentInboxes, AgentWork, Delivery, DispatchError, Inbox, SettledHook,
};
pub use event::{BusEvent, BusMessage, ControlAction, MessageOrigin, ServerAgentChange};
pub use outbox::{AgentOutbox, NewMessage, OutboxError, ReplyChunk};
