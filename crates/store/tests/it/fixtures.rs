//! Domain values for the contract tests. Times are whole milliseconds from a fixed origin, so values
//! round-trip exactly on both backends.

use chrono::{DateTime, Duration, TimeZone, Utc};
use eliza_domain::log::AgentLog;
use eliza_domain::memory::Memory;
use eliza_domain::messaging::{CentralMessage, Channel, ChannelType, MessageServer};
use eliza_domain::task::{CacheEntry, Task};
use eliza_domain::world::{Entity, Participant, Relationship, Room, World};
use eliza_domain::{
    Agent, AgentId, ChannelId, Character, EntityId, LogId, MemoryId, MessageId, MessageServerId,
    RelationshipId, RoomId, TaskId, WorldId,
};
use serde_json::json;
use uuid::Uuid;

/// `ms` milliseconds after 2026-01-01T00:00:00Z.
pub fn t(ms: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::milliseconds(ms)
}

/// Sorts as the store lists: `created_at DESC, id DESC`.
pub fn newest_first<T>(items: &mut [T], key: impl Fn(&T) -> (DateTime<Utc>, String)) {
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
}

pub fn agent(name: &str) -> Agent {
    let character = Character::from_json(&json!({
        "name": name,
        "bio": ["first line", "second line"],
        "system": "be brief",
        "topics": ["rust"],
        "plugins": ["@elizaos/plugin-sql"],
        "settings": {"model": "gpt", "secrets": {"A": "1"}, "zeta": 1, "alpha": 2},
        "style": {"all": ["short"]},
    }))
    .unwrap();
    Agent::new(character, t(0))
}

pub fn server(name: &str) -> MessageServer {
    MessageServer {
        id: MessageServerId::new_random(),
        name: name.to_owned(),
        source_type: "eliza_default".to_owned(),
        source_id: None,
        metadata: Some(json!({"k": "v"})),
        created_at: t(0),
        updated_at: t(0),
    }
}

pub fn channel(server: MessageServerId, kind: ChannelType) -> Channel {
    Channel {
        id: ChannelId::new_random(),
        message_server_id: server,
        name: format!("{} channel", kind.as_str()),
        channel_type: kind,
        source_type: Some("eliza_gui".to_owned()),
        source_id: None,
        topic: Some("topic".to_owned()),
        metadata: Some(json!({"user1": "a"})),
        created_at: t(0),
        updated_at: t(0),
    }
}

pub fn message(channel: ChannelId, at: DateTime<Utc>) -> CentralMessage {
    CentralMessage {
        id: MessageId::new_random(),
        channel_id: channel,
        author_id: Uuid::new_v4().to_string(),
        content: "hello".to_owned(),
        raw_message: Some(json!({"text": "hello"})),
        source_type: Some("eliza_gui".to_owned()),
        source_id: None,
        metadata: None,
        in_reply_to_root_message_id: None,
        created_at: at,
        updated_at: at,
    }
}

pub fn entity(agent: AgentId) -> Entity {
    Entity {
        id: EntityId::new_random(),
        agent_id: agent,
        names: vec!["User".to_owned(), "u".to_owned()],
        metadata: json!({"source": "test"}),
        created_at: t(0),
    }
}

pub fn world(agent: AgentId) -> World {
    World {
        id: WorldId::new_random(),
        agent_id: agent,
        name: "World".to_owned(),
        metadata: Some(json!({"ownership": {"ownerId": "x"}})),
        message_server_id: Some(Uuid::nil()),
        created_at: t(0),
    }
}

pub fn room(agent: AgentId, world: Option<WorldId>) -> Room {
    Room {
        id: RoomId::new_random(),
        agent_id: agent,
        source: "eliza_gui".to_owned(),
        room_type: "GROUP".to_owned(),
        message_server_id: Some(Uuid::nil()),
        world_id: world,
        name: Some("Room".to_owned()),
        metadata: None,
        channel_id: Some(Uuid::new_v4().to_string()),
        created_at: t(0),
    }
}

pub fn participant(agent: AgentId, entity: EntityId, room: RoomId) -> Participant {
    Participant {
        id: Uuid::new_v4(),
        entity_id: entity,
        room_id: room,
        agent_id: agent,
        room_state: None,
        created_at: t(0),
    }
}

pub fn relationship(agent: AgentId, source: EntityId, target: EntityId) -> Relationship {
    Relationship {
        id: RelationshipId::new_random(),
        source_entity_id: source,
        target_entity_id: target,
        agent_id: agent,
        tags: vec!["friend".to_owned()],
        metadata: json!({"interactions": 1}),
        created_at: t(0),
    }
}

pub fn memory(agent: AgentId, room: Option<RoomId>, at: DateTime<Utc>) -> Memory {
    Memory {
        id: MemoryId::new_random(),
        table: "messages".to_owned(),
        created_at: at,
        content: json!({"text": "remember this", "source": "test"}),
        entity_id: None,
        agent_id: agent,
        room_id: room,
        world_id: None,
        unique: true,
        metadata: json!({"type": "message"}),
        embedding: None,
    }
}

pub fn log(agent: AgentId, room: RoomId, kind: &str, at: DateTime<Utc>) -> AgentLog {
    AgentLog {
        id: LogId::new_random(),
        agent_id: agent,
        created_at: at,
        entity_id: EntityId(agent.0),
        room_id: room,
        log_type: kind.to_owned(),
        body: json!({"runId": "r1", "modelType": "TEXT_LARGE"}),
    }
}

pub fn task(agent: AgentId, at: DateTime<Utc>) -> Task {
    Task {
        id: TaskId::new_random(),
        name: "follow up".to_owned(),
        description: Some("later".to_owned()),
        room_id: Some(RoomId::new_random()),
        world_id: None,
        entity_id: None,
        agent_id: agent,
        tags: vec!["queue".to_owned(), "repeat".to_owned()],
        metadata: json!({"updateInterval": 1000}),
        created_at: at,
        updated_at: at,
    }
}

pub fn cache_entry(agent: AgentId, key: &str, expires_at: Option<DateTime<Utc>>) -> CacheEntry {
    CacheEntry {
        key: key.to_owned(),
        agent_id: agent,
        value: json!({"cached": key}),
        created_at: t(0),
        expires_at,
    }
}
