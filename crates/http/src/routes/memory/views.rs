//! The 1.7.2 JSON shapes of memories, rooms and worlds (API spec §1.7): the types the handlers
//! serialize are the schemas the OpenAPI document shows, so the two cannot drift apart.

use crate::messaging::render::iso;
use eliza_domain::memory::Memory;
use eliza_domain::world::{Room, World};
use eliza_runtime::memory_search::SearchHit;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

/// How a memory's `createdAt` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Epoch milliseconds (1.7.2).
    Millis,
    /// ISO-8601 (seed 001's memory list).
    Iso,
}

/// A memory (1.7.2: no `worldId`; `embedding` only when asked for).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryView {
    pub id: Uuid,
    /// The table: `messages`, `facts`, `documents`, …
    #[serde(rename = "type")]
    pub table: String,
    /// Epoch milliseconds (ISO-8601 in seed 001's list).
    #[schema(value_type = i64)]
    pub created_at: Value,
    #[schema(value_type = Object)]
    pub content: Value,
    pub entity_id: Option<Uuid>,
    pub agent_id: Uuid,
    pub room_id: Option<Uuid>,
    pub unique: bool,
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Only with `includeEmbedding=true` (`null` for a memory without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<f32>>)]
    pub embedding: Option<Value>,
}

impl MemoryView {
    pub fn new(memory: &Memory, include_embedding: bool, time: TimeFormat) -> Self {
        MemoryView {
            id: memory.id.0,
            table: memory.table.clone(),
            created_at: match time {
                TimeFormat::Millis => json!(memory.created_at.timestamp_millis()),
                TimeFormat::Iso => json!(iso(&memory.created_at)),
            },
            content: memory.content.clone(),
            entity_id: memory.entity_id.map(|id| id.0),
            agent_id: memory.agent_id.0,
            room_id: memory.room_id.map(|id| id.0),
            unique: memory.unique,
            metadata: memory.metadata.clone(),
            embedding: include_embedding.then(|| json!(memory.embedding)),
        }
    }

    pub fn list(memories: &[Memory], include_embedding: bool, time: TimeFormat) -> Vec<Self> {
        memories
            .iter()
            .map(|memory| Self::new(memory, include_embedding, time))
            .collect()
    }
}

/// `{memories}` of a room.
#[derive(Serialize, ToSchema)]
pub struct MemoryList {
    pub memories: Vec<MemoryView>,
}

/// A page of an agent's memories.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryPage {
    pub memories: Vec<MemoryView>,
    pub limit: u32,
    pub offset: u32,
    pub has_more: bool,
}

/// A search hit: the memory with its cosine similarity and, re-ranked, its BM25 score.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHitView {
    #[serde(flatten)]
    #[schema(inline)]
    pub memory: MemoryView,
    pub similarity: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bm25_score: Option<f32>,
}

impl From<&SearchHit> for SearchHitView {
    fn from(hit: &SearchHit) -> Self {
        SearchHitView {
            memory: MemoryView::new(&hit.memory, false, TimeFormat::Millis),
            similarity: hit.similarity,
            bm25_score: hit.bm25_score,
        }
    }
}

/// The answer of a memory search.
#[derive(Serialize, ToSchema)]
pub struct SearchResults {
    pub query: String,
    pub table: String,
    pub count: usize,
    pub memories: Vec<SearchHitView>,
}

/// A room; `serverId` repeats `messageServerId` as 1.7.2 does.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub id: Uuid,
    pub name: Option<String>,
    pub channel_id: Option<String>,
    pub agent_id: Uuid,
    pub message_server_id: Option<Uuid>,
    pub server_id: Option<Uuid>,
    pub world_id: Option<Uuid>,
    /// A channel type (`DM`, `GROUP`, `API`, …).
    #[serde(rename = "type")]
    pub room_type: String,
    pub source: String,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Only from `GET …/rooms/:roomId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub world_name: Option<String>,
    /// Epoch milliseconds (the api-client's `Room` type; 1.7.2 sends none).
    pub created_at: i64,
}

impl From<&Room> for RoomView {
    fn from(room: &Room) -> Self {
        RoomView {
            id: room.id.0,
            name: room.name.clone(),
            channel_id: room.channel_id.clone(),
            agent_id: room.agent_id.0,
            message_server_id: room.message_server_id,
            server_id: room.message_server_id,
            world_id: room.world_id.map(|id| id.0),
            room_type: room.room_type.clone(),
            source: room.source.clone(),
            metadata: room.metadata.clone(),
            world_name: None,
            created_at: room.created_at.timestamp_millis(),
        }
    }
}

/// `{rooms}`.
#[derive(Serialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<RoomView>,
}

/// A world (`createdAt` ISO-8601).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorldView {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub message_server_id: Option<Uuid>,
    pub created_at: String,
}

impl From<&World> for WorldView {
    fn from(world: &World) -> Self {
        WorldView {
            id: world.id.0,
            agent_id: world.agent_id.0,
            name: world.name.clone(),
            metadata: world.metadata.clone(),
            message_server_id: world.message_server_id,
            created_at: iso(&world.created_at),
        }
    }
}

/// `{world}` as 1.7.2, plus the `{worldId, settings}` the api-client's
/// `updateAgentWorldSettings` type reads.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorldAnswer {
    pub world: WorldView,
    pub world_id: Uuid,
    /// The world's `metadata.settings` (`{}` when it has none).
    #[schema(value_type = Object)]
    pub settings: Value,
}

impl From<&World> for WorldAnswer {
    fn from(world: &World) -> Self {
        let settings = world
            .metadata
            .as_ref()
            .and_then(|metadata| metadata.get("settings"))
            .filter(|settings| settings.is_object())
            .cloned()
            .unwrap_or_else(|| json!({}));
        WorldAnswer {
            world: world.into(),
            world_id: world.id.0,
            settings,
        }
    }
}

/// `{worlds}`.
#[derive(Serialize, ToSchema)]
pub struct WorldList {
    pub worlds: Vec<WorldView>,
}

impl WorldList {
    pub fn of(worlds: &[World]) -> Self {
        WorldList {
            worlds: worlds.iter().map(WorldView::from).collect(),
        }
    }
}
