//! AgentStore, cascades and store facts.

use crate::fixtures as fx;
use crate::harness::TestDb;
use eliza_domain::log::LogQuery;
use eliza_domain::memory::MemoryQuery;
use eliza_domain::messaging::ChannelType;
use eliza_domain::store::{
    AgentStore, ChannelStore, LogStore, MemoryStore, MessageServerStore, StoreInfo, WorldStore,
};
use eliza_domain::{AgentId, Bio, Character, StoreError};
use eliza_store::DieselStore;
use serde_json::json;

pub async fn agent_create_inserts_only_if_missing(store: &DieselStore) {
    let agent = fx::agent("Eliza");
    assert!(store.create_agent(&agent).await.unwrap());
    let mut changed = agent.clone();
    changed.character.system = Some("other".into());
    assert!(!store.create_agent(&changed).await.unwrap());
    assert_eq!(store.get_agent(agent.id).await.unwrap(), Some(agent));
    assert_eq!(store.get_agent(AgentId::new_random()).await.unwrap(), None);
}

pub async fn agent_round_trips_every_character_field(store: &DieselStore) {
    let character = Character::from_json(&json!({
        "name": "Full", "username": "full", "system": "sys", "bio": "one string bio",
        "templates": {"messageHandlerTemplate": "{{agentName}}"},
        "messageExamples": [[{"name": "user", "content": {"text": "hi", "extra": [1, 2]}}]],
        "postExamples": ["post"], "topics": ["a", "b"], "adjectives": ["calm"],
        "knowledge": ["fact", {"path": "a.md"}, {"directory": "docs", "shared": true}],
        "plugins": ["p1", "p2"],
        "settings": {"z": 1, "a": {"nested": true}, "secrets": {"K": "v"}},
        "secrets": {"TOP": "secret"}, "style": {"all": ["x"], "chat": ["y"], "post": ["z"]},
        "lore": ["old lore"], "modelProvider": "openai"
    }))
    .unwrap();
    let mut agent = eliza_domain::Agent::new(character, fx::t(5));
    agent.enabled = false;
    agent.server_id = Some(uuid::Uuid::new_v4());
    agent.updated_at = fx::t(6);
    assert!(store.create_agent(&agent).await.unwrap());
    let stored = store.get_agent(agent.id).await.unwrap().unwrap();
    assert_eq!(stored, agent);
    assert_eq!(stored.character.bio, Bio::Text("one string bio".into()));
    // Key order of open JSON objects survives (JSON is stored as text).
    let keys: Vec<&String> = stored.character.settings.keys().collect();
    assert_eq!(keys, ["z", "a", "secrets"]);
}

pub async fn agent_save_upserts_and_keeps_created_at(store: &DieselStore) {
    let agent = fx::agent("Saver");
    let saved = store.save_agent(&agent).await.unwrap();
    assert_eq!(saved, agent);
    let mut replaced = agent.clone();
    replaced.created_at = fx::t(99_000);
    replaced.updated_at = fx::t(100_000);
    replaced.character.topics = vec!["new".into()];
    replaced.character.username = None;
    replaced.enabled = false;
    let saved = store.save_agent(&replaced).await.unwrap();
    assert_eq!(saved.created_at, agent.created_at);
    assert_eq!(saved.updated_at, fx::t(100_000));
    assert_eq!(saved.character.topics, vec!["new".to_owned()]);
    assert!(!saved.enabled);
    assert_eq!(store.get_agent(agent.id).await.unwrap(), Some(saved));
}

pub async fn agent_list_returns_every_agent(store: &DieselStore) {
    assert!(store.list_agents().await.unwrap().is_empty());
    let (a, b) = (fx::agent("A"), fx::agent("B"));
    store.create_agent(&a).await.unwrap();
    store.create_agent(&b).await.unwrap();
    let mut ids: Vec<AgentId> = store
        .list_agents()
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    ids.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(ids, expected);
}

pub async fn agent_update_applies_the_patch(store: &DieselStore) {
    let agent = fx::agent("Patched");
    store.create_agent(&agent).await.unwrap();
    let patch = json!({
        "system": "new system", "settings": {"secrets": {"A": null, "B": "2"}, "model": "o1"},
        "templates": {"t": "x"}, "enabled": false, "id": "ignored", "unknown": 1
    });
    let updated = store
        .update_agent(agent.id, &patch, fx::t(1_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.character.system.as_deref(), Some("new system"));
    assert_eq!(
        serde_json::Value::Object(updated.character.settings.clone()),
        json!({"model": "o1", "secrets": {"B": "2"}, "zeta": 1, "alpha": 2})
    );
    assert_eq!(updated.character.templates.get("t"), Some(&json!("x")));
    assert!(!updated.enabled);
    assert_eq!(updated.updated_at, fx::t(1_000));
    assert_eq!(updated.created_at, agent.created_at);
    assert_eq!(updated.id, agent.id);
    assert_eq!(store.get_agent(agent.id).await.unwrap(), Some(updated));
}

pub async fn agent_update_of_unknown_agent_is_none(store: &DieselStore) {
    let result = store
        .update_agent(AgentId::new_random(), &json!({"system": "x"}), fx::t(1))
        .await
        .unwrap();
    assert_eq!(result, None);
}

pub async fn agent_update_with_invalid_patch_is_invalid_and_changes_nothing(store: &DieselStore) {
    let agent = fx::agent("Strict");
    store.create_agent(&agent).await.unwrap();
    let patch = json!({"topics": "not an array", "system": "changed"});
    let expected = eliza_domain::character::validate_partial(&patch)
        .unwrap_err()
        .message;
    let err = store
        .update_agent(agent.id, &patch, fx::t(1))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Invalid(expected));
    assert_eq!(store.get_agent(agent.id).await.unwrap(), Some(agent));
}

/// Parallel PATCHes of different settings keys must all survive (the row is locked read-to-write).
pub async fn agent_concurrent_patches_lose_no_update(store: &DieselStore) {
    let agent = fx::agent("Busy");
    store.create_agent(&agent).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let patch = json!({"settings": {format!("k{i}"): i}});
                store.update_agent(agent.id, &patch, fx::t(i)).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap().unwrap();
    }
    let stored = store.get_agent(agent.id).await.unwrap().unwrap();
    for i in 0..8 {
        assert_eq!(
            stored.character.settings.get(&format!("k{i}")),
            Some(&json!(i)),
            "k{i} lost"
        );
    }
}

/// Creates an agent owning one row in every agent-owned table; returns it.
async fn populated_agent(store: &DieselStore) -> eliza_domain::Agent {
    let agent = fx::agent("Owner");
    store.create_agent(&agent).await.unwrap();
    let other = fx::entity(agent.id);
    let entity = fx::entity(agent.id);
    let world = fx::world(agent.id);
    let room = fx::room(agent.id, Some(world.id));
    store.ensure_entity(&entity).await.unwrap();
    store.ensure_entity(&other).await.unwrap();
    store.ensure_world(&world).await.unwrap();
    store.ensure_room(&room).await.unwrap();
    store
        .ensure_participant(&fx::participant(agent.id, entity.id, room.id))
        .await
        .unwrap();
    store
        .upsert_relationship(&fx::relationship(agent.id, entity.id, other.id))
        .await
        .unwrap();
    let mut memory = fx::memory(agent.id, Some(room.id), fx::t(1));
    memory.entity_id = Some(entity.id);
    memory.embedding = Some(vec![1.0, 0.0, 0.5]);
    store.create_memory(&memory).await.unwrap();
    store
        .create_log(&fx::log(agent.id, room.id, "action", fx::t(2)))
        .await
        .unwrap();
    store
        .create_task(&fx::task(agent.id, fx::t(3)))
        .await
        .unwrap();
    store
        .set_cache(&fx::cache_entry(agent.id, "k", None))
        .await
        .unwrap();
    let server = super::new_server(store, "S").await;
    store
        .add_agent_to_server(server.id, agent.id)
        .await
        .unwrap();
    agent
}

pub async fn agent_delete_cascades_through_the_ports(store: &DieselStore) {
    let survivor = fx::agent("Survivor");
    store.create_agent(&survivor).await.unwrap();
    let agent = populated_agent(store).await;
    assert!(store.delete_agent(agent.id).await.unwrap());
    assert!(!store.delete_agent(agent.id).await.unwrap());
    assert_eq!(store.get_agent(agent.id).await.unwrap(), None);
    assert!(store.list_agent_worlds(agent.id).await.unwrap().is_empty());
    assert!(store.list_agent_rooms(agent.id).await.unwrap().is_empty());
    assert!(store.list_agent_tasks(agent.id).await.unwrap().is_empty());
    assert!(store.list_agent_servers(agent.id).await.unwrap().is_empty());
    assert_eq!(
        store.get_cache(agent.id, "k", fx::t(0)).await.unwrap(),
        None
    );
    let logs = LogQuery {
        agent_id: Some(agent.id),
        limit: 10,
        ..LogQuery::default()
    };
    assert!(store.list_logs(&logs).await.unwrap().is_empty());
    let memories = MemoryQuery {
        table: "messages".into(),
        agent_id: Some(agent.id),
        ..MemoryQuery::default()
    };
    assert!(store.list_memories(&memories).await.unwrap().is_empty());
    assert!(store.get_agent(survivor.id).await.unwrap().is_some());
}

/// After deleting an agent, no table holds a row that belonged to it.
pub async fn agent_delete_leaves_no_orphan_rows(db: &TestDb) {
    let agent = populated_agent(db).await;
    let server = db.list_message_servers().await.unwrap()[0].id;
    let channel = fx::channel(server, ChannelType::Group);
    let user = uuid::Uuid::new_v4().to_string();
    db.create_channel(&channel, &[agent.id.to_string(), user.clone()])
        .await
        .unwrap();
    db.execute(&format!(
        "INSERT INTO components (id, entity_id, agent_id, room_id, type, data, created_at) \
         SELECT '{}', e.id, e.agent_id, r.id, 'profile', '{{}}', r.created_at \
         FROM entities e, rooms r WHERE e.agent_id = '{}' AND r.agent_id = e.agent_id LIMIT 1",
        uuid::Uuid::new_v4(),
        agent.id
    ));
    let owned = [
        "entities",
        "worlds",
        "rooms",
        "participants",
        "memories",
        "embeddings",
        "components",
        "relationships",
        "logs",
        "cache",
        "tasks",
        "message_server_agents",
    ];
    for table in owned {
        assert!(db.count(table) > 0, "{table} was not populated");
    }
    assert!(db.delete_agent(agent.id).await.unwrap());
    for table in owned {
        assert_eq!(db.count(table), 0, "orphans left in {table}");
    }
    // Central rows are not the agent's: the server and channel stay, with the user in it, but
    // the agent's channel membership goes with it.
    assert_eq!(db.count("message_servers"), 1);
    assert_eq!(db.count("channels"), 1);
    assert_eq!(
        db.list_channel_participants(channel.id).await.unwrap(),
        vec![user]
    );
}

pub async fn store_info_reports_backend_and_pool(store: &DieselStore) {
    assert!(matches!(StoreInfo::backend(store), "sqlite" | "postgres"));
    assert_eq!(StoreInfo::backend(store), store.backend_kind().as_str());
    store.ping().await.unwrap();
    let status = store.pool_status();
    assert_eq!(status.max_size, 4);
    assert!(status.connections >= 1 && status.connections <= status.max_size);
    assert!(status.idle <= status.connections);
}

/// Values written below the ports that do not decode are reported, never a panic.
pub async fn corrupt_rows_are_backend_errors(db: &TestDb) {
    let agent = fx::agent("Corrupt");
    db.create_agent(&agent).await.unwrap();
    db.execute(&format!(
        "UPDATE agents SET topics = 'not json' WHERE id = '{}'",
        agent.id
    ));
    let err = db.get_agent(agent.id).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("agents.topics")),
        "{err:?}"
    );
    assert!(matches!(
        db.list_agents().await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        db.update_agent(agent.id, &json!({}), fx::t(1)).await,
        Err(StoreError::Backend(_))
    ));
    let other = agent_with_bad_id(db).await;
    assert!(matches!(
        db.list_agent_worlds(other).await,
        Err(StoreError::Backend(_))
    ));
}

/// An agent whose world has an id that is not a UUID.
async fn agent_with_bad_id(db: &TestDb) -> AgentId {
    let agent = fx::agent("BadIds");
    db.create_agent(&agent).await.unwrap();
    let world = fx::world(agent.id);
    db.ensure_world(&world).await.unwrap();
    db.execute(&format!(
        "UPDATE worlds SET id = 'not-a-uuid' WHERE id = '{}'",
        world.id
    ));
    agent.id
}
