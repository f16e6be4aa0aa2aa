//! `POST /api/messaging/channels/:channelId/generate-title` (API spec §2.3.3, family B), also under
//! the deprecated `central-channels` prefix: a short title for a chat, from the agent's
//! `TEXT_SMALL` model.
//!
//! Unlike 1.7.2, which sends no response at all when the model answers with empty text, an empty
//! title is a 500 like any other model failure.

use super::channels::channel_id;
use super::params::{bad_request, limit, parse_time, store_error, text, text_of};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use eliza_domain::messaging::{CentralMessage, MessagePage};
use eliza_domain::{AgentId, AgentStatus};
use eliza_models::ModelType;
use eliza_runtime::AgentRuntime;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, generate_title);
}

/// Messages read by default (`?limit=`), and at most.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;
/// Fewer messages than this get no title.
const MIN_MESSAGES: usize = 4;
const FAILED: &str = "Failed to summarize channel";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TitleQuery {
    /// Messages to read: default 50, at most 500.
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// Only messages older than this (epoch milliseconds or ISO-8601); unreadable is ignored.
    before: Option<String>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TitleBody {
    /// A running agent.
    pub agent_id: Uuid,
}

/// `{title, channelId}`, or `{title: null, channelId, reason}` with fewer than 4 messages.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Title {
    pub title: Option<String>,
    pub channel_id: Uuid,
    pub reason: Option<String>,
}

fn failed(details: impl Into<String>) -> ApiError {
    ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, FAILED).with_details(details)
}

#[utoipa::path(post, path = "/api/messaging/channels/{channelId}/generate-title", tag = "messaging", summary = "A short title for a chat",
    params(("channelId" = Uuid, Path), TitleQuery),
    request_body = TitleBody,
    responses((status = 200, body = Success<Title>), (status = 400, body = ErrorBody),
        (status = 404, description = "The agent is not running", body = ErrorBody),
        (status = 500, description = "The model failed or gave no title", body = ErrorBody),
        (status = 503, description = "This server runs no language model", body = ErrorBody)))]
async fn generate_title(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<TitleQuery>,
    body: JsonBody,
) -> ApiResult {
    let channel = channel_id(&path, "Invalid channel ID format")?;
    let agent: AgentId = text(body.object()?, "agentId")
        .and_then(|text| AgentId::parse(text).ok())
        .ok_or_else(|| bad_request("Valid agent ID is required"))?;
    if state.agents.status(agent) != AgentStatus::Active {
        return Err(ApiError::plain(
            StatusCode::NOT_FOUND,
            "Agent not found or not active",
        ));
    }
    let page = MessagePage {
        // An unreadable `before` is ignored, as 1.7.2's `parseInt` → NaN is.
        before: query.before.as_deref().and_then(parse_time),
        limit: limit(query.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT),
    };
    let mut messages = state
        .store
        .list_channel_messages(channel, page)
        .await
        .map_err(|err| store_error(err, FAILED))?;
    if messages.len() < MIN_MESSAGES {
        return Ok(ok(json!({
            "title": null,
            "channelId": channel,
            "reason": "Not enough messages to generate a title",
        })));
    }
    let Some(runtime) = state
        .runtimes
        .as_ref()
        .map(|runtimes| runtimes.runtime(agent))
    else {
        // Agents whose status alone is tracked have no model to ask.
        return Err(ApiError::plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Title generation needs an agent runtime with a language model, which this server does not run",
        ));
    };
    let runtime = runtime
        .ok_or_else(|| ApiError::plain(StatusCode::NOT_FOUND, "Agent not found or not active"))?;
    // The store pages newest first; the conversation reads oldest first.
    messages.reverse();
    let prompt = title_prompt(&runtime, &messages);
    let answer = runtime
        .generate_text(ModelType::TextSmall, prompt, None, None)
        .await
        .map_err(|err| {
            tracing::warn!(%channel, %agent, %err, "generate-title: the model call failed");
            failed(err.to_string())
        })?;
    let title = clean_title(&answer);
    if title.is_empty() {
        tracing::warn!(%channel, %agent, "generate-title: the model returned an empty title");
        return Err(failed("The model returned an empty title"));
    }
    Ok(ok(json!({"title": title, "channelId": channel})))
}

/// Who wrote a message: the agent's name for its own messages, else the display name the message
/// carries, else `User`.
fn speaker(runtime: &AgentRuntime, message: &CentralMessage) -> String {
    if message.author_id == runtime.id.to_string() {
        return runtime.name();
    }
    let from_metadata = message
        .metadata
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|metadata| {
            text_of(
                metadata,
                &[
                    "user_display_name",
                    "authorDisplayName",
                    "senderName",
                    "agentName",
                ],
            )
        });
    let from_raw = || {
        message
            .raw_message
            .as_ref()
            .and_then(|raw| raw.get("senderName"))
            .and_then(Value::as_str)
    };
    from_metadata
        .or_else(from_raw)
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or("User")
        .to_owned()
}

/// The prompt: the conversation as `name: text` lines, oldest first, and what to answer.
fn title_prompt(runtime: &AgentRuntime, messages: &[CentralMessage]) -> String {
    let conversation: Vec<String> = messages
        .iter()
        .map(|message| format!("{}: {}", speaker(runtime, message), message.content.trim()))
        .collect();
    format!(
        "Give the conversation below a short title.\n\
         The title is 3 to 8 words long and names what the conversation is about.\n\
         Answer with the title only: no quotes, no explanation.\n\n\
         Conversation:\n{}\n\nTitle:",
        conversation.join("\n")
    )
}

/// The first non-empty line, without surrounding whitespace and quotes.
fn clean_title(answer: &str) -> String {
    const QUOTES: &[char] = &['"', '\'', '`', '“', '”', '‘', '’'];
    answer
        .lines()
        .map(|line| line.trim().trim_matches(QUOTES).trim())
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_lose_quotes_and_whitespace() {
        assert_eq!(clean_title("  \"Tea For Two\"  \n"), "Tea For Two");
        assert_eq!(clean_title("'Planning a trip'"), "Planning a trip");
        assert_eq!(clean_title("“Smart quotes”"), "Smart quotes");
        assert_eq!(clean_title("\n\nSecond line\nmore"), "Second line");
        assert_eq!(clean_title("It's fine"), "It's fine");
        assert_eq!(clean_title(" \"\" "), "");
        assert_eq!(clean_title(""), "");
    }
}
