//! LogStore: logs, tasks, cache; and timestamp precision.

use super::{assert_conflict, new_agent};
use crate::fixtures as fx;
use chrono::{Duration, TimeZone, Utc};
use eliza_domain::log::{AgentLog, LogQuery, RunCounts, RunQuery, RunStatus};
use eliza_domain::store::{LogStore, MessageServerStore};
use eliza_domain::{AgentId, EntityId, LogId, RoomId, TaskId};
use eliza_store::DieselStore;
use serde_json::{Value, json};

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

/// A log row with this body.
fn row(agent: AgentId, room: RoomId, kind: &str, at_ms: i64, body: Value) -> AgentLog {
    AgentLog {
        body,
        ..fx::log(agent, room, kind, fx::t(at_ms))
    }
}

pub async fn log_list_excludes_types_before_paging(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let room = RoomId::new_random();
    let rows = [
        row(
            agent,
            room,
            "useModel:TEXT_EMBEDDING",
            1,
            json!({"modelType": "TEXT_EMBEDDING"}),
        ),
        row(agent, room, "action", 2, json!({"modelType": 7})),
        row(agent, room, "Run_Event", 3, json!({})),
        row(
            agent,
            room,
            "useModel:TEXT_LARGE",
            4,
            json!({"modelType": "TEXT_LARGE"}),
        ),
        row(
            agent,
            room,
            "useModel:TEXT_EMBEDDING",
            5,
            json!({"modelType": "TEXT_EMBEDDING"}),
        ),
        row(agent, room, "evaluator", 6, json!({"note": "100%_sure"})),
    ];
    for log in &rows {
        store.create_log(log).await.unwrap();
    }
    let list = |exclude: &[&str], limit: u32, offset: u32| {
        let query = LogQuery {
            agent_id: Some(agent),
            exclude_types: exclude.iter().map(|text| (*text).to_owned()).collect(),
            limit,
            offset,
            ..LogQuery::default()
        };
        async move {
            store
                .list_logs(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|log| log.id)
                .collect::<Vec<_>>()
        }
    };
    // "embedding" is contained in the modelType of two rows; "RUN_EVENT" equals a type, case-insensitively.
    assert_eq!(
        list(&["embedding", "RUN_EVENT"], 2, 0).await,
        vec![rows[5].id, rows[3].id],
        "the page is full although newer rows were dropped"
    );
    assert_eq!(
        list(&["embedding", "RUN_EVENT"], 10, 1).await,
        vec![rows[3].id, rows[1].id]
    );
    assert_eq!(list(&["%"], 10, 0).await.len(), 6, "no wildcards");
    assert_eq!(list(&["_"], 10, 0).await.len(), 3, "a literal underscore");
    assert_eq!(
        list(&[""], 10, 0).await.len(),
        6,
        "empty values are ignored"
    );
    assert_eq!(
        list(&["text_"], 10, 0).await,
        vec![rows[5].id, rows[2].id, rows[1].id]
    );
}

/// A `run_event` row.
fn run_event(agent: AgentId, room: RoomId, run: &str, status: &str, at_ms: i64) -> AgentLog {
    row(
        agent,
        room,
        "run_event",
        at_ms,
        json!({"runId": run, "status": status, "messageId": format!("m-{run}"), "roomId": room,
               "source": "messageHandler"}),
    )
}

fn run_id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

pub async fn run_summaries_group_filter_count_and_page(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let other = new_agent(store, "B").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    let (a, b, c, d, e) = (run_id(1), run_id(2), run_id(3), run_id(4), run_id(5));
    let mut rows = vec![
        // a: completed in r1, with every kind of row.
        run_event(agent, r1, &a, "started", 1_000),
        row(agent, r1, "useModel:TEXT_LARGE", 1_100, json!({"runId": a})),
        row(agent, r1, "useModel:TEXT_SMALL", 1_150, json!({"runId": a})),
        row(
            agent,
            r1,
            "action",
            1_200,
            json!({"runId": a, "result": {"success": false}}),
        ),
        row(
            agent,
            r1,
            "action",
            1_250,
            json!({"runId": "child", "parentRunId": a, "result": {"success": true}}),
        ),
        row(agent, r1, "evaluator", 1_300, json!({"runId": a})),
        row(
            agent,
            r1,
            "embedding_event",
            1_400,
            json!({"runId": a, "status": "failed"}),
        ),
        row(
            agent,
            r1,
            "embedding_event",
            1_450,
            json!({"runId": a, "status": "completed"}),
        ),
        row(agent, r1, "action_event", 1_500, json!({"runId": a})),
        run_event(agent, r1, &a, "completed", 2_000),
        // b: still running, in r2.
        run_event(agent, r2, &b, "started", 3_000),
        // c: ended in error, with metadata.
        row(
            agent,
            r1,
            "run_event",
            4_000,
            json!({"runId": c, "status": "started", "metadata": {"k": 1}}),
        ),
        run_event(agent, r1, &c, "error", 4_500),
        // d: timed out; its start falls before a later `from`.
        run_event(agent, r1, &d, "started", 5_000),
        run_event(agent, r1, &d, "timeout", 9_000),
        // e: no started row at all.
        run_event(agent, r1, &e, "completed", 6_000),
        // Not runs: a numeric runId and no runId.
        row(
            agent,
            r1,
            "run_event",
            7_000,
            json!({"runId": 5, "status": "started"}),
        ),
        row(agent, r1, "run_event", 7_000, json!({"status": "started"})),
    ];
    // Another agent's run with a's id.
    rows.push(run_event(other, r1, &a, "started", 8_000));
    rows.push(row(other, r1, "action", 8_100, json!({"runId": a})));
    for log in &rows {
        store.create_log(log).await.unwrap();
    }
    let query = RunQuery {
        agent_id: agent,
        room_id: None,
        status: None,
        from: None,
        to: None,
        limit: 10,
    };
    let page = store.list_runs(&query).await.unwrap();
    assert_eq!(page.total, 5);
    let ids: Vec<&str> = page.runs.iter().map(|run| run.run_id.as_str()).collect();
    assert_eq!(
        ids,
        [&d, &c, &b, &a, &e],
        "newest start first, no start last"
    );
    let run = |id: &str| page.runs.iter().find(|run| run.run_id == id).unwrap();

    let first = run(&a);
    assert_eq!(first.status, RunStatus::Completed);
    assert_eq!(first.started_at, Some(fx::t(1_000)));
    assert_eq!(first.ended_at, Some(fx::t(2_000)));
    assert_eq!(first.message_id.as_deref(), Some(format!("m-{a}").as_str()));
    assert_eq!(first.room_id, Some(r1));
    assert_eq!(first.entity_id, Some(EntityId(agent.0)));
    assert_eq!(first.metadata, json!({}));
    assert_eq!(
        first.counts,
        RunCounts {
            actions: 2,
            model_calls: 2,
            errors: 2,
            evaluators: 1
        }
    );
    let mut tallied = RunCounts::default();
    for log in store.list_run_logs(agent, &a, None).await.unwrap() {
        tallied.tally(&log.log_type, &log.body);
    }
    assert_eq!(
        tallied.with_status(first.status),
        first.counts,
        "the SQL counts are the tally of the run's rows"
    );

    assert_eq!(run(&b).status, RunStatus::Started);
    assert_eq!(run(&b).ended_at, None);
    assert_eq!(run(&b).room_id, Some(r2));
    assert_eq!(run(&c).status, RunStatus::Error);
    assert_eq!(run(&c).metadata, json!({"k": 1}));
    assert_eq!(run(&c).counts.errors, 1, "ended in error");
    assert_eq!(run(&d).status, RunStatus::Timeout);
    assert_eq!(run(&e).started_at, None);
    assert_eq!(run(&e).ended_at, Some(fx::t(6_000)));

    let only = |status| RunQuery {
        status: Some(status),
        ..query.clone()
    };
    let ids_of = |page: eliza_domain::log::RunPage| {
        page.runs
            .into_iter()
            .map(|run| run.run_id)
            .collect::<Vec<_>>()
    };
    let completed = store.list_runs(&only(RunStatus::Completed)).await.unwrap();
    assert_eq!(completed.total, 2);
    assert_eq!(ids_of(completed), [a.as_str(), e.as_str()]);
    assert_eq!(
        ids_of(store.list_runs(&only(RunStatus::Started)).await.unwrap()),
        [b.as_str()]
    );
    let in_r2 = RunQuery {
        room_id: Some(r2),
        ..query.clone()
    };
    assert_eq!(ids_of(store.list_runs(&in_r2).await.unwrap()), [b.as_str()]);

    let limited = store
        .list_runs(&RunQuery {
            limit: 2,
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!(limited.total, 5);
    assert_eq!(ids_of(limited), [d.as_str(), c.as_str()]);
    let none = store
        .list_runs(&RunQuery {
            limit: 0,
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!((none.runs.len(), none.total), (0, 5));

    // The window reads the run_event rows created in [from, to]: d keeps only its timeout row.
    let window = store
        .list_runs(&RunQuery {
            from: Some(fx::t(5_500)),
            to: Some(fx::t(9_000)),
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!(window.total, 2);
    let window_d = window.runs.iter().find(|run| run.run_id == d).unwrap();
    assert_eq!(
        (window_d.status, window_d.started_at),
        (RunStatus::Timeout, None)
    );
    let before = store
        .list_runs(&RunQuery {
            to: Some(fx::t(2_999)),
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!(ids_of(before), [a.as_str()]);

    let theirs = store
        .list_runs(&RunQuery {
            agent_id: other,
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!(theirs.total, 1);
    assert_eq!(theirs.runs[0].counts.actions, 1, "counted per agent");
    let empty = store
        .list_runs(&RunQuery {
            agent_id: AgentId::new_random(),
            ..query
        })
        .await
        .unwrap();
    assert_eq!((empty.runs.len(), empty.total), (0, 0));
}

pub async fn run_logs_take_children_and_their_action_events(store: &DieselStore) {
    let agent = new_agent(store, "A").await;
    let other = new_agent(store, "B").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    let (run, child, unrelated) = (run_id(1), run_id(2), run_id(3));
    let rows = [
        run_event(agent, r1, &run, "started", 1_000),
        row(agent, r1, "action_event", 1_100, json!({"runId": child})),
        row(
            agent,
            r1,
            "action",
            1_200,
            json!({"runId": child, "parentRunId": run}),
        ),
        row(
            agent,
            r2,
            "useModel:TEXT_LARGE",
            1_300,
            json!({"runId": run}),
        ),
        run_event(agent, r1, &run, "completed", 2_000),
        // Not part of the run.
        row(
            agent,
            r1,
            "action_event",
            1_150,
            json!({"runId": unrelated}),
        ),
        row(
            agent,
            r1,
            "useModel:TEXT_LARGE",
            1_400,
            json!({"runId": child}),
        ),
        row(
            other,
            r1,
            "useModel:TEXT_LARGE",
            1_500,
            json!({"runId": run}),
        ),
        // Long before the run's first run_event row: outside the scan.
        row(
            agent,
            r1,
            "useModel:TEXT_LARGE",
            -120_000,
            json!({"runId": run}),
        ),
    ];
    for log in &rows {
        store.create_log(log).await.unwrap();
    }
    let ids = |logs: Vec<AgentLog>| logs.into_iter().map(|log| log.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_run_logs(agent, &run, None).await.unwrap()),
        vec![rows[0].id, rows[1].id, rows[2].id, rows[3].id, rows[4].id],
        "oldest first"
    );
    assert_eq!(
        ids(store.list_run_logs(agent, &run, Some(r2)).await.unwrap()),
        vec![rows[3].id]
    );
    assert!(
        store
            .list_run_logs(other, &child, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_run_logs(agent, &run_id(9), None)
            .await
            .unwrap()
            .is_empty()
    );
    // Without run_event rows nothing bounds the scan.
    assert_eq!(
        ids(store.list_run_logs(agent, &child, None).await.unwrap()),
        vec![rows[1].id, rows[2].id, rows[6].id]
    );
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
