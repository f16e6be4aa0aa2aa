//! Agent leases and the durable agent work queue.

use super::new_agent;
use crate::fixtures::t;
use eliza_domain::cluster::{Acquired, ClusterStore, NodeId, QueuedWork};
use eliza_domain::store::AgentStore;
use eliza_store::DieselStore;
use serde_json::json;

pub async fn lease_is_taken_once_renewed_and_taken_over_after_expiry(store: &DieselStore) {
    let agent = new_agent(store, "leased").await;
    let (a, b) = (NodeId::new_random(), NodeId::new_random());
    let Acquired::Held(first) = store.acquire_lease(agent, a, t(0), t(10)).await.unwrap() else {
        panic!("a free lease is taken");
    };
    assert_eq!((first.node_id, first.epoch), (a, 1));
    // Another node cannot take a live lease; it learns the owner.
    let Acquired::OwnedBy(owner) = store.acquire_lease(agent, b, t(5), t(15)).await.unwrap() else {
        panic!("a live lease stays with its owner");
    };
    assert_eq!(owner.node_id, a);
    // The owner renews without a new epoch.
    let Acquired::Held(renewed) = store.acquire_lease(agent, a, t(6), t(16)).await.unwrap() else {
        panic!("the owner renews");
    };
    assert_eq!((renewed.epoch, renewed.expires_at), (1, t(16)));
    assert!(store.holds_lease(agent, a, 1, t(15)).await.unwrap());
    // Expired: the other node takes it over under a new epoch, and the old owner is fenced out.
    let Acquired::Held(taken) = store.acquire_lease(agent, b, t(16), t(26)).await.unwrap() else {
        panic!("an expired lease is taken over");
    };
    assert_eq!((taken.node_id, taken.epoch), (b, 2));
    assert!(!store.holds_lease(agent, a, 1, t(17)).await.unwrap());
    assert!(store.holds_lease(agent, b, 2, t(17)).await.unwrap());
    assert!(!store.holds_lease(agent, b, 2, t(26)).await.unwrap());
}

pub async fn renewal_keeps_only_live_leases_and_release_is_the_owners(store: &DieselStore) {
    let (live, lapsed) = (
        new_agent(store, "live").await,
        new_agent(store, "lapsed").await,
    );
    let (a, b) = (NodeId::new_random(), NodeId::new_random());
    store.acquire_lease(live, a, t(0), t(10)).await.unwrap();
    store.acquire_lease(lapsed, a, t(0), t(3)).await.unwrap();
    let held = store.renew_leases(a, t(5), t(20)).await.unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!((held[0].agent_id, held[0].expires_at), (live, t(20)));
    assert!(
        !store.release_lease(live, b).await.unwrap(),
        "not b's lease"
    );
    assert!(store.release_lease(live, a).await.unwrap());
    assert!(!store.release_lease(live, a).await.unwrap());
    let leases = store.list_leases().await.unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].agent_id, lapsed);
}

pub async fn expiring_a_nodes_leases_hands_them_over(store: &DieselStore) {
    let agent = new_agent(store, "handed").await;
    let (a, b) = (NodeId::new_random(), NodeId::new_random());
    store.acquire_lease(agent, a, t(0), t(100)).await.unwrap();
    assert_eq!(store.expire_leases(a, t(1)).await.unwrap(), 1);
    let Acquired::Held(taken) = store.acquire_lease(agent, b, t(2), t(12)).await.unwrap() else {
        panic!("an expired lease is taken over");
    };
    assert_eq!((taken.node_id, taken.epoch), (b, 2));
}

pub async fn leases_and_work_go_with_their_agent(store: &DieselStore) {
    let agent = new_agent(store, "deleted").await;
    let node = NodeId::new_random();
    store.acquire_lease(agent, node, t(0), t(10)).await.unwrap();
    store.enqueue_work(&work(agent, "m1", 1)).await.unwrap();
    assert!(store.delete_agent(agent).await.unwrap());
    assert!(store.list_leases().await.unwrap().is_empty());
    assert!(store.queued_work(agent, 10).await.unwrap().is_empty());
}

pub async fn work_is_queued_once_in_order_and_finished(store: &DieselStore) {
    let agent = new_agent(store, "worker").await;
    assert!(store.enqueue_work(&work(agent, "m2", 2)).await.unwrap());
    assert!(store.enqueue_work(&work(agent, "m1", 1)).await.unwrap());
    assert!(
        !store.enqueue_work(&work(agent, "m1", 5)).await.unwrap(),
        "same key"
    );
    let queued = store.queued_work(agent, 10).await.unwrap();
    let keys: Vec<&str> = queued.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["m1", "m2"]);
    assert_eq!(queued[0].payload, json!({"n": 1}));
    assert_eq!(store.queued_work(agent, 1).await.unwrap().len(), 1);
    assert!(store.finish_work(agent, "m1").await.unwrap());
    assert!(!store.finish_work(agent, "m1").await.unwrap());
    assert_eq!(store.drop_work(agent).await.unwrap(), 1);
    assert!(store.queued_work(agent, 10).await.unwrap().is_empty());
}

fn work(agent: eliza_domain::AgentId, key: &str, n: i64) -> QueuedWork {
    QueuedWork {
        agent_id: agent,
        key: key.to_owned(),
        payload: json!({"n": n}),
        created_at: t(n),
    }
}

pub async fn nodes_register_their_address_and_a_restart_replaces_it(store: &DieselStore) {
    let (a, b, restarted) = (
        NodeId::new_random(),
        NodeId::new_random(),
        NodeId::new_random(),
    );
    store
        .register_node(a, "http://10.0.0.1:3000", t(0))
        .await
        .unwrap();
    store
        .register_node(b, "http://10.0.0.2:3000", t(0))
        .await
        .unwrap();
    assert_eq!(
        store.node_url(a).await.unwrap().as_deref(),
        Some("http://10.0.0.1:3000")
    );
    assert_eq!(
        store.node_url(b).await.unwrap().as_deref(),
        Some("http://10.0.0.2:3000")
    );
    // The process at 10.0.0.1 restarts as a new node: the old one no longer has an address.
    store
        .register_node(restarted, "http://10.0.0.1:3000", t(5))
        .await
        .unwrap();
    assert_eq!(store.node_url(a).await.unwrap(), None);
    assert_eq!(
        store.node_url(restarted).await.unwrap().as_deref(),
        Some("http://10.0.0.1:3000")
    );
    assert_eq!(store.node_url(NodeId::new_random()).await.unwrap(), None);
}
