//! What travels on the bus. Every event is plain data (serde), so a cross-node backend can carry it.

use crate::bus::Topic;
use eliza_domain::messaging::CentralMessage;
use eliza_domain::{AgentId, ChannelId, MessageId, MessageServerId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A stored channel message as 1.7.2 puts it on its internal bus (the `userMessage` of the
/// channel-post answer): snake_case keys, `created_at` in epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusMessage {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub message_server_id: MessageServerId,
    pub author_id: String,
    pub content: String,
    pub created_at: i64,
    pub source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_message: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to_message_id: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// Only for updated messages (actions); 1.7.2's bus message has no such key otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

impl BusMessage {
    /// The bus form of a stored message on the given server.
    pub fn from_stored(
        message: &CentralMessage,
        server: MessageServerId,
        author_display_name: Option<String>,
    ) -> Self {
        BusMessage {
            id: message.id,
            channel_id: message.channel_id,
            message_server_id: server,
            author_id: message.author_id.clone(),
            content: message.content.clone(),
            created_at: message.created_at.timestamp_millis(),
            source_type: message.source_type.clone().unwrap_or_default(),
            raw_message: message.raw_message.clone(),
            metadata: message.metadata.clone(),
            author_display_name,
            in_reply_to_message_id: message.in_reply_to_root_message_id,
            source_id: message.source_id.clone(),
            updated_at: None,
        }
    }

    /// A metadata field, if the message carries metadata with that key.
    pub fn metadata_field(&self, key: &str) -> Option<&Value> {
        self.metadata
            .as_ref()
            .and_then(|metadata| metadata.get(key))
    }
}

#[cfg(any(test, feature = "testing"))]
impl BusMessage {
    /// A user message with this text in `channel`, on a fresh server, for tests.
    pub fn sample(channel_id: ChannelId, content: &str) -> Self {
        BusMessage {
            id: MessageId::new_random(),
            channel_id,
            message_server_id: MessageServerId::new_random(),
            author_id: "user".to_owned(),
            content: content.to_owned(),
            created_at: 0,
            source_type: "eliza_gui".to_owned(),
            raw_message: None,
            metadata: None,
            author_display_name: None,
            in_reply_to_message_id: None,
            source_id: None,
            updated_at: None,
        }
    }
}

/// Where a stored message came from; the Socket.IO layer renders `messageBroadcast` differently
/// for each (API spec §3.4 lists the five 1.7.2 shapes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageOrigin {
    /// Socket.IO `SEND_MESSAGE`: the sender gets its own copy with `clientMessageId`.
    Socket {
        socket_id: String,
        client_message_id: Option<String>,
    },
    /// `POST /channels/:id/messages`, sessions and jobs.
    Gui,
    /// `POST /ingest-external`.
    Ingest,
    /// An agent reply (`POST /submit` or the runtime's outbox).
    AgentReply,
    /// An agent action notice (`POST /action`, `PATCH /action/:id`).
    Action,
    /// A stored message was edited (`PATCH /messages/:id`).
    Edit,
}

/// How the agents of a message server changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerAgentChange {
    Added,
    Removed,
}

/// What a `controlMessage` asks the web UI to do with its input box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    EnableInput,
    DisableInput,
}

/// The bus events (the 1.7.2 internal bus events plus the ones its socket layer emits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BusEvent {
    /// A message was stored in a channel (user messages and agent replies alike).
    NewMessage {
        message: Box<BusMessage>,
        origin: MessageOrigin,
    },
    ServerAgentUpdate {
        message_server_id: MessageServerId,
        agent_id: AgentId,
        change: ServerAgentChange,
    },
    MessageDeleted {
        channel_id: ChannelId,
        message_id: MessageId,
    },
    ChannelCleared {
        channel_id: ChannelId,
    },
    /// `channel` is the channel in its API JSON shape.
    ChannelUpdated {
        channel_id: ChannelId,
        channel: Value,
    },
    ChannelDeleted {
        channel_id: ChannelId,
    },
    /// A piece of an agent reply being generated; `message_id` is the id the reply will have.
    MessageStreamChunk {
        channel_id: ChannelId,
        message_id: MessageId,
        agent_id: AgentId,
        chunk: String,
        index: u32,
        in_reply_to: Option<MessageId>,
    },
    MessageStreamError {
        channel_id: ChannelId,
        message_id: MessageId,
        agent_id: AgentId,
        error: String,
        partial_text: Option<String>,
        in_reply_to: Option<MessageId>,
    },
    /// An agent finished handling a message (1.7.2 never emits this; its web UI listens for it).
    MessageComplete {
        channel_id: ChannelId,
        agent_id: Option<AgentId>,
        in_reply_to: Option<MessageId>,
    },
    ControlMessage {
        channel_id: ChannelId,
        action: ControlAction,
        target: Option<String>,
    },
}

impl BusEvent {
    /// The topic the event is published on.
    pub fn topic(&self) -> Topic {
        match self {
            BusEvent::NewMessage { message, .. } => Topic::Channel(message.channel_id),
            BusEvent::ServerAgentUpdate {
                message_server_id, ..
            } => Topic::Server(*message_server_id),
            BusEvent::MessageDeleted { channel_id, .. }
            | BusEvent::ChannelCleared { channel_id }
            | BusEvent::ChannelUpdated { channel_id, .. }
            | BusEvent::ChannelDeleted { channel_id }
            | BusEvent::MessageStreamChunk { channel_id, .. }
            | BusEvent::MessageStreamError { channel_id, .. }
            | BusEvent::MessageComplete { channel_id, .. }
            | BusEvent::ControlMessage { channel_id, .. } => Topic::Channel(*channel_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message() -> BusMessage {
        BusMessage {
            created_at: 1,
            metadata: Some(json!({"isDm": true})),
            ..BusMessage::sample(ChannelId::new_random(), "hi")
        }
    }

    #[test]
    fn bus_message_omits_absent_optional_keys() {
        let json = serde_json::to_value(message()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "channel_id",
                "message_server_id",
                "author_id",
                "content",
                "created_at",
                "source_type",
                "metadata"
            ]
        );
    }

    #[test]
    fn events_round_trip_through_json_and_name_their_topic() {
        let message = message();
        let event = BusEvent::NewMessage {
            message: Box::new(message.clone()),
            origin: MessageOrigin::Socket {
                socket_id: "s1".to_owned(),
                client_message_id: Some("c1".to_owned()),
            },
        };
        let text = serde_json::to_string(&event).unwrap();
        let back: BusEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
        assert_eq!(event.topic(), Topic::Channel(message.channel_id));
        let update = BusEvent::ServerAgentUpdate {
            message_server_id: message.message_server_id,
            agent_id: AgentId::new_random(),
            change: ServerAgentChange::Added,
        };
        assert_eq!(update.topic(), Topic::Server(message.message_server_id));
        assert_eq!(message.metadata_field("isDm"), Some(&json!(true)));
    }
}
