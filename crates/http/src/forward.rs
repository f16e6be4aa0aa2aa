//! In a cluster, a request that needs an agent's live runtime (memory search and edits that
//! embed text, room creation that enrols the agent, panels and plugin routes) is sent to the node
//! that runs the agent, so the answer does not depend on which node the load balancer picked.
//!
//! Each node records its HTTP address in the database at start ([`crate::cluster::ClusterHandle`]
//! registers it); ownership comes from the leases this node already follows. A forwarded request
//! carries [`FORWARDED_BY`] and is never forwarded again. When no connection to the owner can be
//! made the request is served here, as a single node would serve it; once the owner has the
//! request, a failure there is a 502, never a second run here.

use crate::error::ApiError;
use crate::routes::plugins;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError, web};
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

    /// Sends the request to `owner` at `base`.
    async fn send(
        &self,
        req: &ServiceRequest,
        (owner, base): (NodeId, &str),
        body: web::Bytes,
    ) -> Forwarded {
        send(&self.client, self.node, req, (owner, base), body).await
    }
}

/// What became of a forwarded request.
enum Forwarded {
    /// The owner answered, or failed once it had the request (a 502 then): either way the
    /// request may have run there, so it must not run here too.
    Answer(HttpResponse),
    /// No connection to the owner: nothing was sent, so serving the request here is safe.
    NotSent,
}

/// Whether a header (lowercase name) describes the exchange rather than one connection, and so
/// travels through the forwarding.
fn end_to_end(name: &str) -> bool {
    ![
        "connection",
        "transfer-encoding",
        "content-length",
        "upgrade",
        "host",
    ]
    .contains(&name)
}

async fn send(
    client: &reqwest::Client,
    from: NodeId,
    req: &ServiceRequest,
    (owner, base): (NodeId, &str),
    body: web::Bytes,
) -> Forwarded {
    let target = format!(
        "{}{}",
        base.trim_end_matches('/'),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let Ok(method) = reqwest::Method::from_bytes(req.method().as_str().as_bytes()) else {
        return Forwarded::NotSent;
    };
    let mut request = client.request(method, &target).body(body);
    for (name, value) in req.headers() {
        if end_to_end(name.as_str()) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    request = request.header(FORWARDED_BY, from.to_string());
    let reply = match request.send().await {
        Ok(reply) => reply,
        // No connection, or no request could even be built: nothing reached the owner.
        Err(err) if err.is_connect() || err.is_builder() => {
            tracing::warn!(%err, target, "the agent's owner could not be reached; serving here");
            return Forwarded::NotSent;
        }
        Err(err) => return Forwarded::Answer(owner_failed(owner, &err)),
    };
    let Ok(status) = StatusCode::from_u16(reply.status().as_u16()) else {
        return Forwarded::Answer(owner_failed(owner, &"an invalid status code"));
    };
    let mut answer = HttpResponse::build(status);
    for (name, value) in reply.headers() {
        if end_to_end(name.as_str()) {
            answer.append_header((name.as_str(), value.as_bytes()));
        }
    }
    answer.insert_header((SERVED_BY, owner.to_string()));
    match reply.bytes().await {
        Ok(body) => Forwarded::Answer(answer.body(body)),
        Err(err) => Forwarded::Answer(owner_failed(owner, &err)),
    }
}

/// 502: the node running the agent took the request but gave no usable answer.
fn owner_failed(owner: NodeId, err: &dyn std::fmt::Display) -> HttpResponse {
    tracing::warn!(%owner, %err, "a forwarded request failed at the agent's owner");
    let mut answer = ApiError::coded(
        StatusCode::BAD_GATEWAY,
        "AGENT_NODE_FAILED",
        "The server running this agent did not answer the request",
    )
    .error_response();
    if let Ok(value) = header::HeaderValue::from_str(&owner.to_string()) {
        answer
            .headers_mut()
            .insert(header::HeaderName::from_static(SERVED_BY), value);
    }
    answer
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

/// Where to forward the request, if anywhere: the forwarder, the owner and its address.
async fn forward_target(
    state: &AppState,
    req: &ServiceRequest,
) -> Option<(Arc<Forwarder>, NodeId, String)> {
    let owner = owner_elsewhere(state, req)?;
    let forwarder = Arc::clone(&state.cluster.as_ref()?.forwarder);
    let base = forwarder.address(owner).await?;
    Some((forwarder, owner, base))
}

/// The middleware: forwards what another node must serve, serves the rest here.
pub async fn to_owner(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let target = match req.app_data::<web::Data<AppState>>() {
        Some(state) => forward_target(state, &req).await,
        None => None,
    };
    if let Some((forwarder, owner, base)) = target {
        let body = req.extract::<web::Bytes>().await?;
        match forwarder.send(&req, (owner, &base), body.clone()).await {
            Forwarded::Answer(answer) => return Ok(req.into_response(answer)),
            // Nothing reached the owner: the handler here gets the body back.
            Forwarded::NotSent => req.set_payload(Payload::from(body)),
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    use actix_web::test::TestRequest;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    const AGENT: &str = "0b2f7e7c-5a8e-4d43-9a39-3f5f1f1f2b44";

    /// A one-connection server on loopback: reads the request head, hands it to `reply`, and
    /// writes what `reply` returns (nothing: it hangs up). Returns its base URL and the request.
    fn one_shot(
        reply: impl FnOnce(&str) -> Option<&'static str> + Send + 'static,
    ) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_lowercase();
            if let Some(answer) = reply(&head) {
                stream.write_all(answer.as_bytes()).unwrap();
            }
            head
        });
        (base, served)
    }

    fn search_request() -> ServiceRequest {
        TestRequest::post()
            .uri(&format!("/api/memory/agents/{AGENT}/search?x=1"))
            .insert_header(("x-api-key", "s3cret"))
            .insert_header((header::CONNECTION, "keep-alive"))
            .to_srv_request()
    }

    async fn forward_to(base: &str, owner: NodeId) -> Forwarded {
        let client = reqwest::Client::new();
        let body = web::Bytes::from_static(b"{\"query\":\"hi\"}");
        send(
            &client,
            NodeId::new_random(),
            &search_request(),
            (owner, base),
            body,
        )
        .await
    }

    #[actix_web::test]
    async fn the_owners_answer_comes_back_with_the_node_that_served_it() {
        let (base, served) = one_shot(|_| {
            Some(
                "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nx-custom: 1\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
            )
        });
        let owner = NodeId::new_random();
        let Forwarded::Answer(answer) = forward_to(&base, owner).await else {
            panic!("the owner answered");
        };
        assert_eq!(answer.status(), StatusCode::CREATED);
        let header = |name: &str| answer.headers().get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header("x-custom"), Some("1"));
        assert_eq!(header(SERVED_BY), Some(owner.to_string().as_str()));
        let head = served.join().unwrap();
        assert!(
            head.starts_with(&format!("post /api/memory/agents/{AGENT}/search?x=1 ")),
            "{head}"
        );
        assert!(head.contains("x-api-key: s3cret"), "{head}");
        assert!(head.contains(&format!("{FORWARDED_BY}: ")), "{head}");
        assert!(
            !head.contains("keep-alive"),
            "hop-by-hop headers stay behind: {head}"
        );
    }

    #[actix_web::test]
    async fn an_owner_that_cannot_be_connected_to_leaves_the_request_here() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        assert!(matches!(
            forward_to(&base, NodeId::new_random()).await,
            Forwarded::NotSent
        ));
    }

    #[actix_web::test]
    async fn an_address_that_is_no_url_leaves_the_request_here() {
        let sent = forward_to("http://[not-a-host", NodeId::new_random()).await;
        assert!(matches!(sent, Forwarded::NotSent));
    }

    #[actix_web::test]
    async fn an_owner_that_took_the_request_and_failed_is_a_502_not_a_second_run() {
        let (base, served) = one_shot(|_| None);
        let Forwarded::Answer(answer) = forward_to(&base, NodeId::new_random()).await else {
            panic!("the request reached the owner: it must not run here as well");
        };
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
        let body = actix_web::body::to_bytes(answer.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "AGENT_NODE_FAILED", "{body}");
        served.join().unwrap();
    }
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
