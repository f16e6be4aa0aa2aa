//! An agent's rooms (API spec §2.2): create, list, get.

use super::params::{optional_object, optional_string, optional_uuid};
use super::views::{RoomList, RoomView};
use super::{agent_id, running_agent};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok, success};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::route;
use crate::routes::agent_logs::require_running;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use chrono::Utc;
use eliza_domain::messaging::ChannelType;
use eliza_domain::world::{Room, World};
use eliza_domain::{AgentId, EntityId, RoomId, WorldId};
use serde_json::{Value, json};

pub fn configure(routes: &mut Routes<'_>) {
    route!(routes, create_room);
    route!(routes, list_rooms);
    route!(routes, get_room);
}

#[utoipa::path(post, path = "/api/memory/{agentId}/rooms", tag = "memory",
    summary = "Create a room for the agent (and a world for it when none is named)",
    params(("agentId" = String, Path)),
    request_body(content = Object, description = "`{name, type? (a ChannelType, default DM), source? (default client), worldId?, metadata?, messageServerId?}`"),
    responses(
        (status = 201, description = "`data:{id, name, agentId, createdAt (ms), source, type, worldId, messageServerId?, metadata?}`", body = Object),
        (status = 400, body = ErrorBody), (status = 404, description = "Agent not running, or unknown world", body = ErrorBody),
    ))]
async fn create_room(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let agent = running_agent(&state, &path, "Invalid agent ID format")?;
    let request = RoomRequest::parse(body.object()?)?;
    let world = match request.world_id {
        Some(id) => owned_world(&state, agent, id).await?.id,
        None => create_world_for(&state, agent, &request).await?,
    };
    let room = Room {
        id: RoomId::new_random(),
        agent_id: agent,
        source: request.source.clone(),
        room_type: request.room_type.as_str().to_owned(),
        message_server_id: request.message_server_id,
        world_id: Some(world),
        name: Some(request.name.clone()),
        metadata: request.metadata.clone(),
        channel_id: None,
        created_at: Utc::now(),
    };
    state.store.ensure_room(&room).await.map_err(create_error)?;
    if let Some(runtime) = state.runtime(agent) {
        runtime
            .ensure_participant(room.id, EntityId(agent.0))
            .await
            .map_err(|err| create_error(eliza_domain::StoreError::Backend(err.to_string())))?;
    }
    let mut data = json!({
        "id": room.id,
        "name": request.name,
        "agentId": agent,
        "createdAt": room.created_at.timestamp_millis(),
        "source": room.source,
        "type": room.room_type,
        "worldId": world,
    });
    if let Some(server) = room.message_server_id {
        data["messageServerId"] = json!(server);
    }
    if let Some(metadata) = room.metadata {
        data["metadata"] = metadata;
    }
    Ok(success(StatusCode::CREATED, data))
}

fn create_error(err: eliza_domain::StoreError) -> ApiError {
    ApiError::from_store(err, "CREATE_ERROR", "Failed to create room")
}

/// A checked `POST …/rooms` body.
struct RoomRequest {
    name: String,
    room_type: ChannelType,
    source: String,
    world_id: Option<WorldId>,
    metadata: Option<Value>,
    message_server_id: Option<uuid::Uuid>,
}

impl RoomRequest {
    fn parse(body: &serde_json::Map<String, Value>) -> Result<RoomRequest, ApiError> {
        let name = optional_string(body, "name")?
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| ApiError::bad_request("MISSING_PARAM", "Room name is required"))?;
        let room_type = match optional_string(body, "type")? {
            None => ChannelType::Dm,
            Some(text) => ChannelType::parse(text).ok_or_else(|| {
                ApiError::bad_request(
                    "BAD_REQUEST",
                    format!("Invalid room type \"{text}\": expected a channel type such as DM, GROUP or API"),
                )
            })?,
        };
        Ok(RoomRequest {
            name: name.to_owned(),
            room_type,
            source: optional_string(body, "source")?
                .unwrap_or("client")
                .to_owned(),
            world_id: optional_uuid(body, "worldId")?.map(WorldId),
            metadata: optional_object(body, "metadata")?.map(|m| Value::Object(m.clone())),
            message_server_id: optional_uuid(body, "messageServerId")?,
        })
    }
}

/// The agent's world `id`, or 404 "World not found".
pub(super) async fn owned_world(
    state: &AppState,
    agent: AgentId,
    id: WorldId,
) -> Result<World, ApiError> {
    state
        .store
        .get_world(id)
        .await?
        .filter(|world| world.agent_id == agent)
        .ok_or_else(|| ApiError::not_found("World not found"))
}

/// "World for <room name>", as 1.7.2 makes one for a room created without a world.
async fn create_world_for(
    state: &AppState,
    agent: AgentId,
    request: &RoomRequest,
) -> Result<WorldId, ApiError> {
    let world = World {
        id: WorldId::new_random(),
        agent_id: agent,
        name: format!("World for {}", request.name),
        metadata: None,
        message_server_id: request.message_server_id,
        created_at: Utc::now(),
    };
    state
        .store
        .ensure_world(&world)
        .await
        .map_err(create_error)?;
    Ok(world.id)
}

#[utoipa::path(get, path = "/api/memory/{agentId}/rooms", tag = "memory",
    summary = "The agent's rooms",
    params(("agentId" = String, Path)),
    responses(
        (status = 200, body = Success<RoomList>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
async fn list_rooms(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = running_agent(&state, &path, "Invalid agent ID format")?;
    let rooms =
        state.store.list_agent_rooms(agent).await.map_err(|err| {
            ApiError::from_store(err, "RETRIEVAL_ERROR", "Failed to retrieve rooms")
        })?;
    let rooms = rooms.iter().map(RoomView::from).collect();
    Ok(ok(RoomList { rooms }))
}

#[utoipa::path(get, path = "/api/memory/{agentId}/rooms/{roomId}", tag = "memory",
    summary = "One of the agent's rooms, with its world's name",
    params(("agentId" = String, Path), ("roomId" = String, Path)),
    responses(
        (status = 200, body = Success<RoomView>),
        (status = 400, body = ErrorBody), (status = 404, description = "Agent not running, or no such room of the agent", body = ErrorBody),
    ))]
async fn get_room(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let (raw_agent, raw_room) = path.into_inner();
    let message = "Invalid agent ID or room ID format";
    let agent = agent_id(&raw_agent, message)?;
    let id = RoomId::parse(&raw_room).map_err(|_| ApiError::invalid_id(message))?;
    require_running(&state, agent)?;
    let retrieval = |err| ApiError::from_store(err, "RETRIEVAL_ERROR", "Failed to retrieve room");
    let room = state
        .store
        .get_room(id)
        .await
        .map_err(retrieval)?
        .filter(|room| room.agent_id == agent)
        .ok_or_else(|| ApiError::not_found("Room not found"))?;
    let mut view = RoomView::from(&room);
    if let Some(world) = room.world_id {
        view.world_name = state
            .store
            .get_world(world)
            .await
            .map_err(retrieval)?
            .map(|world| world.name);
    }
    Ok(ok(view))
}
