//! ROOM_JOINING: check access, then put the socket in the channel's room. One feed per channel
//! (not per socket) turns the channel's bus events into socket events, rendered and encoded once
//! for every socket in the room.

use super::{ElizaEvents, Task, emit, message_error};
use crate::messaging::socket_events::room_emit;
use eliza_bus::{Received, Subscription, Topic};
use eliza_domain::ChannelId;
use eliza_socketio::{Operator, Socket};
use serde_json::{Value, json};
use std::collections::HashMap;

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
        self.enter(socket, channel);
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

    /// Puts the socket in the channel's room (once), starting the channel's feed if it is the
    /// first socket here.
    fn enter(&self, socket: &Socket, channel: ChannelId) {
        let first_time = self
            .with_socket(socket, |state| state.channels.insert(channel))
            .unwrap_or(false);
        if !first_time {
            return;
        }
        let room = channel.to_string();
        socket.join(&room);
        let mut feeds = self.feeds();
        if let Some(feed) = feeds.get_mut(&channel) {
            feed.members += 1;
            return;
        }
        let Some(everyone) = socket.room(&room) else {
            return; // the server is shutting down
        };
        let subscription = self
            .context
            .messaging
            .bus()
            .subscribe(Topic::Channel(channel));
        let config = std::sync::Arc::clone(&self.context.config);
        let task = Task(tokio::spawn(forward(
            everyone,
            subscription,
            channel,
            config,
        )));
        feeds.insert(
            channel,
            Feed {
                members: 1,
                _task: task,
            },
        );
    }

    /// A socket of the channel left; the last one stops the feed.
    pub(super) fn leave_feed(&self, channel: ChannelId) {
        let mut feeds = self.feeds();
        if let Some(feed) = feeds.get_mut(&channel) {
            feed.members = feed.members.saturating_sub(1);
            if feed.members == 0 {
                feeds.remove(&channel);
            }
        }
    }

    fn feeds(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Feed>> {
        self.feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A channel's bus subscription feeding its room, and how many local sockets are in it.
pub(super) struct Feed {
    members: usize,
    _task: Task,
}

/// Bus events of one channel → events for every socket in its room, until the bus goes away or
/// the last socket leaves (the task is aborted then).
async fn forward(
    everyone: Operator,
    mut subscription: Subscription,
    channel: ChannelId,
    config: std::sync::Arc<crate::state::HttpConfig>,
) {
    while let Some(received) = subscription.recv().await {
        match received {
            Received::Event(event) => {
                let Some(emit) = room_emit(&event, &config.media) else {
                    continue;
                };
                // The sender's own copy is sent by SEND_MESSAGE itself, ahead of its ack.
                let targets = match &emit.except {
                    Some(sender) => everyone.clone().except(sender),
                    None => everyone.clone(),
                };
                targets.emit(emit.event, emit.payload);
            }
            // The sockets missed events: tell them to refetch the channel rather than go silent.
            Received::Resync { missed } => {
                everyone.emit("resync", json!({"channelId": channel, "missed": missed}));
            }
        }
    }
}
