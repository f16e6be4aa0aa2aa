//! `/api/agents` CRUD and lifecycle (API spec §2.1), the seed-003 `/api/agent/start` alias and the
//! seed-002 `GET /agents` list.

use crate::agent_ops::{
    apply_to_running, encrypt_character_secrets, encrypt_patch_secrets, start_agent, started_body,
    upsert_and_start,
};
use crate::body::JsonBody;
use crate::character_source::{SourceError, characters_from_body};
use crate::error::{ApiError, ApiResult, ok, success};
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Notice, Success};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_domain::{Agent, AgentId, AgentStatus};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cmp::Ordering;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, list_agents);
    crate::route!(routes, create_agent);
    crate::route!(routes, create_and_start);
    crate::route!(routes, get_agent);
    crate::route!(routes, update_agent);
    crate::route!(routes, delete_agent);
    crate::route!(routes, start);
    crate::route!(routes, stop);
    crate::route!(routes, restart);
}

/// The seed-002 list outside `/api`: the route carries the API-key middleware itself.
pub fn configure_seed_list(routes: &mut Routes<'_>) {
    routes.add_wrapped::<__path_seed_list_agents, _, _>("/agents", seed_list_agents, |route| {
        route.wrap(from_fn(crate::middleware::require_api_key))
    });
}

/// `?status=&offset=&limit=` of seeds 000/002; absent means "everything", as 1.7.2 answers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `active`, `inactive` or `all`.
    status: Option<String>,
    /// Agents to skip (a non-negative integer).
    #[param(value_type = Option<u64>)]
    offset: Option<String>,
    /// At most this many agents (a non-negative integer).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
}

/// `GET /api/agents` item.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AgentSummary {
    pub id: Uuid,
    pub name: String,
    pub character_name: String,
    /// The first bio line (the first character of a plain-string bio, as 1.7.2).
    pub bio: Option<String>,
    /// `active` or `inactive`.
    pub status: String,
    /// Epoch milliseconds (the api-client's `Agent` type; 1.7.2 lists none).
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentSummary>,
    /// Agents matching `status`, before paging.
    pub total: usize,
}

/// A seed-002 `GET /agents` item.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SeedAgent {
    pub agent_id: Uuid,
    pub name: String,
    pub status: String,
    pub bio: Option<String>,
    pub enabled: bool,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// The stored agent: its character's fields (camelCase), plus these.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AgentDetails {
    pub id: Uuid,
    pub name: String,
    pub username: String,
    pub enabled: bool,
    #[schema(rename = "server_id")]
    pub server_id: Option<Uuid>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// `active` or `inactive`.
    pub status: String,
}

/// A created (or created and started) agent: its id and validated character (secrets encrypted).
#[derive(ToSchema)]
pub struct CreatedAgent {
    pub id: Uuid,
    #[schema(value_type = Object)]
    pub character: Value,
}

/// `{id, name, status: "active"}`.
#[derive(ToSchema)]
pub struct StartedAgent {
    pub id: Uuid,
    pub name: String,
    pub status: String,
}

/// `{characterJson}`, `{agent}` (a character or an array of them) or `{characterPath}` (a file on
/// the server, or an http(s) URL of a JSON character or array).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CharacterSource {
    pub character_json: Option<Value>,
    pub agent: Option<Value>,
    pub character_path: Option<String>,
}

struct Page {
    status: Option<AgentStatus>,
    offset: usize,
    limit: Option<usize>,
}

impl ListQuery {
    fn page(&self, default_limit: Option<usize>) -> Result<Page, ApiError> {
        let status = match self.status.as_deref() {
            None | Some("") | Some("all") => None,
            Some(text) => Some(AgentStatus::parse(text).ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_QUERY",
                    format!("Invalid status \"{text}\": expected active or inactive"),
                )
            })?),
        };
        let offset = parse_count("offset", self.offset.as_deref())?.unwrap_or(0);
        let limit = parse_count("limit", self.limit.as_deref())?.or(default_limit);
        Ok(Page {
            status,
            offset,
            limit,
        })
    }
}

fn parse_count(name: &str, value: Option<&str>) -> Result<Option<usize>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(text) => text.parse::<usize>().map(Some).map_err(|_| {
            ApiError::bad_request(
                "INVALID_QUERY",
                format!("Invalid {name} \"{text}\": expected a non-negative integer"),
            )
        }),
    }
}

/// Agents with their status, active first then by name (as `localeCompare`, case-insensitive first), then paged.
async fn sorted_agents(
    state: &AppState,
    page: &Page,
) -> Result<(usize, Vec<(Agent, AgentStatus)>), ApiError> {
    let agents = state
        .store
        .list_agents()
        .await
        .map_err(|err| ApiError::from_store(err, "DB_ERROR", "Error retrieving agents"))?;
    let mut agents: Vec<_> = agents
        .into_iter()
        .map(|agent| {
            let status = state.agents.status(agent.id);
            (agent, status)
        })
        .filter(|(_, status)| page.status.is_none_or(|wanted| wanted == *status))
        .collect();
    agents.sort_by(|(a, a_status), (b, b_status)| {
        let active_first =
            (*b_status == AgentStatus::Active).cmp(&(*a_status == AgentStatus::Active));
        active_first.then_with(|| compare_names(&a.character.name, &b.character.name))
    });
    let total = agents.len();
    let paged = agents
        .into_iter()
        .skip(page.offset)
        .take(page.limit.unwrap_or(usize::MAX))
        .collect();
    Ok((total, paged))
}

/// Case-insensitive first (without allocating: it runs O(n log n) times per list), then exact.
fn compare_names(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
        .then_with(|| a.cmp(b))
}

#[utoipa::path(get, path = "/api/agents", tag = "agents", summary = "List the agents",
    description = "Every stored agent, running ones first, then by name. Without `status`, `offset` and `limit` (seed extensions), everything, as 1.7.2.",
    params(ListQuery),
    responses((status = 200, body = Success<AgentList>), (status = 400, description = "A bad `status`, `offset` or `limit`", body = ErrorBody)))]
async fn list_agents(state: web::Data<AppState>, query: web::Query<ListQuery>) -> ApiResult {
    let (total, agents) = sorted_agents(&state, &query.page(None)?).await?;
    let summaries: Vec<Value> = agents
        .iter()
        .map(|(agent, status)| {
            json!({
                "id": agent.id,
                "name": agent.character.name,
                "characterName": agent.character.name,
                "bio": agent.bio_summary(),
                "status": status.as_str(),
                "createdAt": agent.created_at.timestamp_millis(),
                "updatedAt": agent.updated_at.timestamp_millis(),
            })
        })
        .collect();
    Ok(ok(json!({"agents": summaries, "total": total})))
}

#[utoipa::path(get, path = "/agents", tag = "agents", summary = "List the agents (seed 002 shape)",
    description = "`data` is an array; 50 agents unless `limit` says otherwise. Errors are plain strings (family B).",
    params(ListQuery),
    responses((status = 200, body = Success<Vec<SeedAgent>>), (status = 400, body = ErrorBody)),
    security((), ("apiKey" = [])))]
async fn seed_list_agents(state: web::Data<AppState>, query: web::Query<ListQuery>) -> ApiResult {
    // Seed 002 reports errors as plain strings (family B).
    let as_plain = |err: ApiError| ApiError::plain(err.status, err.message);
    let page = query.page(Some(50)).map_err(as_plain)?;
    let (_, agents) = sorted_agents(&state, &page).await.map_err(as_plain)?;
    let items: Vec<Value> = agents
        .iter()
        .map(|(agent, status)| {
            json!({
                "agentId": agent.id,
                "name": agent.character.name,
                "status": status.as_str(),
                "bio": agent.bio_summary(),
                "enabled": agent.enabled,
                "createdAt": agent.created_at.timestamp_millis(),
                "updatedAt": agent.updated_at.timestamp_millis(),
            })
        })
        .collect();
    Ok(ok(items))
}

/// The full agent as `GET /api/agents/:id` returns it: the row (camelCase, `server_id`, ms times) plus `status`.
pub fn agent_json(agent: &Agent, status: AgentStatus) -> Value {
    let mut value = serde_json::to_value(&agent.character).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        map.insert("id".into(), json!(agent.id));
        map.insert("enabled".into(), json!(agent.enabled));
        map.insert("server_id".into(), json!(agent.server_id));
        map.insert(
            "createdAt".into(),
            json!(agent.created_at.timestamp_millis()),
        );
        map.insert(
            "updatedAt".into(),
            json!(agent.updated_at.timestamp_millis()),
        );
        map.insert(
            "username".into(),
            json!(agent.character.username.clone().unwrap_or_default()),
        );
        if agent.character.system.as_deref().is_none_or(str::is_empty) {
            map.remove("system");
        }
        map.insert("status".into(), json!(status.as_str()));
    }
    value
}

fn parse_agent_id(raw: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(raw).map_err(|_| ApiError::invalid_id("Invalid agent ID format"))
}

/// The stored agent of a path id: 400 `INVALID_ID`, or 404 when there is none.
pub(crate) async fn load_agent(state: &AppState, raw_id: &str) -> Result<Agent, ApiError> {
    let id = parse_agent_id(raw_id)?;
    state
        .store
        .get_agent(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Agent not found"))
}

#[utoipa::path(get, path = "/api/agents/{agentId}", tag = "agents", summary = "One agent",
    params(("agentId" = Uuid, Path)),
    responses((status = 200, body = Success<AgentDetails>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_agent(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = load_agent(&state, &path).await?;
    Ok(ok(agent_json(&agent, state.agents.status(agent.id))))
}

fn create_error(err: SourceError) -> ApiError {
    let message = err.to_string();
    ApiError::bad_request("CREATE_ERROR", message.clone()).with_details(message)
}

#[utoipa::path(post, path = "/api/agents", tag = "agents", summary = "Create an agent (not started)",
    request_body = CharacterSource,
    responses((status = 201, description = "The first agent of the source", body = Success<CreatedAgent>),
        (status = 400, description = "`CREATE_ERROR`: no or an invalid character", body = ErrorBody)))]
async fn create_agent(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let characters = characters_from_body(&body.0).await.map_err(create_error)?;
    let mut first = None;
    for mut character in characters {
        encrypt_character_secrets(&state.cipher, &mut character);
        let agent = Agent::new(character, Utc::now());
        state
            .store
            .create_agent(&agent)
            .await
            .map_err(|err| ApiError::from_store(err, "CREATE_ERROR", "Error creating agent"))?;
        first.get_or_insert_with(|| created_agent_json(&agent, AgentStatus::Inactive));
    }
    Ok(success(
        StatusCode::CREATED,
        first.unwrap_or_else(|| json!({})),
    ))
}

/// 1.7.2's `{id, character}`, plus the `Agent` fields the api-client's type promises.
fn created_agent_json(agent: &Agent, status: AgentStatus) -> Value {
    json!({
        "id": agent.id,
        "character": agent.character,
        "name": agent.character.name,
        "bio": agent.character.bio,
        "status": status.as_str(),
        "enabled": agent.enabled,
        "createdAt": agent.created_at.timestamp_millis(),
        "updatedAt": agent.updated_at.timestamp_millis(),
    })
}

/// Seed 003: create (or update) from `characterPath`/`characterJson`, then start.
#[utoipa::path(post, path = "/api/agent/start", tag = "agents", summary = "Create or update, then start (seed 003)",
    request_body = CharacterSource,
    responses((status = 200, description = "The first agent of the source", body = Success<CreatedAgent>),
        (status = 400, body = ErrorBody)))]
async fn create_and_start(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let characters = characters_from_body(&body.0).await.map_err(create_error)?;
    let mut first = None;
    for character in characters {
        let agent = upsert_and_start(&state, character).await?;
        first.get_or_insert_with(|| created_agent_json(&agent, AgentStatus::Active));
    }
    Ok(ok(first.unwrap_or_else(|| json!({}))))
}

#[utoipa::path(patch, path = "/api/agents/{agentId}", tag = "agents", summary = "Update an agent",
    description = "A partial character; `settings` is deep-merged (a `null` value deletes a key). A running agent is updated (restarted when its plugins changed).",
    params(("agentId" = Uuid, Path)),
    request_body(content = Object, description = "Character fields to change"),
    responses((status = 200, body = Success<AgentDetails>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_agent(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let id = parse_agent_id(&path)?;
    body.object()?;
    let mut patch = body.0;
    encrypt_patch_secrets(&state.cipher, &mut patch);
    // Only a running agent is told about a change, so only then is the old character needed.
    let before = if state.agents.status(id) == AgentStatus::Active {
        state.store.get_agent(id).await?
    } else {
        None
    };
    let updated = state
        .store
        .update_agent(id, &patch, Utc::now())
        .await
        .map_err(|err| ApiError::from_store(err, "UPDATE_ERROR", "Error updating agent"))?
        .ok_or_else(|| ApiError::not_found("Agent not found"))?;
    if before.is_some_and(|before| before.character != updated.character) {
        apply_to_running(&state, &updated).await?;
    }
    Ok(ok(agent_json(&updated, state.agents.status(id))))
}

#[utoipa::path(delete, path = "/api/agents/{agentId}", tag = "agents", summary = "Stop and delete an agent",
    params(("agentId" = Uuid, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_agent(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = parse_agent_id(&path)?;
    state.agents.stop(id).await;
    let deleted = state
        .store
        .delete_agent(id)
        .await
        .map_err(|err| ApiError::from_store(err, "DELETE_ERROR", "Error deleting agent"))?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("Agent not found"))
    }
}

#[utoipa::path(post, path = "/api/agents/{agentId}/start", tag = "agents", operation_id = "start_agent", summary = "Start an agent",
    params(("agentId" = Uuid, Path)),
    responses((status = 200, description = "Started, or already running", body = Success<StartedAgent>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn start(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = load_agent(&state, &path).await?;
    start_agent(&state, &agent).await?;
    Ok(ok(started_body(&agent)))
}

#[utoipa::path(post, path = "/api/agents/{agentId}/stop", tag = "agents", operation_id = "stop_agent", summary = "Stop an agent",
    params(("agentId" = Uuid, Path)),
    responses((status = 200, description = "`{message: \"Agent stopped\"}`", body = Success<Notice>),
        (status = 400, body = ErrorBody), (status = 404, description = "Not running", body = ErrorBody)))]
async fn stop(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = parse_agent_id(&path)?;
    if state.agents.stop(id).await {
        // `status` for the api-client (the web UI shows "Agent ${result.status}").
        Ok(ok(
            json!({"message": "Agent stopped", "status": AgentStatus::Inactive.as_str()}),
        ))
    } else {
        Err(ApiError::not_found("Agent not found"))
    }
}

/// Seed 001: stop when running, then start with the stored character.
#[utoipa::path(post, path = "/api/agents/{agentId}/restart", tag = "agents", operation_id = "restart_agent", summary = "Restart an agent (seed 001)",
    params(("agentId" = Uuid, Path)),
    responses((status = 200, body = Success<StartedAgent>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn restart(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = load_agent(&state, &path).await?;
    state.agents.stop(agent.id).await;
    start_agent(&state, &agent).await?;
    Ok(ok(started_body(&agent)))
}
