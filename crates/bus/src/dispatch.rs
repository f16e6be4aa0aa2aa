//! The dispatch port: work for running agents, never over broadcast (which drops on lag).
//!
//! [`AgentInboxes`] is the single-node implementation the runtime uses: one bounded queue per
//! running agent. Delivery is at least once while the agent runs: a [`Delivery`] dropped without
//! [`Delivery::ack`] (the handler failed or panicked) goes back to the queue, up to a limit. The
//! runtime de-duplicates by message id, so a repeat is harmless.

use crate::event::BusMessage;
use async_trait::async_trait;
use eliza_domain::messaging::ChannelType;
use eliza_domain::{AgentId, ChannelId, MessageId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;

/// Something a running agent must handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentWork {
    /// A message in a channel the agent takes part in.
    Message {
        message: Box<BusMessage>,
        channel_type: ChannelType,
    },
    /// A message was deleted: forget the memory mirrored from it.
    MessageDeleted {
        channel_id: ChannelId,
        message_id: MessageId,
    },
    /// A channel was cleared or deleted: forget its messages.
    ChannelCleared { channel_id: ChannelId },
}

impl AgentWork {
    /// What identifies this piece of work in a durable queue: the same work is queued once (a
    /// second clear of a channel whose first clear is still queued adds nothing).
    pub fn key(&self) -> String {
        match self {
            AgentWork::Message { message, .. } => message.id.to_string(),
            AgentWork::MessageDeleted { message_id, .. } => format!("deleted:{message_id}"),
            AgentWork::ChannelCleared { channel_id } => format!("cleared:{channel_id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    #[error("agent {0} is not running")]
    NotRunning(AgentId),
    /// The agent's queue stayed full for the whole send timeout.
    #[error("agent {0} is overloaded")]
    Overloaded(AgentId),
    /// The work could not be queued for the agent's owner (cluster mode: database or bus down).
    #[error("agent {0} is unreachable: {1}")]
    Unreachable(AgentId, String),
}

/// Told when an agent is done with a piece of work: acknowledged, or given up after its last attempt.
pub type SettledHook = Arc<dyn Fn(AgentId, &AgentWork) + Send + Sync>;

/// Hands work to running agents.
#[async_trait]
pub trait AgentDispatch: Send + Sync {
    /// Queues `work` for `agent`, waiting (boundedly) while its queue is full.
    async fn dispatch(&self, agent: AgentId, work: AgentWork) -> Result<(), DispatchError>;
    /// Whether the agent currently takes work.
    fn accepts(&self, agent: AgentId) -> bool;
}

struct Envelope {
    work: AgentWork,
    attempt: u32,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    capacity: usize,
    send_timeout: Duration,
    max_attempts: u32,
}

/// Per-agent bounded queues.
#[derive(Clone)]
pub struct AgentInboxes {
    senders: Arc<Mutex<HashMap<AgentId, mpsc::Sender<Envelope>>>>,
    limits: Limits,
    settled: Arc<OnceLock<SettledHook>>,
}

impl AgentInboxes {
    pub const DEFAULT_CAPACITY: usize = 256;
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    pub fn new() -> Self {
        Self::with_limits(
            Self::DEFAULT_CAPACITY,
            Self::DEFAULT_SEND_TIMEOUT,
            Self::DEFAULT_MAX_ATTEMPTS,
        )
    }

    pub fn with_limits(capacity: usize, send_timeout: Duration, max_attempts: u32) -> Self {
        AgentInboxes {
            senders: Arc::default(),
            limits: Limits {
                capacity: capacity.max(1),
                send_timeout,
                max_attempts: max_attempts.max(1),
            },
            settled: Arc::default(),
        }
    }

    /// Calls `hook` whenever a piece of work is settled (a durable queue removes it then), in
    /// inboxes opened before or after. Set once.
    pub fn on_settled(&self, hook: SettledHook) {
        if self.settled.set(hook).is_err() {
            tracing::warn!("agent inboxes: a settled hook was already set; keeping the first one");
        }
    }

    /// Opens the agent's queue (replacing an older one, whose consumer then sees the end).
    pub fn open(&self, agent: AgentId) -> Inbox {
        let (sender, receiver) = mpsc::channel(self.limits.capacity);
        let requeue = sender.downgrade();
        self.with_senders(|senders| senders.insert(agent, sender));
        Inbox {
            agent,
            receiver,
            requeue,
            max_attempts: self.limits.max_attempts,
            settled: Arc::clone(&self.settled),
        }
    }

    /// Closes the agent's queue; returns whether it was open. The inbox still yields what was queued.
    pub fn close(&self, agent: AgentId) -> bool {
        self.with_senders(|senders| senders.remove(&agent))
            .is_some()
    }

    fn sender(&self, agent: AgentId) -> Option<mpsc::Sender<Envelope>> {
        self.with_senders(|senders| senders.get(&agent).cloned())
    }

    fn with_senders<T>(
        &self,
        f: impl FnOnce(&mut HashMap<AgentId, mpsc::Sender<Envelope>>) -> T,
    ) -> T {
        f(&mut self.senders.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Default for AgentInboxes {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl AgentDispatch for AgentInboxes {
    async fn dispatch(&self, agent: AgentId, work: AgentWork) -> Result<(), DispatchError> {
        let sender = self.sender(agent).ok_or(DispatchError::NotRunning(agent))?;
        let envelope = Envelope { work, attempt: 1 };
        match sender
            .send_timeout(envelope, self.limits.send_timeout)
            .await
        {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(DispatchError::Overloaded(agent)),
            Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(DispatchError::NotRunning(agent)),
        }
    }

    fn accepts(&self, agent: AgentId) -> bool {
        self.sender(agent).is_some_and(|sender| !sender.is_closed())
    }
}

/// The consuming end of one agent's queue.
pub struct Inbox {
    agent: AgentId,
    receiver: mpsc::Receiver<Envelope>,
    /// Weak, so the queue ends once it is closed and every in-flight dispatch is done.
    requeue: mpsc::WeakSender<Envelope>,
    max_attempts: u32,
    settled: Arc<OnceLock<SettledHook>>,
}

impl Inbox {
    pub fn agent(&self) -> AgentId {
        self.agent
    }

    /// The next piece of work; `None` once the queue was closed (or replaced) and is drained.
    pub async fn recv(&mut self) -> Option<Delivery> {
        let envelope = self.receiver.recv().await?;
        Some(Delivery {
            agent: self.agent,
            work: envelope.work,
            acked: false,
            attempt: envelope.attempt,
            requeue: self.requeue.clone(),
            max_attempts: self.max_attempts,
            settled: Arc::clone(&self.settled),
        })
    }
}

/// One piece of work being handled. Call [`Delivery::ack`] when done; dropping it unacknowledged
/// puts the work back in the queue (until the attempt limit).
pub struct Delivery {
    agent: AgentId,
    work: AgentWork,
    acked: bool,
    attempt: u32,
    requeue: mpsc::WeakSender<Envelope>,
    max_attempts: u32,
    settled: Arc<OnceLock<SettledHook>>,
}

impl Delivery {
    pub fn work(&self) -> &AgentWork {
        &self.work
    }

    /// 1 for the first delivery, 2 for the first redelivery, …
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The work is done: do not redeliver it.
    pub fn ack(mut self) {
        self.acked = true;
        self.settle();
    }

    fn settle(&self) {
        if let Some(hook) = self.settled.get() {
            hook(self.agent, &self.work);
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if self.acked {
            return;
        }
        if self.attempt >= self.max_attempts {
            tracing::warn!(attempts = self.attempt, work = ?self.work, "agent work dropped after its last attempt");
            self.settle();
            return;
        }
        let Some(sender) = self.requeue.upgrade() else {
            return;
        };
        let envelope = Envelope {
            work: self.work.clone(),
            attempt: self.attempt + 1,
        };
        if let Err(mpsc::error::TrySendError::Full(envelope)) = sender.try_send(envelope) {
            // Never block in drop: hand the wait to the executor when there is one.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move { sender.send(envelope).await.ok() });
            } else {
                tracing::warn!(work = ?envelope.work, "agent work dropped: queue full on redelivery");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(text: &str) -> AgentWork {
        AgentWork::Message {
            message: Box::new(BusMessage::sample(ChannelId::new_random(), text)),
            channel_type: ChannelType::Dm,
        }
    }

    fn text(delivery: &Delivery) -> &str {
        match delivery.work() {
            AgentWork::Message { message, .. } => &message.content,
            _ => "",
        }
    }

    #[tokio::test]
    async fn work_reaches_only_a_running_agent_in_order() {
        let inboxes = AgentInboxes::new();
        let agent = AgentId::new_random();
        assert_eq!(
            inboxes.dispatch(agent, work("a")).await,
            Err(DispatchError::NotRunning(agent))
        );
        assert!(!inboxes.accepts(agent));
        let mut inbox = inboxes.open(agent);
        assert!(inboxes.accepts(agent));
        assert_eq!(inbox.agent(), agent);
        inboxes.dispatch(agent, work("a")).await.unwrap();
        inboxes.dispatch(agent, work("b")).await.unwrap();
        let first = inbox.recv().await.unwrap();
        assert_eq!((text(&first), first.attempt()), ("a", 1));
        first.ack();
        assert_eq!(text(&inbox.recv().await.unwrap()), "b");
    }

    #[tokio::test]
    async fn unacknowledged_work_comes_back_until_the_attempt_limit() {
        let inboxes = AgentInboxes::with_limits(4, Duration::from_millis(50), 2);
        let agent = AgentId::new_random();
        let mut inbox = inboxes.open(agent);
        inboxes.dispatch(agent, work("retry me")).await.unwrap();
        drop(inbox.recv().await.unwrap());
        let second = inbox.recv().await.unwrap();
        assert_eq!((text(&second), second.attempt()), ("retry me", 2));
        drop(second);
        let nothing = tokio::time::timeout(Duration::from_millis(30), inbox.recv()).await;
        assert!(nothing.is_err(), "work came back after its last attempt");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_makes_dispatch_wait_then_fail() {
        let inboxes = AgentInboxes::with_limits(1, Duration::from_secs(5), 3);
        let agent = AgentId::new_random();
        let mut inbox = inboxes.open(agent);
        inboxes
            .dispatch(agent, work("fills the queue"))
            .await
            .unwrap();
        assert_eq!(
            inboxes.dispatch(agent, work("waits")).await,
            Err(DispatchError::Overloaded(agent))
        );
        // Once the consumer makes room, dispatch goes through again.
        inbox.recv().await.unwrap().ack();
        inboxes.dispatch(agent, work("fits")).await.unwrap();
    }

    #[tokio::test]
    async fn closing_ends_the_inbox_after_its_queue_drains() {
        let inboxes = AgentInboxes::new();
        let agent = AgentId::new_random();
        let mut inbox = inboxes.open(agent);
        inboxes.dispatch(agent, work("last")).await.unwrap();
        assert!(inboxes.close(agent));
        assert!(!inboxes.close(agent));
        assert!(!inboxes.accepts(agent));
        inbox.recv().await.unwrap().ack();
        assert!(inbox.recv().await.is_none());
    }

    #[tokio::test]
    async fn settling_is_reported_on_ack_and_on_the_last_attempt_only() {
        let inboxes = AgentInboxes::with_limits(4, Duration::from_millis(50), 2);
        let agent = AgentId::new_random();
        // Opened before the hook is set: it still reports.
        let mut inbox = inboxes.open(agent);
        let settled = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&settled);
        inboxes.on_settled(Arc::new(move |agent, work| {
            seen.lock().unwrap().push((agent, work.key()));
        }));
        let (done, failing) = (work("done"), work("failing"));
        inboxes.dispatch(agent, done.clone()).await.unwrap();
        inboxes.dispatch(agent, failing.clone()).await.unwrap();
        inbox.recv().await.unwrap().ack();
        drop(inbox.recv().await.unwrap());
        assert_eq!(
            settled.lock().unwrap().len(),
            1,
            "a first failure is retried, not settled"
        );
        drop(inbox.recv().await.unwrap());
        let settled = settled.lock().unwrap().clone();
        assert_eq!(settled, [(agent, done.key()), (agent, failing.key())]);
    }

    #[test]
    fn work_keys_name_what_they_are_about() {
        let message = work("keyed");
        let AgentWork::Message { message: inner, .. } = &message else {
            unreachable!()
        };
        assert_eq!(message.key(), inner.id.to_string());
        let channel_id = ChannelId::new_random();
        let clear = AgentWork::ChannelCleared { channel_id };
        assert_eq!(clear.key(), format!("cleared:{channel_id}"));
        let text = serde_json::to_string(&message).unwrap();
        assert_eq!(serde_json::from_str::<AgentWork>(&text).unwrap(), message);
    }

    #[tokio::test]
    async fn reopening_replaces_the_old_inbox() {
        let inboxes = AgentInboxes::new();
        let agent = AgentId::new_random();
        let mut old = inboxes.open(agent);
        let mut new = inboxes.open(agent);
        assert!(old.recv().await.is_none());
        inboxes
            .dispatch(agent, work("to the new one"))
            .await
            .unwrap();
        assert_eq!(text(&new.recv().await.unwrap()), "to the new one");
    }
}
