//! Storage ports: one trait per aggregate, bundled as [`Store`]. Adapters (the diesel store,
//! test fakes) implement them; the runtime and the HTTP layer only ever see these traits.

use crate::agent::Agent;
use crate::ids::{
    AgentId, ChannelId, EntityId, LogId, MemoryId, MessageId, MessageServerId, RoomId, TaskId,
    WorldId,
};
use crate::log::{AgentLog, LogQuery, RunPage, RunQuery};
use crate::memory::{Memory, MemoryQuery, MemorySearch, ScoredMemory};
use crate::messaging::{
    CentralMessage, Channel, ChannelType, ChannelUpdate, MessagePage, MessageSearch, MessageServer,
};
use crate::task::{CacheEntry, Task};
use crate::world::{Entity, Participant, Relationship, Room, RoomState, World};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// A uniqueness or reference constraint refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// No connection could be had in time (pool exhausted, database down).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The stored data or the request is not valid for the domain.
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Agents (and their characters, stored on the same row as in 1.7.2).
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Inserts the agent unless a row with its id exists; returns whether it was inserted.
    async fn create_agent(&self, agent: &Agent) -> StoreResult<bool>;
    /// Inserts or replaces the whole row (keeps `created_at` of an existing row).
    async fn save_agent(&self, agent: &Agent) -> StoreResult<Agent>;
    async fn get_agent(&self, id: AgentId) -> StoreResult<Option<Agent>>;
    async fn list_agents(&self) -> StoreResult<Vec<Agent>>;
    /// Applies a PATCH body atomically (read, `Agent::apply_patch`, write); `None` when the agent is unknown.
    async fn update_agent(
        &self,
        id: AgentId,
        patch: &Value,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Agent>>;
    /// Deletes the agent and, by cascade, everything it owns; returns whether it existed.
    async fn delete_agent(&self, id: AgentId) -> StoreResult<bool>;
}

/// Message servers and their agents.
#[async_trait]
pub trait MessageServerStore: Send + Sync {
    async fn create_message_server(&self, server: &MessageServer) -> StoreResult<MessageServer>;
    async fn get_message_server(&self, id: MessageServerId) -> StoreResult<Option<MessageServer>>;
    async fn list_message_servers(&self) -> StoreResult<Vec<MessageServer>>;
    async fn update_message_server(&self, server: &MessageServer) -> StoreResult<bool>;
    async fn delete_message_server(&self, id: MessageServerId) -> StoreResult<bool>;
    /// Idempotent: adding twice keeps one row.
    async fn add_agent_to_server(&self, server: MessageServerId, agent: AgentId)
    -> StoreResult<()>;
    async fn remove_agent_from_server(
        &self,
        server: MessageServerId,
        agent: AgentId,
    ) -> StoreResult<bool>;
    async fn list_server_agents(&self, server: MessageServerId) -> StoreResult<Vec<AgentId>>;
    async fn list_agent_servers(&self, agent: AgentId) -> StoreResult<Vec<MessageServerId>>;
}

/// Channels and their participants.
#[async_trait]
pub trait ChannelStore: Send + Sync {
    /// Creates the channel with its participants in one transaction.
    async fn create_channel(
        &self,
        channel: &Channel,
        participants: &[String],
    ) -> StoreResult<Channel>;
    async fn get_channel(&self, id: ChannelId) -> StoreResult<Option<Channel>>;
    async fn list_server_channels(&self, server: MessageServerId) -> StoreResult<Vec<Channel>>;
    async fn update_channel(
        &self,
        id: ChannelId,
        update: &ChannelUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Channel>>;
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool>;
    async fn add_channel_participants(
        &self,
        id: ChannelId,
        participants: &[String],
    ) -> StoreResult<()>;
    async fn remove_channel_participant(
        &self,
        id: ChannelId,
        participant: &str,
    ) -> StoreResult<bool>;
    async fn list_channel_participants(&self, id: ChannelId) -> StoreResult<Vec<String>>;
    /// The oldest channel of this type and name on a server (DMs are found by their
    /// `DM-<id1>-<id2>` name, as in 1.7.2).
    async fn find_channel_named(
        &self,
        server: MessageServerId,
        kind: ChannelType,
        name: &str,
    ) -> StoreResult<Option<Channel>>;
}

/// Central messages.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Inserts the message; a message with the same id already stored is returned instead (idempotency).
    async fn create_message(&self, message: &CentralMessage) -> StoreResult<CentralMessage>;
    async fn get_message(&self, id: MessageId) -> StoreResult<Option<CentralMessage>>;
    async fn list_channel_messages(
        &self,
        channel: ChannelId,
        page: MessagePage,
    ) -> StoreResult<Vec<CentralMessage>>;
    async fn update_message(&self, message: &CentralMessage) -> StoreResult<bool>;
    async fn delete_message(&self, id: MessageId) -> StoreResult<bool>;
    /// Deletes every message of the channel; returns how many.
    async fn clear_channel_messages(&self, channel: ChannelId) -> StoreResult<u64>;
    /// Messages matching the search, newest first (ties by id), `offset`/`limit` applied.
    async fn search_messages(&self, search: &MessageSearch) -> StoreResult<Vec<CentralMessage>>;
    /// The messages that answer `message` (`in_reply_to_root_message_id`), oldest first.
    async fn list_replies(&self, message: MessageId) -> StoreResult<Vec<CentralMessage>>;
}

/// Entities, worlds, rooms and participants of each agent.
#[async_trait]
pub trait WorldStore: Send + Sync {
    /// Inserts unless `(id, agent_id)` exists; returns whether it was inserted.
    async fn ensure_entity(&self, entity: &Entity) -> StoreResult<bool>;
    async fn get_entity(&self, agent: AgentId, id: EntityId) -> StoreResult<Option<Entity>>;
    async fn ensure_world(&self, world: &World) -> StoreResult<bool>;
    async fn get_world(&self, id: WorldId) -> StoreResult<Option<World>>;
    async fn list_agent_worlds(&self, agent: AgentId) -> StoreResult<Vec<World>>;
    async fn update_world(&self, world: &World) -> StoreResult<bool>;
    /// Deletes the world with its rooms and everything kept in them; returns whether it existed.
    async fn delete_world(&self, id: WorldId) -> StoreResult<bool>;
    async fn ensure_room(&self, room: &Room) -> StoreResult<bool>;
    async fn get_room(&self, id: RoomId) -> StoreResult<Option<Room>>;
    async fn list_agent_rooms(&self, agent: AgentId) -> StoreResult<Vec<Room>>;
    async fn list_world_rooms(&self, world: WorldId) -> StoreResult<Vec<Room>>;
    async fn delete_room(&self, id: RoomId) -> StoreResult<bool>;
    /// Adds the entity to the room unless it is already a participant.
    async fn ensure_participant(&self, participant: &Participant) -> StoreResult<bool>;
    async fn list_room_participants(&self, room: RoomId) -> StoreResult<Vec<Participant>>;
    async fn set_room_state(
        &self,
        room: RoomId,
        entity: EntityId,
        state: Option<RoomState>,
    ) -> StoreResult<bool>;
    /// Inserts or updates (by source, target, agent) a relationship.
    async fn upsert_relationship(&self, relationship: &Relationship) -> StoreResult<()>;
    async fn list_entity_relationships(
        &self,
        agent: AgentId,
        entity: EntityId,
    ) -> StoreResult<Vec<Relationship>>;
}

/// Memories and their embeddings.
#[async_trait]
pub trait MemoryStore: Send + Sync {
    /// Inserts unless the id exists (the embedding only for a new row); returns whether it was inserted.
    async fn create_memory(&self, memory: &Memory) -> StoreResult<bool>;
    async fn get_memory(&self, id: MemoryId) -> StoreResult<Option<Memory>>;
    async fn list_memories(&self, query: &MemoryQuery) -> StoreResult<Vec<Memory>>;
    /// Replaces content, metadata, entity, room and world, and the embedding when the memory
    /// carries one.
    async fn update_memory(&self, memory: &Memory) -> StoreResult<bool>;
    /// Sets (or replaces) only the memory's embedding, leaving its content alone: what a
    /// background embedder writes, so it never undoes an edit made while it computed.
    /// False when the memory is gone.
    async fn set_memory_embedding(&self, id: MemoryId, embedding: &[f32]) -> StoreResult<bool>;
    async fn delete_memory(&self, id: MemoryId) -> StoreResult<bool>;
    /// Deletes an agent's memories of the given tables (all tables when empty), optionally in one room.
    async fn delete_memories(
        &self,
        agent: AgentId,
        room: Option<RoomId>,
        tables: &[&str],
    ) -> StoreResult<u64>;
    /// Deletes the memories of the given tables (all tables when empty) that belong to the world:
    /// stamped with it or kept in one of its rooms; returns how many.
    async fn delete_world_memories(&self, world: WorldId, tables: &[&str]) -> StoreResult<u64>;
    /// Exact cosine search, best first.
    async fn search_memories(&self, search: &MemorySearch) -> StoreResult<Vec<ScoredMemory>>;
    /// Keeps an approximate nearest-neighbour index of the agent's memory vectors on this node
    /// (built in the background; searches are exact until it is ready). A store without one
    /// ignores this.
    async fn index_agent_vectors(&self, _agent: AgentId) -> StoreResult<()> {
        Ok(())
    }
    /// Drops the agent's index (the agent stopped here or moved to another node).
    fn drop_agent_vectors(&self, _agent: AgentId) {}
    /// How vector searches run, for the start-up log.
    fn vector_search_path(&self) -> String {
        "exact (every vector of the agent's table is scored)".to_owned()
    }
}

/// Logs, tasks and the cache.
#[async_trait]
pub trait LogStore: Send + Sync {
    async fn create_log(&self, log: &AgentLog) -> StoreResult<()>;
    async fn list_logs(&self, query: &LogQuery) -> StoreResult<Vec<AgentLog>>;
    async fn delete_log(&self, agent: AgentId, id: LogId) -> StoreResult<bool>;
    /// The agent's runs from its `run_event` rows, with their counts (see `RunCounts::tally`).
    async fn list_runs(&self, query: &RunQuery) -> StoreResult<RunPage>;
    /// The agent's rows of one run (in `room` when given), oldest first, at most `RUN_LOGS_MAX`: those
    /// whose `body.runId` or `body.parentRunId` is `run_id`, and the `action_event` rows of the runs of
    /// its `action` rows.
    async fn list_run_logs(
        &self,
        agent: AgentId,
        run_id: &str,
        room: Option<RoomId>,
    ) -> StoreResult<Vec<AgentLog>>;
    async fn create_task(&self, task: &Task) -> StoreResult<()>;
    async fn list_agent_tasks(&self, agent: AgentId) -> StoreResult<Vec<Task>>;
    async fn delete_task(&self, id: TaskId) -> StoreResult<bool>;
    async fn set_cache(&self, entry: &CacheEntry) -> StoreResult<()>;
    /// The live (unexpired) entry for the key, if any.
    async fn get_cache(
        &self,
        agent: AgentId,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CacheEntry>>;
    async fn delete_cache(&self, agent: AgentId, key: &str) -> StoreResult<bool>;
}

/// Connection pool figures, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    pub connections: u32,
    pub idle: u32,
    pub max_size: u32,
}

/// Facts about the store itself.
#[async_trait]
pub trait StoreInfo: Send + Sync {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    fn pool_status(&self) -> PoolStatus;
    /// A round trip to the database.
    async fn ping(&self) -> StoreResult<()>;
}

/// Everything the server needs from storage.
pub trait Store:
    AgentStore
    + MessageServerStore
    + ChannelStore
    + MessageStore
    + WorldStore
    + MemoryStore
    + LogStore
    + StoreInfo
{
}

impl<T> Store for T where
    T: AgentStore
        + MessageServerStore
        + ChannelStore
        + MessageStore
        + WorldStore
        + MemoryStore
        + LogStore
        + StoreInfo
{
}
