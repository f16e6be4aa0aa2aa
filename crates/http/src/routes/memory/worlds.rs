//! Worlds (API spec §2.1): 1.7.2's create and update, `GET /api/agents/worlds` (shadowed in
//! 1.7.2, served here) and seed 001's per-agent listing and lookup.

use super::params::{optional_object, optional_string, optional_uuid};
use super::rooms::owned_world;
use super::views::{WorldAnswer, WorldList};
use super::{agent_id, running_agent};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok, success};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::route;
use crate::routes::agents::load_agent;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use chrono::Utc;
use eliza_domain::world::World;
use eliza_domain::{AgentId, WorldId};
use serde_json::{Map, Value};

pub fn configure(routes: &mut Routes<'_>) {
    route!(routes, all_worlds);
    route!(routes, agent_worlds);
    route!(routes, get_world);
    route!(routes, create_world);
    route!(routes, update_world);
}

fn retrieval_error(err: eliza_domain::StoreError) -> ApiError {
    ApiError::from_store(err, "RETRIEVAL_ERROR", "Failed to retrieve worlds")
}

#[utoipa::path(get, path = "/api/agents/worlds", tag = "agents",
    summary = "Every agent's worlds (unreachable in 1.7.2, where the agent-id route shadows it)",
    responses((status = 200, body = Success<WorldList>)))]
async fn all_worlds(state: web::Data<AppState>) -> ApiResult {
    let agents = state.store.list_agents().await.map_err(retrieval_error)?;
    let mut worlds = Vec::new();
    for agent in agents {
        worlds.extend(
            state
                .store
                .list_agent_worlds(agent.id)
                .await
                .map_err(retrieval_error)?,
        );
    }
    Ok(ok(WorldList::of(&worlds)))
}

/// The agent's id when it exists in the database (running or not); 404 otherwise.
async fn stored_agent(state: &AppState, raw: &str) -> Result<AgentId, ApiError> {
    load_agent(state, raw).await.map(|agent| agent.id)
}

#[utoipa::path(get, path = "/api/agents/{agentId}/worlds", tag = "agents",
    summary = "Seed 001: the agent's worlds",
    params(("agentId" = String, Path)),
    responses(
        (status = 200, body = Success<WorldList>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn agent_worlds(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = stored_agent(&state, &path).await?;
    let worlds = state
        .store
        .list_agent_worlds(agent)
        .await
        .map_err(retrieval_error)?;
    Ok(ok(WorldList::of(&worlds)))
}

fn agent_and_world(raw: &(String, String)) -> Result<WorldId, ApiError> {
    let message = "Invalid agent ID or world ID format";
    agent_id(&raw.0, message)?;
    WorldId::parse(&raw.1).map_err(|_| ApiError::invalid_id(message))
}

#[utoipa::path(get, path = "/api/agents/{agentId}/worlds/{worldId}", tag = "agents",
    summary = "Seed 001: one of the agent's worlds",
    params(("agentId" = String, Path), ("worldId" = String, Path)),
    responses(
        (status = 200, body = Success<WorldAnswer>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn get_world(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let world = agent_and_world(&path)?;
    let agent = stored_agent(&state, &path.0).await?;
    let world = owned_world(&state, agent, world).await?;
    Ok(ok(WorldAnswer::from(&world)))
}

#[utoipa::path(post, path = "/api/agents/{agentId}/worlds", tag = "agents",
    summary = "Create a world for the agent (`{name}`), or give it the world `{worldId}` (the api-client's body)",
    params(("agentId" = String, Path)),
    request_body(content = Object, description = "`{name, messageServerId?, metadata?}` or `{worldId, name?, …}`"),
    responses(
        (status = 201, description = "Created", body = Success<WorldAnswer>),
        (status = 200, description = "`worldId` names a world the agent has already", body = Success<WorldAnswer>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`worldId` is another agent's world", body = ErrorBody),
    ))]
async fn create_world(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let agent = running_agent(&state, &path, "Invalid agent ID format")?;
    let body = body.object()?;
    let requested = optional_uuid(body, "worldId")?.map(WorldId);
    let name = optional_string(body, "name")?
        .map(str::trim)
        .filter(|name| !name.is_empty());
    if let Some(id) = requested
        && let Some(existing) = state.store.get_world(id).await.map_err(create_error)?
    {
        return existing_world(agent, &existing);
    }
    let name = match (name, requested) {
        (Some(name), _) => name.to_owned(),
        (None, Some(id)) => format!("World {id}"),
        (None, None) => {
            return Err(ApiError::bad_request(
                "BAD_REQUEST",
                "World name is required",
            ));
        }
    };
    let world = World {
        id: requested.unwrap_or_else(WorldId::new_random),
        agent_id: agent,
        name,
        metadata: optional_object(body, "metadata")?.map(|m| Value::Object(m.clone())),
        message_server_id: optional_uuid(body, "messageServerId")?,
        created_at: Utc::now(),
    };
    state
        .store
        .ensure_world(&world)
        .await
        .map_err(create_error)?;
    Ok(success(StatusCode::CREATED, WorldAnswer::from(&world)))
}

fn create_error(err: eliza_domain::StoreError) -> ApiError {
    ApiError::from_store(err, "500", "Error creating world")
}

/// `{worldId}` naming a world that exists: the agent's own is answered as is; another agent's
/// cannot be shared (a world belongs to one agent).
fn existing_world(agent: AgentId, world: &World) -> ApiResult {
    if world.agent_id == agent {
        Ok(ok(WorldAnswer::from(world)))
    } else {
        Err(ApiError::coded(
            StatusCode::CONFLICT,
            "CONFLICT",
            "This world belongs to another agent",
        ))
    }
}

#[utoipa::path(patch, path = "/api/agents/{agentId}/worlds/{worldId}", tag = "agents",
    summary = "Rename a world or merge into its metadata (the api-client's `settings` go to `metadata.settings`)",
    params(("agentId" = String, Path), ("worldId" = String, Path)),
    request_body(content = Object, description = "`{name?, metadata?, settings?}`; `metadata` is merged key by key"),
    responses(
        (status = 200, body = Success<WorldAnswer>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn update_world(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let id = agent_and_world(&path)?;
    let agent = running_agent(&state, &path.0, "Invalid agent ID or world ID format")?;
    let body = body.object()?;
    let mut world = owned_world(&state, agent, id).await?;
    if let Some(name) = optional_string(body, "name")? {
        world.name = name.to_owned();
    }
    let mut metadata = match world.metadata.take() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if let Some(changes) = optional_object(body, "metadata")? {
        metadata.extend(changes.clone());
    }
    if let Some(settings) = optional_object(body, "settings")? {
        merge_settings(&mut metadata, settings);
    }
    world.metadata = Some(Value::Object(metadata));
    state
        .store
        .update_world(&world)
        .await
        .map_err(|err| ApiError::from_store(err, "500", "Error updating world"))?;
    Ok(ok(WorldAnswer::from(&world)))
}

/// World settings live in `metadata.settings` (elizaOS); new keys are merged into them.
fn merge_settings(metadata: &mut Map<String, Value>, settings: &Map<String, Value>) {
    let entry = metadata
        .entry("settings")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(current) = entry {
        current.extend(settings.clone());
    }
}
