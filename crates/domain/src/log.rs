//! Agent logs (`logs`) and the run summaries built from them.

use crate::ids::{AgentId, EntityId, LogId, RoomId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One log row. 1.7.2 has no agent column (so a shared database mixes agents); we store it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentLog {
    pub id: LogId,
    pub agent_id: AgentId,
    pub created_at: DateTime<Utc>,
    pub entity_id: EntityId,
    pub room_id: RoomId,
    /// `useModel:TEXT_LARGE`, `action`, `evaluator`, `run_event`, …
    pub log_type: String,
    pub body: Value,
}

/// Filters for `GET /api/agents/:id/logs`, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogQuery {
    pub agent_id: Option<AgentId>,
    pub room_id: Option<RoomId>,
    pub log_type: Option<String>,
    pub limit: u32,
    pub offset: u32,
}
