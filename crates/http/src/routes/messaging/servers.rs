//! Message servers (API spec §2.3.2) with the deprecated `servers`/`central-servers` aliases, plus
//! what 1.7.2 lacks and its clients call: one server's GET/PATCH/DELETE, `sync-channels`, and the
//! seed-001 agent↔server association paths.

use super::params::{
    bad_request, messaging_error, object_items, optional_object, parse_id, present, store_error,
    text, text_of,
};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok, success};
use crate::messaging::render::{channel_json, server_json};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_bus::{BusEvent, ServerAgentChange};
use eliza_domain::ids::DEFAULT_SERVER_ID;
use eliza_domain::messaging::{Channel, ChannelType, ChannelUpdate, MessageServer};
use eliza_domain::{AgentId, ChannelId, MessageServerId};
use serde_json::{Map, Value, json};

const SERVERS: [&str; 2] = ["/messaging/message-servers", "/messaging/central-servers"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/messaging/message-server/current",
        web::get().to(current_server),
    )
    .route(
        "/messaging/message-servers",
        web::get().to(|state| list_servers(state, "messageServers")),
    )
    .route(
        "/messaging/central-servers",
        web::get().to(|state| list_servers(state, "servers")),
    );
    for path in [SERVERS[0], SERVERS[1], "/messaging/servers"] {
        cfg.route(path, web::post().to(create_server));
    }
    for base in SERVERS {
        cfg.route(&format!("{base}/{{server_id}}"), web::get().to(get_server))
            .route(
                &format!("{base}/{{server_id}}"),
                web::patch().to(update_server),
            )
            .route(
                &format!("{base}/{{server_id}}"),
                web::delete().to(delete_server),
            )
            .route(
                &format!("{base}/{{server_id}}/channels"),
                web::get().to(server_channels),
            )
            .route(
                &format!("{base}/{{server_id}}/sync-channels"),
                web::post().to(sync_channels),
            );
    }
    for base in [SERVERS[0], "/messaging/servers"] {
        cfg.route(
            &format!("{base}/{{server_id}}/agents"),
            web::get().to(server_agents),
        )
        .route(
            &format!("{base}/{{server_id}}/agents"),
            web::post().to(add_server_agent),
        )
        .route(
            &format!("{base}/{{server_id}}/agents/{{agent_id}}"),
            web::delete().to(remove_server_agent),
        );
    }
    cfg.route(
        "/messaging/agents/{agent_id}/message-servers",
        web::get().to(agent_servers),
    )
    .route(
        "/messaging/agents/{agent_id}/servers",
        web::get().to(agent_servers),
    )
    .route(
        "/messaging/agents/{agent_id}/servers/{server_id}",
        web::post().to(join_server),
    )
    .route(
        "/messaging/agents/{agent_id}/servers/{server_id}",
        web::delete().to(leave_server),
    );
}

/// The server this instance serves (1.7.2's `serverInstanceId`).
fn current() -> MessageServerId {
    MessageServerId(DEFAULT_SERVER_ID)
}

async fn current_server() -> HttpResponse {
    ok(json!({"messageServerId": current()}))
}

async fn list_servers(state: web::Data<AppState>, key: &'static str) -> ApiResult {
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
    Ok(success(
        StatusCode::CREATED,
        json!({"server": server_json(&server)}),
    ))
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

async fn get_server(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let server = find_server(&state, server_id(&path)?).await?;
    Ok(ok(server_json(&server)))
}

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

async fn remove_server_agent(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let (server, agent) = server_and_agent(&path.0, &path.1)?;
    only_current(server, "modify")?;
    change_membership(&state, server, agent, ServerAgentChange::Removed).await
}

/// Seed 001: `POST /agents/:agentId/servers/:serverId` (any existing server).
async fn join_server(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let (server, agent) = server_and_agent(&path.1, &path.0)?;
    find_server(&state, server).await?;
    change_membership(&state, server, agent, ServerAgentChange::Added).await
}

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

async fn agent_servers(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent: AgentId = parse_id(&path, "Invalid agentId format")?;
    let servers = state
        .store
        .list_agent_servers(agent)
        .await
        .map_err(|err| store_error(err, "Failed to fetch agent servers"))?;
    Ok(ok(json!({"agentId": agent, "messageServers": servers})))
}
