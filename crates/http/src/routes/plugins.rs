//! Plugin routes (API spec §2.11) and `GET /api/agents/:agentId/panels` (§2.1).
//!
//! A running agent's plugin route `path` of plugin `name` is served at `/<name><path>`, reachable
//! as in 1.7.2:
//!
//! * `/api/agents/<id>/plugins/<name><path>` (behind the API key), for `?agentId=` or else the
//!   path's agent;
//! * `/api/<name><path>` (behind the API key) and `/<name><path>` (app level, no key), for
//!   `?agentId=` or else the first running agent that serves it. These two are guarded catch-alls
//!   registered last, so they only take a request a plugin route matches and never shadow the
//!   server's own routes or its 404.
//!
//! The handler's status, content type and body are sent as they are.

use crate::error::{ApiError, ApiResult, ok};
use crate::middleware::not_found;
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use actix_web::guard::{self, GuardContext};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use eliza_domain::{AgentId, AgentStatus};
use eliza_runtime::AgentRuntime;
use eliza_runtime::plugin::{PluginRequest, PluginResponse, PluginRoute};
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa::ToSchema;

/// Panels and the agent-scoped plugin mount, inside `/api`.
pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, panels);
    routes.external::<__path_dispatch_agent_scoped>();
    // Allowed outside `Routes`: every method and a path of any depth (`{tail:.*}`), which one
    // documented path cannot serve. Documented above as `…/plugins/{path}`.
    if let Some(cfg) = routes.actix() {
        cfg.route(
            "/agents/{agentId}/plugins/{tail:.*}",
            web::route().to(dispatch_agent_scoped),
        );
    }
}

/// `/api/<name><path>`: register last inside `/api`.
///
/// An empty, guarded scope rather than a `/{tail:.*}` resource: a scope without resources matches
/// no route pattern, so requests no route serves keep the `unmatched` metrics label (plugin
/// requests get it too). Keep it last: the pattern search stops at it, so routes registered
/// after it would still be served but lose their metrics label.
///
/// Allowed outside `Routes` (a guarded catch-all, not one path); described in the document by
/// the agent-scoped operation.
pub fn configure_api_fallback(routes: &mut Routes<'_>) {
    if let Some(cfg) = routes.actix() {
        cfg.service(
            web::scope("")
                .guard(guard::fn_guard(|ctx| guard_matches(ctx, Mount::Api)))
                .default_service(web::to(dispatch_api)),
        );
    }
}

/// `/<name><path>` outside `/api`: register last at app level (see [`configure_api_fallback`]).
pub fn configure_app_fallback(routes: &mut Routes<'_>) {
    if let Some(cfg) = routes.actix() {
        cfg.service(
            web::scope("")
                .guard(guard::fn_guard(|ctx| guard_matches(ctx, Mount::App)))
                .default_service(web::to(dispatch_app)),
        );
    }
}

/// 400 in family F.
fn invalid_agent() -> ApiError {
    ApiError::bad_request("INVALID_AGENT_ID", "Invalid agent ID format")
}

/// 404 in family F.
fn agent_not_found() -> ApiError {
    ApiError::coded(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND", "Agent not found")
}

/// The 1.7.2 `/api/*` 404 (family E): no plugin route matched.
fn no_route() -> ApiError {
    ApiError::global(StatusCode::NOT_FOUND, "API endpoint not found")
}

/// Where the route is served from: `/<plugin name>` plus its path (a missing leading slash is added).
fn full_path(plugin: &str, path: &str) -> String {
    if path.starts_with('/') {
        format!("/{plugin}{path}")
    } else {
        format!("/{plugin}/{path}")
    }
}

/// Named public GET routes, as `GET /api/agents/:agentId/panels` lists them.
fn panel_list(runtime: &AgentRuntime, agent: AgentId) -> Vec<Value> {
    runtime
        .plugins
        .routes
        .iter()
        .filter(|(_, route)| route.public && route.method.eq_ignore_ascii_case("GET"))
        .filter_map(|(plugin, route)| {
            let name = route.name.as_deref().filter(|name| !name.is_empty())?;
            let path = format!(
                "/api/agents/{agent}/plugins{}?agentId={agent}",
                full_path(plugin, &route.path)
            );
            Some(json!({"name": name, "path": path}))
        })
        .collect()
}

/// A plugin panel: a named public GET route of a running agent.
#[derive(ToSchema)]
pub struct Panel {
    pub name: String,
    /// `/api/agents/<agentId>/plugins/<plugin><route>?agentId=<agentId>`.
    pub path: String,
}

#[utoipa::path(get, path = "/api/agents/{agentId}/panels", tag = "plugins", summary = "The running agent's plugin panels",
    params(("agentId" = Uuid, Path)),
    responses((status = 200, body = Success<Vec<Panel>>), (status = 400, body = ErrorBody),
        (status = 404, description = "The agent is not running", body = ErrorBody)))]
async fn panels(state: web::Data<AppState>, path: web::Path<String>) -> ApiResult {
    let agent =
        AgentId::parse(&path).map_err(|_| ApiError::invalid_id("Invalid agent ID format"))?;
    if state.agents.status(agent) != AgentStatus::Active {
        return Err(ApiError::not_found("Agent not found"));
    }
    let panels = state
        .runtime(agent)
        .map(|runtime| panel_list(&runtime, agent))
        .unwrap_or_default();
    Ok(ok(panels))
}

/// Whether a route pattern matches a request path as 1.7.2 matches it: a pattern ending in `/*`
/// is a prefix, anything else path-to-regexp segments (`:name` one segment, optionally between
/// literal text, `*name` one or more segments), ASCII case-insensitive, trailing slash tolerated.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    if let Some(base) = pattern.strip_suffix("/*") {
        let base = base.trim_end_matches('/');
        let head = path.get(..base.len());
        return head.is_some_and(|head| head.eq_ignore_ascii_case(base))
            && matches!(path.as_bytes().get(base.len()), None | Some(b'/'));
    }
    let pattern: Vec<&str> = split(pattern);
    let path: Vec<&str> = split(path);
    segments_match(&pattern, &path)
}

fn split(path: &str) -> Vec<&str> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    trimmed.split('/').collect()
}

fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((wildcard, rest)) if wildcard.starts_with('*') => (1..=path.len()).any(|taken| {
            path[..taken].iter().all(|s| !s.is_empty()) && segments_match(rest, &path[taken..])
        }),
        Some((first, rest)) => path.split_first().is_some_and(|(segment, tail)| {
            segment_matches(first, segment) && segments_match(rest, tail)
        }),
    }
}

/// One segment: literal text, or `prefix:name suffix` where the parameter is non-empty.
fn segment_matches(pattern: &str, segment: &str) -> bool {
    let Some(colon) = pattern.find(':') else {
        return pattern.eq_ignore_ascii_case(segment);
    };
    let prefix = &pattern[..colon];
    let after = &pattern[colon + 1..];
    let name_len = after
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(after.len());
    if name_len == 0 {
        return pattern.eq_ignore_ascii_case(segment);
    }
    let suffix = &after[name_len..];
    segment.len() > prefix.len() + suffix.len()
        && segment
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        && segment
            .get(segment.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

/// The first of the agent's routes serving `method` at `path`.
fn route_for(runtime: &AgentRuntime, method: &str, path: &str) -> Option<PluginRoute> {
    runtime
        .plugins
        .routes
        .iter()
        .find(|(plugin, route)| {
            route.method.eq_ignore_ascii_case(method)
                && path_matches(&full_path(plugin, &route.path), path)
        })
        .map(|(_, route)| route.clone())
}

/// What a request resolves to.
enum Lookup {
    Found(Arc<AgentRuntime>, PluginRoute),
    InvalidAgent,
    AgentNotRunning,
    NoRoute,
}

/// Resolves `method path` among the routes of `agent` (raw, as given) or of every running agent
/// in start order.
fn lookup(state: &AppState, agent: Option<&str>, method: &str, path: &str) -> Lookup {
    let Some(raw) = agent else {
        let Some(registry) = state.runtimes.as_ref() else {
            return Lookup::NoRoute;
        };
        let found = state.agents.running().into_iter().find_map(|id| {
            let runtime = registry.runtime(id)?;
            let route = route_for(&runtime, method, path)?;
            Some(Lookup::Found(runtime, route))
        });
        return found.unwrap_or(Lookup::NoRoute);
    };
    let Ok(agent) = AgentId::parse(raw) else {
        return Lookup::InvalidAgent;
    };
    if state.agents.status(agent) != AgentStatus::Active {
        return Lookup::AgentNotRunning;
    }
    state
        .runtime(agent)
        .and_then(|runtime| {
            let route = route_for(&runtime, method, path)?;
            Some(Lookup::Found(runtime, route))
        })
        .unwrap_or(Lookup::NoRoute)
}

/// The query as decoded pairs, in order.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// `?agentId=` when given and non-empty (an empty value is absent, as for 1.7.2's truthiness test).
pub(crate) fn agent_param(query: &[(String, String)]) -> Option<&str> {
    query
        .iter()
        .find(|(key, value)| key == "agentId" && !value.is_empty())
        .map(|(_, value)| value.as_str())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mount {
    /// `/api/<name><path>`.
    Api,
    /// `/<name><path>`.
    App,
}

/// The words 1.7.2 never dispatches under (`^/(chat|settings|…)\b`).
const RESERVED: [&str; 10] = [
    "chat",
    "settings",
    "agents",
    "profile",
    "dashboard",
    "login",
    "register",
    "admin",
    "home",
    "about",
];

fn is_reserved(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    RESERVED.iter().any(|word| {
        rest.strip_prefix(word).is_some_and(|after| {
            after
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        })
    })
}

/// The plugin path of a catch-all request, or `None` when 1.7.2 would not dispatch it.
fn mounted_path(mount: Mount, path: &str) -> Option<&str> {
    let path = match mount {
        Mount::Api => path.strip_prefix("/api")?,
        Mount::App => path,
    };
    (!is_reserved(path)).then_some(path)
}

/// The catch-alls take a request only when a plugin route serves it. Under `/api` an invalid or
/// stopped `?agentId=` still takes it (to answer 400/404 in family F) if any agent serves the path.
fn guard_matches(ctx: &GuardContext<'_>, mount: Mount) -> bool {
    let Some(state) = ctx.app_data::<web::Data<AppState>>() else {
        return false;
    };
    let head = ctx.head();
    let Some(path) = mounted_path(mount, head.uri.path()) else {
        return false;
    };
    let query = query_pairs(head.uri.query().unwrap_or_default());
    let method = head.method.as_str();
    match lookup(state, agent_param(&query), method, path) {
        Lookup::Found(..) => true,
        Lookup::InvalidAgent | Lookup::AgentNotRunning => {
            mount == Mount::Api && matches!(lookup(state, None, method, path), Lookup::Found(..))
        }
        Lookup::NoRoute => false,
    }
}

/// Calls the handler and sends its answer as it is (a `.js` path without a content type gets
/// `application/javascript`, as 1.7.2 presets it).
async fn call(
    runtime: Arc<AgentRuntime>,
    route: PluginRoute,
    req: &HttpRequest,
    path: &str,
    query: Vec<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let request = PluginRequest {
        method: req.method().as_str().to_owned(),
        path: path.to_owned(),
        query,
        body: body.to_vec(),
    };
    let PluginResponse {
        status,
        content_type,
        body,
    } = route.handler.handle(&runtime, request).await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if !content_type.is_empty() {
        response.insert_header((CONTENT_TYPE, content_type));
    } else if path.ends_with(".js") {
        response.insert_header((CONTENT_TYPE, "application/javascript"));
    }
    response.body(body)
}

/// `/api/agents/<id>/plugins/<name><path>`: the agent of `?agentId=`, else the path's.
#[utoipa::path(method(get, post, put, patch, delete), path = "/api/agents/{agentId}/plugins/{path}", tag = "plugins",
    summary = "A plugin route of a running agent",
    description = "Serves the route `/<plugin><route>` of the agent's plugins; `{path}` is `<plugin><route>` and may span several segments. \
        The same routes are also reachable, for `?agentId=` or else the first running agent serving them, at `/api/<plugin><route>` (API key) \
        and `/<plugin><route>` (no API key); those two only answer paths a plugin route serves, so they are not listed as paths here.",
    params(("agentId" = Uuid, Path), ("path" = String, Path, description = "`<plugin><route>`"),
        ("agentId" = Option<String>, Query, description = "The agent whose routes to use instead of the path's")),
    responses((status = "2XX", description = "The plugin route's answer, with the status, content type and body it gives"),
        (status = 400, description = "`INVALID_AGENT_ID` (family F), or the plugin route's own answer"),
        (status = 404, description = "`AGENT_NOT_FOUND` (not running) or no plugin route there (JSON error bodies), or the plugin route's own answer"),
        (status = "default", description = "The plugin route's error, with the status, content type and body it gives")))]
async fn dispatch_agent_scoped(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult {
    // `/api/agents/<id>/plugins/<rest>` → `<id>`, `/<rest>`.
    let mut parts = req.path().splitn(6, '/').skip(3);
    let path_agent = parts.next().unwrap_or_default().to_owned();
    let path = format!("/{}", parts.nth(1).unwrap_or_default());
    let query = query_pairs(req.query_string());
    let agent = agent_param(&query).unwrap_or(&path_agent).to_owned();
    match lookup(&state, Some(&agent), req.method().as_str(), &path) {
        Lookup::Found(runtime, route) => Ok(call(runtime, route, &req, &path, query, body).await),
        Lookup::InvalidAgent => Err(invalid_agent()),
        Lookup::AgentNotRunning => Err(agent_not_found()),
        Lookup::NoRoute => Err(no_route()),
    }
}

/// `/api/<name><path>`.
async fn dispatch_api(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> ApiResult {
    let path = mounted_path(Mount::Api, req.path())
        .unwrap_or_default()
        .to_owned();
    let query = query_pairs(req.query_string());
    match lookup(&state, agent_param(&query), req.method().as_str(), &path) {
        Lookup::Found(runtime, route) => Ok(call(runtime, route, &req, &path, query, body).await),
        Lookup::InvalidAgent => Err(invalid_agent()),
        Lookup::AgentNotRunning => Err(agent_not_found()),
        Lookup::NoRoute => Err(no_route()),
    }
}

/// `/<name><path>` (no API key, as in 1.7.2).
async fn dispatch_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let path = req.path().to_owned();
    let query = query_pairs(req.query_string());
    match lookup(&state, agent_param(&query), req.method().as_str(), &path) {
        Lookup::Found(runtime, route) => call(runtime, route, &req, &path, query, body).await,
        // The agent stopped between routing and now.
        _ => not_found(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_paths_match_case_insensitively_with_a_trailing_slash() {
        assert!(path_matches("/p/hello", "/p/hello"));
        assert!(path_matches("/p/hello", "/P/Hello/"));
        assert!(!path_matches("/p/hello", "/p/hello/x"));
        assert!(!path_matches("/p/hello", "/p"));
        assert!(path_matches("/@acme/plugin-x/a", "/@acme/plugin-x/a"));
    }

    #[test]
    fn parameters_and_wildcards() {
        assert!(path_matches("/p/items/:id", "/p/items/42"));
        assert!(!path_matches("/p/items/:id", "/p/items"));
        assert!(!path_matches("/p/items/:id", "/p/items/42/x"));
        assert!(path_matches("/p/files/:name.json", "/p/files/a.json"));
        assert!(!path_matches("/p/files/:name.json", "/p/files/.json"));
        assert!(path_matches("/p/assets/*rest", "/p/assets/a/b.js"));
        assert!(!path_matches("/p/assets/*rest", "/p/assets"));
        assert!(path_matches("/p/static/*", "/p/static"));
        assert!(path_matches("/p/static/*", "/p/static/x/y"));
        assert!(!path_matches("/p/static/*", "/p/staticky"));
    }

    #[test]
    fn reserved_words_are_whole_words() {
        assert!(is_reserved("/chat"));
        assert!(is_reserved("/agents/x"));
        assert!(is_reserved("/home-page"));
        assert!(!is_reserved("/homework"));
        assert!(!is_reserved("/my-plugin/chat"));
    }

    #[test]
    fn route_paths_are_prefixed_by_the_plugin() {
        assert_eq!(full_path("p", "/x"), "/p/x");
        assert_eq!(full_path("p", "x"), "/p/x");
    }

    #[test]
    fn agent_id_comes_from_a_non_empty_query_value() {
        let query = query_pairs("a=1&agentId=&agentId=x%20y");
        assert_eq!(agent_param(&query), Some("x y"));
        assert_eq!(agent_param(&query_pairs("agentId=")), None);
    }
}
