//! Short-lived records that every node of a cluster must be able to serve: the messaging API's
//! sessions and jobs. A single node keeps them in memory ([`MemoryRecords`], as 1.7.2 does); a
//! cluster keeps them in the shared database, so a client behind a load balancer finds its session
//! or job whichever node answers.
//!
//! A record is an opaque JSON body with a version: writers read it, change it and write it back
//! with [`RecordStore::swap_record`], which only succeeds if nobody wrote in between (optimistic
//! concurrency, the same on every backend). The `tag` (a job's status) and `purge_at` columns are
//! what the store filters on without reading bodies.

use crate::store::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use uuid::Uuid;

/// What a record is; each kind is its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Session,
    Job,
    /// The lifetime job counters of `GET /jobs/health` (one record).
    JobStats,
}

impl RecordKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordKind::Session => "session",
            RecordKind::Job => "job",
            RecordKind::JobStats => "job-stats",
        }
    }

    pub fn parse(text: &str) -> Option<RecordKind> {
        [RecordKind::Session, RecordKind::Job, RecordKind::JobStats]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// One stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRecord {
    pub kind: RecordKind,
    pub id: Uuid,
    /// A short label the store can filter and count by (a job's status).
    pub tag: String,
    pub body: Value,
    /// Raised by every successful swap; a new record starts at 1 (an insert ignores this field,
    /// [`edit_record`] sets it before a swap).
    pub version: i64,
    /// Orders lists (ties broken by id).
    pub created_at: DateTime<Utc>,
    /// From this instant [`RecordStore::purge_records`] drops the record.
    pub purge_at: DateTime<Utc>,
}

/// Which end of the creation order a list starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOrder {
    OldestFirst,
    NewestFirst,
}

/// Sessions and jobs, wherever they are kept.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Stores a new record at version 1 unless one of the same kind and id exists; returns
    /// whether it was stored.
    async fn insert_record(&self, record: &SharedRecord) -> StoreResult<bool>;
    async fn get_record(&self, kind: RecordKind, id: Uuid) -> StoreResult<Option<SharedRecord>>;
    /// Writes `record` over the stored one if that is still at `record.version`, raising the
    /// version by one. False when another writer got there first or the record is gone.
    async fn swap_record(&self, record: &SharedRecord) -> StoreResult<bool>;
    /// Returns whether the record existed.
    async fn delete_record(&self, kind: RecordKind, id: Uuid) -> StoreResult<bool>;
    /// Drops the records of `kind` whose `purge_at` is at or before `now`; returns how many.
    async fn purge_records(&self, kind: RecordKind, now: DateTime<Utc>) -> StoreResult<u64>;
    /// At most `limit` records of `kind` (with `tag` when given) in creation order.
    async fn list_records(
        &self,
        kind: RecordKind,
        tag: Option<&str>,
        order: RecordOrder,
        limit: i64,
    ) -> StoreResult<Vec<SharedRecord>>;
    /// How many records of `kind` each tag has.
    async fn count_records(&self, kind: RecordKind) -> StoreResult<Vec<(String, i64)>>;

    /// How many records of `kind` there are, whatever their tag.
    async fn total_records(&self, kind: RecordKind) -> StoreResult<usize> {
        let counts = self.count_records(kind).await?;
        let total: i64 = counts.iter().map(|(_, count)| count).sum();
        Ok(usize::try_from(total).unwrap_or(0))
    }
}

/// What an edit decided to do with the record it was shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit<T> {
    /// Leave it as it is.
    Keep(T),
    /// Store this (inserted when there was no record, swapped in otherwise).
    Write(SharedRecord, T),
    /// Delete it.
    Delete(T),
}

/// How many times [`edit_record`] tries before giving up. Each lost race means another writer
/// won, so the record moves on; the bound only stops a writer starved by many busy ones (eight
/// writers hammering one row on PostgreSQL starved one past 32 attempts in the contract suite).
pub const MAX_EDIT_ATTEMPTS: usize = 256;

/// The one read-modify-write of the records: reads the record (or its absence), lets `edit`
/// decide, and carries the decision out. When another writer changed or created the record
/// meanwhile, it reads again and asks `edit` again, so `edit` must only compute. Gives up as
/// `Unavailable` after [`MAX_EDIT_ATTEMPTS`] lost races.
pub async fn edit_record<R, T, E>(
    records: &R,
    kind: RecordKind,
    id: Uuid,
    mut edit: impl FnMut(Option<&SharedRecord>) -> Result<Edit<T>, E>,
) -> Result<T, E>
where
    R: RecordStore + ?Sized,
    E: From<StoreError>,
{
    for _ in 0..MAX_EDIT_ATTEMPTS {
        let current = records.get_record(kind, id).await?;
        match edit(current.as_ref())? {
            Edit::Keep(value) => return Ok(value),
            Edit::Delete(value) => {
                records.delete_record(kind, id).await?;
                return Ok(value);
            }
            Edit::Write(mut next, value) => {
                let written = match &current {
                    None => records.insert_record(&next).await?,
                    Some(current) => {
                        next.version = current.version;
                        records.swap_record(&next).await?
                    }
                };
                if written {
                    return Ok(value);
                }
            }
        }
    }
    Err(StoreError::Unavailable(format!(
        "{} {id} kept changing under {MAX_EDIT_ATTEMPTS} attempts to update it",
        kind.as_str()
    ))
    .into())
}

/// The records of one kind, with a count per tag so that counting costs nothing.
#[derive(Debug, Default)]
struct KindRecords {
    by_id: HashMap<Uuid, SharedRecord>,
    tag_counts: BTreeMap<String, i64>,
}

impl KindRecords {
    fn add(&mut self, record: SharedRecord) {
        *self.tag_counts.entry(record.tag.clone()).or_default() += 1;
        if let Some(old) = self.by_id.insert(record.id, record) {
            self.uncount(&old.tag);
        }
    }

    fn remove(&mut self, id: Uuid) -> Option<SharedRecord> {
        let removed = self.by_id.remove(&id)?;
        self.uncount(&removed.tag);
        Some(removed)
    }

    fn uncount(&mut self, tag: &str) {
        if let Some(count) = self.tag_counts.get_mut(tag) {
            *count -= 1;
            if *count <= 0 {
                self.tag_counts.remove(tag);
            }
        }
    }
}

/// The records of one process, in memory.
#[derive(Debug, Default)]
pub struct MemoryRecords {
    kinds: Mutex<HashMap<RecordKind, KindRecords>>,
}

impl MemoryRecords {
    pub fn new() -> Self {
        MemoryRecords::default()
    }

    fn with_kind<T>(&self, kind: RecordKind, f: impl FnOnce(&mut KindRecords) -> T) -> T {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        f(kinds.entry(kind).or_default())
    }
}

#[async_trait]
impl RecordStore for MemoryRecords {
    async fn insert_record(&self, record: &SharedRecord) -> StoreResult<bool> {
        Ok(self.with_kind(record.kind, |records| {
            if records.by_id.contains_key(&record.id) {
                return false;
            }
            records.add(SharedRecord {
                version: 1,
                ..record.clone()
            });
            true
        }))
    }

    async fn get_record(&self, kind: RecordKind, id: Uuid) -> StoreResult<Option<SharedRecord>> {
        Ok(self.with_kind(kind, |records| records.by_id.get(&id).cloned()))
    }

    async fn swap_record(&self, record: &SharedRecord) -> StoreResult<bool> {
        Ok(self.with_kind(record.kind, |records| {
            let created_at = match records.by_id.get(&record.id) {
                Some(stored) if stored.version == record.version => stored.created_at,
                _ => return false,
            };
            records.add(SharedRecord {
                version: record.version + 1,
                created_at,
                ..record.clone()
            });
            true
        }))
    }

    async fn delete_record(&self, kind: RecordKind, id: Uuid) -> StoreResult<bool> {
        Ok(self.with_kind(kind, |records| records.remove(id).is_some()))
    }

    async fn purge_records(&self, kind: RecordKind, now: DateTime<Utc>) -> StoreResult<u64> {
        Ok(self.with_kind(kind, |records| {
            let due: Vec<Uuid> = records
                .by_id
                .values()
                .filter(|record| record.purge_at <= now)
                .map(|record| record.id)
                .collect();
            for id in &due {
                records.remove(*id);
            }
            due.len() as u64
        }))
    }

    async fn list_records(
        &self,
        kind: RecordKind,
        tag: Option<&str>,
        order: RecordOrder,
        limit: i64,
    ) -> StoreResult<Vec<SharedRecord>> {
        let mut listed: Vec<SharedRecord> = self.with_kind(kind, |records| {
            records
                .by_id
                .values()
                .filter(|record| tag.is_none_or(|tag| record.tag == tag))
                .cloned()
                .collect()
        });
        listed.sort_by_key(|record| (record.created_at, record.id));
        if order == RecordOrder::NewestFirst {
            listed.reverse();
        }
        listed.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(listed)
    }

    async fn count_records(&self, kind: RecordKind) -> StoreResult<Vec<(String, i64)>> {
        Ok(self.with_kind(kind, |records| {
            records
                .tag_counts
                .iter()
                .map(|(tag, count)| (tag.clone(), *count))
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Poll, Waker};

    fn record(kind: RecordKind, body: Value) -> SharedRecord {
        let at = DateTime::UNIX_EPOCH;
        SharedRecord {
            kind,
            id: Uuid::nil(),
            tag: "t".to_owned(),
            body,
            version: 1,
            created_at: at,
            purge_at: at,
        }
    }

    /// Runs a future that never waits (the in-memory store never does).
    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let mut context = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
                return value;
            }
        }
    }

    #[test]
    fn an_edit_inserts_swaps_keeps_and_deletes() {
        let records = MemoryRecords::new();
        let (kind, id) = (RecordKind::Job, Uuid::nil());
        let count = |current: Option<&SharedRecord>| {
            current.map_or(0, |record| record.body.as_i64().unwrap_or(0))
        };
        let add_one = |current: Option<&SharedRecord>| {
            let next = count(current) + 1;
            Ok::<_, StoreError>(Edit::Write(record(kind, Value::from(next)), next))
        };
        assert_eq!(run(edit_record(&records, kind, id, add_one)), Ok(1));
        assert_eq!(run(edit_record(&records, kind, id, add_one)), Ok(2));
        let stored = run(records.get_record(kind, id)).unwrap().unwrap();
        assert_eq!((stored.body, stored.version), (Value::from(2), 2));
        let kept = run(edit_record(&records, kind, id, |current| {
            Ok::<_, StoreError>(Edit::Keep(count(current)))
        }));
        assert_eq!(kept, Ok(2));
        let deleted = run(edit_record(&records, kind, id, |_| {
            Ok::<_, StoreError>(Edit::Delete(()))
        }));
        assert_eq!(deleted, Ok(()));
        assert_eq!(run(records.get_record(kind, id)), Ok(None));
        assert_eq!(run(records.total_records(kind)), Ok(0));
    }

    #[test]
    fn an_edit_refusal_is_returned_and_nothing_is_written() {
        let records = MemoryRecords::new();
        let refused = run(edit_record(&records, RecordKind::Job, Uuid::nil(), |_| {
            Err::<Edit<()>, _>(StoreError::Invalid("no".to_owned()))
        }));
        assert_eq!(refused, Err(StoreError::Invalid("no".to_owned())));
        assert_eq!(run(records.total_records(RecordKind::Job)), Ok(0));
    }

    /// A store where every swap loses (another writer always got there first).
    struct AlwaysBeaten(MemoryRecords);

    #[async_trait]
    impl RecordStore for AlwaysBeaten {
        async fn insert_record(&self, record: &SharedRecord) -> StoreResult<bool> {
            self.0.insert_record(record).await
        }
        async fn get_record(
            &self,
            kind: RecordKind,
            id: Uuid,
        ) -> StoreResult<Option<SharedRecord>> {
            self.0.get_record(kind, id).await
        }
        async fn swap_record(&self, _: &SharedRecord) -> StoreResult<bool> {
            Ok(false)
        }
        async fn delete_record(&self, kind: RecordKind, id: Uuid) -> StoreResult<bool> {
            self.0.delete_record(kind, id).await
        }
        async fn purge_records(&self, kind: RecordKind, now: DateTime<Utc>) -> StoreResult<u64> {
            self.0.purge_records(kind, now).await
        }
        async fn list_records(
            &self,
            kind: RecordKind,
            tag: Option<&str>,
            order: RecordOrder,
            limit: i64,
        ) -> StoreResult<Vec<SharedRecord>> {
            self.0.list_records(kind, tag, order, limit).await
        }
        async fn count_records(&self, kind: RecordKind) -> StoreResult<Vec<(String, i64)>> {
            self.0.count_records(kind).await
        }
    }

    #[test]
    fn an_edit_that_always_loses_gives_up_as_unavailable() {
        let records = AlwaysBeaten(MemoryRecords::new());
        let kind = RecordKind::Session;
        assert!(run(records.insert_record(&record(kind, Value::Null))).unwrap());
        let mut attempts = 0;
        let outcome = run(edit_record(&records, kind, Uuid::nil(), |_| {
            attempts += 1;
            Ok::<_, StoreError>(Edit::Write(record(kind, Value::from(attempts)), ()))
        }));
        assert_eq!(attempts, MAX_EDIT_ATTEMPTS);
        assert!(
            matches!(&outcome, Err(StoreError::Unavailable(reason)) if reason.contains("kept changing")),
            "{outcome:?}"
        );
    }
}
