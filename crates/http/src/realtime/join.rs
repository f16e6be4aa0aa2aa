//! ROOM_JOINING: check access, then feed the socket from the channel's bus topic.

use super::{ElizaEvents, Task, emit, message_error};
use crate::messaging::socket_events::room_emit;
use eliza_bus::{Received, Subscription, Topic};
use eliza_domain::ChannelId;
use eliza_socketio::{EmitError, Socket};
use serde_json::{Value, json};

fn channel_of(payload: &Value) -> Option<&str> {
    ["channelId", "roomId"]
        .iter()
        .find_map(|key| payload.get(*key).and_then(Value::as_str))
        .filter(|text| !text.is_empty())
}

impl ElizaEvents {
    pub(super) async fn join(&self, socket: &Socket, payload: &Value) {
        let Some(text) = channel_of(payload) else {
            return message_error(socket, "channelId is required for joining.");
        };
        let Ok(channel) = ChannelId::parse(text) else {
            return message_error(socket, "channelId must be a UUID.");
        };
        if !self.may_join(socket, channel).await {
            return message_error(
                socket,
                "Access denied: You don't have permission to join this channel",
            );
        }
        self.feed(socket, channel);
        socket.join(text);
        let mut joined = json!({
            "message": format!("Socket {} successfully joined channel {channel}.", socket.id()),
            "channelId": channel,
            "roomId": channel,
        });
        if let Some(agent) = payload.get("agentId").filter(|agent| !agent.is_null()) {
            joined["agentId"] = agent.clone();
        }
        emit(socket, "channel_joined", joined.clone());
        emit(socket, "room_joined", joined);
    }

    /// Anyone may join unless data isolation is on; then only the channel's participants.
    async fn may_join(&self, socket: &Socket, channel: ChannelId) -> bool {
        if !self.context.config.data_isolation {
            return true;
        }
        let Some(entity) = self.entity_of(socket) else {
            return false;
        };
        match self.context.store.list_channel_participants(channel).await {
            Ok(participants) => participants.contains(&entity),
            Err(err) => {
                tracing::warn!(%err, "participants lookup failed; join refused");
                false
            }
        }
    }

    /// Starts forwarding the channel's events to the socket (once per channel).
    fn feed(&self, socket: &Socket, channel: ChannelId) {
        let already = self
            .with_socket(socket, |state| state.channels.contains_key(&channel))
            .unwrap_or(true);
        if already {
            return;
        }
        let subscription = self
            .context
            .messaging
            .bus()
            .subscribe(Topic::Channel(channel));
        let task = Task(tokio::spawn(forward(socket.clone(), subscription)));
        self.with_socket(socket, |state| state.channels.insert(channel, task));
    }
}

/// Bus events of one channel → socket events, until the socket or the bus goes away.
async fn forward(socket: Socket, mut subscription: Subscription) {
    while let Some(received) = subscription.recv().await {
        let sent = match received {
            Received::Event(event) => match room_emit(&event) {
                None => Ok(()),
                // The sender's own copy is sent by SEND_MESSAGE itself, ahead of its ack.
                Some(emit) if emit.except.as_deref() == Some(socket.id()) => Ok(()),
                Some(emit) => socket.emit(emit.event, emit.payload),
            },
            // The socket missed events: tell it to refetch the channel rather than go silent.
            Received::Resync { missed } => socket.emit(
                "resync",
                json!({"channelId": subscription.topic_channel(), "missed": missed}),
            ),
        };
        if let Err(EmitError::Closed | EmitError::QueueFull) = sent {
            break;
        }
    }
}

trait TopicChannel {
    fn topic_channel(&self) -> Option<ChannelId>;
}

impl TopicChannel for Subscription {
    fn topic_channel(&self) -> Option<ChannelId> {
        match self.topic() {
            Topic::Channel(channel) => Some(channel),
            _ => None,
        }
    }
}
