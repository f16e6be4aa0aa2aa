//! The agent's side of the message bus (1.7.2's MessageBusService): takes work from the agent's
//! inbox, maps central messages to the agent's world, room, entity and memory, and runs a turn
//! for each new one. Turns run concurrently, up to the runtime's limit.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use crate::pipeline::handle_turn;
use crate::turn::{
    MappedIds, RoomClaim, Turn, agent_copy_of, incoming_memory, message_source, room_of,
    sender_name, short_name,
};
use chrono::Utc;
use eliza_bus::{AgentWork, BusMessage, Delivery, Inbox};
use eliza_domain::memory::MESSAGES_TABLE;
use eliza_domain::messaging::ChannelType;
use eliza_domain::store::StoreResult;
use eliza_domain::world::{Entity, Room, World};
use eliza_domain::{AgentId, ChannelId, EntityId, MemoryId, MessageId, RoomId, Store};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Consumes the inbox until it is closed and drained.
pub fn spawn_worker(runtime: Arc<AgentRuntime>, mut inbox: Inbox) -> JoinHandle<()> {
    let permits = Arc::new(Semaphore::new(runtime.options.concurrent_turns.max(1)));
    tokio::spawn(async move {
        while let Some(delivery) = inbox.recv().await {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let runtime = Arc::clone(&runtime);
            tokio::spawn(async move {
                handle_delivery(&runtime, delivery).await;
                drop(permit);
            });
        }
    })
}

/// Handles one delivery; it is acknowledged unless the failure happened before the message was
/// recorded (then it comes back, and the memory id keeps a repeat from running twice).
async fn handle_delivery(runtime: &AgentRuntime, delivery: Delivery) {
    let outcome = match delivery.work() {
        AgentWork::Message {
            message,
            channel_type,
        } => receive(runtime, message, *channel_type).await,
        AgentWork::MessageDeleted {
            channel_id,
            message_id,
        } => {
            tracing::debug!(%channel_id, %message_id, "forgetting a deleted message");
            forget_message(runtime.store.as_ref(), runtime.id, *message_id)
                .await
                .map_err(Into::into)
        }
        AgentWork::ChannelCleared { channel_id } => {
            forget_channel(runtime.store.as_ref(), runtime.id, *channel_id)
                .await
                .map(drop)
                .map_err(Into::into)
        }
    };
    match outcome {
        Ok(()) => delivery.ack(),
        Err(err) => {
            tracing::warn!(agent = %runtime.id, attempt = delivery.attempt(), %err, "agent work failed; it will be retried");
        }
    }
}

/// Forgets a deleted channel message: the agent's copy of it and, when the message was the
/// agent's own reply (stored under the same id), that memory too. Also used for agents that are
/// not running when the message goes.
pub async fn forget_message(
    store: &dyn Store,
    agent: AgentId,
    message_id: MessageId,
) -> StoreResult<()> {
    store
        .delete_memory(agent_copy_of(agent, message_id))
        .await?;
    let own = MemoryId(message_id.0);
    if store
        .get_memory(own)
        .await?
        .is_some_and(|memory| memory.agent_id == agent)
    {
        store.delete_memory(own).await?;
    }
    Ok(())
}

/// Forgets every message of a cleared or deleted channel (the `messages` of its room); returns
/// how many memories went.
pub async fn forget_channel(
    store: &dyn Store,
    agent: AgentId,
    channel: ChannelId,
) -> StoreResult<u64> {
    let room = room_of(agent, &channel.to_string());
    store
        .delete_memories(agent, Some(room), &[MESSAGES_TABLE])
        .await
}

/// Records a channel message in the agent's memory and runs the turn. Own messages and other
/// agents' replies are never answered (no agent loops).
async fn receive(
    runtime: &AgentRuntime,
    message: &BusMessage,
    channel_type: ChannelType,
) -> RuntimeResult<()> {
    if message.author_id == runtime.id.to_string() || message.source_type == "agent_response" {
        return Ok(());
    }
    let ids = MappedIds::of(runtime.id, message);
    let room = ensure_connection(runtime, message, &ids, channel_type).await?;
    let memory = incoming_memory(runtime.id, message, &ids, channel_type);
    match runtime.store.create_memory(&memory).await {
        Ok(true) => {}
        // A delivery of the same message got there first: it is handled already.
        Ok(false) => return Ok(()),
        Err(err) => {
            // The room may have been deleted under the agent: check it again next time.
            runtime.connections.forget(ids.room);
            return Err(err.into());
        }
    }
    let turn = Turn {
        message: memory,
        room,
        central: message.clone(),
        channel_type,
        sender_name: sender_name(message),
        run_id: Uuid::new_v4(),
        response_id: Uuid::new_v4(),
        seed: runtime.options.seed.unwrap_or_else(rand::random),
        room_state: None,
        claim: RoomClaim::unclaimed(),
    };
    handle_turn(runtime, turn).await;
    Ok(())
}

fn metadata_text(message: &BusMessage, key: &str) -> Option<String> {
    message
        .metadata_field(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// The rooms this agent has already set up, and who it knows in each, so a conversation's later
/// messages skip the world/room/entity/participant checks (six store round trips).
#[derive(Default)]
pub(crate) struct Connections {
    rooms: Mutex<HashMap<RoomId, (Room, HashSet<EntityId>)>>,
}

impl Connections {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<RoomId, (Room, HashSet<EntityId>)>) -> T) -> T {
        f(&mut self.rooms.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn room(&self, id: RoomId) -> Option<Room> {
        self.with(|rooms| rooms.get(&id).map(|(room, _)| room.clone()))
    }

    fn knows(&self, id: RoomId, entity: EntityId) -> bool {
        self.with(|rooms| {
            rooms
                .get(&id)
                .is_some_and(|(_, known)| known.contains(&entity))
        })
    }

    fn remember(&self, room: &Room, entity: EntityId) {
        self.with(|rooms| {
            rooms
                .entry(room.id)
                .or_insert_with(|| (room.clone(), HashSet::new()))
                .1
                .insert(entity);
        });
    }

    pub(crate) fn forget(&self, id: RoomId) {
        self.with(|rooms| rooms.remove(&id));
    }
}

/// Creates the world, room and author entity when missing (existing ones are left as they
/// are) and makes the author and the agent participants of the room; each only once per room
/// and author while the agent runs.
async fn ensure_connection(
    runtime: &AgentRuntime,
    message: &BusMessage,
    ids: &MappedIds,
    channel_type: ChannelType,
) -> RuntimeResult<Room> {
    let room = match runtime.connections.room(ids.room) {
        Some(room) => room,
        None => ensure_room(runtime, message, ids, channel_type).await?,
    };
    if !runtime.connections.knows(ids.room, ids.entity) {
        runtime
            .store
            .ensure_entity(&Entity {
                id: ids.entity,
                agent_id: runtime.id,
                names: vec![sender_name(message)],
                metadata: json!({"source": message_source(message)}),
                created_at: Utc::now(),
            })
            .await?;
        runtime.ensure_participant(ids.room, ids.entity).await?;
        runtime.connections.remember(&room, ids.entity);
    }
    Ok(room)
}

/// The world and room of the message's server and channel, with the agent as a participant.
async fn ensure_room(
    runtime: &AgentRuntime,
    message: &BusMessage,
    ids: &MappedIds,
    channel_type: ChannelType,
) -> RuntimeResult<Room> {
    let now = Utc::now();
    let server = message.message_server_id.to_string();
    let channel = message.channel_id.to_string();
    let store = &runtime.store;
    store
        .ensure_world(&World {
            id: ids.world,
            agent_id: runtime.id,
            name: metadata_text(message, "serverName")
                .unwrap_or_else(|| short_name("Server", ' ', &server)),
            metadata: None,
            message_server_id: Some(message.message_server_id.0),
            created_at: now,
        })
        .await?;
    let room = Room {
        id: ids.room,
        agent_id: runtime.id,
        source: message_source(message),
        room_type: channel_type.as_str().to_owned(),
        message_server_id: Some(message.message_server_id.0),
        world_id: Some(ids.world),
        name: Some(
            metadata_text(message, "channelName")
                .unwrap_or_else(|| short_name("Channel", ' ', &channel)),
        ),
        metadata: None,
        channel_id: Some(channel),
        created_at: now,
    };
    // An existing room is kept as it is (1.7.2 never updates it), so read back what is stored.
    let room = if store.ensure_room(&room).await? {
        room
    } else {
        store.get_room(ids.room).await?.unwrap_or(room)
    };
    runtime
        .ensure_participant(ids.room, EntityId(runtime.id.0))
        .await?;
    runtime.connections.remember(&room, EntityId(runtime.id.0));
    Ok(room)
}
