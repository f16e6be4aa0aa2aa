//! eliza-server: flags and environment, tracing, store, HTTP server, graceful shutdown.

mod cluster;
mod config;
mod default_character;
#[cfg(feature = "echo-agents")]
mod echo;
mod limits;
mod models;
mod ui;

use actix_web::HttpServer;
use clap::Parser;
use cluster::BusChoice;
use config::{Cli, Command, UiCommand, http_config_from_env};
use eliza_domain::store::{MemoryStore, Store};
use eliza_http::character_source::characters_from_path;
use eliza_http::cluster::ClusterSetup;
use eliza_http::logs::LogBuffer;
use eliza_http::{AppState, HttpConfig, agent_ops, app};
use eliza_runtime::{Environment, RegistryConfig};
use eliza_store::{DieselStore, StoreOptions};
use std::io::ErrorKind;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

fn main() -> ExitCode {
    let started = Instant::now();
    // A missing .env is normal; a broken one is reported once tracing is up.
    let dotenv = dotenvy::dotenv();
    let cli = Cli::parse();
    models::set_inference_threads(cli.local_threads);
    let logs = LogBuffer::default();
    init_tracing(&cli.log_level, &logs);
    if let Err(err) = dotenv
        && !err.not_found()
    {
        tracing::warn!(%err, "could not read .env");
    }
    let outcome = match &cli.command {
        Some(Command::Models(command)) => {
            actix_web::rt::System::new().block_on(models::run(&cli, command))
        }
        Some(Command::Ui(UiCommand::Fetch { tarball })) => ui::run_fetch(&cli, tarball.as_deref()),
        None => actix_web::rt::System::new().block_on(serve(cli, logs, started)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("eliza-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(level: &str, logs: &LogBuffer) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = config::env_var("LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(logs.layer());
    if json {
        registry.with(fmt::layer().json()).init();
    } else {
        registry.with(fmt::layer()).init();
    }
}

async fn serve(cli: Cli, logs: LogBuffer, started: Instant) -> Result<(), String> {
    let mut config = http_config_from_env(&cli.data_dir)?;
    config.ui = ui::web_ui(&cli);
    std::fs::create_dir_all(&cli.data_dir).map_err(|err| {
        format!(
            "cannot create the data directory {}: {err}",
            cli.data_dir.display()
        )
    })?;
    let database_url = cli.database_url();
    let bus = BusChoice::from_flag(&cli.bus, &database_url)?;
    let store = Arc::new(
        DieselStore::connect(&database_url, StoreOptions::default())
            .await
            .map_err(|err| format!("cannot open the database: {err}"))?,
    );
    let cluster = cluster::setup(&bus, &cli, &database_url, store.clone()).await?;
    tracing::info!(bus = bus.describe(), "message bus");
    tracing::info!(path = store.vector_search_path(), "vector search");
    let state = app_state(store, config, logs, &cli, cluster);
    agent_ops::ensure_default_server(state.store.as_ref())
        .await
        .map_err(|err| format!("cannot prepare the database: {err}"))?;
    start_characters(&state, &cli).await?;
    ui::fetch_on_first_run(&cli);
    // Expired messaging sessions are also dropped on access; this keeps idle memory flat.
    actix_web::rt::spawn(eliza_http::sessions::run_cleanup(Arc::clone(
        &state.sessions,
    )));

    let factory_state = state.clone();
    let server = HttpServer::new(move || app(factory_state.clone()))
        // Socket.IO pushes are small writes in quick succession: with Nagle on, the second waits
        // for the client's delayed ACK (40 ms on Linux). Node's servers also turn it off.
        .tcp_nodelay(true)
        .shutdown_timeout(30)
        .disable_signals()
        .bind((cli.host.as_str(), cli.port))
        .map_err(|err| bind_error(&cli, &err))?;
    // The bound port, which differs from the flag with `--port 0`.
    let port = server.addrs().first().map_or(cli.port, |addr| addr.port());
    let server = server.run();
    // Registered before the start-up line, so a signal sent as soon as it appears is handled.
    let mut signals = ShutdownSignals::register()
        .map_err(|err| format!("cannot install signal handlers: {err}"))?;
    let url = format!("http://{}:{port}", display_host(&cli.host));
    println!(
        "eliza-server listening on {url} (started in {} ms)",
        started.elapsed().as_millis()
    );
    tracing::info!(%url, "listening");
    advertise(&state, &cli, &url).await;

    let handle = server.handle();
    let shutdown = state.shutdown.clone();
    actix_web::rt::spawn(async move {
        tokio::select! {
            () = shutdown.requested() => tracing::info!("shutdown requested over HTTP"),
            signal = signals.recv() => tracing::info!(signal, "shutdown signal received"),
        }
        handle.stop(true).await;
    });
    server.await.map_err(|err| format!("server error: {err}"))?;
    state.stop_agents().await;
    tracing::info!("stopped");
    Ok(())
}

/// The shared state with the agent runtime (or, in a binary built with `echo-agents` and run
/// with `ELIZA_ECHO_AGENTS=1`, agents that answer with an echo).
fn app_state(
    store: Arc<dyn Store>,
    config: HttpConfig,
    logs: LogBuffer,
    cli: &Cli,
    cluster: Option<ClusterSetup>,
) -> AppState {
    #[cfg(feature = "echo-agents")]
    if echo::requested() {
        return echo::app_state(store, config, logs, cluster);
    }
    let env = Environment::from_process()
        .with_default("ELIZA_MODELS_DIR", cli.models_dir().to_string_lossy());
    let runtime = RegistryConfig::new(env, &config.secret_salt);
    AppState::with_runtime_on(store, config, logs, runtime, cluster)
}

/// `--character FILE…`: create or update each character, then start it. Without any, on a
/// database with no agents yet, the default character starts, so a first run has an agent to
/// talk to.
async fn start_characters(state: &AppState, cli: &Cli) -> Result<(), String> {
    if cli.characters.is_empty() && cli.default_agent {
        return start_default_character(state).await;
    }
    for path in &cli.characters {
        let characters = characters_from_path(&path.to_string_lossy())
            .await
            .map_err(|err| format!("--character {}: {err}", path.display()))?;
        for character in characters {
            let name = character.name.clone();
            let agent = agent_ops::upsert_and_start(state, character)
                .await
                .map_err(|err| format!("--character {}: {}", path.display(), err.message))?;
            tracing::info!(agent = %name, id = %agent.id, "agent started from --character");
        }
    }
    Ok(())
}

async fn start_default_character(state: &AppState) -> Result<(), String> {
    let agents = state
        .store
        .list_agents()
        .await
        .map_err(|err| format!("cannot list the agents: {err}"))?;
    if !agents.is_empty() {
        return Ok(());
    }
    let agent = agent_ops::upsert_and_start(state, default_character::eliza())
        .await
        .map_err(|err| format!("cannot start the default character: {}", err.message))?;
    tracing::info!(id = %agent.id, "no agents yet: started the default character Eliza");
    Ok(())
}

fn bind_error(cli: &Cli, err: &std::io::Error) -> String {
    match err.kind() {
        ErrorKind::AddrInUse => format!(
            "port {} on {} is already in use; stop the other process or choose another port with --port or SERVER_PORT",
            cli.port, cli.host
        ),
        ErrorKind::PermissionDenied => {
            format!("not allowed to bind {}:{} ({err})", cli.host, cli.port)
        }
        _ => format!("cannot listen on {}:{}: {err}", cli.host, cli.port),
    }
}

/// Records where the other cluster nodes reach this one (nothing on a single node).
async fn advertise(state: &AppState, cli: &Cli, listening: &str) {
    if state.cluster.is_none() {
        return;
    }
    let wildcard = matches!(cli.host.as_str(), "0.0.0.0" | "::" | "[::]");
    match cli.advertise_url.as_deref() {
        Some(url) => state.advertise(url).await,
        None if !wildcard => state.advertise(listening).await,
        None => tracing::warn!(
            "bound to a wildcard address without --advertise-url: other nodes cannot forward \
             requests for this node's agents (memory search, plugin routes) here"
        ),
    }
}

fn display_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// SIGINT and SIGTERM, registered eagerly.
struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    fn register() -> std::io::Result<Self> {
        Ok(ShutdownSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The name of the first signal that arrives.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
