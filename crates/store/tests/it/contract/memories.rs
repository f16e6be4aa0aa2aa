//! MemoryStore: creation, listing, updates, deletion and vector search.

use crate::fixtures as fx;
use crate::harness::TestDb;
use eliza_domain::memory::{Memory, MemoryQuery, MemorySearch};
use eliza_domain::store::{MemoryStore, WorldStore};
use eliza_domain::{AgentId, MemoryId, RoomId, WorldId};
use eliza_store::DieselStore;
use serde_json::json;

/// An agent with two rooms and one entity.
async fn setup(
    store: &DieselStore,
    name: &str,
) -> (AgentId, RoomId, RoomId, eliza_domain::EntityId) {
    let agent = super::new_agent(store, name).await;
    let (r1, r2) = (fx::room(agent, None), fx::room(agent, None));
    store.ensure_room(&r1).await.unwrap();
    store.ensure_room(&r2).await.unwrap();
    let entity = fx::entity(agent);
    store.ensure_entity(&entity).await.unwrap();
    (agent, r1.id, r2.id, entity.id)
}

fn query(table: &str) -> MemoryQuery {
    MemoryQuery {
        table: table.into(),
        ..MemoryQuery::default()
    }
}

fn ids(memories: &[Memory]) -> Vec<MemoryId> {
    memories.iter().map(|m| m.id).collect()
}

pub async fn memory_create_and_get_round_trip(store: &DieselStore) {
    let (agent, room, _, entity) = setup(store, "A").await;
    let mut memory = fx::memory(agent, Some(room), fx::t(1));
    memory.entity_id = Some(entity);
    memory.world_id = Some(WorldId::new_random());
    memory.unique = false;
    memory.embedding = Some(vec![0.25, -1.5, 3.0]);
    assert!(store.create_memory(&memory).await.unwrap());
    assert_eq!(
        store.get_memory(memory.id).await.unwrap(),
        Some(memory.clone())
    );
    let mut again = memory.clone();
    again.content = json!({"text": "other"});
    again.embedding = Some(vec![9.0, 9.0, 9.0]);
    assert!(!store.create_memory(&again).await.unwrap());
    assert_eq!(store.get_memory(memory.id).await.unwrap(), Some(memory));
    let plain = fx::memory(agent, None, fx::t(2));
    assert!(store.create_memory(&plain).await.unwrap());
    assert_eq!(store.get_memory(plain.id).await.unwrap(), Some(plain));
    assert_eq!(
        store.get_memory(MemoryId::new_random()).await.unwrap(),
        None
    );
    super::assert_conflict(
        store
            .create_memory(&fx::memory(AgentId::new_random(), None, fx::t(1)))
            .await,
    );
}

pub async fn memory_list_filters_orders_and_pages(store: &DieselStore) {
    let (agent, r1, r2, entity) = setup(store, "A").await;
    let (other, other_room, _, _) = setup(store, "B").await;
    let world = WorldId::new_random();
    let mut made = Vec::new();
    for (i, ms) in [10, 20, 30, 30, 40].into_iter().enumerate() {
        let mut m = fx::memory(agent, Some(if i % 2 == 0 { r1 } else { r2 }), fx::t(ms));
        m.embedding = Some(vec![i as f32, 1.0]);
        if i == 4 {
            m.entity_id = Some(entity);
            m.world_id = Some(world);
        }
        store.create_memory(&m).await.unwrap();
        made.push(m);
    }
    let mut fact = fx::memory(agent, Some(r1), fx::t(50));
    fact.table = "facts".into();
    store.create_memory(&fact).await.unwrap();
    store
        .create_memory(&fx::memory(other, Some(other_room), fx::t(60)))
        .await
        .unwrap();
    fx::newest_first(&mut made, |x| (x.created_at, x.id.to_string()));

    let all = store
        .list_memories(&MemoryQuery {
            agent_id: Some(agent),
            ..query("messages")
        })
        .await
        .unwrap();
    assert_eq!(ids(&all), ids(&made));
    assert!(all.iter().all(|m| m.embedding.is_none()));
    // No agent filter: every agent's memories of the table (as 1.7.2).
    assert_eq!(
        store.list_memories(&query("messages")).await.unwrap().len(),
        6
    );
    assert_eq!(
        ids(&store.list_memories(&query("facts")).await.unwrap()),
        vec![fact.id]
    );

    let with_vectors = store
        .list_memories(&MemoryQuery {
            agent_id: Some(agent),
            include_embedding: true,
            ..query("messages")
        })
        .await
        .unwrap();
    assert_eq!(with_vectors, made);

    let in_r1 = store
        .list_memories(&MemoryQuery {
            room_id: Some(r1),
            ..query("messages")
        })
        .await
        .unwrap();
    assert_eq!(in_r1.len(), 3);
    assert!(in_r1.iter().all(|m| m.room_id == Some(r1)));
    let by_entity = store
        .list_memories(&MemoryQuery {
            entity_id: Some(entity),
            world_id: Some(world),
            ..query("messages")
        })
        .await
        .unwrap();
    assert_eq!(by_entity.len(), 1);
    let page = store
        .list_memories(&MemoryQuery {
            agent_id: Some(agent),
            limit: Some(2),
            offset: Some(1),
            ..query("messages")
        })
        .await
        .unwrap();
    assert_eq!(ids(&page), ids(&made[1..3]));
    let older = store
        .list_memories(&MemoryQuery {
            agent_id: Some(agent),
            before: Some(fx::t(30)),
            ..query("messages")
        })
        .await
        .unwrap();
    assert_eq!(ids(&older), ids(&made[3..]));
    // Bounds beyond what the backends store still filter (see `message_filters_accept_times_…`).
    for (before, expected) in [
        (chrono::DateTime::<chrono::Utc>::MIN_UTC, vec![]),
        (chrono::DateTime::<chrono::Utc>::MAX_UTC, ids(&made)),
    ] {
        let listed = store
            .list_memories(&MemoryQuery {
                agent_id: Some(agent),
                before: Some(before),
                ..query("messages")
            })
            .await
            .unwrap();
        assert_eq!(ids(&listed), expected);
    }
}

pub async fn memory_update_replaces_content_and_embedding(store: &DieselStore) {
    let (agent, room, _, _) = setup(store, "A").await;
    let mut memory = fx::memory(agent, Some(room), fx::t(1));
    memory.embedding = Some(vec![1.0, 2.0]);
    store.create_memory(&memory).await.unwrap();

    let mut changed = memory.clone();
    changed.content = json!({"text": "changed"});
    changed.metadata = json!({"type": "custom"});
    changed.embedding = None;
    changed.unique = false;
    assert!(store.update_memory(&changed).await.unwrap());
    let stored = store.get_memory(memory.id).await.unwrap().unwrap();
    assert_eq!(stored.content, changed.content);
    assert_eq!(stored.metadata, changed.metadata);
    assert_eq!(
        stored.embedding,
        Some(vec![1.0, 2.0]),
        "kept without a new one"
    );
    assert!(stored.unique, "the unique flag does not change");

    // The memory can move to another room, entity and world.
    let moved_to = fx::room(agent, None);
    store.ensure_room(&moved_to).await.unwrap();
    let mut moved = stored.clone();
    moved.room_id = Some(moved_to.id);
    moved.world_id = Some(WorldId::new_random());
    moved.entity_id = None;
    assert!(store.update_memory(&moved).await.unwrap());
    let stored = store.get_memory(memory.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.room_id, stored.world_id, stored.entity_id),
        (moved.room_id, moved.world_id, None)
    );
    changed.room_id = stored.room_id;
    changed.world_id = stored.world_id;
    changed.entity_id = None;

    changed.embedding = Some(vec![3.0, 4.0, 5.0]);
    assert!(store.update_memory(&changed).await.unwrap());
    let stored = store.get_memory(memory.id).await.unwrap().unwrap();
    assert_eq!(stored.embedding, Some(vec![3.0, 4.0, 5.0]));

    // A memory created without an embedding gets one on update.
    let bare = fx::memory(agent, None, fx::t(2));
    store.create_memory(&bare).await.unwrap();
    let with = Memory {
        embedding: Some(vec![1.0]),
        ..bare.clone()
    };
    assert!(store.update_memory(&with).await.unwrap());
    assert_eq!(store.get_memory(bare.id).await.unwrap(), Some(with));

    let unknown = Memory {
        id: MemoryId::new_random(),
        ..changed
    };
    assert!(!store.update_memory(&unknown).await.unwrap());
}

pub async fn memory_delete_single_and_bulk(store: &DieselStore) {
    let (agent, r1, r2, _) = setup(store, "A").await;
    let (other, other_room, _, _) = setup(store, "B").await;
    let make = |room: RoomId, table: &str, ms: i64| {
        let mut m = fx::memory(agent, Some(room), fx::t(ms));
        m.table = table.into();
        m
    };
    let memories = [
        make(r1, "messages", 1),
        make(r1, "facts", 2),
        make(r2, "messages", 3),
        make(r2, "documents", 4),
        make(r2, "facts", 5),
    ];
    for m in &memories {
        store.create_memory(m).await.unwrap();
    }
    let foreign = fx::memory(other, Some(other_room), fx::t(1));
    store.create_memory(&foreign).await.unwrap();

    assert!(store.delete_memory(memories[0].id).await.unwrap());
    assert!(!store.delete_memory(memories[0].id).await.unwrap());
    assert_eq!(
        store
            .delete_memories(agent, Some(r2), &["facts"])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .delete_memories(agent, None, &["messages", "documents"])
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.delete_memories(agent, None, &[]).await.unwrap(), 1);
    assert_eq!(store.delete_memories(agent, None, &[]).await.unwrap(), 0);
    assert!(store.get_memory(foreign.id).await.unwrap().is_some());
}

pub async fn memory_delete_in_world(store: &DieselStore) {
    let (agent, r1, r2, _) = setup(store, "A").await;
    let world = fx::world(agent);
    store.ensure_world(&world).await.unwrap();
    let mut world_room = fx::room(agent, Some(world.id));
    world_room.channel_id = None;
    store.ensure_room(&world_room).await.unwrap();
    let mut stamped = fx::memory(agent, Some(r1), fx::t(1));
    stamped.world_id = Some(world.id);
    let mut stamped_fact = fx::memory(agent, Some(r1), fx::t(2));
    stamped_fact.world_id = Some(world.id);
    stamped_fact.table = "facts".into();
    let in_room = fx::memory(agent, Some(world_room.id), fx::t(3));
    let unrelated = fx::memory(agent, Some(r2), fx::t(4));
    for memory in [&stamped, &stamped_fact, &in_room, &unrelated] {
        store.create_memory(memory).await.unwrap();
    }
    assert_eq!(
        store
            .delete_world_memories(world.id, &["messages"])
            .await
            .unwrap(),
        2
    );
    assert!(store.get_memory(stamped_fact.id).await.unwrap().is_some());
    assert!(store.get_memory(unrelated.id).await.unwrap().is_some());
    assert_eq!(store.delete_world_memories(world.id, &[]).await.unwrap(), 1);
    assert_eq!(
        store
            .delete_world_memories(WorldId::new_random(), &[])
            .await
            .unwrap(),
        0
    );
}

pub async fn embeddings_are_removed_with_their_memory(db: &TestDb) {
    let (agent, room, _, _) = setup(db, "A").await;
    let mut memory = fx::memory(agent, Some(room), fx::t(1));
    memory.embedding = Some(vec![1.0, 2.0]);
    db.create_memory(&memory).await.unwrap();
    let mut second = fx::memory(agent, Some(room), fx::t(2));
    second.embedding = Some(vec![1.0, 2.0]);
    db.create_memory(&second).await.unwrap();
    assert_eq!(db.count("embeddings"), 2);
    db.delete_memory(memory.id).await.unwrap();
    assert_eq!(db.count("embeddings"), 1);
    db.delete_memories(agent, None, &[]).await.unwrap();
    assert_eq!(db.count("embeddings"), 0);
}

pub async fn memory_search_is_exact_cosine(store: &DieselStore) {
    let (agent, r1, r2, _) = setup(store, "A").await;
    let (other, other_room, _, _) = setup(store, "B").await;
    let add = |agent: AgentId, room: RoomId, table: &str, vector: Vec<f32>| {
        let mut m = fx::memory(agent, Some(room), fx::t(1));
        m.table = table.into();
        m.embedding = Some(vector);
        m
    };
    let exact = add(agent, r1, "messages", vec![1.0, 0.0, 0.0]);
    let close = add(agent, r2, "messages", vec![0.9, 0.1, 0.0]);
    let far = add(agent, r1, "messages", vec![0.0, 1.0, 0.0]);
    let opposite = add(agent, r1, "messages", vec![-1.0, 0.0, 0.0]);
    let other_dim = add(agent, r1, "messages", vec![1.0, 0.0]);
    let other_table = add(agent, r1, "facts", vec![1.0, 0.0, 0.0]);
    let other_agent = add(other, other_room, "messages", vec![1.0, 0.0, 0.0]);
    for m in [
        &exact,
        &close,
        &far,
        &opposite,
        &other_dim,
        &other_table,
        &other_agent,
    ] {
        store.create_memory(m).await.unwrap();
    }
    store
        .create_memory(&fx::memory(agent, Some(r1), fx::t(1)))
        .await
        .unwrap();

    let search = MemorySearch {
        agent_id: agent,
        table: "messages".into(),
        embedding: vec![2.0, 0.0, 0.0],
        room_id: None,
        world_id: None,
        entity_id: None,
        threshold: None,
        limit: 10,
    };
    let hits = store.search_memories(&search).await.unwrap();
    let found: Vec<MemoryId> = hits.iter().map(|h| h.memory.id).collect();
    assert_eq!(found, vec![exact.id, close.id, far.id, opposite.id]);
    assert!((hits[0].similarity - 1.0).abs() < 1e-6);
    assert!((hits[3].similarity + 1.0).abs() < 1e-6);
    assert_eq!(hits[0].memory, exact);

    let limited = store
        .search_memories(&MemorySearch {
            limit: 2,
            ..search.clone()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    let above = store
        .search_memories(&MemorySearch {
            threshold: Some(0.5),
            ..search.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        above.iter().map(|h| h.memory.id).collect::<Vec<_>>(),
        vec![exact.id, close.id]
    );
    let in_room = store
        .search_memories(&MemorySearch {
            room_id: Some(r2),
            ..search.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        in_room.iter().map(|h| h.memory.id).collect::<Vec<_>>(),
        vec![close.id]
    );
    let nothing = store
        .search_memories(&MemorySearch {
            embedding: vec![1.0; 7],
            ..search
        })
        .await
        .unwrap();
    assert!(nothing.is_empty());
}

pub async fn memory_embedding_is_set_without_touching_the_content(store: &DieselStore) {
    let (agent, room, _, _) = setup(store, "E").await;
    let mut memory = fx::memory(agent, Some(room), fx::t(1));
    store.create_memory(&memory).await.unwrap();
    // Edited while an embedder ran on the old text: the edit must survive the embedding.
    memory.content = json!({"text": "edited"});
    store.update_memory(&memory).await.unwrap();
    assert!(
        store
            .set_memory_embedding(memory.id, &[0.5, 0.5])
            .await
            .unwrap()
    );
    let stored = store.get_memory(memory.id).await.unwrap().unwrap();
    assert_eq!(stored.content, json!({"text": "edited"}));
    assert_eq!(stored.embedding, Some(vec![0.5, 0.5]));
    assert!(
        store
            .set_memory_embedding(memory.id, &[1.0, 0.0, 0.0])
            .await
            .unwrap()
    );
    let stored = store.get_memory(memory.id).await.unwrap().unwrap();
    assert_eq!(stored.embedding, Some(vec![1.0, 0.0, 0.0]));
    let gone = MemoryId::new_random();
    assert!(!store.set_memory_embedding(gone, &[1.0]).await.unwrap());
}
