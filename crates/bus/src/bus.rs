//! The [`Bus`] port and its in-process implementation: one bounded tokio broadcast channel per
//! topic (mini-redis style), with the two gaps of mini-redis closed: topics go away with their
//! last subscriber, and a lagging subscriber gets [`Received::Resync`] instead of a silent skip.

use crate::event::BusEvent;
use eliza_domain::{ChannelId, MessageServerId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast;

/// Where an event is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Topic {
    Channel(ChannelId),
    Server(MessageServerId),
    Global,
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Event(Arc<BusEvent>),
    /// The subscriber fell behind and `missed` events were dropped for it: refetch state (e.g.
    /// the channel's messages over HTTP) instead of trusting the stream.
    Resync {
        missed: u64,
    },
}

/// Publish/subscribe fan-out. Publishing never waits for subscribers.
pub trait Bus: Send + Sync + 'static {
    /// Publishes on the event's own topic; returns how many local subscribers will see it.
    fn publish(&self, event: BusEvent) -> usize;
    fn subscribe(&self, topic: Topic) -> Subscription;
    /// How many topics have subscribers on this node (for metrics and leak tests).
    fn topic_count(&self) -> usize;
}

/// What a topic's channel carries: events, or a notice that events were lost upstream.
#[derive(Debug, Clone)]
enum Item {
    Event(Arc<BusEvent>),
    /// A cross-node backend lost its link: whatever was published meanwhile never arrived.
    Resync,
}

type Topics = Arc<Mutex<HashMap<Topic, broadcast::Sender<Item>>>>;

/// A subscription to one topic. Dropping it unsubscribes; the topic is removed with its last subscriber.
pub struct Subscription {
    topic: Topic,
    receiver: Option<broadcast::Receiver<Item>>,
    topics: Topics,
}

impl Subscription {
    pub fn topic(&self) -> Topic {
        self.topic
    }

    /// The next event or resync notice; `None` once the bus is gone.
    pub async fn recv(&mut self) -> Option<Received> {
        let receiver = self.receiver.as_mut()?;
        match receiver.recv().await {
            Ok(Item::Event(event)) => Some(Received::Event(event)),
            // How many were lost upstream is unknown; at least one was.
            Ok(Item::Resync) => Some(Received::Resync { missed: 1 }),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Received::Resync { missed }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Check the count under the lock that `subscribe` takes, so a topic someone is joining
        // right now is never removed.
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        drop(self.receiver.take());
        if topics
            .get(&self.topic)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            topics.remove(&self.topic);
        }
    }
}

/// The single-node bus.
#[derive(Clone)]
pub struct InProcessBus {
    topics: Topics,
    capacity: usize,
}

impl InProcessBus {
    /// Default per-topic buffer: how far a subscriber may fall behind before it must resync.
    pub const DEFAULT_CAPACITY: usize = 256;

    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        InProcessBus {
            topics: Arc::default(),
            capacity: capacity.max(1),
        }
    }
}

impl InProcessBus {
    /// Tells every subscriber to resync (a cross-node backend reconnected after losing events).
    pub fn resync_all(&self) {
        let topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        for sender in topics.values() {
            sender.send(Item::Resync).ok();
        }
    }
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus for InProcessBus {
    fn publish(&self, event: BusEvent) -> usize {
        let topic = event.topic();
        let topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        // No topic means nobody listens: nothing to do (publishing never creates a topic).
        topics.get(&topic).map_or(0, |sender| {
            sender.send(Item::Event(Arc::new(event))).unwrap_or(0)
        })
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = match topics.get(&topic) {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = broadcast::channel(self.capacity);
                topics.insert(topic, sender);
                receiver
            }
        };
        Subscription {
            topic,
            receiver: Some(receiver),
            topics: Arc::clone(&self.topics),
        }
    }

    fn topic_count(&self) -> usize {
        self.topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleared(channel_id: ChannelId) -> BusEvent {
        BusEvent::ChannelCleared { channel_id }
    }

    #[tokio::test]
    async fn every_subscriber_of_a_topic_gets_each_event() {
        let bus = InProcessBus::new();
        let channel = ChannelId::new_random();
        let mut first = bus.subscribe(Topic::Channel(channel));
        let mut second = bus.subscribe(Topic::Channel(channel));
        let mut other = bus.subscribe(Topic::Channel(ChannelId::new_random()));
        assert_eq!(bus.publish(cleared(channel)), 2);
        for subscription in [&mut first, &mut second] {
            assert_eq!(
                subscription.recv().await,
                Some(Received::Event(Arc::new(cleared(channel))))
            );
        }
        let nothing =
            tokio::time::timeout(std::time::Duration::from_millis(20), other.recv()).await;
        assert!(
            nothing.is_err(),
            "another channel's subscriber saw the event"
        );
    }

    #[tokio::test]
    async fn publishing_without_subscribers_reaches_nobody_and_creates_no_topic() {
        let bus = InProcessBus::new();
        assert_eq!(bus.publish(cleared(ChannelId::new_random())), 0);
        assert_eq!(bus.topic_count(), 0);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_to_resync() {
        let bus = InProcessBus::with_capacity(2);
        let channel = ChannelId::new_random();
        let mut slow = bus.subscribe(Topic::Channel(channel));
        for _ in 0..5 {
            bus.publish(cleared(channel));
        }
        assert_eq!(slow.recv().await, Some(Received::Resync { missed: 3 }));
        assert!(matches!(slow.recv().await, Some(Received::Event(_))));
    }

    #[tokio::test]
    async fn the_topic_goes_away_with_its_last_subscriber() {
        let bus = InProcessBus::new();
        let channel = ChannelId::new_random();
        let topic = Topic::Channel(channel);
        let first = bus.subscribe(topic);
        let second = bus.subscribe(topic);
        assert_eq!(bus.topic_count(), 1);
        drop(first);
        assert_eq!(bus.topic_count(), 1);
        drop(second);
        assert_eq!(bus.topic_count(), 0);
        let mut again = bus.subscribe(topic);
        assert_eq!(bus.publish(cleared(channel)), 1);
        assert!(matches!(again.recv().await, Some(Received::Event(_))));
    }

    #[tokio::test]
    async fn resync_all_reaches_every_subscriber_once() {
        let bus = InProcessBus::new();
        let channel = ChannelId::new_random();
        let mut first = bus.subscribe(Topic::Channel(channel));
        let mut second = bus.subscribe(Topic::Global);
        bus.resync_all();
        bus.publish(cleared(channel));
        assert_eq!(first.recv().await, Some(Received::Resync { missed: 1 }));
        assert!(matches!(first.recv().await, Some(Received::Event(_))));
        assert_eq!(second.recv().await, Some(Received::Resync { missed: 1 }));
    }
}
