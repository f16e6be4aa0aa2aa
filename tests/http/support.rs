//! Test harness: the real app over a fresh store: SQLite in a temp dir, or a PostgreSQL schema (see
//! `backend`).

use crate::backend::{DatabaseGuard, database_url};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use actix_web::web::Bytes;
use eliza_bus::cluster::{ClusterConfig, MemoryHub};
use eliza_bus::{AgentDispatch, AgentInboxes, Bus, InProcessBus};
use eliza_domain::agent::Agent;
use eliza_domain::character::Character;
use eliza_domain::cluster::NodeId;
use eliza_domain::lifecycle::StatusRegistry;
use eliza_http::cluster::ClusterSetup;
use eliza_http::logs::LogBuffer;
use eliza_http::media::MediaConfig;
use eliza_http::{AppState, HttpConfig, app};
use eliza_runtime::{Environment, RegistryConfig};
use eliza_store::{DieselStore, StoreOptions};
use futures_util::Stream;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tempfile::TempDir;

/// The loopback peer every request comes from unless it names another.
pub const LOOPBACK_PEER: &str = "127.0.0.1:40000";
/// The API token of [`TestApp::with_token`].
pub const TOKEN: &str = "s3cret";
/// Both ways a client presents [`TOKEN`].
pub const KEY_HEADERS: [(&str, &str); 2] =
    [("x-api-key", TOKEN), ("authorization", "Bearer s3cret")];

pub struct TestApp {
    pub state: AppState,
    pub dir: TempDir,
    /// Declared last: dropped after the store, so the pool is closed before its schema goes away.
    _database: DatabaseGuard,
}

/// A store on a fresh database, and `config` with its directories moved into a temp dir.
async fn fresh_store(mut config: HttpConfig) -> (DieselStore, HttpConfig, TempDir, DatabaseGuard) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, database) = database_url(dir.path());
    let store = DieselStore::connect(&url, StoreOptions::default())
        .await
        .expect("store");
    if config.env_dir == std::path::Path::new(".") {
        config.env_dir = dir.path().to_path_buf();
    }
    in_temp_dir(&mut config.media, dir.path());
    (store, config, dir, database)
}

/// Media directories left at their defaults (under `./.eliza`) move into the test's temp dir.
fn in_temp_dir(media: &mut MediaConfig, dir: &std::path::Path) {
    let defaults = MediaConfig::default();
    let moved = MediaConfig::under(dir);
    if media.uploads_agents == defaults.uploads_agents {
        media.uploads_agents = moved.uploads_agents;
    }
    if media.uploads_channels == defaults.uploads_channels {
        media.uploads_channels = moved.uploads_channels;
    }
    if media.generated == defaults.generated {
        media.generated = moved.generated;
    }
}

/// A response: status, headers and the body as JSON (`Null` when empty, `String` when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    /// The raw body (binary answers: files, audio).
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// 401 in family D: the API key is missing or wrong.
    pub fn assert_unauthorized(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{:?}", self.json);
        assert_eq!(
            self.json,
            serde_json::json!({"error": "API key required", "message": "Missing or invalid X-API-KEY header"})
        );
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(HttpConfig::default()).await
    }

    pub async fn with_config(config: HttpConfig) -> TestApp {
        Self::with_ports(
            config,
            Arc::new(InProcessBus::new()),
            Arc::new(AgentInboxes::new()),
        )
        .await
    }

    /// An app on this bus and agent dispatch (a test responder's inboxes, a bus to watch).
    pub async fn with_ports(
        config: HttpConfig,
        bus: Arc<dyn Bus>,
        dispatch: Arc<dyn AgentDispatch>,
    ) -> TestApp {
        let (store, config, dir, database) = fresh_store(config).await;
        let state = AppState::with_ports(
            Arc::new(store),
            Arc::new(StatusRegistry::default()),
            config,
            LogBuffer::new(1000),
            bus,
            dispatch,
        );
        TestApp {
            state,
            dir,
            _database: database,
        }
    }

    /// A cluster node on `hub` (an in-memory backplane) over its own fresh database.
    pub async fn clustered(hub: &MemoryHub, node: NodeId) -> TestApp {
        let (store, config, dir, database) = fresh_store(HttpConfig::default()).await;
        let store = Arc::new(store);
        let (backplane, incoming) = hub.join(node);
        let setup = ClusterSetup {
            node,
            backplane: Arc::new(backplane),
            incoming,
            leases: store.clone(),
            records: store.clone(),
            config: ClusterConfig::default(),
        };
        let state = AppState::with_cluster(
            store,
            config,
            LogBuffer::new(1000),
            Arc::new(StatusRegistry::default()),
            AgentInboxes::new(),
            setup,
        );
        TestApp {
            state,
            dir,
            _database: database,
        }
    }

    /// An app whose agents really run: the agent runtime, with `env` as the server environment
    /// (model provider settings, say).
    /// Without a model configured, agents get the local models: from the shared test cache
    /// (`eliza_models::testing::test_models_dir`), never fetched by the app itself.
    pub async fn with_runtime(env: &[(&str, &str)]) -> TestApp {
        let mut env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        env.entry("ELIZA_MODELS_DIR".into()).or_insert_with(|| {
            eliza_models::testing::test_models_dir()
                .to_string_lossy()
                .into_owned()
        });
        env.entry("ELIZA_MODELS_AUTO_FETCH".into())
            .or_insert_with(|| "false".into());
        let secret_salt = HttpConfig::default().secret_salt;
        Self::with_runtime_config(RegistryConfig::new(Environment::new(env), &secret_salt)).await
    }

    /// An app whose agents really run with this registry configuration (extra plugins in its
    /// catalog, say). Its salt should be the default `HttpConfig::secret_salt`.
    pub async fn with_runtime_config(runtime: RegistryConfig) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, database) = database_url(dir.path());
        let store = DieselStore::connect(&url, StoreOptions::default())
            .await
            .expect("store");
        let config = HttpConfig {
            env_dir: dir.path().to_path_buf(),
            media: MediaConfig::under(dir.path()),
            ..HttpConfig::default()
        };
        let state = AppState::with_runtime(Arc::new(store), config, LogBuffer::new(1000), runtime);
        TestApp {
            state,
            dir,
            _database: database,
        }
    }

    /// An app whose `/api/*` and `/metrics` need [`TOKEN`].
    pub async fn with_token() -> TestApp {
        Self::with_config(HttpConfig {
            auth_token: Some(TOKEN.into()),
            ..HttpConfig::default()
        })
        .await
    }

    /// Stores and starts an agent (without HTTP), so the health and status routes see it running.
    pub async fn start_agent(&self, name: &str) -> Agent {
        let character = Character::from_json(&serde_json::json!({"name": name, "bio": "test"}))
            .expect("character");
        let agent = Agent::new(character, chrono::Utc::now());
        self.state
            .store
            .create_agent(&agent)
            .await
            .expect("create agent");
        self.state.agents.start(&agent).await.expect("start agent");
        agent
    }

    /// A GET of `path` with `header` set (one of [`KEY_HEADERS`], say).
    pub async fn get_with(&self, path: &str, header: (&str, &str)) -> Reply {
        self.call(TestRequest::get().uri(path).insert_header(header))
            .await
    }

    pub async fn call(&self, req: TestRequest) -> Reply {
        self.send(req.to_request()).await
    }

    /// `req` with `body` as its payload, streamed chunk by chunk as the stream yields them (a
    /// stream that stalls stalls the upload).
    pub async fn call_streaming(
        &self,
        req: TestRequest,
        body: impl Stream<Item = Result<Bytes, PayloadError>> + 'static,
    ) -> Reply {
        let mut req = req.to_request();
        *req.payload() =
            Payload::from(Box::pin(body)
                as std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>);
        self.send(req).await
    }

    async fn send(&self, mut req: actix_http::Request) -> Reply {
        let service = test::init_service(app(self.state.clone())).await;
        if req.peer_addr().is_none() {
            let peer: SocketAddr = LOOPBACK_PEER.parse().expect("peer");
            req.head_mut().peer_addr = Some(peer);
        }
        let res = test::call_service(&service, req).await;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            json,
            body: bytes,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(TestRequest::get().uri(path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(TestRequest::post().uri(path).set_json(body))
            .await
    }

    /// Creates an agent from `character` (`POST /api/agents` with `characterJson`) and starts
    /// it; returns its id.
    pub async fn started_agent(&self, character: Value) -> String {
        let created = self
            .post(
                "/api/agents",
                serde_json::json!({ "characterJson": character }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
        let id = created.json["data"]["id"]
            .as_str()
            .expect("agent id")
            .to_owned();
        let started = self
            .post(&format!("/api/agents/{id}/start"), serde_json::json!({}))
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.json);
        id
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(TestRequest::patch().uri(path).set_json(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(TestRequest::delete().uri(path)).await
    }
}
