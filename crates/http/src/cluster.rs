//! Cluster mode wiring: the state of one node among several on a shared PostgreSQL database, with
//! a [`ClusterBus`] for fan-out and [`ClusteredAgents`] for agent ownership (see
//! `eliza_bus::cluster`). The node reads what ids-only events name from its own store.

use crate::forward::Forwarder;
use crate::jobs::{DEFAULT_RETENTION_MS, JobRegistry, MAX_JOBS};
use crate::messaging::render::channel_json;
use crate::sessions::SessionRegistry;
use crate::state::AppState;
use async_trait::async_trait;
use eliza_bus::cluster::{
    Backplane, ClusterBus, ClusterConfig, ClusterParts, ClusteredAgents, EventSource, FencedOutbox,
    Incoming, receive,
};
use eliza_bus::{AgentInboxes, AgentOutbox, BusMessage};
use eliza_domain::cluster::{ClusterStore, NodeId};
use eliza_domain::lifecycle::AgentLifecycle;
use eliza_domain::records::RecordStore;
use eliza_domain::{ChannelId, MessageId, MessageServerId, Store};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// What a node needs to join a cluster.
pub struct ClusterSetup {
    pub node: NodeId,
    pub backplane: Arc<dyn Backplane>,
    /// What the backplane hears from the other nodes.
    pub incoming: mpsc::Receiver<Incoming>,
    pub leases: Arc<dyn ClusterStore>,
    /// Where the messaging API's sessions and jobs live, so that every node serves them.
    pub records: Arc<dyn RecordStore>,
    pub config: ClusterConfig,
}

/// The cluster side of a node's state.
#[derive(Clone)]
pub struct ClusterHandle {
    pub agents: Arc<ClusteredAgents>,
    pub backplane: Arc<dyn Backplane>,
    /// Sends requests that need an agent's runtime to the node that runs it.
    pub forwarder: Arc<Forwarder>,
}

impl ClusterHandle {
    pub fn node(&self) -> NodeId {
        self.agents.node()
    }
}

/// How many channels' servers [`StoreEvents`] remembers before it starts over.
const SERVER_CACHE_LIMIT: usize = 10_000;

/// Reads stored messages and channels for events that crossed the backplane as ids.
struct StoreEvents {
    store: Arc<dyn Store>,
    /// Each channel's server (it never changes), so a message costs one read, not two.
    servers: Mutex<HashMap<ChannelId, MessageServerId>>,
}

impl StoreEvents {
    fn new(store: Arc<dyn Store>) -> Self {
        StoreEvents {
            store,
            servers: Mutex::default(),
        }
    }

    async fn server_of(&self, channel: ChannelId) -> Option<MessageServerId> {
        let cached = self.with_servers(|servers| servers.get(&channel).copied());
        if cached.is_some() {
            return cached;
        }
        let server = self
            .store
            .get_channel(channel)
            .await
            .ok()??
            .message_server_id;
        self.with_servers(|servers| {
            if servers.len() >= SERVER_CACHE_LIMIT {
                servers.clear();
            }
            servers.insert(channel, server);
        });
        Some(server)
    }

    fn with_servers<T>(&self, f: impl FnOnce(&mut HashMap<ChannelId, MessageServerId>) -> T) -> T {
        f(&mut self.servers.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl EventSource for StoreEvents {
    async fn message(&self, id: MessageId, updated: bool) -> Option<BusMessage> {
        let stored = self.store.get_message(id).await.ok()??;
        let server = self.server_of(stored.channel_id).await?;
        let mut message = BusMessage::from_stored(&stored, server, None);
        if updated {
            message.updated_at = Some(stored.updated_at.timestamp_millis());
        }
        Some(message)
    }

    async fn channel(&self, id: ChannelId) -> Option<Value> {
        let channel = self.store.get_channel(id).await.ok()??;
        Some(channel_json(&channel))
    }
}

impl AppState {
    /// The state of a cluster node whose own agents are `local`, fed through `inboxes`. Starts the
    /// lease ticker and the backplane receiver, so it must be called inside the tokio runtime.
    /// Hand the agents [`AppState::agent_outbox`] afterwards.
    pub fn with_cluster(
        store: Arc<dyn Store>,
        config: crate::HttpConfig,
        logs: crate::logs::LogBuffer,
        local: Arc<dyn AgentLifecycle>,
        inboxes: AgentInboxes,
        setup: ClusterSetup,
    ) -> Self {
        let bus = ClusterBus::new(setup.node, Arc::clone(&setup.backplane));
        let forwarder = Arc::new(Forwarder::new(setup.node, Arc::clone(&setup.leases)));
        let agents = ClusteredAgents::new(ClusterParts {
            node: setup.node,
            store: Arc::clone(&store),
            leases: setup.leases,
            local,
            inboxes: Arc::new(inboxes.clone()),
            backplane: Arc::clone(&setup.backplane),
            config: setup.config,
        });
        inboxes.on_settled(agents.settled_hook());
        let source = Arc::new(StoreEvents::new(Arc::clone(&store)));
        let mut state = Self::with_ports(
            store,
            agents.clone(),
            config,
            logs,
            Arc::new(bus.clone()),
            agents.clone(),
        );
        tokio::spawn(receive(
            setup.incoming,
            setup.node,
            bus,
            source,
            Some(Arc::clone(&agents)),
        ));
        drop(agents.spawn_ticker());
        state.sessions = Arc::new(SessionRegistry::with_records(
            state.sessions.config(),
            Arc::clone(&setup.records),
        ));
        state.jobs = Arc::new(JobRegistry::with_records(
            setup.records,
            MAX_JOBS,
            DEFAULT_RETENTION_MS,
        ));
        state.cluster = Some(ClusterHandle {
            agents,
            backplane: setup.backplane,
            forwarder,
        });
        state
    }

    /// Tells the other nodes where this node serves HTTP (once it is listening), so they can
    /// forward requests for its agents here. Does nothing on a single node.
    pub async fn advertise(&self, http_url: &str) {
        if let Some(cluster) = &self.cluster {
            cluster.forwarder.register(http_url).await;
        }
    }

    /// Where this node's agents hand their replies: the messaging service, fenced by the agent's
    /// lease in cluster mode.
    pub fn agent_outbox(&self) -> Arc<dyn AgentOutbox> {
        let messaging: Arc<dyn AgentOutbox> = Arc::new(self.messaging.clone());
        match &self.cluster {
            Some(cluster) => Arc::new(FencedOutbox::new(messaging, Arc::clone(&cluster.agents))),
            None => messaging,
        }
    }

    /// Stops this node's agents at shutdown: in cluster mode they are handed over to the other
    /// nodes instead of being stopped for good.
    pub async fn stop_agents(&self) {
        if let Some(cluster) = &self.cluster {
            cluster.agents.hand_over().await;
            return;
        }
        for id in self.agents.running() {
            self.agents.stop(id).await;
        }
    }
}
