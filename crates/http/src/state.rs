//! Shared application state and configuration, built once by the binary (or a test) and handed to [`crate::app`].

use crate::jobs::JobRegistry;
use crate::logs::LogBuffer;
use crate::media::MediaConfig;
use crate::messaging::Messaging;
use crate::metrics::Metrics;
use crate::rate_limit::{RateLimitConfig, RateLimiters};
use crate::realtime::{self, RealtimeContext};
use crate::sessions::{SessionConfig, SessionRegistry};
use eliza_bus::{AgentDispatch, AgentInboxes, Bus, InProcessBus};
use eliza_domain::AgentId;
use eliza_domain::lifecycle::AgentLifecycle;
use eliza_domain::secrets::{DEFAULT_SECRET_SALT, SecretCipher};
use eliza_domain::store::Store;
use eliza_runtime::{AgentRegistry, AgentRuntime, RegistryConfig};
use eliza_socketio::{SocketIo, SocketIoConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Which origins CORS answers for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// Reflect the request's `Origin` (1.7.2 default, `origin: true`).
    #[default]
    Reflect,
    /// Only these origins (`CORS_ORIGIN`, comma-separated).
    List(Vec<String>),
}

/// HTTP-layer settings (the binary fills them from flags and elizaOS environment variables).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `ELIZA_SERVER_AUTH_TOKEN`: required on `/api/*` (and `/metrics`) when set.
    pub auth_token: Option<String>,
    pub cors_origins: CorsOrigins,
    /// `EXPRESS_MAX_PAYLOAD`, 2 MB by default.
    pub max_json_bytes: usize,
    pub rate_limits: RateLimitConfig,
    /// `ENABLE_DATA_ISOLATION`.
    pub data_isolation: bool,
    /// `APP_VERSION`, reported by the health routes.
    pub app_version: Option<String>,
    /// Where the search for the nearest `.env` starts (`/api/system/env/local`).
    pub env_dir: PathBuf,
    /// `SECRET_SALT`.
    pub secret_salt: String,
    /// How long the `http` and `sse` message transports wait for an agent's reply.
    pub reply_timeout: Duration,
    /// `/api/messaging/sessions` timeouts.
    pub sessions: SessionConfig,
    /// Engine.IO heartbeat, payload and queue limits of `/socket.io/`.
    pub socket_io: SocketIoConfig,
    /// `SERVER_API_KEY`: the key 1.7.2 asks of sockets (`auth.apiKey` or `x-api-key`).
    pub socket_api_key: Option<String>,
    /// Upload and generated-file directories, upload limits.
    pub media: MediaConfig,
    /// The web UI served at `/`.
    pub ui: crate::ui::WebUi,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            auth_token: None,
            cors_origins: CorsOrigins::Reflect,
            max_json_bytes: 2 * 1024 * 1024,
            rate_limits: RateLimitConfig::default(),
            data_isolation: false,
            app_version: None,
            env_dir: PathBuf::from("."),
            secret_salt: DEFAULT_SECRET_SALT.to_owned(),
            reply_timeout: Duration::from_secs(60),
            sessions: SessionConfig::default(),
            socket_io: SocketIoConfig::default(),
            socket_api_key: None,
            media: MediaConfig::default(),
            ui: crate::ui::WebUi::default(),
        }
    }
}

/// Lets a route (`POST /api/server/stop`) ask the binary to shut down gracefully.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<Notify>);

impl Shutdown {
    pub fn request(&self) {
        self.0.notify_one();
    }

    /// Resolves once a shutdown was requested (also when it was requested before the call).
    pub async fn requested(&self) {
        self.0.notified().await;
    }
}

/// Everything handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub agents: Arc<dyn AgentLifecycle>,
    /// Store + bus + agent dispatch, shared by every way a message comes in.
    pub messaging: Messaging,
    /// Live messaging sessions (in memory, as in 1.7.2).
    pub sessions: Arc<SessionRegistry>,
    /// Jobs (in memory, as in 1.7.2).
    pub jobs: Arc<JobRegistry>,
    /// `/socket.io/`: the elizaOS realtime events.
    pub socket_io: SocketIo,
    pub config: Arc<HttpConfig>,
    pub cipher: SecretCipher,
    pub logs: LogBuffer,
    pub metrics: Metrics,
    pub limiters: RateLimiters,
    pub shutdown: Shutdown,
    pub started: Instant,
    /// The agent runtimes, when agents really run (`None` when only their status is tracked).
    pub runtimes: Option<Arc<AgentRegistry>>,
    /// This node's place in a cluster (`None` on a single node).
    pub cluster: Option<crate::cluster::ClusterHandle>,
}

impl AppState {
    /// The agent's runtime, when it runs on this node with a real runtime.
    pub fn runtime(&self, agent: AgentId) -> Option<Arc<AgentRuntime>> {
        self.runtimes.as_ref()?.runtime(agent)
    }

    /// The state with an in-process bus and agent inboxes.
    pub fn new(
        store: Arc<dyn Store>,
        agents: Arc<dyn AgentLifecycle>,
        config: HttpConfig,
        logs: LogBuffer,
    ) -> Self {
        Self::with_ports(
            store,
            agents,
            config,
            logs,
            Arc::new(InProcessBus::new()),
            Arc::new(AgentInboxes::new()),
        )
    }

    /// The state with this bus and agent dispatch (the runtime's, a cross-node bus, a test
    /// responder's); the messaging service and the socket server are built once, on them.
    pub fn with_ports(
        store: Arc<dyn Store>,
        agents: Arc<dyn AgentLifecycle>,
        config: HttpConfig,
        logs: LogBuffer,
        bus: Arc<dyn Bus>,
        dispatch: Arc<dyn AgentDispatch>,
    ) -> Self {
        let config = Arc::new(config);
        let messaging = Messaging::new(Arc::clone(&store), bus, dispatch);
        let socket_io = realtime::socket_io(RealtimeContext {
            store: Arc::clone(&store),
            agents: Arc::clone(&agents),
            messaging: messaging.clone(),
            config: Arc::clone(&config),
            logs: logs.clone(),
        });
        AppState {
            messaging,
            sessions: Arc::new(SessionRegistry::new(&config.sessions)),
            jobs: Arc::new(JobRegistry::default()),
            socket_io,
            store,
            agents,
            cipher: SecretCipher::new(&config.secret_salt),
            limiters: RateLimiters::new(&config.rate_limits),
            config,
            logs,
            metrics: Metrics::global(),
            shutdown: Shutdown::default(),
            started: Instant::now(),
            runtimes: None,
            cluster: None,
        }
    }

    /// The state with real agents: an [`AgentRegistry`] built from `runtime` is the lifecycle,
    /// its inboxes the dispatch port, and the messaging service its outbox, so replies are
    /// stored and broadcast like every other message.
    pub fn with_runtime(
        store: Arc<dyn Store>,
        config: HttpConfig,
        logs: LogBuffer,
        runtime: RegistryConfig,
    ) -> Self {
        Self::with_runtime_on(store, config, logs, runtime, None)
    }

    /// The state with this node's own agents (`local`, fed through `inboxes`): on a single node
    /// (`cluster: None`, an in-process bus) or as one node of a cluster. Hand the agents
    /// [`AppState::agent_outbox`] afterwards.
    pub fn with_local_agents(
        store: Arc<dyn Store>,
        config: HttpConfig,
        logs: LogBuffer,
        local: Arc<dyn AgentLifecycle>,
        inboxes: AgentInboxes,
        cluster: Option<crate::cluster::ClusterSetup>,
    ) -> Self {
        match cluster {
            Some(setup) => Self::with_cluster(store, config, logs, local, inboxes, setup),
            None => Self::with_ports(
                store,
                local,
                config,
                logs,
                Arc::new(InProcessBus::new()),
                Arc::new(inboxes),
            ),
        }
    }

    /// [`AppState::with_runtime`] on a single node (`cluster: None`) or as one node of a cluster.
    pub fn with_runtime_on(
        store: Arc<dyn Store>,
        config: HttpConfig,
        logs: LogBuffer,
        runtime: RegistryConfig,
        cluster: Option<crate::cluster::ClusterSetup>,
    ) -> Self {
        let inboxes = AgentInboxes::new();
        let registry = Arc::new(AgentRegistry::new(
            Arc::clone(&store),
            inboxes.clone(),
            runtime,
        ));
        let mut state =
            Self::with_local_agents(store, config, logs, registry.clone(), inboxes, cluster);
        registry.set_outbox(state.agent_outbox());
        state.runtimes = Some(registry);
        state
    }
}
