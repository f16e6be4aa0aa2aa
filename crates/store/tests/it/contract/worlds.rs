//! WorldStore: entities, worlds, rooms, participants and relationships.

use super::{assert_conflict, new_agent};
use crate::fixtures as fx;
use eliza_domain::memory::MemoryQuery;
use eliza_domain::store::{MemoryStore, WorldStore};
use eliza_domain::world::RoomState;
use eliza_domain::{AgentId, EntityId, RoomId, WorldId};
use eliza_store::DieselStore;
use serde_json::json;

pub async fn entity_ensure_is_per_agent(store: &DieselStore) {
    let a = new_agent(store, "A").await;
    let b = new_agent(store, "B").await;
    let entity = fx::entity(a);
    assert!(store.ensure_entity(&entity).await.unwrap());
    let mut renamed = entity.clone();
    renamed.names = vec!["Other".into()];
    assert!(!store.ensure_entity(&renamed).await.unwrap());
    assert_eq!(
        store.get_entity(a, entity.id).await.unwrap(),
        Some(entity.clone())
    );
    // The same entity id is a separate row for another agent (1.7.2 quirk 10 fixed).
    assert_eq!(store.get_entity(b, entity.id).await.unwrap(), None);
    let for_b = eliza_domain::world::Entity {
        agent_id: b,
        metadata: json!({}),
        ..entity.clone()
    };
    assert!(store.ensure_entity(&for_b).await.unwrap());
    assert_eq!(store.get_entity(b, entity.id).await.unwrap(), Some(for_b));
    assert_eq!(store.get_entity(a, entity.id).await.unwrap(), Some(entity));
    assert_eq!(
        store.get_entity(a, EntityId::new_random()).await.unwrap(),
        None
    );
    assert_conflict(
        store
            .ensure_entity(&fx::entity(AgentId::new_random()))
            .await,
    );
}

pub async fn world_crud(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let other = new_agent(store, "B").await;
    let mut first = fx::world(agent);
    first.created_at = fx::t(1);
    let mut second = fx::world(agent);
    second.created_at = fx::t(2);
    second.metadata = None;
    second.message_server_id = None;
    assert!(store.ensure_world(&second).await.unwrap());
    assert!(store.ensure_world(&first).await.unwrap());
    assert!(!store.ensure_world(&first).await.unwrap());
    store.ensure_world(&fx::world(other)).await.unwrap();
    assert_eq!(
        store.get_world(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_world(WorldId::new_random()).await.unwrap(), None);
    assert_eq!(
        store.list_agent_worlds(agent).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    let mut changed = first.clone();
    changed.name = "Renamed".into();
    changed.metadata = Some(json!({"settings": {"a": 1}}));
    changed.message_server_id = None;
    changed.created_at = fx::t(999);
    assert!(store.update_world(&changed).await.unwrap());
    let stored = store.get_world(first.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Renamed");
    assert_eq!(stored.metadata, changed.metadata);
    assert_eq!(stored.message_server_id, None);
    assert_eq!(stored.created_at, first.created_at);
    assert!(!store.update_world(&fx::world(agent)).await.unwrap());

    assert!(store.delete_world(first.id).await.unwrap());
    assert!(!store.delete_world(first.id).await.unwrap());
    assert_eq!(store.list_agent_worlds(agent).await.unwrap(), vec![second]);
    assert_conflict(store.ensure_world(&fx::world(AgentId::new_random())).await);
}

pub async fn room_crud_and_cascades(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let world = fx::world(agent);
    store.ensure_world(&world).await.unwrap();
    let mut in_world = fx::room(agent, Some(world.id));
    in_world.created_at = fx::t(1);
    let mut loose = fx::room(agent, None);
    loose.created_at = fx::t(2);
    loose.name = None;
    loose.channel_id = None;
    loose.metadata = Some(json!({"m": 1}));
    assert!(store.ensure_room(&in_world).await.unwrap());
    assert!(!store.ensure_room(&in_world).await.unwrap());
    assert!(store.ensure_room(&loose).await.unwrap());
    assert_eq!(store.get_room(loose.id).await.unwrap(), Some(loose.clone()));
    assert_eq!(store.get_room(RoomId::new_random()).await.unwrap(), None);
    assert_eq!(
        store.list_agent_rooms(agent).await.unwrap(),
        vec![in_world.clone(), loose.clone()]
    );
    assert_eq!(
        store.list_world_rooms(world.id).await.unwrap(),
        vec![in_world.clone()]
    );
    assert!(
        store
            .list_world_rooms(WorldId::new_random())
            .await
            .unwrap()
            .is_empty()
    );
    assert_conflict(
        store
            .ensure_room(&fx::room(AgentId::new_random(), None))
            .await,
    );

    // Deleting a room removes its participants and memories.
    let entity = fx::entity(agent);
    store.ensure_entity(&entity).await.unwrap();
    store
        .ensure_participant(&fx::participant(agent, entity.id, in_world.id))
        .await
        .unwrap();
    let memory = fx::memory(agent, Some(in_world.id), fx::t(5));
    store.create_memory(&memory).await.unwrap();
    assert!(store.delete_room(in_world.id).await.unwrap());
    assert!(!store.delete_room(in_world.id).await.unwrap());
    assert!(
        store
            .list_room_participants(in_world.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_memory(memory.id).await.unwrap(), None);
    // Deleting the world takes its rooms, their memories and the memories stamped with it; other
    // rooms and memories stay.
    let doomed = fx::room(agent, Some(world.id));
    store.ensure_room(&doomed).await.unwrap();
    let in_doomed = fx::memory(agent, Some(doomed.id), fx::t(6));
    let mut stamped = fx::memory(agent, None, fx::t(7));
    stamped.world_id = Some(world.id);
    let elsewhere = fx::memory(agent, Some(loose.id), fx::t(8));
    for memory in [&in_doomed, &stamped, &elsewhere] {
        store.create_memory(memory).await.unwrap();
    }
    assert!(store.delete_world(world.id).await.unwrap());
    assert_eq!(store.get_room(doomed.id).await.unwrap(), None);
    assert_eq!(store.get_memory(in_doomed.id).await.unwrap(), None);
    assert_eq!(store.get_memory(stamped.id).await.unwrap(), None);
    assert!(store.get_room(loose.id).await.unwrap().is_some());
    assert!(store.get_memory(elsewhere.id).await.unwrap().is_some());
    let query = MemoryQuery {
        table: "messages".into(),
        room_id: Some(in_world.id),
        ..MemoryQuery::default()
    };
    assert!(store.list_memories(&query).await.unwrap().is_empty());
}

pub async fn participant_ensure_state_and_errors(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let room = fx::room(agent, None);
    store.ensure_room(&room).await.unwrap();
    let (first, second) = (fx::entity(agent), fx::entity(agent));
    store.ensure_entity(&first).await.unwrap();
    store.ensure_entity(&second).await.unwrap();
    let mut p1 = fx::participant(agent, first.id, room.id);
    p1.created_at = fx::t(1);
    let mut p2 = fx::participant(agent, second.id, room.id);
    p2.created_at = fx::t(2);
    p2.room_state = Some(RoomState::Muted);
    assert!(store.ensure_participant(&p1).await.unwrap());
    let duplicate = eliza_domain::world::Participant {
        id: uuid::Uuid::new_v4(),
        ..p1.clone()
    };
    assert!(!store.ensure_participant(&duplicate).await.unwrap());
    assert!(store.ensure_participant(&p2).await.unwrap());
    assert_eq!(
        store.list_room_participants(room.id).await.unwrap(),
        vec![p1.clone(), p2.clone()]
    );

    assert!(
        store
            .set_room_state(room.id, first.id, Some(RoomState::Followed))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_room_state(room.id, second.id, None)
            .await
            .unwrap()
    );
    let states: Vec<Option<RoomState>> = store
        .list_room_participants(room.id)
        .await
        .unwrap()
        .iter()
        .map(|p| p.room_state)
        .collect();
    assert_eq!(states, vec![Some(RoomState::Followed), None]);
    assert!(
        !store
            .set_room_state(room.id, EntityId::new_random(), None)
            .await
            .unwrap()
    );
    // The entity must exist for this agent, and the room must exist.
    assert_conflict(
        store
            .ensure_participant(&fx::participant(agent, EntityId::new_random(), room.id))
            .await,
    );
    assert_conflict(
        store
            .ensure_participant(&fx::participant(agent, first.id, RoomId::new_random()))
            .await,
    );
}

pub async fn relationship_upsert_and_listing(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let other_agent = new_agent(store, "B").await;
    let (a, b, c) = (fx::entity(agent), fx::entity(agent), fx::entity(agent));
    for e in [&a, &b, &c] {
        store.ensure_entity(e).await.unwrap();
    }
    let mut ab = fx::relationship(agent, a.id, b.id);
    ab.created_at = fx::t(1);
    let mut ca = fx::relationship(agent, c.id, a.id);
    ca.created_at = fx::t(2);
    store.upsert_relationship(&ab).await.unwrap();
    store.upsert_relationship(&ca).await.unwrap();
    let b_elsewhere = eliza_domain::world::Entity {
        agent_id: other_agent,
        ..a.clone()
    };
    store.ensure_entity(&b_elsewhere).await.unwrap();
    let mut foreign = fx::relationship(other_agent, a.id, a.id);
    foreign.tags = vec![];
    store.upsert_relationship(&foreign).await.unwrap();

    assert_eq!(
        store.list_entity_relationships(agent, a.id).await.unwrap(),
        vec![ab.clone(), ca.clone()]
    );
    assert_eq!(
        store.list_entity_relationships(agent, b.id).await.unwrap(),
        vec![ab.clone()]
    );
    // Same (source, target, agent): tags and metadata change, id and created_at stay.
    let update = eliza_domain::world::Relationship {
        id: eliza_domain::RelationshipId::new_random(),
        tags: vec!["enemy".into()],
        metadata: json!({"interactions": 7}),
        created_at: fx::t(50),
        ..ab.clone()
    };
    store.upsert_relationship(&update).await.unwrap();
    let listed = store.list_entity_relationships(agent, b.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, ab.id);
    assert_eq!(listed[0].created_at, ab.created_at);
    assert_eq!(listed[0].tags, vec!["enemy".to_owned()]);
    assert_eq!(listed[0].metadata, json!({"interactions": 7}));
    assert_eq!(
        store
            .list_entity_relationships(other_agent, a.id)
            .await
            .unwrap(),
        vec![foreign]
    );
    assert_conflict(
        store
            .upsert_relationship(&fx::relationship(agent, a.id, EntityId::new_random()))
            .await,
    );
}
