//! Listing, editing and deleting an agent's memories (API spec §2.2) and seed 001's aliases.

use super::params::{ListParams, optional_object, optional_uuid};
use super::rooms::owned_world;
use super::views::{MemoryList, MemoryPage, MemoryView, TimeFormat};
use super::{agent_id, running_agent};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::route;
use crate::routes::agent_logs::QueryPairs;
use crate::routes::agent_logs::require_running;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_domain::memory::{Memory, MemoryQuery};
use eliza_domain::{AgentId, EntityId, MemoryId, RoomId, WorldId};
use eliza_runtime::turn::room_of;
use serde_json::{Value, json};

/// A room's memories: the latest 20 unless asked otherwise (1.7.2).
const ROOM_DEFAULT_LIMIT: u32 = 20;
/// An agent's memories: 1.7.2 returns every one; we page, 100 at a time by default.
const AGENT_DEFAULT_LIMIT: u32 = 100;
/// What `DELETE …/memories/all/:roomId` clears (1.7.2).
const ROOM_CLEARED_TABLES: [&str; 2] = ["messages", "documents"];

pub fn configure(routes: &mut Routes<'_>) {
    route!(routes, room_memories);
    route!(routes, agent_memories);
    route!(routes, update_memory);
    route!(routes, clear_agent_memories);
    route!(routes, clear_room_memories);
    route!(routes, delete_memory);
}

/// Seed 001's `/api/memory/agents/:agentId/memories[/:memoryId]`.
pub fn configure_seed(routes: &mut Routes<'_>) {
    route!(routes, seed_agent_memories);
    route!(
        routes,
        delete_memory,
        alias = "/api/memory/agents/{agentId}/memories/{memoryId}"
    );
}

fn store_error(err: eliza_domain::StoreError, code: &str, message: &str) -> ApiError {
    ApiError::from_store(err, code, message)
}

async fn list(state: &AppState, query: MemoryQuery) -> Result<Vec<Memory>, ApiError> {
    state
        .store
        .list_memories(&query)
        .await
        .map_err(|err| store_error(err, "MEMORY_ERROR", "Failed to retrieve memories"))
}

fn query_of(agent: AgentId, room: Option<RoomId>, params: &ListParams) -> MemoryQuery {
    MemoryQuery {
        table: params.table.clone(),
        agent_id: Some(agent),
        room_id: room,
        before: params.before,
        limit: Some(params.limit),
        offset: Some(params.offset),
        include_embedding: params.include_embedding,
        ..MemoryQuery::default()
    }
}

#[utoipa::path(get, path = "/api/memory/{agentId}/rooms/{roomId}/memories", tag = "memory",
    summary = "A channel's memories as the agent keeps them (the room of that channel)",
    params(
        ("agentId" = String, Path, description = "A running agent's UUID"),
        ("roomId" = String, Path, description = "A central channel id, converted to the agent's room id"),
        ("limit" = Option<u32>, Query, description = "Default 20, at most 1000"),
        ("offset" = Option<u32>, Query),
        ("before" = Option<String>, Query, description = "Epoch ms or ISO-8601; default now"),
        ("includeEmbedding" = Option<bool>, Query),
        ("tableName" = Option<String>, Query, description = "Default `messages`"),
    ),
    responses(
        (status = 200, description = "Newest first", body = Success<MemoryList>),
        (status = 400, body = ErrorBody), (status = 404, description = "Agent not running", body = ErrorBody),
    ))]
async fn room_memories(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: QueryPairs,
) -> ApiResult {
    let (raw_agent, raw_channel) = path.into_inner();
    let message = "Invalid agent ID or channel ID format";
    let agent = agent_id(&raw_agent, message)?;
    let channel = eliza_domain::ids::validate_uuid(&raw_channel)
        .ok_or_else(|| ApiError::invalid_id(message))?;
    require_running(&state, agent)?;
    let mut params = ListParams::parse(&query, &["tableName", "type"], ROOM_DEFAULT_LIMIT)?;
    params.before = params.before.or_else(|| Some(Utc::now()));
    let room = room_of(agent, &channel.to_string());
    let memories = list(&state, query_of(agent, Some(room), &params)).await?;
    let memories = MemoryView::list(&memories, params.include_embedding, TimeFormat::Millis);
    Ok(ok(MemoryList { memories }))
}

/// The room a list is limited to: `channelId` (converted) or `roomId` (as is).
fn room_filter(agent: AgentId, pairs: &[(String, String)]) -> Result<Option<RoomId>, ApiError> {
    use crate::routes::agent_logs::first;
    if let Some(channel) = first(pairs, "channelId") {
        let channel = eliza_domain::ids::validate_uuid(channel)
            .ok_or_else(|| ApiError::invalid_id("Invalid channel ID format"))?;
        return Ok(Some(room_of(agent, &channel.to_string())));
    }
    first(pairs, "roomId")
        .map(|room| RoomId::parse(room).map_err(|_| ApiError::invalid_id("Invalid room ID format")))
        .transpose()
}

/// One page of an agent's memories, with whether more follow.
async fn agent_page(
    state: &AppState,
    agent: AgentId,
    pairs: &[(String, String)],
    table_keys: &[&str],
    time: TimeFormat,
) -> ApiResult {
    let params = ListParams::parse(pairs, table_keys, AGENT_DEFAULT_LIMIT)?;
    let room = room_filter(agent, pairs)?;
    let mut query = query_of(agent, room, &params);
    query.limit = Some(params.limit + 1);
    let mut memories = list(state, query).await?;
    let has_more = memories.len() > params.limit as usize;
    memories.truncate(params.limit as usize);
    Ok(ok(MemoryPage {
        memories: MemoryView::list(&memories, params.include_embedding, time),
        limit: params.limit,
        offset: params.offset,
        has_more,
    }))
}

#[utoipa::path(get, path = "/api/memory/{agentId}/memories", tag = "memory",
    summary = "An agent's memories, newest first, paged",
    params(
        ("agentId" = String, Path),
        ("tableName" = Option<String>, Query, description = "Default `messages` (also read as `type`)"),
        ("channelId" = Option<String>, Query, description = "Only this channel's room"),
        ("roomId" = Option<String>, Query, description = "Only this room"),
        ("limit" = Option<u32>, Query, description = "Default 100, at most 1000"),
        ("offset" = Option<u32>, Query),
        ("page" = Option<u32>, Query, description = "1-based, when `offset` is absent"),
        ("before" = Option<String>, Query, description = "Epoch ms or ISO-8601 (also read as `to`)"),
        ("includeEmbedding" = Option<bool>, Query),
    ),
    responses(
        (status = 200, body = Success<MemoryPage>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn agent_memories(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult {
    let agent = running_agent(&state, &path, "Invalid agent ID")?;
    agent_page(
        &state,
        agent,
        &query,
        &["tableName", "type"],
        TimeFormat::Millis,
    )
    .await
}

#[utoipa::path(get, path = "/api/memory/agents/{agentId}/memories", tag = "memory",
    summary = "Seed 001: an agent's memories (`table`, `limit`, `offset`; ISO `createdAt`)",
    params(
        ("agentId" = String, Path),
        ("table" = Option<String>, Query, description = "Default `messages`"),
        ("limit" = Option<u32>, Query, description = "Default 100, at most 1000"),
        ("offset" = Option<u32>, Query),
        ("roomId" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "`data:{memories:[Memory], limit, offset, hasMore}`", body = Object),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn seed_agent_memories(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: QueryPairs,
) -> ApiResult {
    let agent = running_agent(&state, &path, "Invalid agent ID")?;
    agent_page(
        &state,
        agent,
        &query,
        &["table", "tableName"],
        TimeFormat::Iso,
    )
    .await
}

/// The agent's own memory, or 404 "Memory not found" (another agent's memory is not found either).
async fn owned_memory(state: &AppState, agent: AgentId, id: MemoryId) -> Result<Memory, ApiError> {
    state
        .store
        .get_memory(id)
        .await
        .map_err(|err| store_error(err, "MEMORY_ERROR", "Failed to retrieve memory"))?
        .filter(|memory| memory.agent_id == agent)
        .ok_or_else(|| ApiError::not_found("Memory not found"))
}

fn agent_and_memory(
    state: &AppState,
    raw: &(String, String),
) -> Result<(AgentId, MemoryId), ApiError> {
    let message = "Invalid agent ID or memory ID format";
    let agent = agent_id(&raw.0, message)?;
    let memory = MemoryId::parse(&raw.1).map_err(|_| ApiError::invalid_id(message))?;
    require_running(state, agent)?;
    Ok((agent, memory))
}

#[utoipa::path(patch, path = "/api/memory/{agentId}/memories/{memoryId}", tag = "memory",
    summary = "Edit a memory: content, metadata, and the entity, room or world it belongs to",
    params(("agentId" = String, Path), ("memoryId" = String, Path)),
    request_body(content = Object, description = "`{content?, metadata?, entityId?, roomId?, worldId?}`; `agentId`, when given, must be the path's"),
    responses(
        (status = 200, description = "`data:{id, message:\"Memory updated successfully\"}`", body = Object),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn update_memory(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: JsonBody,
) -> ApiResult {
    let (agent, id) = agent_and_memory(&state, &path)?;
    let patch = body.object()?;
    let mut memory = owned_memory(&state, agent, id).await?;
    if optional_uuid(patch, "agentId")?.is_some_and(|other| other != agent.0) {
        return Err(ApiError::bad_request(
            "BAD_REQUEST",
            "A memory cannot be moved to another agent",
        ));
    }
    let old_text = memory.content.get("text").cloned();
    apply_patch(&state, &mut memory, patch).await?;
    if memory.content.get("text") != old_text.as_ref() {
        memory.embedding = fresh_embedding(&state, &memory).await;
    }
    state
        .store
        .update_memory(&memory)
        .await
        .map_err(|err| store_error(err, "UPDATE_ERROR", "Failed to update memory"))?;
    Ok(ok(
        json!({"id": memory.id, "message": "Memory updated successfully"}),
    ))
}

/// Applies the body's fields; an entity must be known to the agent, a room or a world its own.
async fn apply_patch(
    state: &AppState,
    memory: &mut Memory,
    patch: &serde_json::Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(content) = optional_object(patch, "content")? {
        memory.content = Value::Object(content.clone());
    }
    if let Some(metadata) = optional_object(patch, "metadata")? {
        memory.metadata = Value::Object(metadata.clone());
    }
    if let Some(entity) = optional_uuid(patch, "entityId")? {
        // An unknown entity would break the (entity, agent) reference at write time.
        let known = state
            .store
            .get_entity(memory.agent_id, EntityId(entity))
            .await?;
        if known.is_none() {
            return Err(ApiError::not_found("Entity not found"));
        }
        memory.entity_id = Some(EntityId(entity));
    }
    if let Some(world) = optional_uuid(patch, "worldId")? {
        // Another agent's world would let its deletion take this memory with it.
        owned_world(state, memory.agent_id, WorldId(world)).await?;
        memory.world_id = Some(WorldId(world));
    }
    if let Some(room) = optional_uuid(patch, "roomId")? {
        let owned = state
            .store
            .get_room(RoomId(room))
            .await?
            .is_some_and(|found| found.agent_id == memory.agent_id);
        if !owned {
            return Err(ApiError::not_found("Room not found"));
        }
        memory.room_id = Some(RoomId(room));
    }
    Ok(())
}

/// The new text's embedding, so that search finds the memory by what it now says; `None` keeps
/// the stored vector when the agent cannot embed (no runtime, no model, a model error).
async fn fresh_embedding(state: &AppState, memory: &Memory) -> Option<Vec<f32>> {
    let text = memory.content.get("text").and_then(Value::as_str)?;
    let runtime = state.runtime(memory.agent_id)?;
    match runtime.embed(text, memory.room_id).await {
        Ok(vector) => Some(vector),
        Err(err) => {
            tracing::warn!(memory = %memory.id, %err, "the edited memory keeps its old embedding");
            None
        }
    }
}

#[utoipa::path(delete, path = "/api/memory/{agentId}/memories", tag = "memory",
    summary = "Delete every memory of the agent",
    params(("agentId" = String, Path)),
    responses(
        (status = 200, description = "`data:{deleted, message}`", body = Object),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn clear_agent_memories(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = running_agent(&state, &path, "Invalid agent ID")?;
    let deleted = state
        .store
        .delete_memories(agent, None, &[])
        .await
        .map_err(|err| store_error(err, "DELETE_ERROR", "Failed to delete memories"))?;
    Ok(ok(json!({
        "deleted": deleted,
        "message": "All agent memories cleared successfully",
    })))
}

#[utoipa::path(delete, path = "/api/memory/{agentId}/memories/all/{roomId}", tag = "memory",
    summary = "Delete the `messages` and `documents` memories of one of the agent's rooms",
    params(("agentId" = String, Path), ("roomId" = String, Path, description = "The agent's room id (not converted)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn clear_room_memories(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (raw_agent, raw_room) = path.into_inner();
    let agent = agent_id(&raw_agent, "Invalid agent ID")?;
    let room = RoomId::parse(&raw_room).map_err(|_| ApiError::invalid_id("Invalid room ID"))?;
    require_running(&state, agent)?;
    state
        .store
        .delete_memories(agent, Some(room), &ROOM_CLEARED_TABLES)
        .await
        .map_err(|err| store_error(err, "DELETE_ERROR", "Failed to delete memories"))?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/memory/{agentId}/memories/{memoryId}", tag = "memory",
    summary = "Delete one of the agent's memories",
    params(("agentId" = String, Path), ("memoryId" = String, Path)),
    responses(
        (status = 200, description = "`data:{message:\"Memory deleted successfully\"}`", body = Object),
        (status = 400, body = ErrorBody), (status = 404, description = "Agent not running, or no such memory of the agent", body = ErrorBody),
    ))]
async fn delete_memory(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let (agent, id) = agent_and_memory(&state, &path)?;
    owned_memory(&state, agent, id).await?;
    state
        .store
        .delete_memory(id)
        .await
        .map_err(|err| store_error(err, "DELETE_ERROR", "Error deleting memory"))?;
    Ok(ok(json!({"message": "Memory deleted successfully"})))
}
