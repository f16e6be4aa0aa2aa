//! Agents with rooms and memories put straight into the store, for the memory, room, world and
//! search routes.

use crate::support::{Reply, TestApp};
use chrono::{DateTime, Utc};
use eliza_domain::memory::Memory;
use eliza_domain::world::{Room, World};
use eliza_domain::{AgentId, MemoryId, RoomId, WorldId};
use serde_json::{Value, json};

/// A family-A error: the status and the `code` (and `message` when given).
pub fn assert_coded(reply: &Reply, status: u16, code: &str, message: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["success"], json!(false), "{}", reply.json);
    assert_eq!(reply.json["error"]["code"], json!(code), "{}", reply.json);
    if let Some(message) = message {
        assert_eq!(reply.json["error"]["message"], json!(message));
    }
}

pub fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap_or_default()
}

/// A running agent (status only: no runtime) with its id.
pub async fn running(app: &TestApp, name: &str) -> AgentId {
    app.start_agent(name).await.id
}

pub async fn room(app: &TestApp, agent: AgentId, id: RoomId, world: Option<WorldId>) -> Room {
    let room = Room {
        id,
        agent_id: agent,
        source: "test".into(),
        room_type: "GROUP".into(),
        message_server_id: None,
        world_id: world,
        name: Some("room".into()),
        metadata: None,
        channel_id: None,
        created_at: Utc::now(),
    };
    app.state.store.ensure_room(&room).await.unwrap();
    room
}

pub async fn world(app: &TestApp, agent: AgentId, name: &str) -> World {
    let world = World {
        id: WorldId::new_random(),
        agent_id: agent,
        name: name.into(),
        metadata: Some(json!({"kept": true})),
        message_server_id: None,
        created_at: Utc::now(),
    };
    app.state.store.ensure_world(&world).await.unwrap();
    world
}

/// Stores a memory of `table` saying `text` at `at(ms)`, with `embedding` when given.
pub async fn remember(
    app: &TestApp,
    agent: AgentId,
    room: RoomId,
    table: &str,
    text: &str,
    ms: i64,
    embedding: Option<Vec<f32>>,
) -> Memory {
    let memory = Memory {
        id: MemoryId::new_random(),
        table: table.into(),
        created_at: at(ms),
        content: json!({"text": text, "source": "test"}),
        entity_id: None,
        agent_id: agent,
        room_id: Some(room),
        world_id: None,
        unique: true,
        metadata: json!({"type": table}),
        embedding,
    };
    app.state.store.create_memory(&memory).await.unwrap();
    memory
}

/// The texts of a `memories` array, in order.
pub fn texts(memories: &Value) -> Vec<String> {
    memories
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}
