//! The domain ports, each method a one-liner around a query function run through [`DieselStore::run`].
//! Borrowed arguments are cloned because the work moves to a blocking thread.

use crate::DieselStore;
use crate::queries::{
    agents, channels, cluster, logs, memories, message_servers, messages, records, worlds,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use eliza_domain::Agent;
use eliza_domain::cluster::{Acquired, ClusterStore, Lease, NodeId, QueuedWork};
use eliza_domain::ids::{
    AgentId, ChannelId, EntityId, LogId, MemoryId, MessageId, MessageServerId, RoomId, TaskId,
    WorldId,
};
use eliza_domain::log::{AgentLog, LogQuery, RunPage, RunQuery};
use eliza_domain::memory::{Memory, MemoryQuery, MemorySearch, ScoredMemory};
use eliza_domain::messaging::{
    CentralMessage, Channel, ChannelType, ChannelUpdate, MessagePage, MessageSearch, MessageServer,
};
use eliza_domain::records::{RecordKind, RecordOrder, RecordStore, SharedRecord};
use eliza_domain::store::{
    AgentStore, ChannelStore, LogStore, MemoryStore, MessageServerStore, MessageStore, PoolStatus,
    StoreInfo, StoreResult, WorldStore,
};
use eliza_domain::task::{CacheEntry, Task};
use eliza_domain::world::{Entity, Participant, Relationship, Room, RoomState, World};
use serde_json::Value;
use uuid::Uuid;

#[async_trait]
impl AgentStore for DieselStore {
    async fn create_agent(&self, agent: &Agent) -> StoreResult<bool> {
        let agent = agent.clone();
        self.run(move |c| agents::create(c, &agent)).await
    }

    async fn save_agent(&self, agent: &Agent) -> StoreResult<Agent> {
        let agent = agent.clone();
        self.run(move |c| agents::save(c, &agent)).await
    }

    async fn get_agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        self.run(move |c| agents::get(c, id)).await
    }

    async fn list_agents(&self) -> StoreResult<Vec<Agent>> {
        self.run(agents::list).await
    }

    async fn update_agent(
        &self,
        id: AgentId,
        patch: &Value,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Agent>> {
        let patch = patch.clone();
        self.run(move |c| agents::update(c, id, &patch, now)).await
    }

    async fn delete_agent(&self, id: AgentId) -> StoreResult<bool> {
        self.run(move |c| agents::delete(c, id)).await
    }
}

#[async_trait]
impl MessageServerStore for DieselStore {
    async fn create_message_server(&self, server: &MessageServer) -> StoreResult<MessageServer> {
        let server = server.clone();
        self.run(move |c| message_servers::create(c, &server)).await
    }

    async fn get_message_server(&self, id: MessageServerId) -> StoreResult<Option<MessageServer>> {
        self.run(move |c| message_servers::get(c, id)).await
    }

    async fn list_message_servers(&self) -> StoreResult<Vec<MessageServer>> {
        self.run(message_servers::list).await
    }

    async fn update_message_server(&self, server: &MessageServer) -> StoreResult<bool> {
        let server = server.clone();
        self.run(move |c| message_servers::update(c, &server)).await
    }

    async fn delete_message_server(&self, id: MessageServerId) -> StoreResult<bool> {
        self.run(move |c| message_servers::delete(c, id)).await
    }

    async fn add_agent_to_server(
        &self,
        server: MessageServerId,
        agent: AgentId,
    ) -> StoreResult<()> {
        self.run(move |c| message_servers::add_agent(c, server, agent))
            .await
    }

    async fn remove_agent_from_server(
        &self,
        server: MessageServerId,
        agent: AgentId,
    ) -> StoreResult<bool> {
        self.run(move |c| message_servers::remove_agent(c, server, agent))
            .await
    }

    async fn list_server_agents(&self, server: MessageServerId) -> StoreResult<Vec<AgentId>> {
        self.run(move |c| message_servers::server_agents(c, server))
            .await
    }

    async fn list_agent_servers(&self, agent: AgentId) -> StoreResult<Vec<MessageServerId>> {
        self.run(move |c| message_servers::agent_servers(c, agent))
            .await
    }
}

#[async_trait]
impl ChannelStore for DieselStore {
    async fn create_channel(
        &self,
        channel: &Channel,
        participants: &[String],
    ) -> StoreResult<Channel> {
        let (channel, participants) = (channel.clone(), participants.to_vec());
        self.run(move |c| channels::create(c, &channel, &participants))
            .await
    }

    async fn get_channel(&self, id: ChannelId) -> StoreResult<Option<Channel>> {
        self.run(move |c| channels::get(c, id)).await
    }

    async fn list_server_channels(&self, server: MessageServerId) -> StoreResult<Vec<Channel>> {
        self.run(move |c| channels::list_for_server(c, server))
            .await
    }

    async fn update_channel(
        &self,
        id: ChannelId,
        update: &ChannelUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Channel>> {
        let update = update.clone();
        self.run(move |c| channels::update(c, id, &update, now))
            .await
    }

    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool> {
        self.run(move |c| channels::delete(c, id)).await
    }

    async fn add_channel_participants(
        &self,
        id: ChannelId,
        participants: &[String],
    ) -> StoreResult<()> {
        let participants = participants.to_vec();
        self.run(move |c| channels::add_participants(c, id, &participants))
            .await
    }

    async fn remove_channel_participant(
        &self,
        id: ChannelId,
        participant: &str,
    ) -> StoreResult<bool> {
        let participant = participant.to_owned();
        self.run(move |c| channels::remove_participant(c, id, &participant))
            .await
    }

    async fn list_channel_participants(&self, id: ChannelId) -> StoreResult<Vec<String>> {
        self.run(move |c| channels::participants(c, id)).await
    }

    async fn find_channel_named(
        &self,
        server: MessageServerId,
        kind: ChannelType,
        name: &str,
    ) -> StoreResult<Option<Channel>> {
        let name = name.to_owned();
        self.run(move |c| channels::find_named(c, server, kind, &name))
            .await
    }
}

#[async_trait]
impl MessageStore for DieselStore {
    async fn create_message(&self, message: &CentralMessage) -> StoreResult<CentralMessage> {
        let message = message.clone();
        self.run(move |c| messages::create(c, &message)).await
    }

    async fn get_message(&self, id: MessageId) -> StoreResult<Option<CentralMessage>> {
        self.run(move |c| messages::get(c, id)).await
    }

    async fn list_channel_messages(
        &self,
        channel: ChannelId,
        page: MessagePage,
    ) -> StoreResult<Vec<CentralMessage>> {
        self.run(move |c| messages::list_for_channel(c, channel, page))
            .await
    }

    async fn update_message(&self, message: &CentralMessage) -> StoreResult<bool> {
        let message = message.clone();
        self.run(move |c| messages::update(c, &message)).await
    }

    async fn delete_message(&self, id: MessageId) -> StoreResult<bool> {
        self.run(move |c| messages::delete(c, id)).await
    }

    async fn clear_channel_messages(&self, channel: ChannelId) -> StoreResult<u64> {
        self.run(move |c| messages::clear_channel(c, channel)).await
    }

    async fn search_messages(&self, search: &MessageSearch) -> StoreResult<Vec<CentralMessage>> {
        let search = search.clone();
        self.run(move |c| messages::search(c, &search)).await
    }

    async fn list_replies(&self, message: MessageId) -> StoreResult<Vec<CentralMessage>> {
        self.run(move |c| messages::replies(c, message)).await
    }
}

#[async_trait]
impl WorldStore for DieselStore {
    async fn ensure_entity(&self, entity: &Entity) -> StoreResult<bool> {
        let entity = entity.clone();
        self.run(move |c| worlds::ensure_entity(c, &entity)).await
    }

    async fn get_entity(&self, agent: AgentId, id: EntityId) -> StoreResult<Option<Entity>> {
        self.run(move |c| worlds::get_entity(c, agent, id)).await
    }

    async fn ensure_world(&self, world: &World) -> StoreResult<bool> {
        let world = world.clone();
        self.run(move |c| worlds::ensure_world(c, &world)).await
    }

    async fn get_world(&self, id: WorldId) -> StoreResult<Option<World>> {
        self.run(move |c| worlds::get_world(c, id)).await
    }

    async fn list_agent_worlds(&self, agent: AgentId) -> StoreResult<Vec<World>> {
        self.run(move |c| worlds::agent_worlds(c, agent)).await
    }

    async fn update_world(&self, world: &World) -> StoreResult<bool> {
        let world = world.clone();
        self.run(move |c| worlds::update_world(c, &world)).await
    }

    async fn delete_world(&self, id: WorldId) -> StoreResult<bool> {
        self.run(move |c| worlds::delete_world(c, id)).await
    }

    async fn ensure_room(&self, room: &Room) -> StoreResult<bool> {
        let room = room.clone();
        self.run(move |c| worlds::ensure_room(c, &room)).await
    }

    async fn get_room(&self, id: RoomId) -> StoreResult<Option<Room>> {
        self.run(move |c| worlds::get_room(c, id)).await
    }

    async fn list_agent_rooms(&self, agent: AgentId) -> StoreResult<Vec<Room>> {
        self.run(move |c| worlds::agent_rooms(c, agent)).await
    }

    async fn list_world_rooms(&self, world: WorldId) -> StoreResult<Vec<Room>> {
        self.run(move |c| worlds::world_rooms(c, world)).await
    }

    async fn delete_room(&self, id: RoomId) -> StoreResult<bool> {
        self.run(move |c| worlds::delete_room(c, id)).await
    }

    async fn ensure_participant(&self, participant: &Participant) -> StoreResult<bool> {
        let participant = participant.clone();
        self.run(move |c| worlds::ensure_participant(c, &participant))
            .await
    }

    async fn list_room_participants(&self, room: RoomId) -> StoreResult<Vec<Participant>> {
        self.run(move |c| worlds::room_participants(c, room)).await
    }

    async fn set_room_state(
        &self,
        room: RoomId,
        entity: EntityId,
        state: Option<RoomState>,
    ) -> StoreResult<bool> {
        self.run(move |c| worlds::set_room_state(c, room, entity, state))
            .await
    }

    async fn upsert_relationship(&self, relationship: &Relationship) -> StoreResult<()> {
        let relationship = relationship.clone();
        self.run(move |c| worlds::upsert_relationship(c, &relationship))
            .await
    }

    async fn list_entity_relationships(
        &self,
        agent: AgentId,
        entity: EntityId,
    ) -> StoreResult<Vec<Relationship>> {
        self.run(move |c| worlds::entity_relationships(c, agent, entity))
            .await
    }
}

#[async_trait]
impl MemoryStore for DieselStore {
    async fn create_memory(&self, memory: &Memory) -> StoreResult<bool> {
        let memory = memory.clone();
        self.run(move |c| memories::create(c, &memory, Utc::now()))
            .await
    }

    async fn get_memory(&self, id: MemoryId) -> StoreResult<Option<Memory>> {
        self.run(move |c| memories::get(c, id)).await
    }

    async fn list_memories(&self, query: &MemoryQuery) -> StoreResult<Vec<Memory>> {
        let query = query.clone();
        self.run(move |c| memories::list(c, &query)).await
    }

    async fn update_memory(&self, memory: &Memory) -> StoreResult<bool> {
        let memory = memory.clone();
        self.run(move |c| memories::update(c, &memory, Utc::now()))
            .await
    }

    async fn set_memory_embedding(&self, id: MemoryId, embedding: &[f32]) -> StoreResult<bool> {
        let embedding = embedding.to_vec();
        self.run(move |c| memories::set_embedding(c, id, &embedding, Utc::now()))
            .await
    }

    async fn delete_memory(&self, id: MemoryId) -> StoreResult<bool> {
        self.run(move |c| memories::delete(c, id)).await
    }

    async fn delete_memories(
        &self,
        agent: AgentId,
        room: Option<RoomId>,
        tables: &[&str],
    ) -> StoreResult<u64> {
        let tables: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
        self.run(move |c| memories::delete_many(c, agent, room, &tables))
            .await
    }

    async fn delete_world_memories(&self, world: WorldId, tables: &[&str]) -> StoreResult<u64> {
        let tables: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
        self.run(move |c| memories::delete_in_world(c, world, &tables))
            .await
    }

    async fn search_memories(&self, search: &MemorySearch) -> StoreResult<Vec<ScoredMemory>> {
        self.search_vectors(search.clone()).await
    }

    async fn index_agent_vectors(&self, agent: AgentId) -> StoreResult<()> {
        self.open_vector_index(agent).await
    }

    fn drop_agent_vectors(&self, agent: AgentId) {
        self.close_vector_index(agent);
    }

    fn vector_search_path(&self) -> String {
        format!(
            "HNSW index in memory per agent running on this node (exact below {} vectors, and for agents running elsewhere)",
            eliza_vector_index::ANN_MIN_VECTORS
        )
    }
}

#[async_trait]
impl LogStore for DieselStore {
    async fn create_log(&self, log: &AgentLog) -> StoreResult<()> {
        let log = log.clone();
        self.run(move |c| logs::create_log(c, &log)).await
    }

    async fn list_logs(&self, query: &LogQuery) -> StoreResult<Vec<AgentLog>> {
        let query = query.clone();
        self.run(move |c| logs::list_logs(c, &query)).await
    }

    async fn delete_log(&self, agent: AgentId, id: LogId) -> StoreResult<bool> {
        self.run(move |c| logs::delete_log(c, agent, id)).await
    }

    async fn list_runs(&self, query: &RunQuery) -> StoreResult<RunPage> {
        let query = query.clone();
        self.run(move |c| logs::list_runs(c, &query)).await
    }

    async fn list_run_logs(
        &self,
        agent: AgentId,
        run_id: &str,
        room: Option<RoomId>,
    ) -> StoreResult<Vec<AgentLog>> {
        let run_id = run_id.to_owned();
        self.run(move |c| logs::list_run_logs(c, agent, &run_id, room))
            .await
    }

    async fn create_task(&self, task: &Task) -> StoreResult<()> {
        let task = task.clone();
        self.run(move |c| logs::create_task(c, &task)).await
    }

    async fn list_agent_tasks(&self, agent: AgentId) -> StoreResult<Vec<Task>> {
        self.run(move |c| logs::agent_tasks(c, agent)).await
    }

    async fn delete_task(&self, id: TaskId) -> StoreResult<bool> {
        self.run(move |c| logs::delete_task(c, id)).await
    }

    async fn set_cache(&self, entry: &CacheEntry) -> StoreResult<()> {
        let entry = entry.clone();
        self.run(move |c| logs::set_cache(c, &entry)).await
    }

    async fn get_cache(
        &self,
        agent: AgentId,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CacheEntry>> {
        let key = key.to_owned();
        self.run(move |c| logs::get_cache(c, agent, &key, now))
            .await
    }

    async fn delete_cache(&self, agent: AgentId, key: &str) -> StoreResult<bool> {
        let key = key.to_owned();
        self.run(move |c| logs::delete_cache(c, agent, &key)).await
    }
}

#[async_trait]
impl StoreInfo for DieselStore {
    fn backend(&self) -> &'static str {
        self.backend_kind().as_str()
    }

    fn pool_status(&self) -> PoolStatus {
        self.pool_state()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run(|c| Ok(c.batch_execute("SELECT 1")?)).await
    }
}

#[async_trait]
impl ClusterStore for DieselStore {
    async fn acquire_lease(
        &self,
        agent: AgentId,
        node: NodeId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Acquired> {
        self.run(move |c| cluster::acquire(c, agent, node, now, until))
            .await
    }

    async fn renew_leases(
        &self,
        node: NodeId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<Lease>> {
        self.run(move |c| cluster::renew(c, node, now, until)).await
    }

    async fn release_lease(&self, agent: AgentId, node: NodeId) -> StoreResult<bool> {
        self.run(move |c| cluster::release(c, agent, node)).await
    }

    async fn expire_leases(&self, node: NodeId, now: DateTime<Utc>) -> StoreResult<u64> {
        self.run(move |c| cluster::expire(c, node, now)).await
    }

    async fn list_leases(&self) -> StoreResult<Vec<Lease>> {
        self.run(cluster::list).await
    }

    async fn holds_lease(
        &self,
        agent: AgentId,
        node: NodeId,
        epoch: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.run(move |c| cluster::holds(c, agent, node, epoch, now))
            .await
    }

    async fn enqueue_work(&self, work: &QueuedWork) -> StoreResult<bool> {
        let work = work.clone();
        self.run(move |c| cluster::enqueue(c, &work)).await
    }

    async fn queued_work(&self, agent: AgentId, limit: i64) -> StoreResult<Vec<QueuedWork>> {
        self.run(move |c| cluster::queued(c, agent, limit)).await
    }

    async fn finish_work(&self, agent: AgentId, key: &str) -> StoreResult<bool> {
        let key = key.to_owned();
        self.run(move |c| cluster::finish(c, agent, &key)).await
    }

    async fn drop_work(&self, agent: AgentId) -> StoreResult<u64> {
        self.run(move |c| cluster::drop_all(c, agent)).await
    }

    async fn register_node(
        &self,
        node: NodeId,
        http_url: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let http_url = http_url.to_owned();
        self.run(move |c| cluster::register_node(c, node, &http_url, now))
            .await
    }

    async fn node_url(&self, node: NodeId) -> StoreResult<Option<String>> {
        self.run(move |c| cluster::node_url(c, node)).await
    }
}

#[async_trait]
impl RecordStore for DieselStore {
    async fn insert_record(&self, record: &SharedRecord) -> StoreResult<bool> {
        let record = record.clone();
        self.run(move |c| records::insert(c, &record)).await
    }

    async fn get_record(&self, kind: RecordKind, id: Uuid) -> StoreResult<Option<SharedRecord>> {
        self.run(move |c| records::get(c, kind, id)).await
    }

    async fn swap_record(&self, record: &SharedRecord) -> StoreResult<bool> {
        let record = record.clone();
        self.run(move |c| records::swap(c, &record)).await
    }

    async fn delete_record(&self, kind: RecordKind, id: Uuid) -> StoreResult<bool> {
        self.run(move |c| records::delete(c, kind, id)).await
    }

    async fn purge_records(&self, kind: RecordKind, now: DateTime<Utc>) -> StoreResult<u64> {
        self.run(move |c| records::purge(c, kind, now)).await
    }

    async fn list_records(
        &self,
        kind: RecordKind,
        tag: Option<&str>,
        order: RecordOrder,
        limit: i64,
    ) -> StoreResult<Vec<SharedRecord>> {
        let tag = tag.map(str::to_owned);
        self.run(move |c| records::list(c, kind, tag.as_deref(), order, limit))
            .await
    }

    async fn count_records(&self, kind: RecordKind) -> StoreResult<Vec<(String, i64)>> {
        self.run(move |c| records::count(c, kind)).await
    }
}
