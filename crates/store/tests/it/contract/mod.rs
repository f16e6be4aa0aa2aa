//! The behaviours every backend must show, one async function each.

mod agents;
mod cluster;
mod logs;
mod memories;
mod message_search;
mod messaging;
mod records;
mod vector_index;
mod worlds;

pub use agents::*;
pub use cluster::*;
pub use logs::*;
pub use memories::*;
pub use message_search::*;
pub use messaging::*;
pub use records::*;
pub use vector_index::*;
pub use worlds::*;

use crate::fixtures as fx;
use eliza_domain::messaging::{CentralMessage, Channel, ChannelType, MessageServer};
use eliza_domain::store::{AgentStore, ChannelStore, MessageServerStore};
use eliza_domain::{AgentId, MessageId, MessageServerId, StoreError};
use eliza_store::DieselStore;

/// Asserts the result is the given `StoreError` variant.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "expected Conflict, got {result:?}"
    );
}

/// Stores a new agent; returns its id.
pub async fn new_agent(store: &DieselStore, name: &str) -> AgentId {
    let agent = fx::agent(name);
    store.create_agent(&agent).await.unwrap();
    agent.id
}

/// Stores a new message server.
pub async fn new_server(store: &DieselStore, name: &str) -> MessageServer {
    let server = fx::server(name);
    store.create_message_server(&server).await.unwrap();
    server
}

/// A new server with one group channel and no participants.
pub async fn server_with_channel(store: &DieselStore) -> (MessageServerId, Channel) {
    let server = new_server(store, "S").await;
    let channel = fx::channel(server.id, ChannelType::Group);
    store.create_channel(&channel, &[]).await.unwrap();
    (server.id, channel)
}

pub fn message_ids(messages: &[CentralMessage]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}
