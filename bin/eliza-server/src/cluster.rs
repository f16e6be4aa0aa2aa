//! `--bus`: whether this process is one node of a cluster, and on which backplane.

use crate::config::Cli;
use eliza_bus::cluster::{Backplane, ClusterConfig, Incoming};
use eliza_domain::cluster::{ClusterStore, NodeId};
use eliza_http::cluster::ClusterSetup;
use eliza_store::DieselStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The backplane `--bus` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    InProcess,
    Postgres,
    Nats(String),
}

impl BusChoice {
    /// Reads `--bus` for a server on `database_url`.
    pub fn from_flag(flag: &str, database_url: &str) -> Result<Self, String> {
        let on_postgres = is_postgres(database_url);
        let choice = match flag.trim() {
            "auto" if on_postgres => BusChoice::Postgres,
            "auto" | "in-process" | "memory" => BusChoice::InProcess,
            "postgres" | "postgresql" => BusChoice::Postgres,
            url if url.starts_with("nats://") || url.starts_with("tls://") => {
                BusChoice::Nats(url.to_owned())
            }
            other => {
                return Err(format!(
                    "--bus {other:?}: expected auto, in-process, postgres or a nats:// URL"
                ));
            }
        };
        if choice != BusChoice::InProcess && !on_postgres {
            return Err(format!(
                "--bus {flag}: a cluster needs a shared PostgreSQL database (DATABASE_URL or POSTGRES_URL), not SQLite"
            ));
        }
        Ok(choice)
    }

    pub fn describe(&self) -> String {
        match self {
            BusChoice::InProcess => "in-process (single node)".to_owned(),
            BusChoice::Postgres => "PostgreSQL LISTEN/NOTIFY (cluster node)".to_owned(),
            BusChoice::Nats(url) => format!("NATS at {url} (cluster node)"),
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Connects the backplane; `None` on a single node.
pub async fn setup(
    choice: &BusChoice,
    cli: &Cli,
    database_url: &str,
    store: Arc<DieselStore>,
) -> Result<Option<ClusterSetup>, String> {
    let node = NodeId::new_random();
    let (backplane, incoming): (Arc<dyn Backplane>, mpsc::Receiver<Incoming>) = match choice {
        BusChoice::InProcess => return Ok(None),
        BusChoice::Postgres => connect_postgres(database_url, node).await?,
        BusChoice::Nats(url) => {
            let (backplane, incoming) =
                eliza_bus::cluster::nats::NatsBackplane::connect(url, &cli.bus_prefix, node)
                    .await?;
            (Arc::new(backplane), incoming)
        }
    };
    tracing::info!(%node, backplane = backplane.name(), "joined the cluster");
    Ok(Some(ClusterSetup {
        node,
        backplane,
        incoming,
        leases: Arc::clone(&store) as Arc<dyn ClusterStore>,
        records: store,
        config: ClusterConfig::with_lease_ttl(Duration::from_millis(cli.lease_ttl_ms)),
    }))
}

#[cfg(feature = "postgres")]
async fn connect_postgres(
    url: &str,
    node: NodeId,
) -> Result<(Arc<dyn Backplane>, mpsc::Receiver<Incoming>), String> {
    let (backplane, incoming) =
        eliza_bus::cluster::postgres::PgBackplane::connect(url, node).await?;
    Ok((Arc::new(backplane), incoming))
}

#[cfg(not(feature = "postgres"))]
async fn connect_postgres(
    _url: &str,
    _node: NodeId,
) -> Result<(Arc<dyn Backplane>, mpsc::Receiver<Incoming>), String> {
    Err("this eliza-server was built without PostgreSQL support".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = "postgres://localhost/eliza";
    const SQLITE: &str = "sqlite://./.eliza/eliza.db";

    #[test]
    fn auto_clusters_on_postgres_only() {
        assert_eq!(BusChoice::from_flag("auto", PG), Ok(BusChoice::Postgres));
        assert_eq!(
            BusChoice::from_flag("auto", SQLITE),
            Ok(BusChoice::InProcess)
        );
        assert_eq!(
            BusChoice::from_flag("in-process", PG),
            Ok(BusChoice::InProcess)
        );
        assert_eq!(
            BusChoice::from_flag("nats://127.0.0.1:4222", PG),
            Ok(BusChoice::Nats("nats://127.0.0.1:4222".to_owned()))
        );
    }

    #[test]
    fn a_lease_shorter_than_the_renewal_can_keep_is_refused() {
        use clap::Parser;
        let parse = |ttl: &str| Cli::try_parse_from(["eliza-server", "--lease-ttl-ms", ttl]);
        let Err(err) = parse("10") else {
            panic!("a 10 ms lease was accepted");
        };
        let err = err.to_string();
        assert!(err.contains("--lease-ttl-ms"), "{err}");
        assert_eq!(parse("300").map(|cli| cli.lease_ttl_ms).ok(), Some(300));
    }

    #[test]
    fn an_advertised_url_must_be_an_http_url_with_a_host() {
        use clap::Parser;
        let parse = |url: &str| Cli::try_parse_from(["eliza-server", "--advertise-url", url]);
        for bad in ["10.0.0.5:3000", "ftp://10.0.0.5", "http://", "nonsense"] {
            let Err(err) = parse(bad) else {
                panic!("{bad} was accepted");
            };
            assert!(err.to_string().contains("--advertise-url"), "{err}");
        }
        let good = parse("http://10.0.0.5:3000/").unwrap().advertise_url;
        assert_eq!(good.as_deref(), Some("http://10.0.0.5:3000"));
    }

    #[test]
    fn a_cluster_bus_on_sqlite_or_an_unknown_bus_is_refused() {
        let on_sqlite = BusChoice::from_flag("postgres", SQLITE).unwrap_err();
        assert!(on_sqlite.contains("shared PostgreSQL"), "{on_sqlite}");
        assert!(BusChoice::from_flag("nats://x:4222", SQLITE).is_err());
        let unknown = BusChoice::from_flag("redis://x", PG).unwrap_err();
        assert!(unknown.contains("expected auto"), "{unknown}");
    }
}
