//! Shared records (the messaging API's sessions and jobs in a cluster). The same functions run
//! against the in-memory implementation too (`memory_records` in `main.rs`).

use crate::fixtures::t;
use eliza_domain::StoreError;
use eliza_domain::records::{
    Edit, RecordKind, RecordOrder, RecordStore, SharedRecord, edit_record,
};
use serde_json::json;
use uuid::Uuid;

fn record(kind: RecordKind, tag: &str, created_ms: i64, purge_ms: i64) -> SharedRecord {
    SharedRecord {
        kind,
        id: Uuid::new_v4(),
        tag: tag.to_owned(),
        body: json!({"tag": tag, "created": created_ms, "text": "naïve \u{0} \"quoted\""}),
        version: 7,
        created_at: t(created_ms),
        purge_at: t(purge_ms),
    }
}

pub async fn records_insert_get_swap_and_delete(store: &impl RecordStore) {
    let first = record(RecordKind::Session, "live", 0, 100);
    assert!(store.insert_record(&first).await.unwrap());
    let again = SharedRecord {
        body: json!("other"),
        ..first.clone()
    };
    assert!(
        !store.insert_record(&again).await.unwrap(),
        "an existing record stays"
    );
    let stored = store
        .get_record(RecordKind::Session, first.id)
        .await
        .unwrap();
    let stored = stored.expect("a put record is found");
    assert_eq!(stored.version, 1, "a new record starts at version 1");
    assert_eq!(
        (
            &stored.body,
            &stored.tag,
            stored.created_at,
            stored.purge_at
        ),
        (&first.body, &first.tag, first.created_at, first.purge_at)
    );
    // Same id, other kind: another record.
    assert!(
        store
            .get_record(RecordKind::Job, first.id)
            .await
            .unwrap()
            .is_none()
    );

    let changed = SharedRecord {
        tag: "renewed".into(),
        body: json!({"renewals": 1}),
        purge_at: t(200),
        created_at: t(999),
        ..stored.clone()
    };
    assert!(store.swap_record(&changed).await.unwrap());
    let after = store
        .get_record(RecordKind::Session, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.version, 2);
    assert_eq!(
        (after.tag.as_str(), &after.body),
        ("renewed", &json!({"renewals": 1}))
    );
    assert_eq!(
        (after.purge_at, after.created_at),
        (t(200), t(0)),
        "creation is kept"
    );
    // A writer that read version 1 lost the race.
    assert!(!store.swap_record(&changed).await.unwrap());

    assert!(
        store
            .delete_record(RecordKind::Session, first.id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_record(RecordKind::Session, first.id)
            .await
            .unwrap()
    );
    assert!(
        store
            .get_record(RecordKind::Session, first.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store.swap_record(&after).await.unwrap(),
        "a deleted record cannot be swapped"
    );
}

pub async fn records_list_count_and_purge_by_kind_and_tag(store: &impl RecordStore) {
    let jobs = [
        record(RecordKind::Job, "processing", 10, 50),
        record(RecordKind::Job, "completed", 20, 30),
        record(RecordKind::Job, "completed", 30, 60),
    ];
    let session = record(RecordKind::Session, "live", 5, 30);
    for job in &jobs {
        store.insert_record(job).await.unwrap();
    }
    store.insert_record(&session).await.unwrap();

    let ids = |records: Vec<SharedRecord>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let oldest = store.list_records(RecordKind::Job, None, RecordOrder::OldestFirst, 10);
    assert_eq!(
        ids(oldest.await.unwrap()),
        [jobs[0].id, jobs[1].id, jobs[2].id]
    );
    let newest = store.list_records(RecordKind::Job, None, RecordOrder::NewestFirst, 2);
    assert_eq!(ids(newest.await.unwrap()), [jobs[2].id, jobs[1].id]);
    let completed = store.list_records(
        RecordKind::Job,
        Some("completed"),
        RecordOrder::OldestFirst,
        10,
    );
    assert_eq!(ids(completed.await.unwrap()), [jobs[1].id, jobs[2].id]);
    let none = store.list_records(
        RecordKind::Job,
        Some("failed"),
        RecordOrder::OldestFirst,
        10,
    );
    assert!(none.await.unwrap().is_empty());

    let counts = store.count_records(RecordKind::Job).await.unwrap();
    assert_eq!(
        counts,
        [("completed".to_owned(), 2), ("processing".to_owned(), 1)]
    );

    // Purging jobs at t(30) drops the one due then, and no session.
    assert_eq!(
        store.purge_records(RecordKind::Job, t(30)).await.unwrap(),
        1
    );
    assert!(
        store
            .get_record(RecordKind::Job, jobs[1].id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_record(RecordKind::Session, session.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .purge_records(RecordKind::Session, t(30))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.purge_records(RecordKind::Job, t(100)).await.unwrap(),
        2
    );
    assert!(
        store
            .count_records(RecordKind::Job)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Eight writers add one to a counter ten times each through `edit_record`: nothing is lost.
pub async fn records_concurrent_swaps_lose_no_update(store: &impl RecordStore) {
    let counter = SharedRecord {
        body: json!({"count": 0}),
        ..record(RecordKind::JobStats, "stats", 0, 0)
    };
    store.insert_record(&counter).await.unwrap();
    let add_one = || {
        edit_record(store, RecordKind::JobStats, counter.id, |current| {
            let current = current.expect("the counter exists");
            let count = current.body["count"].as_i64().unwrap();
            let next = SharedRecord {
                body: json!({"count": count + 1}),
                ..current.clone()
            };
            Ok::<_, StoreError>(Edit::Write(next, ()))
        })
    };
    let writers = (0..8).map(|_| async {
        for _ in 0..10 {
            add_one().await.unwrap();
        }
    });
    futures_util::future::join_all(writers).await;
    let done = store
        .get_record(RecordKind::JobStats, counter.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.body["count"].as_i64(), done.version), (Some(80), 81));
}
