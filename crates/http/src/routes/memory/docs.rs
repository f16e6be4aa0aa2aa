//! Schemas of the memory, room and world answers, for the OpenAPI document (the handlers build
//! their JSON in `render`).

use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A memory (1.7.2: no `worldId`; `embedding` only when asked for).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MemorySchema {
    pub id: Uuid,
    /// The table: `messages`, `facts`, `documents`, …
    #[schema(rename = "type")]
    pub table: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    #[schema(value_type = Object)]
    pub content: Value,
    pub entity_id: Option<Uuid>,
    pub agent_id: Uuid,
    pub room_id: Option<Uuid>,
    pub unique: bool,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub embedding: Option<Vec<f32>>,
}

/// `{memories}` of a room.
#[derive(ToSchema)]
pub struct MemoryList {
    pub memories: Vec<MemorySchema>,
}

/// A page of an agent's memories.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MemoryPage {
    pub memories: Vec<MemorySchema>,
    pub limit: u32,
    pub offset: u32,
    pub has_more: bool,
}

/// A search hit: the memory with its cosine similarity and, re-ranked, its BM25 score.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SearchHitSchema {
    #[schema(inline)]
    #[serde(flatten)]
    pub memory: MemorySchema,
    pub similarity: f32,
    pub bm25_score: Option<f32>,
}

/// The answer of a memory search.
#[derive(ToSchema)]
pub struct SearchResults {
    pub query: String,
    pub table: String,
    pub count: usize,
    pub memories: Vec<SearchHitSchema>,
}

/// A room.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RoomSchema {
    pub id: Uuid,
    pub name: Option<String>,
    pub channel_id: Option<String>,
    pub agent_id: Uuid,
    pub message_server_id: Option<Uuid>,
    /// A copy of `messageServerId`.
    pub server_id: Option<Uuid>,
    pub world_id: Option<Uuid>,
    /// A channel type (`DM`, `GROUP`, `API`, …).
    #[schema(rename = "type")]
    pub room_type: String,
    pub source: String,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Only from `GET …/rooms/:roomId`.
    pub world_name: Option<String>,
}

/// `{rooms}`.
#[derive(ToSchema)]
pub struct RoomList {
    pub rooms: Vec<RoomSchema>,
}

/// A world (`createdAt` ISO-8601).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct WorldSchema {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub name: String,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub message_server_id: Option<Uuid>,
    pub created_at: String,
}

/// `{world}`.
#[derive(ToSchema)]
pub struct WorldAnswer {
    pub world: WorldSchema,
}

/// `{worlds}`.
#[derive(ToSchema)]
pub struct WorldList {
    pub worlds: Vec<WorldSchema>,
}
