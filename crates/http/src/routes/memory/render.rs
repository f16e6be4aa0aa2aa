//! The 1.7.2 JSON shapes of memories, rooms and worlds (API spec §1.7).

use crate::messaging::render::iso;
use eliza_domain::memory::Memory;
use eliza_domain::world::{Room, World};
use serde_json::{Value, json};

/// How a memory's `createdAt` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Epoch milliseconds (1.7.2).
    Millis,
    /// ISO-8601 (seed 001's memory list).
    Iso,
}

/// A memory without `worldId`, with its `embedding` only when asked for (1.7.2).
pub fn memory_json(memory: &Memory, include_embedding: bool, time: TimeFormat) -> Value {
    let created_at = match time {
        TimeFormat::Millis => json!(memory.created_at.timestamp_millis()),
        TimeFormat::Iso => json!(iso(&memory.created_at)),
    };
    let mut value = json!({
        "id": memory.id,
        "type": memory.table,
        "createdAt": created_at,
        "content": memory.content,
        "entityId": memory.entity_id,
        "agentId": memory.agent_id,
        "roomId": memory.room_id,
        "unique": memory.unique,
        "metadata": memory.metadata,
    });
    if include_embedding {
        value["embedding"] = json!(memory.embedding);
    }
    value
}

/// A room; `serverId` repeats `messageServerId` as 1.7.2 does.
pub fn room_json(room: &Room) -> Value {
    json!({
        "id": room.id,
        "name": room.name,
        "channelId": room.channel_id,
        "agentId": room.agent_id,
        "messageServerId": room.message_server_id,
        "serverId": room.message_server_id,
        "worldId": room.world_id,
        "type": room.room_type,
        "source": room.source,
        "metadata": room.metadata,
    })
}

pub fn world_json(world: &World) -> Value {
    json!({
        "id": world.id,
        "agentId": world.agent_id,
        "name": world.name,
        "metadata": world.metadata,
        "messageServerId": world.message_server_id,
        "createdAt": iso(&world.created_at),
    })
}
