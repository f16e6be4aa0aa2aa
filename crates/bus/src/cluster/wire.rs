//! What crosses the backplane: an envelope naming the sending node around a bus event or a
//! command. On an ids-only backplane (PostgreSQL NOTIFY, 8,000 bytes at most) a stored message
//! or an updated channel travels as its id and every receiver reads the row; token-stream chunks
//! do not travel at all there (the recommendation of the spec: never stream tokens over NOTIFY).

use crate::event::{BusEvent, BusMessage, MessageOrigin};
use async_trait::async_trait;
use eliza_domain::cluster::NodeId;
use eliza_domain::{AgentId, ChannelId, MessageId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// PostgreSQL refuses NOTIFY payloads from 8,000 bytes on; stay clear of it.
pub const MAX_IDS_ONLY_PAYLOAD: usize = 7_900;

/// Reads what an ids-only event names (the server implements it over its store).
#[async_trait]
pub trait EventSource: Send + Sync {
    /// The stored message in its bus form, with `updated_at` when asked for.
    async fn message(&self, id: MessageId, updated: bool) -> Option<BusMessage>;
    /// The channel in its API JSON shape.
    async fn channel(&self, id: ChannelId) -> Option<Value>;
}

/// A command for the node that owns an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Work was queued for the agent: take it from the queue.
    Work {
        agent: AgentId,
    },
    Stop {
        agent: AgentId,
    },
    /// The agent's character changed: reload it.
    Update {
        agent: AgentId,
    },
}

/// A bus event as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "wire", rename_all = "snake_case")]
pub enum WireEvent {
    Full {
        event: BusEvent,
    },
    MessageRef {
        id: MessageId,
        origin: MessageOrigin,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author_display_name: Option<String>,
        #[serde(default)]
        updated: bool,
    },
    ChannelRef {
        channel_id: ChannelId,
    },
}

/// Everything one node says to others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "body", rename_all = "snake_case")]
pub enum Body {
    Event {
        event: WireEvent,
    },
    Command {
        command: Command,
    },
    /// Some agent's lease changed (started, stopped, taken over): refresh the owner map.
    LeasesChanged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: NodeId,
    #[serde(flatten)]
    pub body: Body,
}

impl Envelope {
    pub fn encode(&self) -> String {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// The form of `event` for the backplane; `None` when it does not travel on an ids-only one.
pub fn wire_event(event: &BusEvent, ids_only: bool) -> Option<WireEvent> {
    if !ids_only {
        return Some(WireEvent::Full {
            event: event.clone(),
        });
    }
    Some(match event {
        BusEvent::NewMessage { message, origin } => WireEvent::MessageRef {
            id: message.id,
            origin: origin.clone(),
            author_display_name: message.author_display_name.clone(),
            updated: message.updated_at.is_some(),
        },
        BusEvent::ChannelUpdated { channel_id, .. } => WireEvent::ChannelRef {
            channel_id: *channel_id,
        },
        BusEvent::MessageStreamChunk { .. } => return None,
        BusEvent::MessageStreamError {
            channel_id,
            message_id,
            agent_id,
            error,
            in_reply_to,
            ..
        } => WireEvent::Full {
            event: BusEvent::MessageStreamError {
                channel_id: *channel_id,
                message_id: *message_id,
                agent_id: *agent_id,
                error: error.chars().take(1_000).collect(),
                partial_text: None,
                in_reply_to: *in_reply_to,
            },
        },
        other => WireEvent::Full {
            event: other.clone(),
        },
    })
}

/// The bus event a received wire event stands for; `None` when what it names is gone.
pub async fn resolve(wire: WireEvent, source: &dyn EventSource) -> Option<BusEvent> {
    match wire {
        WireEvent::Full { event } => Some(event),
        WireEvent::MessageRef {
            id,
            origin,
            author_display_name,
            updated,
        } => {
            let mut message = source.message(id, updated).await?;
            message.author_display_name = author_display_name;
            Some(BusEvent::NewMessage {
                message: Box::new(message),
                origin,
            })
        }
        WireEvent::ChannelRef { channel_id } => {
            let channel = source.channel(channel_id).await?;
            Some(BusEvent::ChannelUpdated {
                channel_id,
                channel,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Rows(BusMessage);

    #[async_trait]
    impl EventSource for Rows {
        async fn message(&self, id: MessageId, updated: bool) -> Option<BusMessage> {
            (id == self.0.id).then(|| BusMessage {
                updated_at: updated.then_some(7),
                ..self.0.clone()
            })
        }

        async fn channel(&self, id: ChannelId) -> Option<Value> {
            (id == self.0.channel_id).then(|| json!({"id": id}))
        }
    }

    fn new_message(message: &BusMessage) -> BusEvent {
        BusEvent::NewMessage {
            message: Box::new(message.clone()),
            origin: MessageOrigin::Gui,
        }
    }

    #[tokio::test]
    async fn ids_only_messages_travel_as_ids_and_come_back_whole() {
        let message = BusMessage {
            content: "x".repeat(20_000),
            author_display_name: Some("Ann".to_owned()),
            ..BusMessage::sample(ChannelId::new_random(), "")
        };
        let event = new_message(&message);
        let wire = wire_event(&event, true).unwrap();
        let envelope = Envelope {
            from: NodeId::new_random(),
            body: Body::Event {
                event: wire.clone(),
            },
        };
        let text = envelope.encode();
        assert!(text.len() < 500, "{} bytes", text.len());
        assert_eq!(Envelope::decode(&text).unwrap(), envelope);
        assert_eq!(resolve(wire, &Rows(message.clone())).await, Some(event));
        let gone = wire_event(
            &new_message(&BusMessage::sample(message.channel_id, "")),
            true,
        );
        assert_eq!(resolve(gone.unwrap(), &Rows(message)).await, None);
    }

    #[tokio::test]
    async fn channels_travel_as_ids_and_stream_chunks_stay_home_on_ids_only() {
        let message = BusMessage::sample(ChannelId::new_random(), "hi");
        let updated = BusEvent::ChannelUpdated {
            channel_id: message.channel_id,
            channel: json!({"id": message.channel_id}),
        };
        let wire = wire_event(&updated, true).unwrap();
        assert!(matches!(wire, WireEvent::ChannelRef { .. }));
        assert_eq!(resolve(wire, &Rows(message.clone())).await, Some(updated));
        let chunk = BusEvent::MessageStreamChunk {
            channel_id: message.channel_id,
            message_id: message.id,
            agent_id: AgentId::new_random(),
            chunk: "tok".to_owned(),
            index: 0,
            in_reply_to: None,
        };
        assert_eq!(wire_event(&chunk, true), None);
        assert_eq!(
            wire_event(&chunk, false),
            Some(WireEvent::Full { event: chunk })
        );
    }
}
