//! The core messaging routes (API spec §2.3.1): `submit` (agent replies), `action` and
//! `PATCH action/:id`, `ingest-external`, and `complete`, which 1.7.2 lacks although its own agent
//! connector and the web UI rely on it.

use super::params::{
    bad_request, message_server_field, messaging_error, object_items, parse_id, present,
    store_error, text, text_of,
};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok, success};
use crate::messaging::render::message_json;
use crate::messaging::render::schema::CentralMessage as CentralMessageSchema;
use crate::messaging::{Post, Posted};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_bus::{MessageOrigin, NewMessage};
use eliza_domain::messaging::{CentralMessage, Channel};
use eliza_domain::{AgentId, ChannelId, MessageId, MessageServerId, string_to_uuid};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, submit);
    crate::route!(routes, action);
    crate::route!(routes, update_action);
    crate::route!(routes, ingest_external);
    crate::route!(routes, complete);
}

/// The `/submit` and `/action` body in 1.7.2's form. The api-client's camelCase form
/// `{agentId, channelId, content, inReplyToMessageId?, metadata?}` is accepted too.
#[derive(ToSchema)]
pub struct AgentMessageBody {
    pub channel_id: Uuid,
    /// Or the deprecated `server_id`.
    pub message_server_id: Uuid,
    pub author_id: Uuid,
    #[schema(min_length = 1)]
    pub content: String,
    #[schema(min_length = 1)]
    pub source_type: String,
    /// Any truthy JSON value.
    pub raw_message: Value,
    /// The id to store the message under.
    #[schema(rename = "messageId")]
    pub message_id: Option<Uuid>,
    pub in_reply_to_message_id: Option<Uuid>,
    /// `agentName`, `attachments`, `agent_id`, `channelType`, `isDm`…
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// A `PATCH /action/:id` body: a falsy field keeps the stored value.
#[derive(ToSchema)]
pub struct ActionUpdateBody {
    pub content: Option<String>,
    pub raw_message: Option<Value>,
    pub source_type: Option<String>,
    pub in_reply_to_message_id: Option<Uuid>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub author_id: Option<Uuid>,
}

/// `/ingest-external` in 1.7.2's form: one message. The api-client's batch form
/// `{platform, channelId, messages: [{id, authorId, content, timestamp, metadata}]}` is accepted too.
#[derive(ToSchema)]
pub struct ExternalMessageBody {
    pub channel_id: Uuid,
    /// Or the deprecated `server_id`.
    pub message_server_id: Uuid,
    #[schema(min_length = 1)]
    pub author_id: String,
    #[schema(min_length = 1)]
    pub content: String,
    pub author_display_name: Option<String>,
    pub raw_message: Option<Value>,
    /// The platform's message id: the same one is stored once.
    pub source_id: Option<String>,
    /// Default `external`.
    pub source_type: Option<String>,
    pub in_reply_to_message_id: Option<Uuid>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// `{success: true, message, data}`: `data` is `{messageId}` for one message, `{processed,
/// messageIds}` for a batch.
#[derive(ToSchema)]
pub struct Ingested {
    pub success: bool,
    pub message: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// `{channel_id}` (1.7.2's connector) or `{messageId}` (the api-client), and who answered.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CompleteBody {
    #[schema(rename = "channel_id")]
    pub channel_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Completed {
    pub success: bool,
    pub channel_id: Uuid,
    pub message_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/messaging/submit", tag = "messaging", summary = "Store an agent's reply and announce it",
    request_body = AgentMessageBody,
    responses((status = 201, body = Success<CentralMessageSchema>), (status = 400, body = ErrorBody),
        (status = 404, description = "The channel does not exist", body = ErrorBody)))]
async fn submit(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    store_agent_message(state, body, MessageOrigin::AgentReply).await
}

#[utoipa::path(post, path = "/api/messaging/action", tag = "messaging", summary = "Store an agent's action notice and announce it",
    request_body = AgentMessageBody,
    responses((status = 201, body = Success<CentralMessageSchema>), (status = 400, body = ErrorBody),
        (status = 404, description = "The channel does not exist", body = ErrorBody)))]
async fn action(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    store_agent_message(state, body, MessageOrigin::Action).await
}

const MISSING_SUBMIT_FIELDS: &str = "Missing required fields: channel_id, message_server_id, author_id, content, source_type, raw_message";

/// A JSON value JavaScript would call truthy.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0),
        Some(_) => true,
    }
}

fn optional_uuid<T: std::str::FromStr>(
    body: &Map<String, Value>,
    keys: &[&str],
    message: &str,
) -> Result<Option<T>, ApiError> {
    match text_of(body, keys) {
        None => Ok(None),
        Some(text) => parse_id(text, message).map(Some),
    }
}

fn metadata_of(body: &Map<String, Value>) -> Option<Value> {
    present(body, "metadata")
        .filter(|value| value.is_object())
        .cloned()
}

/// The `/submit` and `/action` body: 1.7.2's snake_case, or the api-client's camelCase
/// `{agentId, channelId, content, inReplyToMessageId?, metadata?}` with agent-reply defaults.
async fn read_agent_message(
    state: &AppState,
    body: &Map<String, Value>,
    origin: &MessageOrigin,
) -> Result<NewMessage, ApiError> {
    let client_style = body.get("channel_id").is_none() && body.get("channelId").is_some();
    let missing = || bad_request(MISSING_SUBMIT_FIELDS);
    let channel: ChannelId = text_of(body, &["channel_id", "channelId"])
        .and_then(|text| text.parse().ok())
        .ok_or_else(missing)?;
    let author = text_of(body, &["author_id", "agentId", "authorId"])
        .and_then(eliza_domain::validate_uuid)
        .ok_or_else(missing)?;
    let content = text(body, "content").ok_or_else(missing)?;
    let (server, source_type, raw_message) = if client_style {
        let default_source = match origin {
            MessageOrigin::Action => "agent_action",
            _ => "agent_response",
        };
        (
            message_server_field(body).and_then(|text| text.parse().ok()),
            text(body, "source_type").unwrap_or(default_source),
            present(body, "raw_message")
                .cloned()
                .unwrap_or_else(|| json!({"text": content})),
        )
    } else {
        let server: MessageServerId = message_server_field(body)
            .and_then(|text| text.parse().ok())
            .ok_or_else(missing)?;
        let source_type = text(body, "source_type").ok_or_else(missing)?;
        if !truthy(body.get("raw_message")) {
            return Err(missing());
        }
        (Some(server), source_type, body["raw_message"].clone())
    };
    let in_reply_to = optional_uuid(
        body,
        &["in_reply_to_message_id", "inReplyToMessageId"],
        "Invalid in_reply_to_message_id format",
    )?;
    let id = optional_uuid(
        body,
        &["messageId", "message_id"],
        "Invalid messageId format",
    )?;
    let server = match server {
        Some(server) => server,
        None => {
            super::channels::find_channel(state, channel)
                .await?
                .message_server_id
        }
    };
    Ok(NewMessage {
        id,
        channel_id: channel,
        message_server_id: server,
        author_id: author.to_string(),
        content: content.to_owned(),
        raw_message,
        source_type: source_type.to_owned(),
        source_id: text(body, "source_id").map(str::to_owned),
        in_reply_to,
        metadata: metadata_of(body),
    })
}

/// `POST /submit` (agent replies) and `POST /action` (action notices): stored and announced,
/// never handed to agents (agents do not hear each other's replies, as in 1.7.2).
async fn store_agent_message(
    state: web::Data<AppState>,
    body: JsonBody,
    origin: MessageOrigin,
) -> ApiResult {
    let failure = match origin {
        MessageOrigin::Action => "Failed to create action",
        _ => "Failed to submit agent message",
    };
    let message = read_agent_message(&state, body.object()?, &origin).await?;
    let author_display_name = message
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get("agentName"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let posted = state
        .messaging
        .store_and_announce(Post {
            message,
            origin,
            author_display_name,
        })
        .await
        .map_err(|err| messaging_error(err, failure))?;
    Ok(success(
        StatusCode::CREATED,
        message_json(&posted.stored, &state.config.media),
    ))
}

/// A falsy field keeps the stored value (1.7.2 semantics).
fn apply_action_update(
    message: &mut CentralMessage,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(content) = text(body, "content") {
        message.content = content.to_owned();
    }
    if truthy(body.get("raw_message")) {
        message.raw_message = Some(body["raw_message"].clone());
    }
    if let Some(source_type) = text(body, "source_type") {
        message.source_type = Some(source_type.to_owned());
    }
    if let Some(reply_to) = optional_uuid(
        body,
        &["in_reply_to_message_id"],
        "Invalid in_reply_to_message_id format",
    )? {
        message.in_reply_to_root_message_id = Some(reply_to);
    }
    if truthy(body.get("metadata")) {
        message.metadata = metadata_of(body);
    }
    if let Some(author) = text(body, "author_id") {
        eliza_domain::validate_uuid(author)
            .ok_or_else(|| bad_request("Invalid author_id format"))?;
        message.author_id = author.to_owned();
    }
    message.updated_at = Utc::now();
    Ok(())
}

#[utoipa::path(patch, path = "/api/messaging/action/{messageId}", tag = "messaging", summary = "Update an action notice",
    params(("messageId" = Uuid, Path)),
    request_body = ActionUpdateBody,
    responses((status = 200, body = Success<CentralMessageSchema>), (status = 400, body = ErrorBody),
        (status = 404, description = "`Message not found`", body = ErrorBody)))]
async fn update_action(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let id: MessageId = parse_id(&path, "Invalid message id")?;
    let failed = |err| store_error(err, "Failed to update action");
    let mut message = state
        .store
        .get_message(id)
        .await
        .map_err(failed)?
        .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Message not found"))?;
    apply_action_update(&mut message, body.object()?)?;
    state
        .messaging
        .update_message(&message, MessageOrigin::Action)
        .await
        .map_err(|err| messaging_error(err, "Failed to update action"))?
        .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Message not found"))?;
    Ok(ok(message_json(&message, &state.config.media)))
}

const INVALID_EXTERNAL: &str = "Invalid external message payload";

/// The same external message always maps to the same id, so a repeated delivery is stored once.
fn external_id(channel: ChannelId, source: &str, external: Option<&str>) -> Option<MessageId> {
    external.map(|id| MessageId(string_to_uuid(&format!("{channel}:{source}:{id}"))))
}

/// 1.7.2's single message: `{channel_id, message_server_id, author_id, content, …}`.
fn read_external(body: &Map<String, Value>) -> Result<Post, ApiError> {
    let invalid = || bad_request(INVALID_EXTERNAL);
    for key in ["channel_id", "author_id", "content"] {
        if !truthy(body.get(key)) {
            return Err(invalid());
        }
    }
    let server: MessageServerId = message_server_field(body)
        .and_then(|text| text.parse().ok())
        .ok_or_else(invalid)?;
    let channel: ChannelId = text(body, "channel_id")
        .and_then(|text| text.parse().ok())
        .ok_or_else(invalid)?;
    let author = text(body, "author_id").ok_or_else(invalid)?;
    let content = text(body, "content").ok_or_else(invalid)?;
    let source_type = text(body, "source_type").unwrap_or("external");
    let source_id = text(body, "source_id");
    Ok(Post {
        message: NewMessage {
            id: external_id(channel, source_type, source_id),
            channel_id: channel,
            message_server_id: server,
            author_id: author.to_owned(),
            content: content.to_owned(),
            raw_message: present(body, "raw_message")
                .cloned()
                .unwrap_or_else(|| json!({})),
            source_type: source_type.to_owned(),
            source_id: source_id.map(str::to_owned),
            in_reply_to: optional_uuid(
                body,
                &["in_reply_to_message_id"],
                "Invalid in_reply_to_message_id format",
            )?,
            metadata: metadata_of(body),
        },
        origin: MessageOrigin::Ingest,
        author_display_name: text(body, "author_display_name").map(str::to_owned),
    })
}

/// The api-client's batch: `{platform, channelId, messages:[{id, authorId, content, timestamp, metadata}]}`.
fn read_external_batch(
    body: &Map<String, Value>,
    server: MessageServerId,
) -> Result<Vec<Post>, ApiError> {
    let invalid = || bad_request(INVALID_EXTERNAL);
    let platform = text(body, "platform").unwrap_or("external");
    let channel: ChannelId = text(body, "channelId")
        .and_then(|text| text.parse().ok())
        .ok_or_else(invalid)?;
    object_items(body, "messages", invalid)?
        .into_iter()
        .map(|item| {
            let author = text(item, "authorId").ok_or_else(invalid)?;
            let content = text(item, "content").ok_or_else(invalid)?;
            let external = text(item, "id");
            let mut metadata = match present(item, "metadata") {
                Some(Value::Object(metadata)) => metadata.clone(),
                _ => Map::new(),
            };
            metadata.insert("platform".into(), json!(platform));
            if let Some(external) = external {
                metadata.insert("externalId".into(), json!(external));
            }
            if let Some(timestamp) = present(item, "timestamp") {
                metadata.insert("timestamp".into(), timestamp.clone());
            }
            Ok(Post {
                message: NewMessage {
                    id: external_id(channel, platform, external),
                    channel_id: channel,
                    message_server_id: server,
                    author_id: author.to_owned(),
                    content: content.to_owned(),
                    raw_message: Value::Object(item.clone()),
                    source_type: platform.to_owned(),
                    source_id: external.map(str::to_owned),
                    in_reply_to: None,
                    metadata: Some(Value::Object(metadata)),
                },
                origin: MessageOrigin::Ingest,
                author_display_name: None,
            })
        })
        .collect()
}

/// Posts each message; `channel` is their channel when the caller has read it already.
async fn ingest(
    state: &AppState,
    channel: Option<&Channel>,
    posts: Vec<Post>,
) -> Result<Vec<Posted>, ApiError> {
    let mut posted = Vec::with_capacity(posts.len());
    for post in posts {
        let stored = match channel {
            Some(channel) => state.messaging.post_in(channel.clone(), post).await,
            None => state.messaging.post(post).await,
        };
        posted.push(stored.map_err(|err| messaging_error(err, "Failed to ingest message"))?);
    }
    Ok(posted)
}

/// 202: stored, announced and handed to the channel's agents.
#[utoipa::path(post, path = "/api/messaging/ingest-external", tag = "messaging", summary = "Ingest a message from another platform",
    request_body = ExternalMessageBody,
    responses((status = 202, description = "Stored, announced and handed to the channel's agents", body = Ingested),
        (status = 400, body = ErrorBody), (status = 404, description = "The channel does not exist", body = ErrorBody)))]
async fn ingest_external(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let body = body.object()?;
    let batch = body.get("channel_id").is_none() && body.get("messages").is_some();
    let data = if batch {
        let channel = text(body, "channelId")
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| bad_request(INVALID_EXTERNAL))?;
        let channel = super::channels::find_channel(&state, channel).await?;
        let posts = read_external_batch(body, channel.message_server_id)?;
        let posted = ingest(&state, Some(&channel), posts).await?;
        let ids: Vec<MessageId> = posted.iter().map(|posted| posted.message.id).collect();
        json!({"processed": ids.len(), "messageIds": ids})
    } else {
        let posted = ingest(&state, None, vec![read_external(body)?]).await?;
        json!({"messageId": posted.first().map(|posted| posted.message.id)})
    };
    Ok(HttpResponse::Accepted().json(json!({
        "success": true,
        "message": "Message ingested and published to bus",
        "data": data,
    })))
}

/// `{channel_id}` (1.7.2's connector) or `{messageId, status}` (the api-client): tells the channel's
/// UI the agent is done (`messageComplete`, `controlMessage` enable_input).
#[utoipa::path(post, path = "/api/messaging/complete", tag = "messaging", summary = "Tell a channel's clients the agent is done",
    description = "Emits `messageComplete` and `controlMessage` `enable_input` to the channel (1.7.2 has no such route).",
    request_body = CompleteBody,
    responses((status = 200, body = Success<Completed>), (status = 400, body = ErrorBody),
        (status = 404, description = "The channel or message does not exist", body = ErrorBody)))]
async fn complete(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let body = body.object()?;
    let channel: Option<ChannelId> = optional_uuid(
        body,
        &["channel_id", "channelId"],
        "Invalid channel_id format",
    )?;
    let message: Option<MessageId> = optional_uuid(
        body,
        &["messageId", "message_id"],
        "Invalid messageId format",
    )?;
    let agent: Option<AgentId> = optional_uuid(
        body,
        &["agentId", "agent_id", "author_id"],
        "Invalid agentId format",
    )?;
    let (channel, in_reply_to) = match (channel, message) {
        (Some(channel), _) => {
            super::channels::find_channel(&state, channel).await?;
            (channel, message)
        }
        (None, Some(message)) => {
            let stored = state
                .store
                .get_message(message)
                .await
                .map_err(|err| store_error(err, "Failed to complete message"))?
                .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Message not found"))?;
            let question = stored.in_reply_to_root_message_id.unwrap_or(message);
            (stored.channel_id, Some(question))
        }
        (None, None) => {
            return Err(bad_request(
                "Missing required fields: channel_id or messageId",
            ));
        }
    };
    state.messaging.complete(channel, agent, in_reply_to);
    Ok(ok(
        json!({"success": true, "channelId": channel, "messageId": message}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness_follows_javascript() {
        for falsy in [json!(null), json!(false), json!(""), json!(0)] {
            assert!(!truthy(Some(&falsy)), "{falsy}");
        }
        for truthy_value in [json!({}), json!([]), json!("x"), json!(1), json!(true)] {
            assert!(truthy(Some(&truthy_value)), "{truthy_value}");
        }
        assert!(!truthy(None));
    }

    #[test]
    fn external_ids_are_stable_per_channel_and_source() {
        let channel = ChannelId::new_random();
        let id = external_id(channel, "discord", Some("123"));
        assert_eq!(id, external_id(channel, "discord", Some("123")));
        assert_ne!(id, external_id(channel, "slack", Some("123")));
        assert_eq!(external_id(channel, "discord", None), None);
    }
}
