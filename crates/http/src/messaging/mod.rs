//! The central messaging service every entry point shares (HTTP routes, Socket.IO, sessions, jobs
//! and agent replies): store the message, announce it on the bus, hand it to the agents that take
//! part in the channel. Keeping the three steps in one place is what makes every path behave alike.

pub mod render;
pub mod socket_events;
pub mod watch;

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use eliza_bus::{
    AgentDispatch, AgentOutbox, AgentWork, Bus, BusEvent, BusMessage, ControlAction, MessageOrigin,
    NewMessage, OutboxError, ReplyChunk,
};
use eliza_domain::ids::DEFAULT_SERVER_ID;
use eliza_domain::messaging::{CentralMessage, Channel, ChannelType, ChannelUpdate};
use eliza_domain::{AgentId, ChannelId, MessageId, Store, StoreError, string_to_uuid};
use eliza_runtime::connector::{forget_channel, forget_message};
use std::sync::Arc;
pub use watch::{NoReply, ReplyEvent, ReplyWatch};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessagingError {
    #[error("Channel {0} not found")]
    ChannelNotFound(ChannelId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A message to store, with where it came from (for the UI fan-out).
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub message: NewMessage,
    pub origin: MessageOrigin,
    pub author_display_name: Option<String>,
}

/// The outcome of storing a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub message: BusMessage,
    pub stored: CentralMessage,
    pub channel: Channel,
    /// The id was stored already: nothing was announced or dispatched again.
    pub repeated: bool,
    /// The agents the message was handed to.
    pub dispatched: Vec<AgentId>,
}

/// Store + bus + dispatch. Cheap to clone.
#[derive(Clone)]
pub struct Messaging {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    dispatch: Arc<dyn AgentDispatch>,
}

impl Messaging {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, dispatch: Arc<dyn AgentDispatch>) -> Self {
        Messaging {
            store,
            bus,
            dispatch,
        }
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    pub fn dispatch(&self) -> &Arc<dyn AgentDispatch> {
        &self.dispatch
    }

    /// Watches a channel for the reply to a message. Take the watch *before* posting the
    /// message, so a fast reply cannot slip past.
    pub fn watch(&self, channel: ChannelId) -> ReplyWatch {
        ReplyWatch::new(
            self.bus.subscribe(eliza_bus::Topic::Channel(channel)),
            Arc::clone(&self.store),
        )
    }

    /// Stores a user message, announces it and hands it to the channel's running agents.
    pub async fn post(&self, post: Post) -> Result<Posted, MessagingError> {
        let channel = self.channel(post.message.channel_id).await?;
        self.post_in(channel, post).await
    }

    /// [`Messaging::post`] for a caller that has just read (or created) the message's channel.
    pub async fn post_in(&self, channel: Channel, post: Post) -> Result<Posted, MessagingError> {
        let mut posted = self.store_and_announce_in(channel, post).await?;
        if !posted.repeated {
            posted.dispatched = self.dispatch_posted(&posted).await?;
        }
        Ok(posted)
    }

    /// Stores and announces a message without handing it to agents (agent replies, actions).
    pub async fn store_and_announce(&self, post: Post) -> Result<Posted, MessagingError> {
        let channel = self.channel(post.message.channel_id).await?;
        self.store_and_announce_in(channel, post).await
    }

    /// [`Messaging::store_and_announce`] for a caller that has just read the message's channel.
    pub async fn store_and_announce_in(
        &self,
        channel: Channel,
        post: Post,
    ) -> Result<Posted, MessagingError> {
        debug_assert_eq!(channel.id, post.message.channel_id);
        // Stores keep microseconds: a stored row whose time differs from ours was there before.
        let now = Utc::now().trunc_subsecs(6);
        let mut central = central_message(&post.message, now);
        if let Some(parent) = central.in_reply_to_root_message_id
            && self.store.get_message(parent).await?.is_none()
        {
            // A reply to a message deleted meanwhile is still a reply worth keeping.
            tracing::debug!(%parent, "dropping the reference to an unknown message");
            central.in_reply_to_root_message_id = None;
        }
        let stored = self.store.create_message(&central).await?;
        let repeated = stored.created_at != central.created_at;
        let message =
            BusMessage::from_stored(&stored, channel.message_server_id, post.author_display_name);
        if !repeated {
            self.bus.publish(BusEvent::NewMessage {
                message: Box::new(message.clone()),
                origin: post.origin,
            });
        }
        Ok(Posted {
            message,
            stored,
            channel,
            repeated,
            dispatched: Vec::new(),
        })
    }

    /// Replaces a stored message (actions, `PATCH /messages/:id`) and announces the new version.
    pub async fn update_message(
        &self,
        message: &CentralMessage,
        origin: MessageOrigin,
    ) -> Result<Option<BusMessage>, MessagingError> {
        if !self.store.update_message(message).await? {
            return Ok(None);
        }
        let channel = self.channel(message.channel_id).await?;
        let mut announced = BusMessage::from_stored(message, channel.message_server_id, None);
        announced.updated_at = Some(message.updated_at.timestamp_millis());
        self.bus.publish(BusEvent::NewMessage {
            message: Box::new(announced.clone()),
            origin,
        });
        Ok(Some(announced))
    }

    /// Deletes one message; agents forget their copy (running ones through their worker, the
    /// others here).
    pub async fn delete_message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<bool, MessagingError> {
        let participants = self.agent_participants(channel_id).await?;
        let deleted = self.store.delete_message(message_id).await?;
        self.bus.publish(BusEvent::MessageDeleted {
            channel_id,
            message_id,
        });
        let work = AgentWork::MessageDeleted {
            channel_id,
            message_id,
        };
        self.forget(&participants, work).await;
        Ok(deleted)
    }

    /// Deletes every message of a channel; returns how many.
    pub async fn clear_channel(&self, channel_id: ChannelId) -> Result<u64, MessagingError> {
        let participants = self.agent_participants(channel_id).await?;
        let cleared = self.store.clear_channel_messages(channel_id).await?;
        self.bus.publish(BusEvent::ChannelCleared { channel_id });
        self.forget(&participants, AgentWork::ChannelCleared { channel_id })
            .await;
        Ok(cleared)
    }

    /// Deletes a channel with its messages and participants; returns whether it existed.
    pub async fn delete_channel(&self, channel_id: ChannelId) -> Result<bool, MessagingError> {
        // The participants go with the channel: find the agents to tell first.
        let participants = self.agent_participants(channel_id).await?;
        let deleted = self.store.delete_channel(channel_id).await?;
        if deleted {
            self.bus.publish(BusEvent::ChannelCleared { channel_id });
            self.bus.publish(BusEvent::ChannelDeleted { channel_id });
            self.forget(&participants, AgentWork::ChannelCleared { channel_id })
                .await;
        }
        Ok(deleted)
    }

    /// The channel's participants that may be agents (every UUID participant: users too, for
    /// whom forgetting finds nothing).
    async fn agent_participants(&self, channel: ChannelId) -> Result<Vec<AgentId>, MessagingError> {
        let participants = self.store.list_channel_participants(channel).await?;
        Ok(participants
            .iter()
            .filter_map(|participant| AgentId::parse(participant).ok())
            .collect())
    }

    /// Has each agent forget a deleted message or channel: an agent running here is handed the
    /// work (its worker retries), the others' memories are cleaned up at once.
    async fn forget(&self, participants: &[AgentId], work: AgentWork) {
        let (running, idle): (Vec<AgentId>, Vec<AgentId>) = participants
            .iter()
            .partition(|agent| self.dispatch.accepts(**agent));
        self.send_to(&running, work.clone()).await;
        for agent in idle {
            let forgotten = match &work {
                AgentWork::MessageDeleted { message_id, .. } => {
                    forget_message(self.store.as_ref(), agent, *message_id).await
                }
                AgentWork::ChannelCleared { channel_id } => {
                    forget_channel(self.store.as_ref(), agent, *channel_id)
                        .await
                        .map(drop)
                }
                AgentWork::Message { .. } => Ok(()),
            };
            if let Err(err) = forgotten {
                tracing::warn!(%agent, %err, "a stopped agent's memory of deleted messages was not cleaned up");
            }
        }
    }

    /// Updates a channel and announces its new state.
    pub async fn update_channel(
        &self,
        channel_id: ChannelId,
        update: &ChannelUpdate,
    ) -> Result<Option<Channel>, MessagingError> {
        let updated = self
            .store
            .update_channel(channel_id, update, Utc::now())
            .await?;
        if let Some(channel) = &updated {
            self.bus.publish(BusEvent::ChannelUpdated {
                channel_id,
                channel: render::channel_json(channel),
            });
        }
        Ok(updated)
    }

    /// An agent (or a client) says the work on a channel's message is done: the web UI hears
    /// `messageComplete` and gets its input back.
    pub fn complete(
        &self,
        channel_id: ChannelId,
        agent_id: Option<AgentId>,
        in_reply_to: Option<MessageId>,
    ) {
        self.bus.publish(BusEvent::MessageComplete {
            channel_id,
            agent_id,
            in_reply_to,
        });
        self.bus.publish(BusEvent::ControlMessage {
            channel_id,
            action: ControlAction::EnableInput,
            target: None,
        });
    }

    async fn channel(&self, id: ChannelId) -> Result<Channel, MessagingError> {
        self.store
            .get_channel(id)
            .await?
            .ok_or(MessagingError::ChannelNotFound(id))
    }

    /// Hands a stored message to the channel's running agents (the last step of [`Messaging::post`],
    /// for callers that must answer their client before an agent can reply).
    pub async fn dispatch_posted(&self, posted: &Posted) -> Result<Vec<AgentId>, MessagingError> {
        let message = &posted.message;
        let agents = self
            .running_agents_in(message.channel_id, Some(&message.author_id))
            .await?;
        let channel_type = message
            .metadata_field("channelType")
            .and_then(|value| value.as_str())
            .and_then(ChannelType::parse)
            .unwrap_or(posted.channel.channel_type);
        if agents.is_empty() {
            return Ok(Vec::new());
        }
        let members = self
            .server_members(posted.channel.message_server_id)
            .await?;
        let mut dispatched = Vec::with_capacity(agents.len());
        for agent in agents {
            if members
                .as_ref()
                .is_some_and(|members| !members.contains(&agent))
            {
                continue;
            }
            let work = AgentWork::Message {
                message: Box::new(message.clone()),
                channel_type,
            };
            match self.dispatch.dispatch(agent, work).await {
                Ok(()) => dispatched.push(agent),
                Err(err) => tracing::warn!(%agent, %err, "message not handed to agent"),
            }
        }
        Ok(dispatched)
    }

    /// The agents on a server, in one query; `None` for the default server, where every agent is
    /// (1.7.2 registers each agent there).
    async fn server_members(
        &self,
        server: eliza_domain::MessageServerId,
    ) -> Result<Option<Vec<AgentId>>, MessagingError> {
        if server.0 == DEFAULT_SERVER_ID {
            return Ok(None);
        }
        Ok(Some(self.store.list_server_agents(server).await?))
    }

    /// The running agents among the channel's participants, except `author`.
    async fn running_agents_in(
        &self,
        channel: ChannelId,
        author: Option<&str>,
    ) -> Result<Vec<AgentId>, MessagingError> {
        let participants = self.store.list_channel_participants(channel).await?;
        Ok(participants
            .iter()
            .filter(|participant| Some(participant.as_str()) != author)
            .filter_map(|participant| AgentId::parse(participant).ok())
            .filter(|agent| self.dispatch.accepts(*agent))
            .collect())
    }

    async fn send_to(&self, agents: &[AgentId], work: AgentWork) {
        for agent in agents {
            if let Err(err) = self.dispatch.dispatch(*agent, work.clone()).await {
                tracing::warn!(%agent, %err, "work not handed to agent");
            }
        }
    }
}

/// A client's own message id (the web UI's temporary id) maps to one stored id per channel and
/// author, so a retried post or SEND_MESSAGE is stored and answered once.
pub fn client_message_id(
    channel: ChannelId,
    author: &str,
    client_id: Option<&str>,
) -> Option<MessageId> {
    client_id.map(|client| MessageId(string_to_uuid(&format!("{channel}:{author}:{client}"))))
}

fn central_message(new: &NewMessage, now: chrono::DateTime<Utc>) -> CentralMessage {
    CentralMessage {
        id: new.id.unwrap_or_else(MessageId::new_random),
        channel_id: new.channel_id,
        author_id: new.author_id.clone(),
        content: new.content.clone(),
        raw_message: Some(new.raw_message.clone()),
        source_type: Some(new.source_type.clone()),
        source_id: new.source_id.clone(),
        metadata: new.metadata.clone(),
        in_reply_to_root_message_id: new.in_reply_to,
        created_at: now,
        updated_at: now,
    }
}

#[async_trait]
impl AgentOutbox for Messaging {
    async fn submit(&self, reply: NewMessage) -> Result<BusMessage, OutboxError> {
        let post = Post {
            message: reply,
            origin: MessageOrigin::AgentReply,
            author_display_name: None,
        };
        match self.store_and_announce(post).await {
            Ok(posted) => Ok(posted.message),
            Err(MessagingError::ChannelNotFound(id)) => {
                Err(OutboxError::Invalid(format!("channel {id} does not exist")))
            }
            Err(MessagingError::Store(err)) => Err(OutboxError::Unavailable(err.to_string())),
        }
    }

    fn complete(&self, channel_id: ChannelId, agent_id: AgentId, in_reply_to: Option<MessageId>) {
        Messaging::complete(self, channel_id, Some(agent_id), in_reply_to);
    }

    fn stream_chunk(&self, chunk: ReplyChunk) {
        self.bus.publish(BusEvent::MessageStreamChunk {
            channel_id: chunk.channel_id,
            message_id: chunk.message_id,
            agent_id: chunk.agent_id,
            chunk: chunk.chunk,
            index: chunk.index,
            in_reply_to: chunk.in_reply_to,
        });
    }

    fn stream_failed(&self, chunk: ReplyChunk, error: &str) {
        self.bus.publish(BusEvent::MessageStreamError {
            channel_id: chunk.channel_id,
            message_id: chunk.message_id,
            agent_id: chunk.agent_id,
            error: error.to_owned(),
            partial_text: (!chunk.chunk.is_empty()).then_some(chunk.chunk),
            in_reply_to: chunk.in_reply_to,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_map_to_one_message_id_per_channel_and_author() {
        let channel = ChannelId::new_random();
        let first = client_message_id(channel, "a", Some("tmp-1"));
        assert_eq!(first, client_message_id(channel, "a", Some("tmp-1")));
        assert_ne!(first, client_message_id(channel, "b", Some("tmp-1")));
        assert_ne!(
            first,
            client_message_id(ChannelId::new_random(), "a", Some("tmp-1"))
        );
        assert_eq!(client_message_id(channel, "a", None), None);
    }
}
