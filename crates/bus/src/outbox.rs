//! The way back from agents: replies are stored and announced by the same messaging service that
//! handles user messages (the server implements this port; 1.7.2 agents POST `/submit` instead).

use crate::event::BusMessage;
use async_trait::async_trait;
use eliza_domain::{AgentId, ChannelId, MessageId, MessageServerId};
use serde_json::Value;

/// A message to store in a channel (the `/submit` body of 1.7.2).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The id to store it under (the agent's `responseId`); a repeat with the same id is a no-op.
    pub id: Option<MessageId>,
    pub channel_id: ChannelId,
    pub message_server_id: MessageServerId,
    pub author_id: String,
    pub content: String,
    pub raw_message: Value,
    pub source_type: String,
    pub source_id: Option<String>,
    pub in_reply_to: Option<MessageId>,
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// The reply does not fit the channel (unknown channel, bad reference).
    #[error("invalid reply: {0}")]
    Invalid(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// A piece of a reply being generated, for live display; the reply itself follows through
/// [`AgentOutbox::submit`] under the same `message_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyChunk {
    pub channel_id: ChannelId,
    pub agent_id: AgentId,
    /// The id the reply will be stored under.
    pub message_id: MessageId,
    pub chunk: String,
    /// 0 for the first chunk of the reply.
    pub index: u32,
    /// The message being answered.
    pub in_reply_to: Option<MessageId>,
}

/// Where agents put what they produce.
#[async_trait]
pub trait AgentOutbox: Send + Sync {
    /// Stores an agent reply and announces it on the bus; returns the stored message.
    async fn submit(&self, reply: NewMessage) -> Result<BusMessage, OutboxError>;
    /// The agent is done with a message: tells the UI (`messageComplete`, input re-enabled).
    fn complete(&self, channel_id: ChannelId, agent_id: AgentId, in_reply_to: Option<MessageId>);
    /// A streamed piece of a reply (`messageStreamChunk`, SSE `chunk`). An outbox without live
    /// streaming ignores it: the reply still arrives whole through `submit`.
    fn stream_chunk(&self, _chunk: ReplyChunk) {}
    /// Generating the reply failed after `partial_text` was streamed (`messageStreamError`).
    fn stream_failed(&self, _chunk: ReplyChunk, _error: &str) {}
}
