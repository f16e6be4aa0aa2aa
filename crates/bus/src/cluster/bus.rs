//! [`ClusterBus`]: the bus of one node of a cluster. Local subscribers are served by an
//! [`InProcessBus`]; every event is also sent over the backplane, and events from other nodes
//! are republished locally (see [`super::receive`]).

use super::backplane::{Backplane, Subject};
use super::wire::{Body, Envelope, MAX_IDS_ONLY_PAYLOAD, wire_event};
use crate::bus::{Bus, InProcessBus, Subscription, Topic};
use crate::event::BusEvent;
use eliza_domain::cluster::NodeId;
use std::sync::Arc;

#[derive(Clone)]
pub struct ClusterBus {
    node: NodeId,
    local: InProcessBus,
    backplane: Arc<dyn Backplane>,
}

impl ClusterBus {
    pub fn new(node: NodeId, backplane: Arc<dyn Backplane>) -> Self {
        ClusterBus {
            node,
            local: InProcessBus::new(),
            backplane,
        }
    }

    /// The local side, where events from other nodes are republished.
    pub fn local(&self) -> &InProcessBus {
        &self.local
    }

    pub fn backplane(&self) -> &Arc<dyn Backplane> {
        &self.backplane
    }

    fn send(&self, event: &BusEvent) {
        let ids_only = self.backplane.ids_only();
        let Some(wire) = wire_event(event, ids_only) else {
            return;
        };
        let payload = Envelope {
            from: self.node,
            body: Body::Event { event: wire },
        }
        .encode();
        if ids_only && payload.len() > MAX_IDS_ONLY_PAYLOAD {
            tracing::warn!(
                bytes = payload.len(),
                topic = ?event.topic(),
                "bus event too large for the backplane; other nodes will not see it"
            );
            return;
        }
        self.backplane.send(Subject::Events, payload);
    }
}

impl Bus for ClusterBus {
    fn publish(&self, event: BusEvent) -> usize {
        self.send(&event);
        self.local.publish(event)
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        self.local.subscribe(topic)
    }

    fn topic_count(&self) -> usize {
        self.local.topic_count()
    }
}
