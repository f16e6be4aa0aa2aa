//! Agent memories, rooms, worlds and groups (API spec §2.1 worlds, §2.2), family A, plus seed
//! 001's worlds, memory and semantic search routes. The 1.7.2 memory and room routes are served
//! under `/api/memory/...` and again under `/api/agents/...`, as 1.7.2 mounts them twice.

mod groups;
mod memories;
mod params;
mod rooms;
mod search;
pub mod views;
mod worlds;

use crate::error::ApiError;
use crate::openapi::Routes;
use crate::routes::agent_logs::require_running;
use crate::state::AppState;
use eliza_domain::AgentId;

/// Registers every route of the module. Must come before the agent CRUD routes: the literal
/// `/api/agents/worlds` would otherwise be taken for an agent id (the 1.7.2 shadowing bug).
pub fn configure(routes: &mut Routes<'_>) {
    worlds::configure(routes);
    routes.with_prefix_alias("/api/memory", "/api/agents", |routes| {
        memories::configure(routes);
        rooms::configure(routes);
    });
    memories::configure_seed(routes);
    search::configure(routes);
    groups::configure(routes);
}

/// The agent id of a path, or 400 `INVALID_ID` with `message`.
fn agent_id(raw: &str, message: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(raw).map_err(|_| ApiError::invalid_id(message))
}

/// The agent's id when it runs; 404 "Agent not found" otherwise (1.7.2 looks the runtime up).
fn running_agent(state: &AppState, raw: &str, message: &str) -> Result<AgentId, ApiError> {
    let id = agent_id(raw, message)?;
    require_running(state, id)?;
    Ok(id)
}
