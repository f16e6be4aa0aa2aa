//! Message servers (API spec §2.3.2) with the deprecated `servers`/`central-servers` aliases, plus
//! what 1.7.2 lacks and its clients call: one server's GET/PATCH/DELETE, `sync-channels`, and the
//! seed-001 agent↔server association paths.

use super::params::{
    bad_request, messaging_error, object_items, optional_object, parse_id, present, store_error,
    text, text_of,
};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok, success};
use crate::messaging::render::schema::{
    Channel as ChannelSchema, MessageServer as MessageServerSchema,
};
use crate::messaging::render::{channel_json, server_json};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_bus::{BusEvent, ServerAgentChange};
use eliza_domain::ids::DEFAULT_SERVER_ID;
use eliza_domain::messaging::{Channel, ChannelType, ChannelUpdate, MessageServer};
use eliza_domain::{AgentId, ChannelId, MessageServerId};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

const MESSAGE_SERVERS: &str = "/api/messaging/message-servers";
/// Deprecated prefixes of some `message-servers` routes.
const CENTRAL_SERVERS: &str = "/api/messaging/central-servers";
const SERVERS: &str = "/api/messaging/servers";

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, current_server);
    crate::route!(routes, list_servers);
    crate::route!(routes, list_central_servers);
    routes.with_prefix_alias(MESSAGE_SERVERS, CENTRAL_SERVERS, |routes| {
        crate::route!(routes, create_server);
        crate::route!(routes, get_server);
        crate::route!(routes, update_server);
        crate::route!(routes, delete_server);
        crate::route!(routes, server_channels);
        crate::route!(routes, sync_channels);
    });
    crate::route!(routes, create_server, alias = SERVERS);
    routes.with_prefix_alias(MESSAGE_SERVERS, SERVERS, |routes| {
        crate::route!(routes, server_agents);
        crate::route!(routes, add_server_agent);
        crate::route!(routes, remove_server_agent);
    });
    crate::route!(routes, agent_servers);
    crate::route!(
        routes,
        agent_servers,
        alias = "/api/messaging/agents/{agentId}/servers"
    );
    crate::route!(routes, join_server);
    crate::route!(routes, leave_server);
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CurrentServer {
    pub message_server_id: Uuid,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ServerList {
    pub message_servers: Vec<MessageServerSchema>,
}

#[derive(ToSchema)]
pub struct CentralServerList {
    pub servers: Vec<MessageServerSchema>,
}

#[derive(ToSchema)]
pub struct CreatedServer {
    pub server: MessageServerSchema,
}

/// A new message server (`source_type`/`source_id` are accepted too).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CreateServerBody {
    #[schema(min_length = 1)]
    pub name: String,
    #[schema(min_length = 1)]
    pub source_type: String,
    pub source_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// What to change; `null` clears `sourceId` or `metadata`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UpdateServerBody {
    pub name: Option<String>,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[derive(ToSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelSchema>,
}

/// A platform channel to mirror, keyed by `sourceId`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SyncedChannelBody {
    #[schema(min_length = 1)]
    pub name: String,
    /// A channel type; default `GROUP`.
    #[schema(rename = "type")]
    pub channel_type: Option<String>,
    #[schema(min_length = 1)]
    pub source_id: String,
}

#[derive(ToSchema)]
pub struct SyncChannelsBody {
    pub channels: Vec<SyncedChannelBody>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SyncResult {
    pub message_server_id: Uuid,
    pub synced: u64,
    pub created: u64,
    pub updated: u64,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ServerAgents {
    pub message_server_id: Uuid,
    pub agents: Vec<Uuid>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AgentIdBody {
    pub agent_id: Uuid,
}

/// An agent joined or left a message server.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Membership {
    pub message_server_id: Uuid,
    pub agent_id: Uuid,
    pub message: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AgentServers {
    pub agent_id: Uuid,
    pub message_servers: Vec<Uuid>,
}

/// The server this instance serves (1.7.2's `serverInstanceId`).
fn current() -> MessageServerId {
    MessageServerId(DEFAULT_SERVER_ID)
}

#[utoipa::path(get, path = "/api/messaging/message-server/current", tag = "messaging", summary = "The message server this instance serves",
    responses((status = 200, body = Success<CurrentServer>)))]
async fn current_server() -> HttpResponse {
    ok(json!({"messageServerId": current()}))
}

#[utoipa::path(get, path = "/api/messaging/message-servers", tag = "messaging", summary = "The message servers",
    responses((status = 200, body = Success<ServerList>)))]
async fn list_servers(state: web::Data<AppState>) -> ApiResult {
    servers_under(&state, "messageServers").await
}

#[utoipa::path(get, path = "/api/messaging/central-servers", tag = "messaging", summary = "The message servers (deprecated: `data.servers`)",
    responses((status = 200, body = Success<CentralServerList>)))]
async fn list_central_servers(state: web::Data<AppState>) -> ApiResult {
    servers_under(&state, "servers").await
}

/// Every message server, as `data.<key>`.
async fn servers_under(state: &AppState, key: &str) -> ApiResult {
    let servers = state
        .store
        .list_message_servers()
        .await
        .map_err(|err| store_error(err, "Failed to fetch message servers"))?;
    let servers: Vec<Value> = servers.iter().map(server_json).collect();
    Ok(ok(json!({ key: servers })))
}

fn optional_text(body: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, ApiError> {
    match keys.iter().find_map(|key| present(body, key)) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(bad_request(format!("{} must be a string", keys[0]))),
    }
}

/// A PATCH value for a field that must stay a non-empty string.
fn replacement_text(body: &Map<String, Value>, keys: &[&str]) -> Result<Option<String>, ApiError> {
    match optional_text(body, keys)? {
        Some(text) if text.is_empty() => Err(bad_request(format!("{} cannot be empty", keys[0]))),
        other => Ok(other),
    }
}

/// Whether a PATCH body clears an optional field with `null`.
fn cleared(body: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter()
        .any(|key| body.get(*key).is_some_and(Value::is_null))
}

#[utoipa::path(post, path = "/api/messaging/message-servers", tag = "messaging", summary = "Create a message server",
    request_body = CreateServerBody,
    responses((status = 201, body = Success<CreatedServer>), (status = 400, body = ErrorBody)))]
async fn create_server(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let body = body.object()?;
    let (Some(name), Some(source_type)) = (
        text(body, "name"),
        text_of(body, &["sourceType", "source_type"]),
    ) else {
        return Err(bad_request("Missing required fields: name, sourceType"));
    };
    let now = Utc::now();
    let server = MessageServer {
        id: MessageServerId::new_random(),
        name: name.to_owned(),
        source_type: source_type.to_owned(),
        source_id: optional_text(body, &["sourceId", "source_id"])?,
        metadata: optional_object(body, "metadata")?,
        created_at: now,
        updated_at: now,
    };
    let server = state
        .store
        .create_message_server(&server)
        .await
        .map_err(|err| store_error(err, "Failed to create message server"))?;
    // 1.7.2's `{server}`, with the server's own fields beside it: the api-client's
    // `createMessageServer` is typed as the `MessageServer` itself.
    let mut data = server_json(&server);
    data["server"] = data.clone();
    Ok(success(StatusCode::CREATED, data))
}

fn server_id(path: &str) -> Result<MessageServerId, ApiError> {
    parse_id(path, "Invalid messageServerId format")
}

async fn find_server(state: &AppState, id: MessageServerId) -> Result<MessageServer, ApiError> {
    state
        .store
        .get_message_server(id)
        .await
        .map_err(|err| store_error(err, "Failed to fetch message server"))?
        .ok_or_else(server_not_found)
}

fn server_not_found() -> ApiError {
    ApiError::plain(StatusCode::NOT_FOUND, "Message server not found")
}

#[utoipa::path(get, path = "/api/messaging/message-servers/{messageServerId}", tag = "messaging", summary = "One message server",
    params(("messageServerId" = Uuid, Path)),
    responses((status = 200, body = Success<MessageServerSchema>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_server(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let server = find_server(&state, server_id(&path)?).await?;
    Ok(ok(server_json(&server)))
}

#[utoipa::path(patch, path = "/api/messaging/message-servers/{messageServerId}", tag = "messaging", summary = "Update a message server",
    params(("messageServerId" = Uuid, Path)),
    request_body = UpdateServerBody,
    responses((status = 200, body = Success<MessageServerSchema>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_server(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let mut server = find_server(&state, server_id(&path)?).await?;
    let body = body.object()?;
    if let Some(name) = replacement_text(body, &["name"])? {
        server.name = name;
    }
    if let Some(source_type) = replacement_text(body, &["sourceType", "source_type"])? {
        server.source_type = source_type;
    }
    let source_id = ["sourceId", "source_id"];
    if cleared(body, &source_id) {
        server.source_id = None;
    } else if let Some(source_id) = optional_text(body, &source_id)? {
        server.source_id = Some(source_id);
    }
    if cleared(body, &["metadata"]) {
        server.metadata = None;
    } else if let Some(metadata) = optional_object(body, "metadata")? {
        server.metadata = Some(metadata);
    }
    server.updated_at = Utc::now();
    let updated = state
        .store
        .update_message_server(&server)
        .await
        .map_err(|err| store_error(err, "Failed to update message server"))?;
    if !updated {
        // Deleted since it was read.
        return Err(server_not_found());
    }
    Ok(ok(server_json(&server)))
}

#[utoipa::path(delete, path = "/api/messaging/message-servers/{messageServerId}", tag = "messaging", summary = "Delete a message server",
    params(("messageServerId" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody),
        (status = 403, description = "The default server cannot be deleted", body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_server(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = server_id(&path)?;
    if id == current() {
        return Err(ApiError::plain(
            StatusCode::FORBIDDEN,
            "Cannot delete the default message server",
        ));
    }
    let deleted = state
        .store
        .delete_message_server(id)
        .await
        .map_err(|err| store_error(err, "Failed to delete message server"))?;
    if !deleted {
        return Err(server_not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/messaging/message-servers/{messageServerId}/channels", tag = "messaging", summary = "A message server's channels",
    params(("messageServerId" = Uuid, Path)),
    responses((status = 200, body = Success<ChannelList>), (status = 400, body = ErrorBody)))]
async fn server_channels(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = parse_id(&path, "Invalid messageServerId")?;
    let channels = state
        .store
        .list_server_channels(id)
        .await
        .map_err(|err| store_error(err, "Failed to fetch channels"))?;
    let channels: Vec<Value> = channels.iter().map(channel_json).collect();
    Ok(ok(json!({ "channels": channels })))
}

/// One entry of a `sync-channels` body.
struct SyncedChannel {
    name: String,
    channel_type: ChannelType,
    source_id: String,
}

fn synced_channels(body: &Map<String, Value>) -> Result<Vec<SyncedChannel>, ApiError> {
    let invalid =
        || bad_request("Invalid payload. Required: channels (array of {name, type, sourceId})");
    object_items(body, "channels", invalid)?
        .into_iter()
        .map(|item| {
            let name = text(item, "name").ok_or_else(invalid)?;
            let source_id = text(item, "sourceId").ok_or_else(invalid)?;
            let channel_type = match present(item, "type") {
                None => ChannelType::Group,
                Some(kind) => kind.as_str().and_then(ChannelType::parse).ok_or_else(|| {
                    let kind = kind
                        .as_str()
                        .map_or_else(|| kind.to_string(), str::to_owned);
                    bad_request(format!("Invalid channel type: {kind}"))
                })?,
            };
            Ok(SyncedChannel {
                name: name.to_owned(),
                channel_type,
                source_id: source_id.to_owned(),
            })
        })
        .collect()
}

/// Creates the channels an external platform has and renames those it renamed, keyed by `sourceId`.
#[utoipa::path(post, path = "/api/messaging/message-servers/{messageServerId}/sync-channels", tag = "messaging", summary = "Mirror a platform's channels",
    description = "Creates the channels not known by `sourceId` and renames those whose name changed.",
    params(("messageServerId" = Uuid, Path)),
    request_body = SyncChannelsBody,
    responses((status = 200, body = Success<SyncResult>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn sync_channels(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let server = find_server(&state, server_id(&path)?).await?;
    let wanted = synced_channels(body.object()?)?;
    let failed = |err| store_error(err, "Failed to sync channels");
    let mut existing = state
        .store
        .list_server_channels(server.id)
        .await
        .map_err(failed)?;
    let (mut created, mut updated) = (0, 0);
    for channel in wanted {
        let known = existing
            .iter_mut()
            .find(|known| known.source_id.as_deref() == Some(channel.source_id.as_str()));
        match known {
            Some(known) if known.name == channel.name => {}
            Some(known) => {
                let rename = ChannelUpdate {
                    name: Some(channel.name),
                    ..ChannelUpdate::default()
                };
                let renamed = state
                    .messaging
                    .update_channel(known.id, &rename)
                    .await
                    .map_err(|err| messaging_error(err, "Failed to sync channels"))?;
                if let Some(renamed) = renamed {
                    *known = renamed;
                }
                updated += 1;
            }
            None => {
                let now = Utc::now();
                let new = Channel {
                    id: ChannelId::new_random(),
                    message_server_id: server.id,
                    name: channel.name,
                    channel_type: channel.channel_type,
                    source_type: Some(server.source_type.clone()),
                    source_id: Some(channel.source_id),
                    topic: None,
                    metadata: None,
                    created_at: now,
                    updated_at: now,
                };
                // Remembered, so a `sourceId` listed twice names one channel.
                existing.push(
                    state
                        .store
                        .create_channel(&new, &[])
                        .await
                        .map_err(failed)?,
                );
                created += 1;
            }
        }
    }
    Ok(ok(json!({
        "messageServerId": server.id,
        "synced": created + updated,
        "created": created,
        "updated": updated,
    })))
}

/// 1.7.2 only lets clients see and change the agents of the server it serves.
fn only_current(id: MessageServerId, action: &str) -> Result<(), ApiError> {
    if id == current() {
        Ok(())
    } else {
        Err(ApiError::plain(
            StatusCode::FORBIDDEN,
            format!("Cannot {action} agents for a different server"),
        ))
    }
}

#[utoipa::path(get, path = "/api/messaging/message-servers/{messageServerId}/agents", tag = "messaging", summary = "The agents of this instance's message server",
    params(("messageServerId" = Uuid, Path)),
    responses((status = 200, body = Success<ServerAgents>), (status = 400, body = ErrorBody),
        (status = 403, description = "Another server than this instance's", body = ErrorBody)))]
async fn server_agents(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = server_id(&path)?;
    only_current(id, "access")?;
    let agents = state
        .store
        .list_server_agents(id)
        .await
        .map_err(|err| store_error(err, "Failed to fetch server agents"))?;
    Ok(ok(json!({"messageServerId": id, "agents": agents})))
}

fn server_and_agent(server: &str, agent: &str) -> Result<(MessageServerId, AgentId), ApiError> {
    let message = "Invalid messageServerId or agentId format";
    Ok((parse_id(server, message)?, parse_id(agent, message)?))
}

#[utoipa::path(post, path = "/api/messaging/message-servers/{messageServerId}/agents", tag = "messaging", summary = "Add an agent to this instance's message server",
    params(("messageServerId" = Uuid, Path)),
    request_body = AgentIdBody,
    responses((status = 201, body = Success<Membership>), (status = 400, body = ErrorBody),
        (status = 403, description = "Another server than this instance's", body = ErrorBody),
        (status = 404, description = "`Agent not found`", body = ErrorBody)))]
async fn add_server_agent(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let agent = text(body.object()?, "agentId").unwrap_or_default();
    let (server, agent) = server_and_agent(&path, agent)?;
    only_current(server, "modify")?;
    change_membership(&state, server, agent, ServerAgentChange::Added).await
}

#[utoipa::path(delete, path = "/api/messaging/message-servers/{messageServerId}/agents/{agentId}", tag = "messaging", summary = "Remove an agent from this instance's message server",
    params(("messageServerId" = Uuid, Path), ("agentId" = Uuid, Path)),
    responses((status = 200, body = Success<Membership>), (status = 400, body = ErrorBody),
        (status = 403, description = "Another server than this instance's", body = ErrorBody)))]
async fn remove_server_agent(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (server, agent) = server_and_agent(&path.0, &path.1)?;
    only_current(server, "modify")?;
    change_membership(&state, server, agent, ServerAgentChange::Removed).await
}

/// Seed 001: `POST /agents/:agentId/servers/:serverId` (any existing server).
#[utoipa::path(post, path = "/api/messaging/agents/{agentId}/servers/{messageServerId}", tag = "messaging", summary = "Add an agent to any message server (seed 001)",
    params(("agentId" = Uuid, Path), ("messageServerId" = Uuid, Path)),
    responses((status = 201, body = Success<Membership>), (status = 400, body = ErrorBody),
        (status = 404, description = "No such server or agent", body = ErrorBody)))]
async fn join_server(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let (server, agent) = server_and_agent(&path.1, &path.0)?;
    find_server(&state, server).await?;
    change_membership(&state, server, agent, ServerAgentChange::Added).await
}

#[utoipa::path(delete, path = "/api/messaging/agents/{agentId}/servers/{messageServerId}", tag = "messaging", summary = "Remove an agent from any message server (seed 001)",
    params(("agentId" = Uuid, Path), ("messageServerId" = Uuid, Path)),
    responses((status = 200, body = Success<Membership>), (status = 400, body = ErrorBody)))]
async fn leave_server(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let (server, agent) = server_and_agent(&path.1, &path.0)?;
    change_membership(&state, server, agent, ServerAgentChange::Removed).await
}

async fn change_membership(
    state: &AppState,
    server: MessageServerId,
    agent: AgentId,
    change: ServerAgentChange,
) -> ApiResult {
    let (failure, done, status) = match change {
        ServerAgentChange::Added => (
            "Failed to add agent to message server",
            "Agent added to message server successfully",
            StatusCode::CREATED,
        ),
        ServerAgentChange::Removed => (
            "Failed to remove agent from message server",
            "Agent removed from message server successfully",
            StatusCode::OK,
        ),
    };
    let failed = |err| store_error(err, failure);
    if change == ServerAgentChange::Added {
        let known = state.store.get_agent(agent).await.map_err(failed)?;
        if known.is_none() {
            return Err(ApiError::plain(StatusCode::NOT_FOUND, "Agent not found"));
        }
        state
            .store
            .add_agent_to_server(server, agent)
            .await
            .map_err(failed)?;
    } else {
        state
            .store
            .remove_agent_from_server(server, agent)
            .await
            .map_err(failed)?;
    }
    state.messaging.bus().publish(BusEvent::ServerAgentUpdate {
        message_server_id: server,
        agent_id: agent,
        change,
    });
    Ok(success(
        status,
        json!({"messageServerId": server, "agentId": agent, "message": done}),
    ))
}

#[utoipa::path(get, path = "/api/messaging/agents/{agentId}/message-servers", tag = "messaging", summary = "The message servers of an agent",
    params(("agentId" = Uuid, Path)),
    responses((status = 200, body = Success<AgentServers>), (status = 400, body = ErrorBody)))]
async fn agent_servers(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent: AgentId = parse_id(&path, "Invalid agentId format")?;
    let servers = state
        .store
        .list_agent_servers(agent)
        .await
        .map_err(|err| store_error(err, "Failed to fetch agent servers"))?;
    Ok(ok(json!({"agentId": agent, "messageServers": servers})))
}
