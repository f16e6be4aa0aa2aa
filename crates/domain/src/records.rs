//! Short-lived records that every node of a cluster must be able to serve: the messaging API's
//! sessions and jobs. A single node keeps them in memory ([`MemoryRecords`], as 1.7.2 does); a
//! cluster keeps them in the shared database, so a client behind a load balancer finds its session
//! or job whichever node answers.
//!
//! A record is an opaque JSON body with a version: writers read it, change it and write it back
//! with [`RecordStore::swap_record`], which only succeeds if nobody wrote in between (optimistic
//! concurrency, the same on every backend). The `tag` (a job's status) and `purge_at` columns are
//! what the store filters on without reading bodies.

use crate::store::StoreResult;
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
    /// Raised by every successful swap; a new record starts at 1.
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
