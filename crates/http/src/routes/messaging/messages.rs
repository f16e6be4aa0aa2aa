//! Channel messages (API spec §2.3.3): post (websocket/http/sse transports, channel
//! auto-creation, idempotent client ids), list newest first, delete, clear; what 1.7.2 lacks and
//! the api-client calls: `GET/PATCH /messages/:id` and `POST /messages/search`.

use super::channels::{AutoCreate, channel_id, find_or_auto_create, metadata_text};
use super::params::{
    bad_request, limit, messaging_error, parse_id, parse_time, present, store_error, text, text_of,
};
use super::transport::{Transport, WaitError, await_agent_response, sse_response};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok};
use crate::messaging::render::schema::{
    BusMessage, CentralMessage as CentralMessageSchema, ListedMessage,
};
use crate::messaging::render::{list_item_json, message_json};
use crate::messaging::{Post, Posted, client_message_id};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use eliza_bus::{MessageOrigin, NewMessage};
use eliza_domain::messaging::{Channel, MessagePage, MessageSearch};
use eliza_domain::{AgentId, ChannelId, MessageId, MessageServerId};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, search);
    crate::route!(routes, get_message);
    crate::route!(routes, edit_message);
    crate::route!(routes, post_message);
    crate::route!(routes, list_messages);
    crate::route!(routes, clear_messages);
    crate::route!(routes, delete_message);
}

/// A channel post in 1.7.2's form. The api-client's `{content, metadata}` is accepted too, the
/// author then coming from `X-Entity-Id`.
#[derive(ToSchema)]
pub struct ChannelPostBody {
    /// Or `authorId`, or the `X-Entity-Id` header.
    pub author_id: Option<Uuid>,
    #[schema(min_length = 1)]
    pub content: String,
    /// Or the deprecated `server_id`; absent, this instance's server (for a new channel).
    pub message_server_id: Option<Uuid>,
    pub in_reply_to_message_id: Option<Uuid>,
    pub raw_message: Option<Value>,
    /// `user_display_name`, `isDm`, `channelType`, `targetUserId`, `targetAgentId`…
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Default `eliza_gui`.
    pub source_type: Option<String>,
    /// The client's id: posting it again in the channel stores nothing new.
    #[schema(rename = "messageId")]
    pub message_id: Option<String>,
    /// `websocket` (default), `http` (or `sync`), `sse` (or `stream`); also read from `mode`.
    pub transport: Option<String>,
}

/// A posted message: the bus form, the stored form and, with the `http` transport, the agent's
/// reply (`null` when every agent declined).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PostedMessage {
    pub success: bool,
    pub user_message: BusMessage,
    pub agent_response: Option<Value>,
    pub data: CentralMessageSchema,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Default 50, at most 500.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// Older than this: epoch milliseconds or an ISO-8601 date.
    before: Option<String>,
    /// Newer than this: epoch milliseconds or an ISO-8601 date.
    after: Option<String>,
}

#[derive(ToSchema)]
pub struct MessageList {
    pub messages: Vec<ListedMessage>,
}

/// `{content?, metadata?}`: at least one.
#[derive(ToSchema)]
pub struct EditMessageBody {
    pub content: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// A text search in a channel or a server (at least one of `query`, `channelId`,
/// `messageServerId`); `text`, `channel_id`, `message_server_id`, `author_id` are accepted too.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SearchBody {
    pub query: Option<String>,
    pub channel_id: Option<Uuid>,
    pub message_server_id: Option<Uuid>,
    pub author_id: Option<String>,
    /// Epoch milliseconds or ISO-8601.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Default 20, at most 100.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// 1-based, when `offset` is absent.
    pub page: Option<u32>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SearchResult {
    pub messages: Vec<CentralMessageSchema>,
    pub limit: u32,
    pub offset: u32,
    pub has_more: bool,
}

const MISSING_FIELDS: &str =
    "Missing required fields: channelId, message_server_id, author_id, content";
/// Page size bounds of the message lists.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// A channel post, read from a 1.7.2 body (snake_case) or an api-client one (`{content, metadata}`,
/// the author from `X-Entity-Id`, else the channel's one participant that is not an agent).
struct ChannelPost {
    author: String,
    content: String,
    server: Option<MessageServerId>,
    metadata: Option<Map<String, Value>>,
    raw_message: Value,
    source_type: String,
    in_reply_to: Option<MessageId>,
    client_message_id: Option<String>,
    transport: Transport,
}

fn read_post(body: &Map<String, Value>, author: String) -> Result<ChannelPost, ApiError> {
    let transport = Transport::from_body(body).map_err(bad_request)?;
    let content = text(body, "content").ok_or_else(|| bad_request(MISSING_FIELDS))?;
    let server = match super::params::message_server_field(body) {
        None => None,
        Some(text) => Some(parse_id(text, MISSING_FIELDS)?),
    };
    let metadata = match present(body, "metadata") {
        None => None,
        Some(Value::Object(metadata)) => Some(metadata.clone()),
        Some(_) => return Err(bad_request("metadata must be an object")),
    };
    let in_reply_to = match text_of(body, &["in_reply_to_message_id", "inReplyToMessageId"]) {
        None => None,
        Some(text) => Some(parse_id(text, "Invalid in_reply_to_message_id format")?),
    };
    Ok(ChannelPost {
        author,
        content: content.to_owned(),
        server,
        client_message_id: text_of(body, &["messageId", "message_id"])
            .or_else(|| metadata.as_ref().and_then(|m| text(m, "messageId")))
            .map(str::to_owned),
        metadata,
        raw_message: present(body, "raw_message")
            .cloned()
            .unwrap_or_else(|| json!({})),
        source_type: text(body, "source_type").unwrap_or("eliza_gui").to_owned(),
        in_reply_to,
        transport,
    })
}

/// The post's author: `author_id` (or `authorId`), else `X-Entity-Id` (the web UI), else the
/// channel's only participant that is not an agent (the api-client's `postMessage` names nobody,
/// which 1.7.2 refused).
async fn post_author(
    state: &AppState,
    req: &HttpRequest,
    body: &Map<String, Value>,
    channel: ChannelId,
) -> Result<String, ApiError> {
    let header_author = req
        .headers()
        .get("x-entity-id")
        .and_then(|value| value.to_str().ok());
    if let Some(author) = text_of(body, &["author_id", "authorId"]).or(header_author) {
        return eliza_domain::validate_uuid(author)
            .map(|author| author.to_string())
            .ok_or_else(|| bad_request(MISSING_FIELDS));
    }
    let participants = state
        .store
        .list_channel_participants(channel)
        .await
        .map_err(|err| store_error(err, "Failed to read the channel's participants"))?;
    // Authors are UUIDs, so a participant that is not one cannot be the author.
    let mut users = Vec::new();
    for participant in participants {
        let Ok(id) = AgentId::parse(&participant) else {
            continue;
        };
        let agent = (state.store.get_agent(id).await)
            .map_err(|err| store_error(err, "Failed to read the channel's participants"))?;
        if agent.is_none() {
            users.push(participant);
        }
    }
    match <[String; 1]>::try_from(users) {
        Ok([user]) => Ok(user),
        Err(_) => Err(bad_request(MISSING_FIELDS)),
    }
}

/// The channel, created with the 1.7.2 auto-creation rules when it does not exist yet.
async fn channel_for_post(
    state: &AppState,
    id: ChannelId,
    post: &ChannelPost,
) -> Result<Channel, ApiError> {
    let auto = AutoCreate {
        author: &post.author,
        server: post
            .server
            .unwrap_or(MessageServerId(eliza_domain::ids::DEFAULT_SERVER_ID)),
        metadata: post.metadata.as_ref(),
        target: None,
        created_by: "gui_auto_creation",
    };
    find_or_auto_create(state.store.as_ref(), id, auto).await
}

/// The agent meant to answer: the first participant that is not the author, else the
/// `targetAgentId` of the metadata (made a participant, so it hears the message).
async fn ensure_target(
    state: &AppState,
    channel: &Channel,
    post: &ChannelPost,
) -> Result<(), ApiError> {
    let failed = |err| store_error(err, "Failed to process message");
    let participants = state
        .store
        .list_channel_participants(channel.id)
        .await
        .map_err(failed)?;
    if participants.iter().any(|id| *id != post.author) {
        return Ok(());
    }
    let target = metadata_text(post.metadata.as_ref(), &["targetAgentId"])
        .and_then(|text| AgentId::parse(text).ok())
        .ok_or_else(|| bad_request("No agent found in channel participants"))?;
    state
        .store
        .add_channel_participants(channel.id, &[target.to_string()])
        .await
        .map_err(failed)
}

#[utoipa::path(post, path = "/api/messaging/channels/{channelId}/messages", tag = "messaging", summary = "Post a message in a channel",
    description = "Creates the channel when it does not exist (1.7.2's auto-creation). The channel's first participant other than the author (else `metadata.targetAgentId`) answers: \
        over the socket with `websocket`, in the answer with `http`, as a `text/event-stream` (`user_message`, `chunk`…, `done` or `error`) with `sse`.",
    params(("channelId" = Uuid, Path), ("X-Entity-Id" = Option<Uuid>, Header, description = "The author when the body names none")),
    request_body = ChannelPostBody,
    responses((status = 201, description = "Stored (`websocket`), or stored and answered (`http`)", body = PostedMessage),
        (status = 200, description = "The `sse` transport's event stream", content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody), (status = 404, description = "The server does not exist", body = ErrorBody),
        (status = 502, description = "`http`: the agent failed", body = ErrorBody),
        (status = 503, description = "`http`: no running agent can answer", body = ErrorBody),
        (status = 504, description = "`http`: no answer in time", body = ErrorBody)))]
async fn post_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let id = channel_id(&path, "Invalid channelId format")?;
    let body = body.object()?;
    let author = post_author(&state, &req, body, id).await?;
    let post = read_post(body, author)?;
    let channel = channel_for_post(&state, id, &post).await?;
    ensure_target(&state, &channel, &post).await?;
    let author_display_name =
        metadata_text(post.metadata.as_ref(), &["user_display_name"]).map(str::to_owned);
    let message = NewMessage {
        id: client_message_id(id, &post.author, post.client_message_id.as_deref()),
        channel_id: id,
        message_server_id: channel.message_server_id,
        author_id: post.author,
        content: post.content,
        raw_message: post.raw_message,
        source_type: post.source_type,
        source_id: post.client_message_id,
        in_reply_to: post.in_reply_to,
        metadata: post.metadata.map(Value::Object),
    };
    let watch = (post.transport != Transport::WebSocket).then(|| state.messaging.watch(id));
    let new = Post {
        message,
        origin: MessageOrigin::Gui,
        author_display_name,
    };
    let posted = state
        .messaging
        .post_in(channel, new)
        .await
        .map_err(|err| messaging_error(err, "Failed to process message"))?;
    answer(&state, post.transport, watch, posted).await
}

/// The answer for each transport: websocket at once, http with the reply, sse as a stream.
async fn answer(
    state: &AppState,
    transport: Transport,
    watch: Option<crate::messaging::ReplyWatch>,
    posted: Posted,
) -> ApiResult {
    let user_message = serde_json::to_value(&posted.message).unwrap_or_default();
    let stored = message_json(&posted.stored, &state.config.media);
    let timeout = state.config.reply_timeout;
    // Only the http and sse transports watch for the reply.
    let Some(watch) = watch else {
        return Ok(HttpResponse::Created()
            .json(json!({"success": true, "userMessage": user_message, "data": stored})));
    };
    let agents = posted.dispatched.len();
    if transport == Transport::Sse {
        return Ok(sse_response(
            user_message,
            watch,
            posted.message,
            agents,
            timeout,
        ));
    }
    let response = await_agent_response(watch, &posted.message, agents, timeout)
        .await
        .map_err(wait_error)?;
    Ok(HttpResponse::Created().json(json!({
        "success": true,
        "userMessage": user_message,
        "agentResponse": response,
        "data": stored,
    })))
}

fn wait_error(err: WaitError) -> ApiError {
    let status = match err {
        WaitError::NoAgent => StatusCode::SERVICE_UNAVAILABLE,
        WaitError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        WaitError::Failed(_) => StatusCode::BAD_GATEWAY,
    };
    ApiError::plain(status, err.to_string())
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<chrono::DateTime<Utc>>, ApiError> {
    match value.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => parse_time(text).map(Some).ok_or_else(|| {
            bad_request(format!(
                "Invalid {name} parameter: expected epoch milliseconds or an ISO-8601 date"
            ))
        }),
    }
}

/// With data isolation on, only a participant (named by `X-Entity-Id`) may read a channel.
async fn check_history_access(
    state: &AppState,
    req: &HttpRequest,
    channel: ChannelId,
) -> Result<(), ApiError> {
    if !state.config.data_isolation {
        return Ok(());
    }
    let entity = req
        .headers()
        .get("x-entity-id")
        .and_then(|value| value.to_str().ok())
        .and_then(eliza_domain::validate_uuid);
    let participants = state
        .store
        .list_channel_participants(channel)
        .await
        .map_err(|err| store_error(err, "Failed to fetch messages"))?;
    match entity {
        Some(entity) if participants.contains(&entity.to_string()) => Ok(()),
        _ => Err(ApiError::plain(
            StatusCode::FORBIDDEN,
            "Access denied: You don't have permission to view this channel",
        )),
    }
}

#[utoipa::path(get, path = "/api/messaging/channels/{channelId}/messages", tag = "messaging", summary = "A channel's messages, newest first",
    params(("channelId" = Uuid, Path), ListQuery,
        ("X-Entity-Id" = Option<Uuid>, Header, description = "The reader, with data isolation on")),
    responses((status = 200, body = Success<MessageList>), (status = 400, body = ErrorBody),
        (status = 403, description = "Data isolation: not a participant", body = ErrorBody)))]
async fn list_messages(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> ApiResult {
    let id = channel_id(&path, "Invalid channelId")?;
    check_history_access(&state, &req, id).await?;
    let page = MessagePage {
        before: time_param("before", query.before.as_deref())?,
        limit: limit(query.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE),
    };
    let after = time_param("after", query.after.as_deref())?;
    let messages = state
        .store
        .list_channel_messages(id, page)
        .await
        .map_err(|err| store_error(err, "Failed to fetch messages"))?;
    let messages: Vec<Value> = messages
        .iter()
        .filter(|message| {
            // Clients hold milliseconds: compare at that resolution.
            after.is_none_or(|after| {
                message.created_at.timestamp_millis() > after.timestamp_millis()
            })
        })
        .map(|message| list_item_json(message, &state.config.media))
        .collect();
    Ok(ok(json!({ "messages": messages })))
}

#[utoipa::path(delete, path = "/api/messaging/channels/{channelId}/messages/{messageId}", tag = "messaging", summary = "Delete a message",
    params(("channelId" = Uuid, Path), ("messageId" = Uuid, Path)),
    responses((status = 204, description = "Deleted, or there was no such message"), (status = 400, body = ErrorBody)))]
async fn delete_message(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult {
    let message = "Invalid channelId or messageId";
    let channel: ChannelId = parse_id(&path.0, message)?;
    let id: MessageId = parse_id(&path.1, message)?;
    state
        .messaging
        .delete_message(channel, id)
        .await
        .map_err(|err| messaging_error(err, "Failed to delete message"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes every message of the channel (1.7.2 stops at the newest 1000).
#[utoipa::path(delete, path = "/api/messaging/channels/{channelId}/messages", tag = "messaging", summary = "Delete every message of a channel",
    params(("channelId" = Uuid, Path)),
    responses((status = 204, description = "Cleared"), (status = 400, body = ErrorBody)))]
async fn clear_messages(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = channel_id(&path, "Invalid channelId")?;
    state
        .messaging
        .clear_channel(id)
        .await
        .map_err(|err| messaging_error(err, "Failed to clear messages"))?;
    Ok(HttpResponse::NoContent().finish())
}

async fn find_message(
    state: &AppState,
    path: &str,
) -> Result<eliza_domain::messaging::CentralMessage, ApiError> {
    let id: MessageId = parse_id(path, "Invalid message id")?;
    state
        .store
        .get_message(id)
        .await
        .map_err(|err| store_error(err, "Failed to fetch message"))?
        .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Message not found"))
}

#[utoipa::path(get, path = "/api/messaging/messages/{messageId}", tag = "messaging", summary = "One message",
    params(("messageId" = Uuid, Path)),
    responses((status = 200, body = Success<CentralMessageSchema>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_message(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    Ok(ok(message_json(
        &find_message(&state, &path).await?,
        &state.config.media,
    )))
}

/// `{content?, metadata?}` (the api-client sends `{content}`).
#[utoipa::path(patch, path = "/api/messaging/messages/{messageId}", tag = "messaging", summary = "Edit a message",
    params(("messageId" = Uuid, Path)),
    request_body = EditMessageBody,
    responses((status = 200, body = Success<CentralMessageSchema>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn edit_message(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let mut message = find_message(&state, &path).await?;
    let body = body.object()?;
    let content = present(body, "content");
    let metadata = present(body, "metadata");
    if content.is_none() && metadata.is_none() {
        return Err(bad_request(
            "Nothing to update: give content and/or metadata",
        ));
    }
    if let Some(content) = content {
        message.content = content
            .as_str()
            .filter(|text| !text.is_empty())
            .ok_or_else(|| bad_request("content must be a non-empty string"))?
            .to_owned();
    }
    if let Some(metadata) = metadata {
        if !metadata.is_object() {
            return Err(bad_request("metadata must be an object"));
        }
        message.metadata = Some(metadata.clone());
    }
    message.updated_at = Utc::now();
    state
        .messaging
        .update_message(&message, MessageOrigin::Edit)
        .await
        .map_err(|err| messaging_error(err, "Failed to update message"))?
        .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Message not found"))?;
    Ok(ok(message_json(&message, &state.config.media)))
}

const DEFAULT_SEARCH_PAGE: u32 = 20;
const MAX_SEARCH_PAGE: u32 = 100;

fn optional_id<T: std::str::FromStr>(
    body: &Map<String, Value>,
    keys: &[&str],
    message: &str,
) -> Result<Option<T>, ApiError> {
    match keys.iter().find_map(|key| present(body, key)) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(|text| text.parse().ok())
            .map(Some)
            .ok_or_else(|| bad_request(message)),
    }
}

fn count(body: &Map<String, Value>, key: &str) -> Result<Option<u32>, ApiError> {
    match present(body, key) {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad_request(format!("{key} must be a non-negative integer"))),
    }
}

fn read_search(body: &Map<String, Value>) -> Result<MessageSearch, ApiError> {
    let query = match present(body, "query").or_else(|| present(body, "text")) {
        None => String::new(),
        Some(Value::String(query)) => query.trim().to_owned(),
        Some(_) => return Err(bad_request("query must be a string")),
    };
    let channel = optional_id(
        body,
        &["channelId", "channel_id"],
        "Invalid channelId format",
    )?;
    let server = optional_id(
        body,
        &[
            "messageServerId",
            "message_server_id",
            "serverId",
            "server_id",
        ],
        "Invalid messageServerId format",
    )?;
    if query.is_empty() && channel.is_none() && server.is_none() {
        return Err(bad_request(
            "Give a query, or a channelId or messageServerId to search in",
        ));
    }
    let author = match present(body, "authorId").or_else(|| present(body, "author_id")) {
        None => None,
        Some(Value::String(author)) => Some(author.clone()),
        Some(_) => return Err(bad_request("authorId must be a string")),
    };
    let time = |key: &str| -> Result<_, ApiError> {
        let value = present(body, key).map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        });
        time_param(key, value.as_deref())
    };
    let limit = count(body, "limit")?
        .filter(|limit| *limit > 0)
        .unwrap_or(DEFAULT_SEARCH_PAGE)
        .min(MAX_SEARCH_PAGE);
    let offset = match (count(body, "offset")?, count(body, "page")?) {
        (Some(offset), _) => offset,
        (None, Some(page)) => page.saturating_sub(1).saturating_mul(limit),
        (None, None) => 0,
    };
    Ok(MessageSearch {
        text: query,
        channel,
        server,
        author,
        after: time("from")?,
        before: time("to")?,
        limit,
        offset,
    })
}

/// Text search over a channel's or a server's messages, newest first, paged.
#[utoipa::path(post, path = "/api/messaging/messages/search", tag = "messaging", summary = "Search messages",
    request_body = SearchBody,
    responses((status = 200, body = Success<SearchResult>), (status = 400, body = ErrorBody)))]
async fn search(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let mut search = read_search(body.object()?)?;
    let limit = search.limit;
    // One more than asked tells whether another page exists.
    search.limit += 1;
    let mut found = state
        .store
        .search_messages(&search)
        .await
        .map_err(|err| store_error(err, "Failed to search messages"))?;
    let has_more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let messages: Vec<Value> = found
        .iter()
        .map(|message| message_json(message, &state.config.media))
        .collect();
    Ok(ok(json!({
        "messages": messages,
        "limit": limit,
        "offset": search.offset,
        "hasMore": has_more,
    })))
}
