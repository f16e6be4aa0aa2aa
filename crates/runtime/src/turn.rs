//! One incoming message being handled, and how a central message maps to the agent's own ids and
//! memory (runtime spec §0 and §2.2 steps 4–8).

use chrono::{DateTime, Utc};
use eliza_bus::BusMessage;
use eliza_domain::ids::{create_unique_uuid, string_to_uuid, validate_uuid};
use eliza_domain::memory::{MESSAGES_TABLE, Memory};
use eliza_domain::messaging::ChannelType;
use eliza_domain::world::{Room, RoomState};
use eliza_domain::{AgentId, EntityId, MemoryId, MessageId, RoomId, WorldId};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The agent-side ids of a central message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedIds {
    pub world: WorldId,
    pub room: RoomId,
    pub memory: MemoryId,
    pub entity: EntityId,
}

impl MappedIds {
    pub fn of(agent: AgentId, message: &BusMessage) -> Self {
        MappedIds {
            world: WorldId(create_unique_uuid(
                agent.0,
                &message.message_server_id.to_string(),
            )),
            room: room_of(agent, &message.channel_id.to_string()),
            memory: agent_copy_of(agent, message.id),
            entity: author_entity(&message.author_id),
        }
    }
}

/// The id of the agent's memory of a central message.
pub fn agent_copy_of(agent: AgentId, message: MessageId) -> MemoryId {
    MemoryId(create_unique_uuid(agent.0, &format!("{message}-{agent}")))
}

/// The agent's room for a central channel.
pub fn room_of(agent: AgentId, channel_id: &str) -> RoomId {
    RoomId(create_unique_uuid(agent.0, channel_id))
}

/// The author's entity: the central author id itself when it is a UUID (1.7.2), else its hash.
pub fn author_entity(author_id: &str) -> EntityId {
    EntityId(validate_uuid(author_id).unwrap_or_else(|| string_to_uuid(author_id)))
}

/// `"<prefix> xxxxxxxx"`: the 1.7.2 fallback names of worlds, rooms and users.
pub fn short_name(prefix: &str, separator: char, id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    format!("{prefix}{separator}{short}")
}

/// The message's display name for its author.
pub fn sender_name(message: &BusMessage) -> String {
    message
        .author_display_name
        .clone()
        .or_else(|| {
            message
                .raw_message
                .as_ref()
                .and_then(|raw| raw.get("senderName"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| {
            message
                .metadata_field("senderName")
                .or_else(|| message.metadata_field("authorDisplayName"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| short_name("User", '-', &message.author_id))
}

/// The source of the message's content (`source_type`, or `central-bus`).
pub fn message_source(message: &BusMessage) -> String {
    if message.source_type.is_empty() {
        "central-bus".to_owned()
    } else {
        message.source_type.clone()
    }
}

/// The incoming memory of a central message (step 8 of §2.2).
pub fn incoming_memory(
    agent: AgentId,
    message: &BusMessage,
    ids: &MappedIds,
    channel_type: ChannelType,
) -> Memory {
    let source = message_source(message);
    let mut content = Map::new();
    content.insert("text".into(), Value::String(message.content.clone()));
    content.insert("source".into(), Value::String(source.clone()));
    content.insert("channelType".into(), json!(channel_type.as_str()));
    let attachments = attachments_of(message);
    if !attachments.is_empty() {
        content.insert("attachments".into(), Value::Array(attachments));
    }
    if let Some(reply_to) = message.in_reply_to_message_id {
        content.insert(
            "inReplyTo".into(),
            json!(create_unique_uuid(agent.0, &reply_to.to_string())),
        );
    }
    if let Some(mention) = message.metadata_field("mentionContext") {
        content.insert("mentionContext".into(), mention.clone());
    }
    let mut metadata = message
        .metadata
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut raw = message
        .raw_message
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    raw.insert("senderName".into(), json!(sender_name(message)));
    raw.insert("senderId".into(), json!(message.author_id));
    metadata.insert("type".into(), json!("message"));
    metadata.insert("source".into(), json!(source));
    metadata.insert("sourceId".into(), json!(message.id));
    metadata.insert("raw".into(), Value::Object(raw));
    Memory {
        id: ids.memory,
        table: MESSAGES_TABLE.to_owned(),
        created_at: millis_to_time(message.created_at),
        content: Value::Object(content),
        entity_id: Some(ids.entity),
        agent_id: agent,
        room_id: Some(ids.room),
        world_id: Some(ids.world),
        unique: true,
        metadata: Value::Object(metadata),
        embedding: None,
    }
}

/// `metadata.attachments` in the agent's shape `{id, url, title, contentType}`.
fn attachments_of(message: &BusMessage) -> Vec<Value> {
    let Some(Value::Array(items)) = message.metadata_field("attachments") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .map(|item| {
            let pick = |keys: &[&str]| keys.iter().find_map(|key| item.get(*key)).cloned();
            json!({
                "id": pick(&["id"]).unwrap_or_else(|| json!(Uuid::new_v4())),
                "url": pick(&["url"]),
                "title": pick(&["name", "title"]),
                "contentType": pick(&["type", "contentType"]),
            })
        })
        .collect()
}

/// The time now at millisecond precision, as incoming messages carry it (epoch ms): memories
/// of the same room then sort in the order they happened, where a reply stamped with
/// microseconds could sort after a user message of the same millisecond.
pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

fn millis_to_time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis)
        .filter(|_| millis > 0)
        .unwrap_or_else(Utc::now)
}

/// A message being handled by one agent.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The incoming memory.
    pub message: Memory,
    pub room: Room,
    /// The central message it mirrors.
    pub central: BusMessage,
    pub channel_type: ChannelType,
    pub sender_name: String,
    /// The id of this turn's run (`runId` of logs).
    pub run_id: Uuid,
    /// The id of the reply: stream chunks, the reply memory and the central reply share it.
    pub response_id: Uuid,
    /// Seeds the turn's random choices (shuffles, examples, name placeholders).
    pub seed: u64,
    /// The agent's state in the room (FOLLOWED, MUTED) when the turn began.
    pub room_state: Option<RoomState>,
    /// Tells the turn when a newer message of the room takes over.
    pub claim: RoomClaim,
}

/// A turn's claim on its room: superseded once a newer message of the room starts its turn.
/// It stays superseded after that newer turn ends, so an older turn never delivers late.
#[derive(Debug, Clone)]
pub struct RoomClaim(tokio::sync::watch::Receiver<bool>);

impl RoomClaim {
    pub(crate) fn new(superseded: tokio::sync::watch::Receiver<bool>) -> Self {
        Self(superseded)
    }

    /// A claim nothing can supersede (before the turn claims its room).
    pub fn unclaimed() -> Self {
        Self(tokio::sync::watch::channel(false).1)
    }

    pub fn is_superseded(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the claim is superseded (never, for an unclaimed turn).
    pub async fn superseded(&self) {
        let mut watch = self.0.clone();
        if watch.wait_for(|superseded| *superseded).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Turn {
    /// A random source for one use (`purpose`) within the turn: fixed by the seed, different
    /// per purpose, so concurrent providers never share one.
    pub fn rng(&self, purpose: &str) -> rand_chacha::ChaCha8Rng {
        use rand::SeedableRng;
        let salt = purpose
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        rand_chacha::ChaCha8Rng::seed_from_u64(self.seed ^ salt)
    }

    pub fn text(&self) -> &str {
        self.message
            .content
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn sender(&self) -> EntityId {
        self.message.entity_id.unwrap_or(EntityId(Uuid::nil()))
    }

    pub fn source(&self) -> Option<&str> {
        self.message.content.get("source").and_then(Value::as_str)
    }

    /// The memory id the reply points at (`createUniqueUuid(runtime, message.id)`).
    pub fn in_reply_to(&self) -> Uuid {
        create_unique_uuid(self.message.agent_id.0, &self.message.id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_times_have_millisecond_precision() {
        assert_eq!(now_millis().timestamp_subsec_nanos() % 1_000_000, 0);
    }
    use eliza_domain::ChannelId;

    #[test]
    fn ids_follow_the_1_7_2_derivation() {
        let agent = AgentId(string_to_uuid("Eliza"));
        let mut message = BusMessage::sample(ChannelId::new_random(), "hi");
        message.author_id = "0f5ad9e1-7a5e-4c1b-9a43-3e8b1f6c2d10".to_owned();
        let ids = MappedIds::of(agent, &message);
        assert_eq!(
            ids.memory.0,
            create_unique_uuid(agent.0, &format!("{}-{}", message.id, agent))
        );
        assert_eq!(ids.entity.0.to_string(), message.author_id);
        assert_eq!(
            ids.room.0,
            create_unique_uuid(agent.0, &message.channel_id.to_string())
        );
        // A non-UUID author gets a stable hashed entity.
        assert_eq!(author_entity("bob"), author_entity("bob"));
    }

    #[test]
    fn the_incoming_memory_carries_source_attachments_and_raw_sender() {
        let agent = AgentId::new_random();
        let mut message = BusMessage::sample(ChannelId::new_random(), "look");
        message.author_display_name = Some("Ada".to_owned());
        message.metadata =
            Some(json!({"attachments": [{"url": "/m.png", "name": "m", "type": "image"}]}));
        let ids = MappedIds::of(agent, &message);
        let memory = incoming_memory(agent, &message, &ids, ChannelType::Dm);
        assert_eq!(memory.content["text"], "look");
        assert_eq!(memory.content["source"], "eliza_gui");
        assert_eq!(memory.content["attachments"][0]["title"], "m");
        assert_eq!(memory.content["attachments"][0]["contentType"], "image");
        assert_eq!(memory.metadata["sourceId"], json!(message.id));
        assert_eq!(memory.metadata["raw"]["senderName"], "Ada");
        assert_eq!(memory.metadata["type"], "message");
    }

    #[test]
    fn unnamed_senders_get_the_fallback_name() {
        let mut message = BusMessage::sample(ChannelId::new_random(), "x");
        message.author_id = "12345678-aaaa".to_owned();
        assert_eq!(sender_name(&message), "User-12345678");
    }
}
