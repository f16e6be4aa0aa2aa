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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{Received, Topic};
    use crate::event::{BusEvent, BusMessage};
    use async_trait::async_trait;
    use eliza_domain::{ChannelId, MessageId};
    use serde_json::Value;
    use std::time::Duration;

    /// Whole events only: nothing to read.
    struct NoRows;

    #[async_trait]
    impl EventSource for NoRows {
        async fn message(&self, _: MessageId, _: bool) -> Option<BusMessage> {
            None
        }

        async fn channel(&self, _: ChannelId) -> Option<Value> {
            None
        }
    }

    fn node(hub: &MemoryHub) -> (ClusterBus, tokio::task::JoinHandle<()>) {
        let id = NodeId::new_random();
        let (backplane, incoming) = hub.join(id);
        let bus = ClusterBus::new(id, Arc::new(backplane));
        let receiver = tokio::spawn(receive(incoming, id, bus.clone(), Arc::new(NoRows), None));
        (bus, receiver)
    }

    async fn next(subscription: &mut crate::Subscription) -> Option<Received> {
        tokio::time::timeout(Duration::from_millis(200), subscription.recv())
            .await
            .ok()
            .flatten()
    }

    #[tokio::test]
    async fn an_event_published_on_one_node_reaches_the_others_once() {
        let hub = MemoryHub::default();
        let ((a, _), (b, _)) = (node(&hub), node(&hub));
        let channel = ChannelId::new_random();
        let mut on_a = a.subscribe(Topic::Channel(channel));
        let mut on_b = b.subscribe(Topic::Channel(channel));
        let event = BusEvent::ChannelCleared {
            channel_id: channel,
        };
        assert_eq!(a.publish(event.clone()), 1, "one local subscriber");
        let expected = Some(Received::Event(Arc::new(event)));
        assert_eq!(next(&mut on_b).await, expected);
        assert_eq!(next(&mut on_a).await, expected);
        assert_eq!(next(&mut on_a).await, None, "its own event came back");
        assert_eq!(next(&mut on_b).await, None);
        assert!(a.backplane().connected());
    }

    #[tokio::test]
    async fn a_reconnection_makes_every_local_subscriber_resync() {
        let id = NodeId::new_random();
        let (sender, incoming) = tokio::sync::mpsc::channel(4);
        let bus = ClusterBus::new(id, Arc::new(MemoryHub::default().join(id).0));
        let mut subscription = bus.subscribe(Topic::Global);
        tokio::spawn(receive(incoming, id, bus.clone(), Arc::new(NoRows), None));
        sender
            .send(Incoming::Payload("not json".to_owned()))
            .await
            .unwrap();
        sender.send(Incoming::Reconnected).await.unwrap();
        assert_eq!(
            next(&mut subscription).await,
            Some(Received::Resync { missed: 1 })
        );
    }
}
