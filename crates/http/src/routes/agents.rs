//! `/api/agents` CRUD and lifecycle (API spec §2.1), the seed-003 `/api/agent/start` alias and the
//! seed-002 `GET /agents` list.

use crate::agent_ops::{
    apply_to_running, encrypt_character_secrets, encrypt_patch_secrets, start_agent, started_body,
    upsert_and_start,
};
use crate::body::JsonBody;
use crate::character_source::{SourceError, characters_from_body};
use crate::error::{ApiError, ApiResult, ok, success};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use eliza_domain::{Agent, AgentId, AgentStatus};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cmp::Ordering;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/agents", web::get().to(list_agents))
        .route("/agents", web::post().to(create_agent))
        .route("/agent/start", web::post().to(create_and_start))
        .route("/agents/{agent_id}", web::get().to(get_agent))
        .route("/agents/{agent_id}", web::patch().to(update_agent))
        .route("/agents/{agent_id}", web::delete().to(delete_agent))
        .route("/agents/{agent_id}/start", web::post().to(start))
        .route("/agents/{agent_id}/stop", web::post().to(stop))
        .route("/agents/{agent_id}/restart", web::post().to(restart));
}

/// The seed-002 list outside `/api` (`data` is an array of `{agentId, name, status, bio, enabled, createdAt, updatedAt}`).
pub fn configure_seed_list(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/agents")
            .wrap(actix_web::middleware::from_fn(
                crate::middleware::require_api_key,
            ))
            .route(web::get().to(seed_list_agents)),
    );
}

/// `?status=&offset=&limit=` of seeds 000/002; absent means "everything", as 1.7.2 answers.
#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
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
            })
        })
        .collect();
    Ok(ok(json!({"agents": summaries, "total": total})))
}

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

async fn load_agent(state: &AppState, raw_id: &str) -> Result<Agent, ApiError> {
    let id = parse_agent_id(raw_id)?;
    state
        .store
        .get_agent(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Agent not found"))
}

async fn get_agent(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = load_agent(&state, &path).await?;
    Ok(ok(agent_json(&agent, state.agents.status(agent.id))))
}

fn create_error(err: SourceError) -> ApiError {
    let message = err.to_string();
    ApiError::bad_request("CREATE_ERROR", message.clone()).with_details(message)
}

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
        first.get_or_insert_with(|| json!({"id": agent.id, "character": agent.character}));
    }
    Ok(success(
        StatusCode::CREATED,
        first.unwrap_or_else(|| json!({})),
    ))
}

/// Seed 003: create (or update) from `characterPath`/`characterJson`, then start.
async fn create_and_start(state: web::Data<AppState>, body: JsonBody) -> ApiResult {
    let characters = characters_from_body(&body.0).await.map_err(create_error)?;
    let mut first = None;
    for character in characters {
        let agent = upsert_and_start(&state, character).await?;
        first.get_or_insert_with(|| json!({"id": agent.id, "character": agent.character}));
    }
    Ok(ok(first.unwrap_or_else(|| json!({}))))
}

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

async fn start(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = load_agent(&state, &path).await?;
    start_agent(&state, &agent).await?;
    Ok(ok(started_body(&agent)))
}

async fn stop(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let id = parse_agent_id(&path)?;
    if state.agents.stop(id).await {
        Ok(ok(json!({"message": "Agent stopped"})))
    } else {
        Err(ApiError::not_found("Agent not found"))
    }
}

/// Seed 001: stop when running, then start with the stored character.
async fn restart(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent = load_agent(&state, &path).await?;
    state.agents.stop(agent.id).await;
    start_agent(&state, &agent).await?;
    Ok(ok(started_body(&agent)))
}
