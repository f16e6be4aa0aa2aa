//! The transport between nodes: one broadcast subject every node hears, and one subject per node
//! for commands addressed to it. PostgreSQL `LISTEN/NOTIFY` and NATS implement it; [`MemoryHub`]
//! connects nodes inside one process, for tests.

use eliza_domain::cluster::NodeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// Where a payload goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// Every node (bus events, lease changes).
    Events,
    /// One node (commands for the agents it owns).
    Node(NodeId),
}

/// What a node hears from the backplane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Payload(String),
    /// The link came back after a loss: anything sent meanwhile is gone, so resync.
    Reconnected,
}

/// How many incoming payloads may wait for the node before the backplane drops them.
pub const INCOMING_CAPACITY: usize = 4096;

/// A cross-node transport. Sending never waits: delivery is at most once, like the bus.
pub trait Backplane: Send + Sync + 'static {
    /// `"postgres"`, `"nats"` or `"memory"`.
    fn name(&self) -> &'static str;
    /// Whether payloads must stay small (PostgreSQL NOTIFY): events then carry ids only and
    /// receivers read the rows.
    fn ids_only(&self) -> bool;
    fn send(&self, subject: Subject, payload: String);
    /// Whether the link is up now (for health).
    fn connected(&self) -> bool;
}

type Listeners = HashMap<NodeId, mpsc::Sender<Incoming>>;

/// Nodes in one process, connected through memory (tests of the cluster logic).
#[derive(Clone, Default)]
pub struct MemoryHub {
    listeners: Arc<Mutex<Listeners>>,
}

impl MemoryHub {
    /// Joins `node` to the hub: its backplane and what it will hear.
    pub fn join(&self, node: NodeId) -> (MemoryBackplane, mpsc::Receiver<Incoming>) {
        let (sender, receiver) = mpsc::channel(INCOMING_CAPACITY);
        self.with_listeners(|listeners| listeners.insert(node, sender));
        let backplane = MemoryBackplane {
            hub: self.clone(),
            node,
        };
        (backplane, receiver)
    }

    /// Takes `node` off the hub, as if its process died.
    pub fn leave(&self, node: NodeId) {
        self.with_listeners(|listeners| listeners.remove(&node));
    }

    fn with_listeners<T>(&self, f: impl FnOnce(&mut Listeners) -> T) -> T {
        f(&mut self
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }
}

/// One node's side of a [`MemoryHub`].
pub struct MemoryBackplane {
    hub: MemoryHub,
    node: NodeId,
}

impl Backplane for MemoryBackplane {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn ids_only(&self) -> bool {
        false
    }

    fn send(&self, subject: Subject, payload: String) {
        let targets: Vec<mpsc::Sender<Incoming>> = self.hub.with_listeners(|listeners| {
            listeners
                .iter()
                .filter(|(node, _)| subject == Subject::Events || subject == Subject::Node(**node))
                .map(|(_, sender)| sender.clone())
                .collect()
        });
        for target in targets {
            target.try_send(Incoming::Payload(payload.clone())).ok();
        }
    }

    fn connected(&self) -> bool {
        self.hub
            .with_listeners(|listeners| listeners.contains_key(&self.node))
    }
}
