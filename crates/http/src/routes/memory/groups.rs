//! Groups (API spec §2.2): a message server's world and one `API` room per agent, and their
//! deletion. The world id is the body's `worldId`, else the message server id itself, so that
//! `DELETE /api/memory/groups/:id` (which 1.7.2 reads as a world id) finds what was created.

use super::params::{optional_object, optional_string, optional_uuid};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, success};
use crate::openapi::Routes;
use crate::openapi::schemas::ErrorBody;
use crate::route;
use crate::routes::agent_logs::require_running;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_domain::ids::create_unique_uuid;
use eliza_domain::world::{Room, World};
use eliza_domain::{AgentId, EntityId, RoomId, WorldId};
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub fn configure(routes: &mut Routes<'_>) {
    route!(routes, create_group);
    route!(routes, delete_group);
    route!(routes, clear_group_memories);
}

/// The checked body of `POST /api/memory/groups/:id`.
struct GroupRequest {
    server: Uuid,
    agents: Vec<AgentId>,
    world: WorldId,
    name: String,
    source: String,
    metadata: Option<Value>,
}

impl GroupRequest {
    /// `agents` stands in for an absent `agentIds`: the api-client sends `{messageServerId,
    /// name, description}`, meaning the message server's own (else all running) agents.
    fn parse(
        server: Uuid,
        body: &Map<String, Value>,
        server_agents: &[AgentId],
    ) -> Result<GroupRequest, ApiError> {
        let agents = match body.get("agentIds") {
            None | Some(Value::Null) if server_agents.is_empty() => {
                return Err(ApiError::not_found(format!(
                    "No agent is running to join the world of message server {server}; start one first"
                )));
            }
            None | Some(Value::Null) => server_agents.to_vec(),
            Some(ids) => agent_ids(ids)?,
        };
        if agents.is_empty() {
            return Err(ApiError::bad_request(
                "BAD_REQUEST",
                "agentIds must be a non-empty array",
            ));
        }
        let mut metadata = optional_object(body, "metadata")?.cloned();
        if let Some(description) = optional_string(body, "description")? {
            metadata
                .get_or_insert_with(Map::new)
                .insert("description".into(), json!(description));
        }
        Ok(GroupRequest {
            server,
            agents,
            world: WorldId(optional_uuid(body, "worldId")?.unwrap_or(server)),
            name: optional_string(body, "name")?
                .map_or_else(|| format!("Group {server}"), str::to_owned),
            source: optional_string(body, "source")?
                .unwrap_or("client")
                .to_owned(),
            metadata: metadata.map(Value::Object),
        })
    }
}

fn agent_ids(ids: &Value) -> Result<Vec<AgentId>, ApiError> {
    let ids = ids.as_array().ok_or_else(|| {
        ApiError::bad_request("BAD_REQUEST", "agentIds must be a non-empty array")
    })?;
    ids.iter()
        .map(|id| {
            id.as_str()
                .and_then(|text| AgentId::parse(text).ok())
                .ok_or_else(|| ApiError::invalid_id(format!("Invalid agent ID in agentIds: {id}")))
        })
        .collect()
}

/// The running agents of a message server (for a body without `agentIds`). A server with no
/// agents at all lends every running agent: 1.7.2 lets agents join only the current message
/// server, so any other server has none. A server whose agents are all stopped has nobody.
async fn running_server_agents(state: &AppState, server: Uuid) -> Result<Vec<AgentId>, ApiError> {
    let members = state
        .store
        .list_server_agents(eliza_domain::MessageServerId(server))
        .await?;
    let running = state.agents.running();
    if members.is_empty() {
        return Ok(running);
    }
    Ok(members
        .into_iter()
        .filter(|agent| running.contains(agent))
        .collect())
}

fn server_id(raw: &str) -> Result<Uuid, ApiError> {
    eliza_domain::ids::validate_uuid(raw)
        .ok_or_else(|| ApiError::invalid_id("Invalid messageServerId (worldId) format"))
}

#[utoipa::path(post, path = "/api/memory/groups/{messageServerId}", tag = "memory",
    summary = "A message server's world, with an API room for each of the agents",
    params(("messageServerId" = String, Path)),
    request_body(content = Object, description = "`{agentIds?: [UUID] (non-empty; absent: the message server's running agents), name?, description?, worldId?, source?, metadata?}`"),
    responses(
        (status = 201, description = "`data:[{id, name, source, worldId, type:\"API\"}]`; without `agentIds` (the api-client): `data:{worldId, rooms:[…]}`", body = Object),
        (status = 207, description = "Some agents failed: `{success:false, data:[…], errors:[{agentId, code, message, details}]}`", body = Object),
        (status = 400, body = ErrorBody),
        (status = 404, description = "No agent runs: `error` is the array of failures", body = ErrorBody),
    ))]
async fn create_group(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let server = server_id(&path)?;
    let body = body.object()?;
    // The api-client names no agents (1.7.2 refused that) and reads `{worldId}`.
    let client_form = matches!(body.get("agentIds"), None | Some(Value::Null));
    let server_agents = if client_form {
        running_server_agents(&state, server).await?
    } else {
        Vec::new()
    };
    let request = GroupRequest::parse(server, body, &server_agents)?;
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for &agent in &request.agents {
        // The world is one row, owned by the first agent that gets a room.
        match group_room(&state, agent, &request, created.is_empty()).await {
            Ok(room) => created.push(room),
            Err(err) => errors.push(json!({
                "agentId": agent,
                "code": err.code,
                "message": err.message,
                "details": err.details.unwrap_or_else(|| err.message.clone()),
            })),
        }
    }
    let world = client_form.then_some(request.world);
    Ok(group_answer(created, errors, world))
}

/// 201 when every agent got its room, 207 when some did, else 404 (all unknown) or 500. The
/// api-client's request (`world` given) gets `{worldId, rooms}` instead of the bare room list.
fn group_answer(created: Vec<Value>, errors: Vec<Value>, world: Option<WorldId>) -> HttpResponse {
    if errors.is_empty() {
        return match world {
            Some(world) => success(
                StatusCode::CREATED,
                json!({"worldId": world, "rooms": created}),
            ),
            None => success(StatusCode::CREATED, created),
        };
    }
    if !created.is_empty() {
        return HttpResponse::build(StatusCode::MULTI_STATUS)
            .json(json!({"success": false, "data": created, "errors": errors}));
    }
    let all_unknown = errors.iter().all(|error| error["code"] == "NOT_FOUND");
    let status = if all_unknown {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    HttpResponse::build(status).json(json!({"success": false, "error": errors}))
}

/// The agent's API room in the group's world (which it creates when `with_world`), with the
/// agent as a participant.
async fn group_room(
    state: &AppState,
    agent: AgentId,
    request: &GroupRequest,
    with_world: bool,
) -> Result<Value, ApiError> {
    require_running(state, agent)?;
    let failed = |err| ApiError::from_store(err, "CREATE_ERROR", "Failed to create the group room");
    let now = Utc::now();
    if with_world {
        let world = World {
            id: request.world,
            agent_id: agent,
            name: request.name.clone(),
            metadata: request.metadata.clone(),
            message_server_id: Some(request.server),
            created_at: now,
        };
        state.store.ensure_world(&world).await.map_err(failed)?;
    }
    let room = Room {
        id: RoomId(create_unique_uuid(agent.0, &request.server.to_string())),
        agent_id: agent,
        source: request.source.clone(),
        room_type: "API".to_owned(),
        message_server_id: Some(request.server),
        world_id: Some(request.world),
        name: Some(request.name.clone()),
        metadata: request.metadata.clone(),
        channel_id: None,
        created_at: now,
    };
    state.store.ensure_room(&room).await.map_err(failed)?;
    if let Some(runtime) = state.runtime(agent) {
        runtime
            .ensure_participant(room.id, EntityId(agent.0))
            .await
            .map_err(|err| failed(eliza_domain::StoreError::Backend(err.to_string())))?;
    }
    Ok(json!({
        "id": room.id,
        "name": request.name,
        "source": request.source,
        "worldId": request.world,
        "type": "API",
    }))
}

#[utoipa::path(delete, path = "/api/memory/groups/{messageServerId}", tag = "memory",
    summary = "Delete a group's world (the id is a world id) with its rooms and their memories",
    params(("messageServerId" = String, Path)),
    responses((status = 204, description = "Deleted (also when nothing was there)"), (status = 400, body = ErrorBody)))]
async fn delete_group(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let world = WorldId(server_id(&path)?);
    state
        .store
        .delete_world(world)
        .await
        .map_err(|err| ApiError::from_store(err, "DELETE_ERROR", "Failed to delete the group"))?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/memory/groups/{messageServerId}/memories", tag = "memory",
    summary = "Delete the `messages` memories of a group's world",
    params(("messageServerId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody)))]
async fn clear_group_memories(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let world = WorldId(server_id(&path)?);
    state
        .store
        .delete_world_memories(world, &[eliza_domain::memory::MESSAGES_TABLE])
        .await
        .map_err(|err| {
            ApiError::from_store(err, "DELETE_ERROR", "Failed to delete the group's memories")
        })?;
    Ok(HttpResponse::NoContent().finish())
}
