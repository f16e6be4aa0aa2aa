//! [`FencedOutbox`]: an agent's replies go out only while its node still holds the agent's lease,
//! so a node that was paused past its lease (and whose agent another node now runs) cannot
//! answer too. The refused reply's work stays queued for the new owner.

use super::agents::ClusteredAgents;
use crate::event::BusMessage;
use crate::outbox::{AgentOutbox, NewMessage, OutboxError, ReplyChunk};
use async_trait::async_trait;
use eliza_domain::{AgentId, ChannelId, MessageId};
use std::sync::Arc;

pub struct FencedOutbox {
    inner: Arc<dyn AgentOutbox>,
    agents: Arc<ClusteredAgents>,
}

impl FencedOutbox {
    pub fn new(inner: Arc<dyn AgentOutbox>, agents: Arc<ClusteredAgents>) -> Self {
        FencedOutbox { inner, agents }
    }
}

#[async_trait]
impl AgentOutbox for FencedOutbox {
    async fn submit(&self, reply: NewMessage) -> Result<BusMessage, OutboxError> {
        let agent = AgentId::parse(&reply.author_id)
            .map_err(|_| OutboxError::Invalid(format!("{} is not an agent", reply.author_id)))?;
        if !self.agents.still_owns(agent).await {
            return Err(OutboxError::Unavailable(format!(
                "this node no longer owns agent {agent}"
            )));
        }
        self.inner.submit(reply).await
    }

    fn complete(&self, channel_id: ChannelId, agent_id: AgentId, in_reply_to: Option<MessageId>) {
        self.inner.complete(channel_id, agent_id, in_reply_to);
    }

    fn stream_chunk(&self, chunk: ReplyChunk) {
        self.inner.stream_chunk(chunk);
    }

    fn stream_failed(&self, chunk: ReplyChunk, error: &str) {
        self.inner.stream_failed(chunk, error);
    }
}
