//! Several server processes on one database: which node owns (runs) each agent, and the durable
//! queue of work waiting for an agent's owner. The store implements [`ClusterStore`]; the bus
//! crate's cluster coordinator drives it.
//!
//! An agent is owned through a lease row: the owner renews it while it lives; once it has
//! expired any node may take it over, and each takeover raises the lease's `epoch`, the fencing
//! token an owner shows before acting (a node that was paused past its lease cannot answer).

use crate::ids::AgentId;
use crate::store::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use uuid::Uuid;

/// One server process of a cluster; random at each start, so a restarted node is a new owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub Uuid);

impl NodeId {
    pub fn new_random() -> Self {
        NodeId(Uuid::new_v4())
    }

    /// The id without dashes (for PostgreSQL channel names and NATS subjects).
    pub fn simple(&self) -> String {
        self.0.simple().to_string()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who owns an agent, until when, under which fencing token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub agent_id: AgentId,
    pub node_id: NodeId,
    /// Raised by every change of owner.
    pub epoch: i64,
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

/// The outcome of asking for an agent's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// This node holds it now (it was free, expired, or already this node's).
    Held(Lease),
    /// Another node holds a live lease.
    OwnedBy(Lease),
}

/// A piece of agent work waiting in the durable queue, keyed so that queuing it twice is a no-op.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedWork {
    pub agent_id: AgentId,
    pub key: String,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

/// Leases and the durable agent work queue.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Takes the agent's lease until `until` when it is free, expired at `now`, or this node's
    /// (renewing it); a change of owner raises the epoch.
    async fn acquire_lease(
        &self,
        agent: AgentId,
        node: NodeId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Acquired>;
    /// Extends every lease this node still holds at `now`; returns them. A lease that expired
    /// meanwhile is not renewed: another node may have taken it.
    async fn renew_leases(
        &self,
        node: NodeId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<Lease>>;
    /// Gives up the lease for good (the agent was stopped); returns whether this node held it.
    async fn release_lease(&self, agent: AgentId, node: NodeId) -> StoreResult<bool>;
    /// Ends this node's leases now but keeps them, so another node takes their agents over at
    /// once (a clean shutdown hands agents on instead of stopping them).
    async fn expire_leases(&self, node: NodeId, now: DateTime<Utc>) -> StoreResult<u64>;
    async fn list_leases(&self) -> StoreResult<Vec<Lease>>;
    /// Whether `node` still holds the agent's lease under `epoch` at `now` (the fencing check).
    async fn holds_lease(
        &self,
        agent: AgentId,
        node: NodeId,
        epoch: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Queues work for an agent; returns false when the key was queued already.
    async fn enqueue_work(&self, work: &QueuedWork) -> StoreResult<bool>;
    /// The agent's queued work, oldest first.
    async fn queued_work(&self, agent: AgentId, limit: i64) -> StoreResult<Vec<QueuedWork>>;
    /// Removes finished work; returns whether it was queued.
    async fn finish_work(&self, agent: AgentId, key: &str) -> StoreResult<bool>;
    /// Drops every queued piece of work for the agent (it was stopped or deleted).
    async fn drop_work(&self, agent: AgentId) -> StoreResult<u64>;

    /// Records where `node` serves HTTP, replacing any older node registered at that address.
    async fn register_node(
        &self,
        node: NodeId,
        http_url: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Where `node` serves HTTP, if it said so.
    async fn node_url(&self, node: NodeId) -> StoreResult<Option<String>>;
}
