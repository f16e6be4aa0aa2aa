//! The NATS backplane (`--bus nats://…`): core NATS subjects `<prefix>.events` and
//! `<prefix>.node.<id>`, whole events (no size limit worth the name, token chunks included).
//! async-nats reconnects by itself; each reconnection is reported as [`Incoming::Reconnected`].

use super::backplane::{Backplane, INCOMING_CAPACITY, Incoming, Subject};
use async_nats::{ConnectOptions, Event};
use eliza_domain::cluster::NodeId;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

const OUTGOING_CAPACITY: usize = 8192;

pub struct NatsBackplane {
    prefix: String,
    outgoing: mpsc::Sender<(String, String)>,
    connected: Arc<AtomicBool>,
}

impl NatsBackplane {
    /// Connects to `url`, failing at once when it cannot be reached (so a misconfigured node does
    /// not start); subjects start with `prefix` (one cluster per prefix on a shared server).
    /// Later losses of the link are retried by the client.
    pub async fn connect(
        url: &str,
        prefix: &str,
        node: NodeId,
    ) -> Result<(NatsBackplane, mpsc::Receiver<Incoming>), String> {
        let (incoming, received) = mpsc::channel(INCOMING_CAPACITY);
        let connected = Arc::new(AtomicBool::new(true));
        let on_event = {
            let incoming = incoming.clone();
            let connected = Arc::clone(&connected);
            move |event: Event| {
                let incoming = incoming.clone();
                let connected = Arc::clone(&connected);
                async move {
                    match event {
                        Event::Disconnected => connected.store(false, Ordering::Relaxed),
                        // Only a reconnection: the first connection is reported by connect().
                        Event::Connected if !connected.swap(true, Ordering::Relaxed) => {
                            incoming.send(Incoming::Reconnected).await.ok();
                        }
                        _ => {}
                    }
                }
            }
        };
        let client = ConnectOptions::new()
            .name(format!("eliza-server {node}"))
            .event_callback(on_event)
            .connect(url)
            .await
            .map_err(|err| format!("cannot connect to NATS at {url}: {err}"))?;
        let mut events = client
            .subscribe(format!("{prefix}.events"))
            .await
            .map_err(|err| format!("cannot subscribe on NATS: {err}"))?;
        let mut own = client
            .subscribe(format!("{prefix}.node.{}", node.simple()))
            .await
            .map_err(|err| format!("cannot subscribe on NATS: {err}"))?;
        client
            .flush()
            .await
            .map_err(|err| format!("cannot reach NATS at {url}: {err}"))?;
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    Some(message) = events.next() => message,
                    Some(message) = own.next() => message,
                    else => return,
                };
                match String::from_utf8(message.payload.to_vec()) {
                    Ok(text) => {
                        if incoming.try_send(Incoming::Payload(text)).is_err() {
                            tracing::warn!(
                                "this node is behind on cross-node messages; one was dropped"
                            );
                        }
                    }
                    Err(_) => tracing::warn!("a NATS payload that is not UTF-8 was ignored"),
                }
            }
        });
        let (outgoing, mut to_send) = mpsc::channel::<(String, String)>(OUTGOING_CAPACITY);
        tokio::spawn(async move {
            while let Some((subject, payload)) = to_send.recv().await {
                if let Err(err) = client.publish(subject, payload.into()).await {
                    tracing::warn!(%err, "a cross-node message was not published");
                }
            }
        });
        let backplane = NatsBackplane {
            prefix: prefix.to_owned(),
            outgoing,
            connected,
        };
        Ok((backplane, received))
    }
}

impl Backplane for NatsBackplane {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn ids_only(&self) -> bool {
        false
    }

    fn send(&self, subject: Subject, payload: String) {
        let subject = match subject {
            Subject::Events => format!("{}.events", self.prefix),
            Subject::Node(node) => format!("{}.node.{}", self.prefix, node.simple()),
        };
        if self.outgoing.try_send((subject, payload)).is_err() {
            tracing::warn!("the NATS publish queue is full; a cross-node message was dropped");
        }
    }

    fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn an_unreachable_server_fails_the_start_at_once() {
        let connecting =
            NatsBackplane::connect("nats://127.0.0.1:1", "eliza", NodeId::new_random());
        let outcome = tokio::time::timeout(Duration::from_secs(10), connecting)
            .await
            .expect("connect kept retrying instead of failing");
        let Err(err) = outcome else {
            panic!("connected to nothing");
        };
        assert!(
            err.contains("cannot connect to NATS at nats://127.0.0.1:1"),
            "{err}"
        );
    }
}
