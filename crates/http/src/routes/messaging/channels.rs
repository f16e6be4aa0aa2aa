//! Channels (API spec §2.3.3): create (group and DM), `dm-channel`, details, participants, channel
//! agents, update and delete, also under the deprecated `central-channels` prefix.

use super::params::{
    MESSAGE_SERVER_KEYS, bad_request, messaging_error, optional_object, parse_id, present,
    store_error, text,
};
use crate::agent_ops::ensure_default_server;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok, success};
use crate::messaging::render::schema::Channel as ChannelSchema;
use crate::messaging::render::{channel_json, iso};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_domain::ids::DEFAULT_SERVER_ID;
use eliza_domain::messaging::{Channel, ChannelType, ChannelUpdate};
use eliza_domain::{AgentId, ChannelId, MessageServerId, Store};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The channels prefix, and its deprecated alias (see `messaging::configure`).
pub const CHANNELS: &str = "/api/messaging/channels";
pub const CENTRAL_CHANNELS: &str = "/api/messaging/central-channels";

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, dm_channel);
    crate::route!(routes, create_channel);
    crate::route!(routes, details);
    crate::route!(routes, participants);
    crate::route!(routes, channel_agents);
    crate::route!(routes, add_agent);
    crate::route!(routes, remove_agent);
    crate::route!(routes, update_channel);
    crate::route!(routes, delete_channel);
}

/// A new channel. The server may also be named `server_id` (deprecated) or `messageServerId`;
/// absent, it is this instance's server.
#[derive(ToSchema)]
pub struct CreateChannelBody {
    #[schema(min_length = 1)]
    pub name: String,
    pub message_server_id: Option<Uuid>,
    /// Or `participantIds`.
    #[schema(rename = "participantCentralUserIds")]
    pub participant_central_user_ids: Option<Vec<Uuid>>,
    /// A channel type; default `GROUP`.
    #[schema(rename = "type")]
    pub channel_type: Option<String>,
    #[schema(rename = "sourceType")]
    pub source_type: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// What to change: `participantCentralUserIds` replaces the set, `metadata` the metadata
/// (`null` clears it).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UpdateChannelBody {
    pub name: Option<String>,
    pub participant_central_user_ids: Option<Vec<Uuid>>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ChannelParticipants {
    pub channel_id: Uuid,
    pub participants: Vec<String>,
}

/// An agent joined or left a channel.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ChannelMembership {
    pub channel_id: Uuid,
    pub agent_id: Uuid,
    pub message: String,
}

/// What a new channel is made of; shared by explicit creation, DMs and auto-creation on post.
pub struct NewChannel {
    pub id: ChannelId,
    pub server: MessageServerId,
    pub name: String,
    pub channel_type: ChannelType,
    pub source_type: Option<String>,
    pub metadata: Option<Value>,
    pub participants: Vec<String>,
}

/// Creates a channel on an existing server (404 family B otherwise).
/// `failure` is the route's message for a store failure.
pub async fn create(
    store: &dyn Store,
    new: NewChannel,
    failure: &str,
) -> Result<Channel, ApiError> {
    let failed = |err| store_error(err, failure);
    let server = store.get_message_server(new.server).await.map_err(failed)?;
    if server.is_none() && new.server.0 == DEFAULT_SERVER_ID {
        // The default server exists from start-up on; recreate it if someone deleted its row.
        ensure_default_server(store).await.map_err(failed)?;
    } else if server.is_none() {
        return Err(ApiError::plain(
            StatusCode::NOT_FOUND,
            format!("Server {} does not exist", new.server),
        ));
    }
    let now = Utc::now();
    let channel = Channel {
        id: new.id,
        message_server_id: new.server,
        name: new.name,
        channel_type: new.channel_type,
        source_type: new.source_type,
        source_id: None,
        topic: None,
        metadata: new.metadata,
        created_at: now,
        updated_at: now,
    };
    store
        .create_channel(&channel, &new.participants)
        .await
        .map_err(failed)
}

const INVALID_PAYLOAD: &str = "Invalid payload. Required: name, message_server_id (UUID), participantCentralUserIds (array of UUIDs). Optional: type, metadata.";

/// An array of UUID strings (`participantCentralUserIds`); anything else is the payload error.
fn participant_ids(value: Option<&Value>, invalid: &str) -> Result<Vec<String>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let items = value.as_array().ok_or_else(|| bad_request(invalid))?;
    // Kept in the given order, each id once (a set, so a long client list stays linear).
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let id = item
            .as_str()
            .and_then(eliza_domain::validate_uuid)
            .ok_or_else(|| bad_request(invalid))?;
        if seen.insert(id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// The server a body names (`message_server_id`, deprecated `server_id`, seed `messageServerId`);
/// absent means the current server, as the api-client assumes. A value that is not a UUID string
/// (a number, `""`) is an error, not the current server.
pub fn server_of(body: &Map<String, Value>) -> Result<MessageServerId, ApiError> {
    let invalid = "Invalid message_server_id format";
    let given = MESSAGE_SERVER_KEYS
        .iter()
        .find_map(|key| present(body, key));
    match given {
        None => Ok(MessageServerId(DEFAULT_SERVER_ID)),
        Some(value) => parse_id(value.as_str().unwrap_or_default(), invalid),
    }
}

fn channel_type(value: Option<&Value>, invalid: &str) -> Result<ChannelType, ApiError> {
    match value {
        None => Ok(ChannelType::Group),
        Some(value) => value
            .as_str()
            .and_then(ChannelType::parse)
            .ok_or_else(|| bad_request(invalid)),
    }
}

#[utoipa::path(post, path = "/api/messaging/channels", tag = "messaging", summary = "Create a channel",
    request_body = CreateChannelBody,
    responses((status = 201, body = Success<ChannelSchema>), (status = 400, body = ErrorBody),
        (status = 404, description = "The server does not exist", body = ErrorBody)))]
async fn create_channel(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let body = body.object()?;
    let server = server_of(body)?;
    let name = text(body, "name").ok_or_else(|| bad_request(INVALID_PAYLOAD))?;
    let listed =
        present(body, "participantCentralUserIds").or_else(|| present(body, "participantIds"));
    let channel = create(
        state.store.as_ref(),
        NewChannel {
            id: ChannelId::new_random(),
            server,
            name: name.to_owned(),
            channel_type: channel_type(present(body, "type"), INVALID_PAYLOAD)?,
            source_type: text(body, "sourceType").map(str::to_owned),
            metadata: optional_object(body, "metadata")?,
            participants: participant_ids(listed, INVALID_PAYLOAD)?,
        },
        "Failed to create group channel",
    )
    .await?;
    Ok(success(StatusCode::CREATED, channel_json(&channel)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct DmQuery {
    #[param(value_type = Uuid, required = true)]
    current_user_id: Option<String>,
    /// Another entity than `currentUserId`.
    #[param(value_type = Uuid, required = true)]
    target_user_id: Option<String>,
    /// Used when it names a known server, else this instance's server.
    #[param(value_type = Option<Uuid>)]
    dm_server_id: Option<String>,
}

/// Finds or creates the DM channel of two entities, named `DM-<id1>-<id2>` (sorted).
#[utoipa::path(get, path = "/api/messaging/dm-channel", tag = "messaging", summary = "Find or create the DM channel of two entities",
    params(DmQuery),
    responses((status = 200, body = Success<ChannelSchema>), (status = 400, body = ErrorBody)))]
async fn dm_channel(state: web::Data<AppState>, query: web::Query<DmQuery>) -> ApiResult {
    let missing = || bad_request("Missing targetUserId or currentUserId");
    let uuid = |value: &Option<String>| {
        value
            .as_deref()
            .and_then(eliza_domain::validate_uuid)
            .map(|id| id.to_string())
    };
    let current = uuid(&query.current_user_id).ok_or_else(missing)?;
    let target = uuid(&query.target_user_id).ok_or_else(missing)?;
    if current == target {
        return Err(bad_request("Cannot create DM channel with oneself"));
    }
    let server = dm_server(&state, query.dm_server_id.as_deref()).await?;
    let (first, second) = if current < target {
        (current, target)
    } else {
        (target, current)
    };
    let name = format!("DM-{first}-{second}");
    let existing = state
        .store
        .find_channel_named(server, ChannelType::Dm, &name)
        .await
        .map_err(|err| store_error(err, "Failed to find or create DM channel"))?;
    if let Some(channel) = existing {
        return Ok(ok(channel_json(&channel)));
    }
    let channel = create(
        state.store.as_ref(),
        NewChannel {
            id: ChannelId::new_random(),
            server,
            name,
            channel_type: ChannelType::Dm,
            source_type: None,
            metadata: Some(json!({"user1": first, "user2": second})),
            participants: vec![first, second],
        },
        "Failed to find or create DM channel",
    )
    .await?;
    Ok(ok(channel_json(&channel)))
}

/// `dmServerId` when it names a known server, else the current one.
async fn dm_server(state: &AppState, requested: Option<&str>) -> Result<MessageServerId, ApiError> {
    let current = MessageServerId(DEFAULT_SERVER_ID);
    let Some(id) = requested.and_then(|text| MessageServerId::parse(text).ok()) else {
        return Ok(current);
    };
    let known = state
        .store
        .get_message_server(id)
        .await
        .map_err(|err| store_error(err, "Failed to find or create DM channel"))?;
    Ok(if known.is_some() { id } else { current })
}

pub fn channel_id(path: &str, message: &str) -> Result<ChannelId, ApiError> {
    parse_id(path, message)
}

pub async fn find_channel(state: &AppState, id: ChannelId) -> Result<Channel, ApiError> {
    state
        .store
        .get_channel(id)
        .await
        .map_err(|err| store_error(err, "Failed to fetch channel"))?
        .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Channel not found"))
}

#[utoipa::path(get, path = "/api/messaging/channels/{channelId}/details", tag = "messaging", summary = "One channel",
    params(("channelId" = Uuid, Path)),
    responses((status = 200, body = Success<ChannelSchema>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn details(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let channel = find_channel(&state, channel_id(&path, "Invalid channelId")?).await?;
    Ok(ok(channel_json(&channel)))
}

async fn participant_list(state: &AppState, id: ChannelId) -> Result<Vec<String>, ApiError> {
    state
        .store
        .list_channel_participants(id)
        .await
        .map_err(|err| store_error(err, "Failed to fetch channel participants"))
}

/// A plain array of entity ids, as 1.7.2 answers (the web UI also accepts `{participants}`).
#[utoipa::path(get, path = "/api/messaging/channels/{channelId}/participants", tag = "messaging", summary = "A channel's participants (entity ids)",
    params(("channelId" = Uuid, Path)),
    responses((status = 200, body = Success<Vec<String>>), (status = 400, body = ErrorBody)))]
async fn participants(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = channel_id(&path, "Invalid channelId")?;
    Ok(ok(participant_list(&state, id).await?))
}

#[utoipa::path(get, path = "/api/messaging/channels/{channelId}/agents", tag = "messaging", summary = "A channel's participants",
    params(("channelId" = Uuid, Path)),
    responses((status = 200, body = Success<ChannelParticipants>), (status = 400, body = ErrorBody)))]
async fn channel_agents(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = channel_id(&path, "Invalid channelId format")?;
    let participants = participant_list(&state, id).await?;
    Ok(ok(json!({"channelId": id, "participants": participants})))
}

fn channel_and_agent(channel: &str, agent: &str) -> Result<(ChannelId, AgentId), ApiError> {
    let message = "Invalid channelId or agentId format";
    Ok((parse_id(channel, message)?, parse_id(agent, message)?))
}

#[utoipa::path(post, path = "/api/messaging/channels/{channelId}/agents", tag = "messaging", summary = "Add an agent to a channel",
    params(("channelId" = Uuid, Path)),
    request_body = super::servers::AgentIdBody,
    responses((status = 201, body = Success<ChannelMembership>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_agent(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let agent = text(body.object()?, "agentId").unwrap_or_default();
    let (channel, agent) = channel_and_agent(&path, agent)?;
    find_channel(&state, channel).await?;
    // Like 1.7.2, any entity id may join: the agent need not exist (yet).
    state
        .store
        .add_channel_participants(channel, &[agent.to_string()])
        .await
        .map_err(|err| store_error(err, "Failed to add agent to channel"))?;
    Ok(success(
        StatusCode::CREATED,
        json!({"channelId": channel, "agentId": agent, "message": "Agent added to channel successfully"}),
    ))
}

#[utoipa::path(delete, path = "/api/messaging/channels/{channelId}/agents/{agentId}", tag = "messaging", summary = "Remove an agent from a channel",
    params(("channelId" = Uuid, Path), ("agentId" = Uuid, Path)),
    responses((status = 200, body = Success<ChannelMembership>), (status = 400, body = ErrorBody),
        (status = 404, description = "No such channel, or the agent is not a participant", body = ErrorBody)))]
async fn remove_agent(state: web::Data<AppState>, path: web::Path<(String, String)>) -> ApiResult {
    let (channel, agent) = channel_and_agent(&path.0, &path.1)?;
    find_channel(&state, channel).await?;
    let removed = state
        .store
        .remove_channel_participant(channel, &agent.to_string())
        .await
        .map_err(|err| store_error(err, "Failed to remove agent from channel"))?;
    if !removed {
        return Err(ApiError::plain(
            StatusCode::NOT_FOUND,
            "Agent is not a participant in this channel",
        ));
    }
    Ok(ok(
        json!({"channelId": channel, "agentId": agent, "message": "Agent removed from channel successfully"}),
    ))
}

const INVALID_UPDATE: &str = "Invalid payload. Optional: name (non-empty string), participantCentralUserIds (array of UUIDs), metadata (object).";

fn channel_update(body: &Map<String, Value>) -> Result<ChannelUpdate, ApiError> {
    let name = match present(body, "name") {
        None => None,
        Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
        Some(_) => return Err(bad_request(INVALID_UPDATE)),
    };
    let participants = match present(body, "participantCentralUserIds") {
        None => None,
        listed => Some(participant_ids(listed, INVALID_UPDATE)?),
    };
    let metadata = match body.get("metadata") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(value @ Value::Object(_)) => Some(Some(value.clone())),
        Some(_) => return Err(bad_request(INVALID_UPDATE)),
    };
    Ok(ChannelUpdate {
        name,
        topic: None,
        metadata,
        participant_ids: participants,
    })
}

#[utoipa::path(patch, path = "/api/messaging/channels/{channelId}", tag = "messaging", summary = "Update a channel",
    params(("channelId" = Uuid, Path)),
    request_body = UpdateChannelBody,
    responses((status = 200, body = Success<ChannelSchema>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_channel(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let id = channel_id(&path, "Invalid channelId")?;
    let update = channel_update(body.object()?)?;
    let updated = state
        .messaging
        .update_channel(id, &update)
        .await
        .map_err(|err| messaging_error(err, "Failed to update channel"))?
        .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Channel not found"))?;
    Ok(ok(channel_json(&updated)))
}

/// 204 whether or not the channel existed (deleting is idempotent, as in 1.7.2).
#[utoipa::path(delete, path = "/api/messaging/channels/{channelId}", tag = "messaging", summary = "Delete a channel",
    params(("channelId" = Uuid, Path)),
    responses((status = 204, description = "Deleted, or there was no such channel"), (status = 400, body = ErrorBody)))]
async fn delete_channel(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = channel_id(&path, "Invalid channelId")?;
    state
        .messaging
        .delete_channel(id)
        .await
        .map_err(|err| messaging_error(err, "Failed to delete channel"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// A string field of message metadata, under any of its spellings.
pub fn metadata_text<'a>(
    metadata: Option<&'a Map<String, Value>>,
    keys: &[&str],
) -> Option<&'a str> {
    metadata.and_then(|metadata| super::params::text_of(metadata, keys))
}

/// DM when the metadata says so (`isDm`, or `channelType`/`channel_type` of DM).
pub fn is_dm(metadata: Option<&Map<String, Value>>) -> bool {
    metadata.is_some_and(|metadata| {
        metadata.get("isDm") == Some(&Value::Bool(true))
            || super::params::text_of(metadata, &["channelType", "channel_type"]) == Some("DM")
    })
}

/// A message arrived for a channel that may not exist yet (HTTP post or socket SEND_MESSAGE).
pub struct AutoCreate<'a> {
    pub author: &'a str,
    pub server: MessageServerId,
    pub metadata: Option<&'a Map<String, Value>>,
    /// The DM partner when the caller names it outside the metadata.
    pub target: Option<&'a str>,
    /// `gui_auto_creation` or `socketio_auto_creation`.
    pub created_by: &'static str,
}

/// The channel, created with the 1.7.2 auto-creation rules when it does not exist yet: GROUP
/// unless the metadata says DM, named `Chat <id8>`/`DM <id8>`, the author (and the DM partner,
/// `targetUserId`/`recipientId`) as participants.
pub async fn find_or_auto_create(
    store: &dyn Store,
    id: ChannelId,
    auto: AutoCreate<'_>,
) -> Result<Channel, ApiError> {
    let existing = store
        .get_channel(id)
        .await
        .map_err(|err| store_error(err, "Failed to process message"))?;
    if let Some(channel) = existing {
        return Ok(channel);
    }
    let dm = is_dm(auto.metadata);
    let kind = if dm {
        ChannelType::Dm
    } else {
        ChannelType::Group
    };
    let mut participants = vec![auto.author.to_owned()];
    let target = auto
        .target
        .or_else(|| metadata_text(auto.metadata, &["targetUserId", "recipientId"]));
    if dm && let Some(target) = target {
        participants.push(target.to_owned());
    }
    // The first group of the hyphenated UUID: its first eight hex digits.
    let id_text = id.to_string();
    let short = id_text.split('-').next().unwrap_or_default();
    create(
        store,
        NewChannel {
            id,
            server: auto.server,
            name: format!("{} {short}", if dm { "DM" } else { "Chat" }),
            channel_type: kind,
            source_type: Some("auto_created".to_owned()),
            metadata: Some(auto_created_metadata(&auto, kind)),
            participants,
        },
        "Failed to create channel",
    )
    .await
}

/// The metadata 1.7.2 gives a channel it creates because a message arrived for it.
fn auto_created_metadata(auto: &AutoCreate<'_>, channel_type: ChannelType) -> Value {
    let mut metadata = Map::new();
    metadata.insert("created_by".into(), json!(auto.created_by));
    metadata.insert("created_for_user".into(), json!(auto.author));
    metadata.insert("created_at".into(), json!(iso(&Utc::now())));
    metadata.insert("channel_type".into(), json!(channel_type.as_str()));
    if let Some(given) = auto.metadata {
        metadata.extend(given.clone());
    }
    Value::Object(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_metadata_is_recognised_in_each_spelling() {
        let dm = |value: Value| is_dm(value.as_object());
        assert!(dm(json!({"isDm": true})));
        assert!(dm(json!({"channelType": "DM"})));
        assert!(dm(json!({"channel_type": "DM"})));
        assert!(!dm(json!({"isDm": "yes", "channelType": "GROUP"})));
        assert!(!is_dm(None));
    }
}
