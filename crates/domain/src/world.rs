//! The agent-side social graph: entities, worlds, rooms, participants, relationships and components.

use crate::ids::{AgentId, EntityId, RelationshipId, RoomId, WorldId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A person or agent as one agent knows it (`entities`, unique per `(id, agent_id)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub id: EntityId,
    pub agent_id: AgentId,
    pub names: Vec<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

/// An agent's world, usually derived from a message server.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    pub id: WorldId,
    pub agent_id: AgentId,
    pub name: String,
    pub metadata: Option<Value>,
    pub message_server_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// An agent's room, usually derived from a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub id: RoomId,
    pub agent_id: AgentId,
    pub source: String,
    /// A `ChannelType` string.
    pub room_type: String,
    pub message_server_id: Option<Uuid>,
    pub world_id: Option<WorldId>,
    pub name: Option<String>,
    pub metadata: Option<Value>,
    pub channel_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `FOLLOWED` / `MUTED` / none, as the room-state actions set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomState {
    Followed,
    Muted,
}

impl RoomState {
    pub fn as_str(&self) -> &'static str {
        match self {
            RoomState::Followed => "FOLLOWED",
            RoomState::Muted => "MUTED",
        }
    }

    pub fn parse(text: &str) -> Option<RoomState> {
        match text {
            "FOLLOWED" => Some(RoomState::Followed),
            "MUTED" => Some(RoomState::Muted),
            _ => None,
        }
    }
}

/// An entity's membership of a room.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub id: Uuid,
    pub entity_id: EntityId,
    pub room_id: RoomId,
    pub agent_id: AgentId,
    pub room_state: Option<RoomState>,
    pub created_at: DateTime<Utc>,
}

/// A relationship between two entities, unique per `(source, target, agent)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    pub id: RelationshipId,
    pub source_entity_id: EntityId,
    pub target_entity_id: EntityId,
    pub agent_id: AgentId,
    pub tags: Vec<String>,
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

/// Typed data attached to an entity (`components`).
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub id: Uuid,
    pub entity_id: EntityId,
    pub agent_id: AgentId,
    pub room_id: RoomId,
    pub world_id: Option<WorldId>,
    pub source_entity_id: Option<EntityId>,
    pub component_type: String,
    pub data: Value,
    pub created_at: DateTime<Utc>,
}
