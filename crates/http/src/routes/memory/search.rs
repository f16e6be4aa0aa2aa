//! Semantic search over an agent's memories (seed 001): `POST /api/memory/agents/:agentId/search`
//! and `POST /api/memory/:agentId/search`.

use super::params::{optional_string, optional_uuid};
use super::running_agent;
use super::views::{SearchHitView, SearchResults};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::route;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use eliza_domain::RoomId;
use eliza_domain::memory::MESSAGES_TABLE;
use eliza_runtime::RuntimeError;
use eliza_runtime::memory_search::SearchRequest;
use eliza_runtime::turn::room_of;
use serde_json::{Map, Value};

const DEFAULT_LIMIT: u32 = 10;
const MAX_LIMIT: u32 = 100;

pub fn configure(routes: &mut Routes<'_>) {
    route!(routes, search_memories);
    route!(
        routes,
        search_memories,
        alias = "/api/memory/{agentId}/search"
    );
}

#[utoipa::path(post, path = "/api/memory/agents/{agentId}/search", tag = "memory",
    summary = "The agent's memories nearest in meaning to a query, optionally re-ranked by BM25",
    params(("agentId" = String, Path, description = "A running agent's UUID")),
    request_body(content = Object, description = "`{query, table? (default messages), limit? (1–100, default 10), roomId?, channelId?, threshold? (cosine, -1–1), rerank? (default false)}`"),
    responses(
        (status = 200, description = "Best first", body = Success<SearchResults>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 502, description = "The embedding model failed", body = ErrorBody),
        (status = 503, description = "The agent has no embedding model", body = ErrorBody),
    ))]
async fn search_memories(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let agent = running_agent(&state, &path, "Invalid agent ID format")?;
    let request = parse_request(agent, body.object()?)?;
    let runtime = state
        .runtime(agent)
        .ok_or_else(|| no_model("the agent runtime is not available"))?;
    let hits = runtime
        .search_memories(&request)
        .await
        .map_err(search_error)?;
    let memories: Vec<SearchHitView> = hits.iter().map(SearchHitView::from).collect();
    Ok(ok(SearchResults {
        query: request.query,
        table: request.table,
        count: memories.len(),
        memories,
    }))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_REQUEST", message)
}

fn parse_request(
    agent: eliza_domain::AgentId,
    body: &Map<String, Value>,
) -> Result<SearchRequest, ApiError> {
    let query = optional_string(body, "query")?
        .map(str::trim)
        .filter(|query| !query.is_empty())
        .ok_or_else(|| invalid("query is required"))?;
    let table = match optional_string(body, "table")? {
        Some(table) => Some(table),
        None => optional_string(body, "tableName")?,
    };
    let room = match optional_uuid(body, "channelId")? {
        Some(channel) => Some(room_of(agent, &channel.to_string())),
        None => optional_uuid(body, "roomId")?.map(RoomId),
    };
    Ok(SearchRequest {
        query: query.to_owned(),
        table: table.unwrap_or(MESSAGES_TABLE).to_owned(),
        limit: limit(body.get("limit"))?,
        room_id: room,
        threshold: threshold(body.get("threshold"))?,
        rerank: match body.get("rerank") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(rerank)) => *rerank,
            Some(_) => return Err(invalid("rerank must be true or false")),
        },
    })
}

fn limit(value: Option<&Value>) -> Result<u32, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(DEFAULT_LIMIT),
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=u64::from(MAX_LIMIT)).contains(n))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| invalid(format!("limit must be an integer from 1 to {MAX_LIMIT}"))),
    }
}

fn threshold(value: Option<&Value>) -> Result<Option<f32>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|t| (-1.0..=1.0).contains(t))
            .map(|t| Some(t as f32))
            .ok_or_else(|| invalid("threshold must be a number from -1 to 1")),
    }
}

fn no_model(details: &str) -> ApiError {
    ApiError::coded(
        StatusCode::SERVICE_UNAVAILABLE,
        "MODEL_UNAVAILABLE",
        "The agent has no TEXT_EMBEDDING model: give it a provider with embeddings (the local models, OPENAI_API_KEY or OLLAMA_API_ENDPOINT)",
    )
    .with_details(details)
}

fn search_error(err: RuntimeError) -> ApiError {
    match err {
        RuntimeError::NoModel(_) => no_model(&err.to_string()),
        RuntimeError::Model(model) => ApiError::coded(
            StatusCode::BAD_GATEWAY,
            "MODEL_ERROR",
            "The embedding model failed",
        )
        .with_details(model.to_string()),
        RuntimeError::Store(store) => {
            ApiError::from_store(store, "SEARCH_ERROR", "Failed to search memories")
        }
        other => ApiError::coded(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SEARCH_ERROR",
            "Failed to search memories",
        )
        .with_details(other.to_string()),
    }
}
