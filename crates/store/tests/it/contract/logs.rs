//! LogStore: logs, tasks, cache; and timestamp precision.

use super::{assert_conflict, new_agent};
use crate::fixtures as fx;
use chrono::{Duration, TimeZone, Utc};
use eliza_domain::log::LogQuery;
use eliza_domain::store::{LogStore, MessageServerStore};
use eliza_domain::{AgentId, LogId, RoomId, TaskId};
use eliza_store::DieselStore;
use serde_json::json;

pub async fn log_create_list_delete(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let other = new_agent(store, "B").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    let mut logs = vec![
        fx::log(agent, r1, "action", fx::t(1)),
        fx::log(agent, r2, "useModel:TEXT_LARGE", fx::t(2)),
        fx::log(agent, r1, "useModel:TEXT_LARGE", fx::t(3)),
        fx::log(agent, r1, "action", fx::t(3)),
    ];
    for log in &logs {
        store.create_log(log).await.unwrap();
    }
    store
        .create_log(&fx::log(other, r1, "action", fx::t(9)))
        .await
        .unwrap();
    assert_conflict(store.create_log(&logs[0]).await);
    assert_conflict(
        store
            .create_log(&fx::log(AgentId::new_random(), r1, "action", fx::t(1)))
            .await,
    );
    fx::newest_first(&mut logs, |x| (x.created_at, x.id.to_string()));
    let ids = |found: Vec<eliza_domain::log::AgentLog>| {
        found.into_iter().map(|l| l.id).collect::<Vec<_>>()
    };
    let mine = LogQuery {
        agent_id: Some(agent),
        limit: 10,
        ..LogQuery::default()
    };
    let listed = store.list_logs(&mine).await.unwrap();
    assert_eq!(listed[0], logs[0]);
    assert_eq!(ids(listed), logs.iter().map(|l| l.id).collect::<Vec<_>>());
    let everyone = LogQuery {
        limit: 10,
        ..LogQuery::default()
    };
    assert_eq!(store.list_logs(&everyone).await.unwrap().len(), 5);
    let in_r1_actions = LogQuery {
        room_id: Some(r1),
        log_type: Some("action".into()),
        ..mine.clone()
    };
    assert_eq!(store.list_logs(&in_r1_actions).await.unwrap().len(), 2);
    let page = LogQuery {
        limit: 2,
        offset: 1,
        ..mine.clone()
    };
    assert_eq!(
        ids(store.list_logs(&page).await.unwrap()),
        vec![logs[1].id, logs[2].id]
    );

    assert!(
        !store.delete_log(other, logs[0].id).await.unwrap(),
        "another agent's log"
    );
    assert!(store.delete_log(agent, logs[0].id).await.unwrap());
    assert!(!store.delete_log(agent, logs[0].id).await.unwrap());
    assert!(!store.delete_log(agent, LogId::new_random()).await.unwrap());
    assert_eq!(store.list_logs(&mine).await.unwrap().len(), 3);
}

pub async fn task_create_list_delete(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let other = new_agent(store, "B").await;
    let second = fx::task(agent, fx::t(2));
    let first = fx::task(agent, fx::t(1));
    let mut bare = fx::task(other, fx::t(3));
    bare.description = None;
    bare.room_id = None;
    bare.tags = vec![];
    for task in [&second, &first, &bare] {
        store.create_task(task).await.unwrap();
    }
    assert_conflict(store.create_task(&first).await);
    assert_conflict(
        store
            .create_task(&fx::task(AgentId::new_random(), fx::t(1)))
            .await,
    );
    assert_eq!(
        store.list_agent_tasks(agent).await.unwrap(),
        vec![first.clone(), second]
    );
    assert_eq!(store.list_agent_tasks(other).await.unwrap(), vec![bare]);
    assert!(store.delete_task(first.id).await.unwrap());
    assert!(!store.delete_task(first.id).await.unwrap());
    assert!(!store.delete_task(TaskId::new_random()).await.unwrap());
    assert_eq!(store.list_agent_tasks(agent).await.unwrap().len(), 1);
}

pub async fn cache_set_get_expire_delete(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let other = new_agent(store, "B").await;
    let forever = fx::cache_entry(agent, "forever", None);
    store.set_cache(&forever).await.unwrap();
    assert_eq!(
        store.get_cache(agent, "forever", fx::t(0)).await.unwrap(),
        Some(forever.clone())
    );
    assert_eq!(
        store.get_cache(other, "forever", fx::t(0)).await.unwrap(),
        None
    );
    assert_eq!(
        store.get_cache(agent, "missing", fx::t(0)).await.unwrap(),
        None
    );

    // Upsert replaces value and expiry.
    let replaced = eliza_domain::task::CacheEntry {
        value: json!([1, 2, 3]),
        expires_at: Some(fx::t(1_000)),
        ..forever.clone()
    };
    store.set_cache(&replaced).await.unwrap();
    assert_eq!(
        store.get_cache(agent, "forever", fx::t(999)).await.unwrap(),
        Some(replaced)
    );
    assert_eq!(
        store
            .get_cache(agent, "forever", fx::t(1_000))
            .await
            .unwrap(),
        None,
        "expired at its instant"
    );
    assert_eq!(
        store
            .get_cache(agent, "forever", fx::t(5_000))
            .await
            .unwrap(),
        None
    );

    let same_key = fx::cache_entry(other, "forever", None);
    store.set_cache(&same_key).await.unwrap();
    assert_eq!(
        store.get_cache(other, "forever", fx::t(0)).await.unwrap(),
        Some(same_key)
    );

    assert!(store.delete_cache(agent, "forever").await.unwrap());
    assert!(!store.delete_cache(agent, "forever").await.unwrap());
    assert!(
        store
            .get_cache(other, "forever", fx::t(0))
            .await
            .unwrap()
            .is_some()
    );
    assert_conflict(
        store
            .set_cache(&fx::cache_entry(AgentId::new_random(), "k", None))
            .await,
    );
}

/// Sub-millisecond times survive on both backends (microseconds are kept, nanoseconds dropped).
pub async fn timestamps_keep_sub_millisecond_precision(store: &DieselStore) {
    let precise =
        Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap() + Duration::nanoseconds(123_456_789);
    let mut server = fx::server("Precise");
    server.created_at = precise;
    server.updated_at = precise + Duration::microseconds(1);
    store.create_message_server(&server).await.unwrap();
    let stored = store.get_message_server(server.id).await.unwrap().unwrap();
    assert_eq!(stored.created_at, precise - Duration::nanoseconds(789));
    assert_eq!(
        stored.updated_at - stored.created_at,
        Duration::microseconds(1)
    );
}
