//! The central messaging model: message servers, channels, participants and messages.

use crate::ids::{AgentId, ChannelId, MessageId, MessageServerId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of channel 1.7.2 knows (`ChannelType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChannelType {
    #[serde(rename = "SELF")]
    SelfChannel,
    Dm,
    Group,
    VoiceDm,
    VoiceGroup,
    Feed,
    Thread,
    World,
    Forum,
    Api,
}

impl ChannelType {
    pub const ALL: [ChannelType; 10] = [
        ChannelType::SelfChannel,
        ChannelType::Dm,
        ChannelType::Group,
        ChannelType::VoiceDm,
        ChannelType::VoiceGroup,
        ChannelType::Feed,
        ChannelType::Thread,
        ChannelType::World,
        ChannelType::Forum,
        ChannelType::Api,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelType::SelfChannel => "SELF",
            ChannelType::Dm => "DM",
            ChannelType::Group => "GROUP",
            ChannelType::VoiceDm => "VOICE_DM",
            ChannelType::VoiceGroup => "VOICE_GROUP",
            ChannelType::Feed => "FEED",
            ChannelType::Thread => "THREAD",
            ChannelType::World => "WORLD",
            ChannelType::Forum => "FORUM",
            ChannelType::Api => "API",
        }
    }

    pub fn parse(text: &str) -> Option<ChannelType> {
        ChannelType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A message server (`message_servers`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageServer {
    pub id: MessageServerId,
    pub name: String,
    pub source_type: String,
    pub source_id: Option<String>,
    pub metadata: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A channel (`channels`).
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: ChannelId,
    pub message_server_id: MessageServerId,
    pub name: String,
    pub channel_type: ChannelType,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    pub topic: Option<String>,
    pub metadata: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Fields of a channel that an update may change; `None` leaves the field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    pub topic: Option<Option<String>>,
    pub metadata: Option<Option<Value>>,
    /// When set, replaces the participant list.
    pub participant_ids: Option<Vec<String>>,
}

/// A message in a channel (`central_messages`). `author_id` is free text in 1.7.2 (usually a UUID).
#[derive(Debug, Clone, PartialEq)]
pub struct CentralMessage {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub author_id: String,
    pub content: String,
    pub raw_message: Option<Value>,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    pub metadata: Option<Value>,
    pub in_reply_to_root_message_id: Option<MessageId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of a channel's messages, newest first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessagePage {
    /// Only messages strictly older than this.
    pub before: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// A text search over central messages (`POST /api/messaging/messages/search`), newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageSearch {
    /// Case-insensitive substring of `content` (LIKE wildcards in it are matched literally); empty matches every message.
    pub text: String,
    pub channel: Option<ChannelId>,
    /// Only messages of channels on this message server.
    pub server: Option<MessageServerId>,
    pub author: Option<String>,
    /// Only messages strictly older / strictly newer than these.
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u32,
}

/// The agents that belong to a message server (`message_server_agents`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerAgent {
    pub message_server_id: MessageServerId,
    pub agent_id: AgentId,
}
