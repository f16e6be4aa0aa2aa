//! Several server processes behind one load balancer, on one PostgreSQL database.
//!
//! - [`ClusterBus`] fans bus events out to every node over a [`Backplane`] (PostgreSQL
//!   `LISTEN/NOTIFY` carrying ids only, or NATS carrying whole events).
//! - [`ClusteredAgents`] runs each agent on exactly one node, the holder of its lease, routes
//!   work to that node through a durable queue and takes agents over from dead nodes.
//! - [`FencedOutbox`] keeps a node that lost an agent's lease from answering for it.
//!
//! [`receive`] is the loop that applies what other nodes send.

mod agents;
mod backplane;
mod bus;
mod fence;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "postgres")]
pub mod postgres;
mod wire;

pub use agents::{ClusterConfig, ClusterParts, ClusteredAgents};
pub use backplane::{Backplane, INCOMING_CAPACITY, Incoming, MemoryBackplane, MemoryHub, Subject};
pub use bus::ClusterBus;
pub use fence::FencedOutbox;
pub use wire::{Body, Command, Envelope, EventSource, WireEvent, resolve, wire_event};

use crate::bus::Bus;
use eliza_domain::cluster::NodeId;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Applies what other nodes send until the backplane goes away: their events are republished on
/// this node's bus, their commands handed to `agents`, and a reconnection makes every local
/// subscriber resync.
pub async fn receive(
    mut incoming: mpsc::Receiver<Incoming>,
    node: NodeId,
    bus: ClusterBus,
    source: Arc<dyn EventSource>,
    agents: Option<Arc<ClusteredAgents>>,
) {
    while let Some(item) = incoming.recv().await {
        let text = match item {
            Incoming::Payload(text) => text,
            Incoming::Reconnected => {
                tracing::info!(
                    backplane = bus.backplane().name(),
                    "backplane reconnected; resyncing"
                );
                bus.local().resync_all();
                if let Some(agents) = &agents {
                    let agents = Arc::clone(agents);
                    tokio::spawn(async move { agents.resync().await });
                }
                continue;
            }
        };
        let envelope = match Envelope::decode(&text) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::warn!(%err, "unreadable backplane payload ignored");
                continue;
            }
        };
        if envelope.from == node {
            continue;
        }
        match envelope.body {
            Body::Event { event } => {
                // In order, one at a time: events of a channel must not overtake each other.
                if let Some(event) = resolve(event, source.as_ref()).await {
                    bus.local().publish(event);
                }
            }
            body => {
                if let Some(agents) = &agents {
                    let agents = Arc::clone(agents);
                    tokio::spawn(async move { agents.handle(body).await });
                }
            }
        }
    }
}
