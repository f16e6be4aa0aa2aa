//! [`ClusteredAgents`]: agent ownership across nodes. It wraps the node's own lifecycle (the agent
//! runtimes) and inboxes and is both the [`AgentLifecycle`] and the [`AgentDispatch`] the server
//! sees:
//! - an agent runs on the node holding its lease; start, stop and update on any node act there;
//! - work for an agent is queued in the database and its owner is told to take it, so nothing
//!   is lost while an owner dies and another takes over (work queued before a takeover is
//!   skipped when the agent already answered it);
//! - each tick renews this node's leases, stops agents whose lease was lost (fencing) and takes
//!   over agents whose owner stopped renewing.

use super::backplane::{Backplane, Subject};
use super::wire::{Body, Command, Envelope};
use crate::dispatch::{AgentDispatch, AgentWork, DispatchError, SettledHook};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eliza_domain::cluster::{Acquired, ClusterStore, Lease, NodeId, QueuedWork};
use eliza_domain::lifecycle::{AgentLifecycle, StartError};
use eliza_domain::{Agent, AgentId, AgentStatus, Store};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Lease timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterConfig {
    /// How long a lease lasts without renewal: the longest a dead node's agents stay silent.
    pub lease_ttl: Duration,
    /// How often leases are renewed and expired ones taken over (a third of the TTL).
    pub tick: Duration,
    /// How long a stop on another node's agent waits for that node to let it go.
    pub stop_wait: Duration,
}

impl ClusterConfig {
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(15);

    pub fn with_lease_ttl(lease_ttl: Duration) -> Self {
        let lease_ttl = lease_ttl.max(Duration::from_millis(300));
        ClusterConfig {
            lease_ttl,
            tick: lease_ttl / 3,
            stop_wait: Duration::from_secs(5),
        }
    }

    fn until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.lease_ttl).unwrap_or(chrono::Duration::seconds(15))
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self::with_lease_ttl(Self::DEFAULT_LEASE_TTL)
    }
}

/// An agent this node owns.
#[derive(Debug, Clone, Copy)]
struct Owned {
    epoch: i64,
    /// When the lease was taken. Work queued before this is checked for an answer given by the
    /// previous owner, and renewals that began before it do not count the agent as lost.
    since: DateTime<Utc>,
}

#[derive(Default)]
struct State {
    owned: HashMap<AgentId, Owned>,
    /// Every lease as last read (this node's included).
    known: HashMap<AgentId, Lease>,
    /// Queued work handed to a local inbox and not settled yet.
    in_flight: HashSet<(AgentId, String)>,
    /// Serialises taking queued work per agent, so it reaches the inbox in order.
    drains: HashMap<AgentId, Arc<tokio::sync::Mutex<()>>>,
}

impl State {
    /// Forgets that this node owns the agent and what it handed it; returns whether it did.
    fn forget_owned(&mut self, agent: AgentId) -> bool {
        self.in_flight.retain(|(owner, _)| *owner != agent);
        self.drains.remove(&agent);
        self.owned.remove(&agent).is_some()
    }
}

/// The node's view of the cluster's agents.
pub struct ClusteredAgents {
    node: NodeId,
    store: Arc<dyn Store>,
    leases: Arc<dyn ClusterStore>,
    local: Arc<dyn AgentLifecycle>,
    inboxes: Arc<dyn AgentDispatch>,
    backplane: Arc<dyn Backplane>,
    config: ClusterConfig,
    state: Mutex<State>,
    me: Weak<ClusteredAgents>,
}

/// How many queued pieces of work are taken per agent at once.
const DRAIN_BATCH: i64 = 256;

/// The parts a [`ClusteredAgents`] coordinates.
pub struct ClusterParts {
    pub node: NodeId,
    pub store: Arc<dyn Store>,
    pub leases: Arc<dyn ClusterStore>,
    /// The agent runtimes of this node.
    pub local: Arc<dyn AgentLifecycle>,
    /// The inboxes of this node's agents.
    pub inboxes: Arc<dyn AgentDispatch>,
    pub backplane: Arc<dyn Backplane>,
    pub config: ClusterConfig,
}

impl ClusteredAgents {
    pub fn new(parts: ClusterParts) -> Arc<Self> {
        Arc::new_cyclic(|me| ClusteredAgents {
            node: parts.node,
            store: parts.store,
            leases: parts.leases,
            local: parts.local,
            inboxes: parts.inboxes,
            backplane: parts.backplane,
            config: parts.config,
            state: Mutex::default(),
            me: me.clone(),
        })
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    /// For the inboxes' [`crate::AgentInboxes::on_settled`]: settled work leaves the queue.
    pub fn settled_hook(&self) -> SettledHook {
        let me = self.me.clone();
        Arc::new(move |agent, work| {
            let Some(this) = me.upgrade() else {
                return;
            };
            let key = work.key();
            // Settling happens in agent workers, inside the runtime; without one the work stays
            // queued and is handled again, which the answered-already check makes harmless.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { this.finish(agent, key).await });
            }
        })
    }

    /// Renews, fences and takes over every tick until the returned task is aborted.
    pub fn spawn_ticker(&self) -> JoinHandle<()> {
        let me = self.me.clone();
        let period = self.config.tick;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(this) = me.upgrade() else {
                    return;
                };
                this.tick().await;
            }
        })
    }

    /// The fencing check an owner makes before it acts for an agent: does it still hold the lease
    /// it started the agent under?
    pub async fn still_owns(&self, agent: AgentId) -> bool {
        let Some(owned) = self.with_state(|state| state.owned.get(&agent).copied()) else {
            return false;
        };
        match self
            .leases
            .holds_lease(agent, self.node, owned.epoch, Utc::now())
            .await
        {
            Ok(held) => held,
            Err(err) => {
                tracing::warn!(%agent, %err, "cannot confirm the agent's lease; not acting for it");
                false
            }
        }
    }

    /// One round: renew this node's leases, stop agents whose lease was lost, learn the other
    /// owners, take over agents whose lease expired and take queued work.
    pub async fn tick(&self) {
        let now = Utc::now();
        match self
            .leases
            .renew_leases(self.node, now, self.config.until(now))
            .await
        {
            Ok(held) => self.fence(&held, now).await,
            Err(err) => tracing::warn!(%err, "cannot renew agent leases"),
        }
        if let Err(err) = self.refresh().await {
            tracing::warn!(%err, "cannot read agent leases");
            return;
        }
        self.take_over_expired().await;
        for agent in self.owned() {
            self.drain(agent).await;
        }
    }

    /// Takes over every agent whose lease expired as last read.
    async fn take_over_expired(&self) {
        let now = Utc::now();
        let expired: Vec<AgentId> = self.with_state(|state| {
            state
                .known
                .values()
                .filter(|lease| !lease.is_live(now) && !state.owned.contains_key(&lease.agent_id))
                .map(|lease| lease.agent_id)
                .collect()
        });
        for agent in expired {
            self.take_over(agent).await;
        }
    }

    /// Hands this node's agents on: stops them here and ends their leases without removing them,
    /// so another node takes them over at once (a clean shutdown, not a stop of the agents).
    pub async fn hand_over(&self) {
        for agent in self.owned() {
            self.with_state(|state| state.forget_owned(agent));
            self.local.stop(agent).await;
        }
        match self.leases.expire_leases(self.node, Utc::now()).await {
            Ok(count) if count > 0 => {
                tracing::info!(agents = count, "agents handed over to the other nodes");
                self.announce();
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(%err, "cannot hand agents over; they wait for their leases to expire")
            }
        }
    }

    /// Acts on what another node said.
    pub async fn handle(&self, body: Body) {
        match body {
            Body::Command {
                command: Command::Work { agent },
            } => self.drain(agent).await,
            Body::Command {
                command: Command::Stop { agent },
            } => {
                self.stop_owned(agent).await;
            }
            Body::Command {
                command: Command::Update { agent },
            } => self.reload(agent).await,
            // A node that shut down cleanly expired its leases: take its agents at once.
            Body::LeasesChanged => match self.refresh().await {
                Ok(()) => self.take_over_expired().await,
                Err(err) => tracing::warn!(%err, "cannot read agent leases"),
            },
            Body::Event { .. } => {}
        }
    }

    /// After the backplane lost messages: re-read the leases and take any queued work.
    pub async fn resync(&self) {
        if let Err(err) = self.refresh().await {
            tracing::warn!(%err, "cannot read agent leases");
        }
        for agent in self.owned() {
            self.drain(agent).await;
        }
    }

    fn owned(&self) -> Vec<AgentId> {
        self.with_state(|state| state.owned.keys().copied().collect())
    }

    /// Stops the agents owned before `renewed_at` whose lease the renewal did not find (an agent
    /// taken while the renewal ran is not in its answer, and not lost).
    async fn fence(&self, held: &[Lease], renewed_at: DateTime<Utc>) {
        let held: HashSet<AgentId> = held.iter().map(|lease| lease.agent_id).collect();
        let lost: Vec<AgentId> = self.with_state(|state| {
            let lost: Vec<AgentId> = state
                .owned
                .iter()
                .filter(|(agent, owned)| owned.since < renewed_at && !held.contains(agent))
                .map(|(agent, _)| *agent)
                .collect();
            for agent in &lost {
                state.forget_owned(*agent);
            }
            lost
        });
        for agent in lost {
            tracing::warn!(%agent, "the agent's lease was lost (this node was too slow to renew it); stopping it here");
            self.local.stop(agent).await;
        }
    }

    async fn refresh(&self) -> eliza_domain::StoreResult<()> {
        let leases = self.leases.list_leases().await?;
        let known = leases
            .into_iter()
            .map(|lease| (lease.agent_id, lease))
            .collect();
        self.with_state(|state| state.known = known);
        Ok(())
    }

    async fn take_over(&self, agent: AgentId) {
        let stored = match self.store.get_agent(agent).await {
            Ok(Some(stored)) => stored,
            // A deleted agent's lease goes with it.
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%agent, %err, "cannot read an agent to take it over");
                return;
            }
        };
        match self.take(&stored).await {
            Ok(true) => {
                tracing::info!(%agent, "took over the agent of a node that stopped renewing")
            }
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(%agent, %err, "cannot take over the agent; it stays stopped")
            }
        }
    }

    /// Takes the agent's lease and starts it here; `Ok(false)` when another node owns it.
    async fn take(&self, agent: &Agent) -> Result<bool, StartError> {
        let acquired = self
            .acquire(agent.id)
            .await
            .map_err(|err| StartError(format!("cannot take the agent's lease: {err}")))?;
        // After the lease is written: a renewal that ran before it does not count it as lost.
        let acquired_at = Utc::now();
        let lease = match acquired {
            Acquired::Held(lease) => lease,
            Acquired::OwnedBy(lease) => {
                self.with_state(|state| state.known.insert(agent.id, lease));
                return Ok(false);
            }
        };
        let was_owned = self.with_state(|state| state.owned.contains_key(&agent.id));
        let running_here = was_owned && self.local.status(agent.id) == AgentStatus::Active;
        if !running_here && let Err(err) = self.local.start(agent).await {
            self.release(agent.id).await;
            return Err(err);
        }
        self.with_state(|state| {
            state.known.insert(agent.id, lease);
            state.owned.insert(
                agent.id,
                Owned {
                    epoch: lease.epoch,
                    since: acquired_at,
                },
            );
        });
        if !was_owned {
            self.announce();
        }
        self.drain(agent.id).await;
        Ok(true)
    }

    /// Stops an agent this node owns and gives its lease and queued work up.
    async fn stop_owned(&self, agent: AgentId) -> bool {
        let owned = self.with_state(|state| state.forget_owned(agent));
        let stopped = self.local.stop(agent).await;
        if owned {
            self.give_up(agent).await;
        }
        owned || stopped
    }

    /// Releases the agent's lease for good and drops its queued work (the agent was stopped).
    async fn give_up(&self, agent: AgentId) {
        self.release(agent).await;
        if let Err(err) = self.leases.drop_work(agent).await {
            tracing::warn!(%agent, %err, "a stopped agent's queued work was not dropped");
        }
    }

    async fn release(&self, agent: AgentId) {
        if let Err(err) = self.leases.release_lease(agent, self.node).await {
            tracing::warn!(%agent, %err, "cannot release the agent's lease; it expires on its own");
        }
        self.with_state(|state| state.known.remove(&agent));
        self.announce();
    }

    /// Stops an agent whose owner is another node: asks it, then waits for the lease to go.
    async fn stop_remote(&self, agent: AgentId, lease: Lease) -> bool {
        if !lease.is_live(Utc::now()) {
            // Its owner died: take the lease only to give it up.
            if !matches!(self.acquire(agent).await, Ok(Acquired::Held(_))) {
                return false;
            }
            self.give_up(agent).await;
            return true;
        }
        self.command(lease.node_id, Command::Stop { agent });
        let deadline = tokio::time::Instant::now() + self.config.stop_wait;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.refresh().await.is_ok()
                && self.with_state(|state| !state.known.contains_key(&agent))
            {
                return true;
            }
        }
        tracing::warn!(%agent, node = %lease.node_id, "the owner did not stop the agent in time");
        false
    }

    async fn acquire(&self, agent: AgentId) -> eliza_domain::StoreResult<Acquired> {
        let now = Utc::now();
        self.leases
            .acquire_lease(agent, self.node, now, self.config.until(now))
            .await
    }

    async fn reload(&self, agent: AgentId) {
        if !self.with_state(|state| state.owned.contains_key(&agent)) {
            return;
        }
        match self.store.get_agent(agent).await {
            Ok(Some(stored)) => {
                if let Err(err) = self.local.update(&stored).await {
                    tracing::warn!(%agent, %err, "cannot apply the changed character");
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(%agent, %err, "cannot read the changed character"),
        }
    }

    /// Hands the agent's queued work to its local inbox, in order, once each.
    async fn drain(&self, agent: AgentId) {
        let Some((owned, lock)) = self.drain_lock(agent) else {
            return;
        };
        let _one_at_a_time = lock.lock().await;
        let queued = match self.leases.queued_work(agent, DRAIN_BATCH).await {
            Ok(queued) => queued,
            Err(err) => {
                tracing::warn!(%agent, %err, "cannot read the agent's queued work");
                return;
            }
        };
        for item in queued {
            let work: AgentWork = match serde_json::from_value(item.payload) {
                Ok(work) => work,
                Err(err) => {
                    tracing::warn!(%agent, key = item.key, %err, "unreadable queued work dropped");
                    self.finish(agent, item.key).await;
                    continue;
                }
            };
            if item.created_at < owned.since && self.already_answered(agent, &work).await {
                self.finish(agent, item.key).await;
                continue;
            }
            if !self.hand(agent, item.key, work).await {
                break;
            }
        }
    }

    /// Hands work queued just now for an agent this node owns straight to its inbox, without
    /// reading the queue back (the queue keeps it until it is settled).
    async fn hand_now(&self, agent: AgentId, key: String, work: AgentWork) {
        let Some((_, lock)) = self.drain_lock(agent) else {
            return;
        };
        let _one_at_a_time = lock.lock().await;
        self.hand(agent, key, work).await;
    }

    /// Whether the agent is owned here, with the lock that orders its hand-offs.
    fn drain_lock(&self, agent: AgentId) -> Option<(Owned, Arc<tokio::sync::Mutex<()>>)> {
        self.with_state(|state| {
            let owned = state.owned.get(&agent).copied()?;
            Some((owned, Arc::clone(state.drains.entry(agent).or_default())))
        })
    }

    /// Puts the work in the agent's inbox unless it is there already; false when the inbox
    /// refused it (it stays queued for the next drain).
    async fn hand(&self, agent: AgentId, key: String, work: AgentWork) -> bool {
        if !self.with_state(|state| state.in_flight.insert((agent, key.clone()))) {
            return true;
        }
        match self.inboxes.dispatch(agent, work).await {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(%agent, %err, "queued work not handed to the agent; it stays queued");
                self.with_state(|state| state.in_flight.remove(&(agent, key)));
                false
            }
        }
    }

    /// Whether the agent (under a previous owner) already replied to the message.
    async fn already_answered(&self, agent: AgentId, work: &AgentWork) -> bool {
        let AgentWork::Message { message, .. } = work else {
            return false;
        };
        let author = agent.to_string();
        match self.store.list_replies(message.id).await {
            Ok(replies) => replies.iter().any(|reply| reply.author_id == author),
            Err(_) => false,
        }
    }

    async fn finish(&self, agent: AgentId, key: String) {
        if let Err(err) = self.leases.finish_work(agent, &key).await {
            tracing::warn!(%agent, key, %err, "settled work stays queued; it may be handled again");
        }
        self.with_state(|state| state.in_flight.remove(&(agent, key)));
    }

    fn command(&self, to: NodeId, command: Command) {
        let envelope = Envelope {
            from: self.node,
            body: Body::Command { command },
        };
        self.backplane.send(Subject::Node(to), envelope.encode());
    }

    fn announce(&self) {
        let envelope = Envelope {
            from: self.node,
            body: Body::LeasesChanged,
        };
        self.backplane.send(Subject::Events, envelope.encode());
    }

    /// The node running the agent as this node last heard, while its lease is live.
    pub fn live_owner(&self, agent: AgentId, now: DateTime<Utc>) -> Option<NodeId> {
        let (node, lease_ends) = self.owner_and_lease_end(agent)?;
        lease_ends.is_none_or(|end| end > now).then_some(node)
    }

    /// The node running the agent as this node last heard.
    fn owner_of(&self, agent: AgentId) -> Option<NodeId> {
        self.owner_and_lease_end(agent).map(|(node, _)| node)
    }

    /// [`Self::owner_of`], with when that node's lease ends (`None`: this node, which keeps its
    /// own leases renewed).
    fn owner_and_lease_end(&self, agent: AgentId) -> Option<(NodeId, Option<DateTime<Utc>>)> {
        self.with_state(|state| {
            if state.owned.contains_key(&agent) {
                return Some((self.node, None));
            }
            let lease = state.known.get(&agent)?;
            Some((lease.node_id, Some(lease.expires_at)))
        })
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl AgentLifecycle for ClusteredAgents {
    async fn start(&self, agent: &Agent) -> Result<(), StartError> {
        self.take(agent).await.map(drop)
    }

    async fn stop(&self, id: AgentId) -> bool {
        if self.with_state(|state| state.owned.contains_key(&id)) {
            return self.stop_owned(id).await;
        }
        if let Err(err) = self.refresh().await {
            tracing::warn!(%err, "cannot read agent leases");
        }
        match self.with_state(|state| state.known.get(&id).copied()) {
            Some(lease) if lease.node_id != self.node => self.stop_remote(id, lease).await,
            Some(_) => self.stop_owned(id).await,
            None => self.local.stop(id).await,
        }
    }

    async fn update(&self, agent: &Agent) -> Result<(), StartError> {
        match self.owner_of(agent.id) {
            Some(owner) if owner == self.node => self.local.update(agent).await,
            Some(owner) => {
                self.command(owner, Command::Update { agent: agent.id });
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn status(&self, id: AgentId) -> AgentStatus {
        if self.owner_of(id).is_some() {
            AgentStatus::Active
        } else {
            AgentStatus::Inactive
        }
    }

    fn running(&self) -> Vec<AgentId> {
        let mut running: Vec<AgentId> = self
            .local
            .running()
            .into_iter()
            .filter(|agent| self.owner_of(*agent) == Some(self.node))
            .collect();
        let mut others: Vec<AgentId> = self.with_state(|state| {
            state
                .known
                .keys()
                .filter(|agent| !running.contains(agent))
                .copied()
                .collect()
        });
        others.sort();
        running.append(&mut others);
        running
    }
}

#[async_trait]
impl AgentDispatch for ClusteredAgents {
    async fn dispatch(&self, agent: AgentId, work: AgentWork) -> Result<(), DispatchError> {
        let owner = self
            .owner_of(agent)
            .ok_or(DispatchError::NotRunning(agent))?;
        let key = work.key();
        let queued = QueuedWork {
            agent_id: agent,
            key: key.clone(),
            payload: serde_json::to_value(&work)
                .map_err(|err| DispatchError::Unreachable(agent, err.to_string()))?,
            created_at: Utc::now(),
        };
        self.leases
            .enqueue_work(&queued)
            .await
            .map_err(|err| DispatchError::Unreachable(agent, err.to_string()))?;
        if owner == self.node {
            self.hand_now(agent, key, work).await;
        } else {
            self.command(owner, Command::Work { agent });
        }
        Ok(())
    }

    fn accepts(&self, agent: AgentId) -> bool {
        self.owner_of(agent).is_some()
    }
}
