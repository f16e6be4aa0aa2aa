//! Agent memories, their embeddings, and vector search parameters.

use crate::ids::{AgentId, EntityId, MemoryId, RoomId, WorldId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The default "table" of conversation memories.
pub const MESSAGES_TABLE: &str = "messages";

/// A memory (`memories`, plus its embedding when loaded).
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub id: MemoryId,
    /// The "table name": `messages`, `facts`, `documents`, `knowledge`, …
    pub table: String,
    pub created_at: DateTime<Utc>,
    pub content: Value,
    pub entity_id: Option<EntityId>,
    pub agent_id: AgentId,
    pub room_id: Option<RoomId>,
    pub world_id: Option<WorldId>,
    pub unique: bool,
    pub metadata: Value,
    pub embedding: Option<Vec<f32>>,
}

/// Filters for listing memories, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemoryQuery {
    pub table: String,
    pub agent_id: Option<AgentId>,
    pub room_id: Option<RoomId>,
    pub world_id: Option<WorldId>,
    pub entity_id: Option<EntityId>,
    /// Only memories created strictly before this instant.
    pub before: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    pub include_embedding: bool,
}

/// A nearest-neighbour search over one agent's memories.
#[derive(Debug, Clone, PartialEq)]
pub struct MemorySearch {
    pub agent_id: AgentId,
    pub table: String,
    pub embedding: Vec<f32>,
    pub room_id: Option<RoomId>,
    pub world_id: Option<WorldId>,
    pub entity_id: Option<EntityId>,
    pub threshold: Option<f32>,
    pub limit: u32,
}

/// A search hit with its cosine similarity.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredMemory {
    pub memory: Memory,
    pub similarity: f32,
}

/// Cosine similarity; zero when either vector is empty, zero-length or the dimensions differ.
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut norm_a, mut norm_b) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    if norm_a == 0.0 || norm_b == 0.0 {
        0.0
    } else {
        dot / (norm_a.sqrt() * norm_b.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_similarity_basics() {
        assert!((cosine_similarity(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine_similarity(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert_eq!(cosine_similarity(&[1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(cosine_similarity(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
    }
}
