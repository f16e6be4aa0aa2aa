//! In a cluster, a request that needs an agent's live runtime (memory search and edits that
//! embed text, room creation that enrols the agent, panels and plugin routes) is sent to the node
//! that runs the agent, so the answer does not depend on which node the load balancer picked.
//!
//! Each node records its HTTP address in the database at start ([`crate::cluster::ClusterHandle`]
//! registers it); ownership comes from the leases this node already follows. A forwarded request
//! carries [`FORWARDED_BY`] and is never forwarded again. When the owner cannot be reached the
//! request is served here, as a single node would serve it.

use crate::routes::plugins;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use chrono::Utc;
use eliza_domain::AgentId;
use eliza_domain::cluster::{ClusterStore, NodeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Set on a forwarded request: the node that forwarded it.
pub const FORWARDED_BY: &str = "x-eliza-forwarded-by";
/// Set on the answer to a forwarded request: the node that served it.
pub const SERVED_BY: &str = "x-eliza-served-by";

/// How long a forwarded request may take (plugin routes and embedding models can be slow).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(120);

/// Response headers that describe one connection, not the answer.
const HOP_BY_HOP: [header::HeaderName; 4] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
    header::UPGRADE,
];

/// Finds other nodes' addresses and sends requests there.
pub struct Forwarder {
    node: NodeId,
    nodes: Arc<dyn ClusterStore>,
    client: reqwest::Client,
    addresses: Mutex<HashMap<NodeId, String>>,
}

impl Forwarder {
    pub fn new(node: NodeId, nodes: Arc<dyn ClusterStore>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(FORWARD_TIMEOUT)
            .build()
            .unwrap_or_default();
        Forwarder {
            node,
            nodes,
            client,
            addresses: Mutex::default(),
        }
    }

    /// Records where this node serves HTTP.
    pub async fn register(&self, http_url: &str) {
        if let Err(err) = self
            .nodes
            .register_node(self.node, http_url, Utc::now())
            .await
        {
            tracing::warn!(%err, "this node's address was not recorded: other nodes cannot forward to it");
        }
    }

    /// Where `node` serves HTTP (cached: a node's address never changes).
    async fn address(&self, node: NodeId) -> Option<String> {
        let cached = self
            .addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&node)
            .cloned();
        if cached.is_some() {
            return cached;
        }
        let url = match self.nodes.node_url(node).await {
            Ok(url) => url?,
            Err(err) => {
                tracing::warn!(%node, %err, "node address unavailable");
                return None;
            }
        };
        self.addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(node, url.clone());
        Some(url)
    }

    /// Sends the request to `base`; `None` when the owner could not be reached.
    async fn send(
        &self,
        req: &ServiceRequest,
        (owner, base): (NodeId, &str),
        body: web::Bytes,
    ) -> Option<HttpResponse> {
        let target = format!(
            "{}{}",
            base.trim_end_matches('/'),
            req.uri().path_and_query().map_or("/", |p| p.as_str())
        );
        let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).ok()?;
        let mut request = self.client.request(method, &target).body(body);
        for (name, value) in req.headers() {
            if name != header::HOST && name != header::CONTENT_LENGTH {
                request = request.header(name.as_str(), value.as_bytes());
            }
        }
        request = request.header(FORWARDED_BY, self.node.to_string());
        let reply = match request.send().await {
            Ok(reply) => reply,
            Err(err) => {
                tracing::warn!(%err, target, "the agent's owner could not be reached; serving here");
                return None;
            }
        };
        let status = StatusCode::from_u16(reply.status().as_u16()).ok()?;
        let mut answer = HttpResponse::build(status);
        for (name, value) in reply.headers() {
            if !HOP_BY_HOP.iter().any(|hop| hop.as_str() == name.as_str()) {
                answer.append_header((name.as_str(), value.as_bytes()));
            }
        }
        answer.insert_header((SERVED_BY, owner.to_string()));
        let body = reply.bytes().await.ok()?;
        Some(answer.body(body))
    }
}

/// The agent whose live runtime the request needs, if any.
fn runtime_agent(method: &Method, path: &str, query: &str) -> Option<AgentId> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let writes = !matches!(*method, Method::GET | Method::HEAD);
    let id = match segments.as_slice() {
        ["api", "memory", "agents", id, _, ..] if writes => *id,
        ["api", "memory", id, _, ..] if writes => *id,
        ["api", "agents", id, "panels"] => *id,
        // The agent the plugin dispatch itself picks: `?agentId=`, else the path's.
        ["api", "agents", id, "plugins", ..] => {
            let query = plugins::query_pairs(query);
            return AgentId::parse(plugins::agent_param(&query).unwrap_or(id)).ok();
        }
        _ => return None,
    };
    AgentId::parse(id).ok()
}

/// Which other node to send the request to, if it needs a runtime this node does not have.
fn owner_elsewhere(state: &AppState, req: &ServiceRequest) -> Option<NodeId> {
    let cluster = state.cluster.as_ref()?;
    if req.headers().contains_key(FORWARDED_BY) {
        return None;
    }
    let agent = runtime_agent(req.method(), req.path(), req.query_string())?;
    if state.runtime(agent).is_some() {
        return None;
    }
    let owner = cluster.agents.live_owner(agent, Utc::now())?;
    (owner != cluster.node()).then_some(owner)
}

/// The middleware: forwards what another node must serve, serves the rest here.
pub async fn to_owner(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let target = match (owner_elsewhere(&state, &req), state.cluster.as_ref()) {
        (Some(owner), Some(cluster)) => cluster
            .forwarder
            .address(owner)
            .await
            .map(|url| (owner, url)),
        _ => None,
    };
    let (Some((owner, base)), Some(cluster)) = (target, state.cluster.as_ref()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let body = req.extract::<web::Bytes>().await?;
    match cluster
        .forwarder
        .send(&req, (owner, &base), body.clone())
        .await
    {
        Some(answer) => Ok(req.into_response(answer)),
        None => {
            req.set_payload(Payload::from(body));
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "0b2f7e7c-5a8e-4d43-9a39-3f5f1f1f2b44";
    const OTHER: &str = "11111111-2222-3333-4444-555555555555";

    fn agent(method: Method, path: &str, query: &str) -> Option<String> {
        runtime_agent(&method, path, query).map(|id| id.to_string())
    }

    #[test]
    fn requests_that_need_the_runtime_name_their_agent() {
        let id = Some(AGENT.to_owned());
        let search = format!("/api/memory/agents/{AGENT}/search");
        assert_eq!(agent(Method::POST, &search, ""), id);
        let edit = format!("/api/memory/{AGENT}/memories/{OTHER}");
        assert_eq!(agent(Method::PATCH, &edit, ""), id);
        assert_eq!(
            agent(Method::POST, &format!("/api/memory/{AGENT}/rooms"), ""),
            id
        );
        assert_eq!(
            agent(Method::GET, &format!("/api/agents/{AGENT}/panels"), ""),
            id
        );
        let plugin = format!("/api/agents/{AGENT}/plugins/hello/world");
        assert_eq!(agent(Method::GET, &plugin, ""), id);
        let other = Some(OTHER.to_owned());
        assert_eq!(
            agent(Method::GET, &plugin, &format!("x=1&agentId={OTHER}")),
            other
        );
        assert_eq!(
            agent(Method::GET, &plugin, "agentId="),
            id,
            "an empty agentId is absent"
        );
    }

    #[test]
    fn reads_and_other_routes_are_served_where_they_arrive() {
        assert_eq!(
            agent(Method::GET, &format!("/api/memory/{AGENT}/memories"), ""),
            None
        );
        assert_eq!(
            agent(Method::GET, &format!("/api/agents/{AGENT}"), ""),
            None
        );
        assert_eq!(
            agent(Method::PATCH, &format!("/api/agents/{AGENT}"), ""),
            None
        );
        assert_eq!(
            agent(Method::POST, "/api/memory/not-a-uuid/rooms", ""),
            None
        );
        assert_eq!(
            agent(Method::POST, &format!("/api/memory/{AGENT}"), ""),
            None
        );
        assert_eq!(agent(Method::GET, "/api/server/ping", ""), None);
    }
}
