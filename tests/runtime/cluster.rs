//! Agent ownership between two nodes in one process (an in-memory backplane, one SQLite file):
//! the lease decides who runs an agent, an expired lease is taken over, and the node that lost
//! it can neither answer for the agent nor keep running it.

use async_trait::async_trait;
use chrono::Utc;
use eliza_bus::cluster::{ClusterConfig, ClusterParts, ClusteredAgents, FencedOutbox, MemoryHub};
use eliza_bus::{AgentInboxes, AgentOutbox, BusMessage, NewMessage, OutboxError};
use eliza_domain::cluster::NodeId;
use eliza_domain::lifecycle::{AgentLifecycle, StatusRegistry};
use eliza_domain::store::AgentStore;
use eliza_domain::{Agent, AgentId, AgentStatus, ChannelId, Character, MessageId, MessageServerId};
use eliza_store::{DieselStore, StoreOptions};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Accepts every reply (the fence in front of it is what is tested).
struct Accepting;

#[async_trait]
impl AgentOutbox for Accepting {
    async fn submit(&self, reply: NewMessage) -> Result<BusMessage, OutboxError> {
        Ok(BusMessage::sample(reply.channel_id, &reply.content))
    }

    fn complete(&self, _: ChannelId, _: AgentId, _: Option<MessageId>) {}
}

struct Node {
    agents: Arc<ClusteredAgents>,
    local: Arc<StatusRegistry>,
    outbox: FencedOutbox,
}

fn node(hub: &MemoryHub, store: &Arc<DieselStore>) -> Node {
    let id = NodeId::new_random();
    let (backplane, _incoming) = hub.join(id);
    let local = Arc::new(StatusRegistry::default());
    let agents = ClusteredAgents::new(ClusterParts {
        node: id,
        store: store.clone(),
        leases: store.clone(),
        local: local.clone(),
        inboxes: Arc::new(AgentInboxes::new()),
        backplane: Arc::new(backplane),
        // The shortest lease the configuration allows; no ticker runs, the test ticks.
        config: ClusterConfig::with_lease_ttl(Duration::from_millis(300)),
    });
    let outbox = FencedOutbox::new(Arc::new(Accepting), agents.clone());
    Node {
        agents,
        local,
        outbox,
    }
}

fn reply(author: &str) -> NewMessage {
    NewMessage {
        id: None,
        channel_id: ChannelId::new_random(),
        message_server_id: MessageServerId::new_random(),
        author_id: author.to_owned(),
        content: "hello".to_owned(),
        raw_message: json!({}),
        source_type: "agent_response".to_owned(),
        source_id: None,
        in_reply_to: None,
        metadata: None,
    }
}

#[tokio::test]
async fn a_lost_lease_moves_the_agent_and_fences_the_old_owner() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cluster.db").display());
    let store = Arc::new(
        DieselStore::connect(&url, StoreOptions::default())
            .await
            .unwrap(),
    );
    let agent = Agent::new(
        Character::from_json(&json!({"name": "Leased", "bio": ["b"]})).unwrap(),
        Utc::now(),
    );
    store.create_agent(&agent).await.unwrap();
    let hub = MemoryHub::default();
    let (a, b) = (node(&hub, &store), node(&hub, &store));

    a.agents.start(&agent).await.unwrap();
    assert_eq!(a.local.status(agent.id), AgentStatus::Active);
    // B learns the owner instead of starting a second copy.
    b.agents.start(&agent).await.unwrap();
    assert_eq!(b.local.status(agent.id), AgentStatus::Inactive);
    // Where requests needing the runtime go: A, for as long as A's lease is live.
    let now = Utc::now();
    assert_eq!(a.agents.live_owner(agent.id, now), Some(a.agents.node()));
    assert_eq!(b.agents.live_owner(agent.id, now), Some(a.agents.node()));
    let lapsed = now + chrono::TimeDelta::seconds(1);
    assert_eq!(
        b.agents.live_owner(agent.id, lapsed),
        None,
        "the lease lasts 300 ms"
    );
    let author = agent.id.to_string();
    assert!(a.outbox.submit(reply(&author)).await.is_ok());
    assert_eq!(
        b.outbox.submit(reply(&author)).await,
        Err(OutboxError::Unavailable(format!(
            "this node no longer owns agent {}",
            agent.id
        )))
    );

    // A stops renewing (paused): once the lease expires, B's tick takes the agent over.
    tokio::time::sleep(Duration::from_millis(400)).await;
    b.agents.tick().await;
    assert_eq!(b.local.status(agent.id), AgentStatus::Active);
    assert!(b.outbox.submit(reply(&author)).await.is_ok());
    // A, resumed, still runs it but may not answer; its next tick stops it.
    assert_eq!(a.local.status(agent.id), AgentStatus::Active);
    assert!(matches!(
        a.outbox.submit(reply(&author)).await,
        Err(OutboxError::Unavailable(_))
    ));
    a.agents.tick().await;
    assert_eq!(a.local.status(agent.id), AgentStatus::Inactive);
    assert_eq!(b.local.status(agent.id), AgentStatus::Active);

    // A reply whose author is not an agent is refused as invalid, not looked up.
    assert!(matches!(
        b.outbox.submit(reply("user-42")).await,
        Err(OutboxError::Invalid(_))
    ));
}
