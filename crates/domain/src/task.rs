//! Scheduled agent tasks and the per-agent key/value cache.

use crate::ids::{AgentId, EntityId, RoomId, TaskId, WorldId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A task (`tasks`).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: TaskId,
    pub name: String,
    pub description: Option<String>,
    pub room_id: Option<RoomId>,
    pub world_id: Option<WorldId>,
    pub entity_id: Option<EntityId>,
    pub agent_id: AgentId,
    pub tags: Vec<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A cache entry (`cache`, keyed by `(key, agent_id)`).
#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    pub key: String,
    pub agent_id: AgentId,
    pub value: Value,
    pub created_at: DateTime<Utc>,
    /// Unlike 1.7.2, an expired entry is not returned.
    pub expires_at: Option<DateTime<Utc>>,
}
