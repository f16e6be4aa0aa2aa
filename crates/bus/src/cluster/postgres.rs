//! The PostgreSQL backplane: `LISTEN/NOTIFY` on a dedicated tokio-postgres connection (diesel has
//! no LISTEN). Payloads are small (ids only); NOTIFY is sent in its own autocommit statement after
//! the write it announces has committed, so a receiver always finds the row. A lost connection
//! is reopened with backoff and reported as [`Incoming::Reconnected`], since NOTIFY keeps nothing
//! for a listener that was away.

use super::backplane::{Backplane, INCOMING_CAPACITY, Incoming, Subject};
use eliza_domain::cluster::NodeId;
use futures_util::{StreamExt, stream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// How many outgoing payloads may wait for the connection before new ones are dropped.
const OUTGOING_CAPACITY: usize = 4096;
const EVENTS_CHANNEL: &str = "eliza_events";
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub struct PgBackplane {
    node_channel_prefix: &'static str,
    outgoing: mpsc::Sender<(String, String)>,
    connected: Arc<AtomicBool>,
}

fn node_channel(prefix: &str, node: NodeId) -> String {
    format!("{prefix}{}", node.simple())
}

impl PgBackplane {
    /// Connects (failing at once when the database cannot be reached, so a misconfigured node
    /// does not start) and keeps the connection up from then on.
    pub async fn connect(
        url: &str,
        node: NodeId,
    ) -> Result<(PgBackplane, mpsc::Receiver<Incoming>), String> {
        let (incoming, received) = mpsc::channel(INCOMING_CAPACITY);
        let (outgoing, to_send) = mpsc::channel(OUTGOING_CAPACITY);
        let connected = Arc::new(AtomicBool::new(false));
        let listen = format!(
            "LISTEN {EVENTS_CHANNEL}; LISTEN {}",
            node_channel("eliza_node_", node)
        );
        let first = open(url, &listen, &incoming)
            .await
            .map_err(|err| {
                format!(
                    "cannot open the LISTEN connection for the cluster bus: {err} (it does not use TLS; \
                     choose --bus nats://… or, for a single node, --bus in-process)"
                )
            })?;
        connected.store(true, Ordering::Relaxed);
        let link = Link {
            url: url.to_owned(),
            listen,
            incoming,
            connected: Arc::clone(&connected),
        };
        tokio::spawn(link.run(first, to_send));
        let backplane = PgBackplane {
            node_channel_prefix: "eliza_node_",
            outgoing,
            connected,
        };
        Ok((backplane, received))
    }
}

impl Backplane for PgBackplane {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn ids_only(&self) -> bool {
        true
    }

    fn send(&self, subject: Subject, payload: String) {
        let channel = match subject {
            Subject::Events => EVENTS_CHANNEL.to_owned(),
            Subject::Node(node) => node_channel(self.node_channel_prefix, node),
        };
        if self.outgoing.try_send((channel, payload)).is_err() {
            tracing::warn!("the NOTIFY queue is full; a cross-node message was dropped");
        }
    }

    fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

/// An open connection: the client sends NOTIFY, the task drives the socket and forwards
/// notifications; it ends when the connection does.
struct Open {
    client: Client,
    driver: tokio::task::JoinHandle<()>,
}

async fn open(
    url: &str,
    listen: &str,
    incoming: &mpsc::Sender<Incoming>,
) -> Result<Open, tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let incoming = incoming.clone();
    let driver = tokio::spawn(async move {
        let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    let payload = Incoming::Payload(notification.payload().to_owned());
                    if incoming.try_send(payload).is_err() {
                        tracing::warn!(
                            "this node is behind on cross-node messages; one was dropped"
                        );
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(%err, "the LISTEN connection failed");
                    break;
                }
            }
        }
    });
    client.batch_execute(listen).await?;
    Ok(Open { client, driver })
}

struct Link {
    url: String,
    listen: String,
    incoming: mpsc::Sender<Incoming>,
    connected: Arc<AtomicBool>,
}

impl Link {
    async fn run(self, first: Open, mut to_send: mpsc::Receiver<(String, String)>) {
        let mut current = Some(first);
        let mut backoff = Duration::from_millis(100);
        loop {
            let Some(open) = current.take() else {
                match self::open(&self.url, &self.listen, &self.incoming).await {
                    Ok(open) => {
                        tracing::info!("the LISTEN connection is back");
                        backoff = Duration::from_millis(100);
                        self.connected.store(true, Ordering::Relaxed);
                        self.incoming.send(Incoming::Reconnected).await.ok();
                        current = Some(open);
                    }
                    Err(err) => {
                        tracing::warn!(%err, retry_in = ?backoff, "cannot reopen the LISTEN connection");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
                continue;
            };
            if !Self::serve(open, &mut to_send).await {
                return;
            }
            self.connected.store(false, Ordering::Relaxed);
        }
    }

    /// Sends NOTIFYs until the connection fails (`true`: reconnect) or the backplane is gone.
    async fn serve(mut open: Open, to_send: &mut mpsc::Receiver<(String, String)>) -> bool {
        loop {
            tokio::select! {
                _ = &mut open.driver => return true,
                next = to_send.recv() => {
                    let Some((channel, payload)) = next else {
                        return false;
                    };
                    let sent = open
                        .client
                        .execute("SELECT pg_notify($1, $2)", &[&channel, &payload])
                        .await;
                    if let Err(err) = sent {
                        tracing::warn!(%err, "NOTIFY failed; reconnecting");
                        open.driver.abort();
                        return true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_database_fails_the_start_and_names_the_alternatives() {
        let connecting =
            PgBackplane::connect("postgres://eliza@127.0.0.1:1/eliza", NodeId::new_random());
        let outcome = tokio::time::timeout(Duration::from_secs(10), connecting)
            .await
            .expect("connect did not give up");
        let Err(err) = outcome else {
            panic!("connected to nothing");
        };
        assert!(err.contains("cannot open the LISTEN connection"), "{err}");
        assert!(err.contains("--bus nats://"), "{err}");
    }
}
