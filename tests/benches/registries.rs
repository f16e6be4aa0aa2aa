//! The messaging sessions and jobs registries per operation, on each place they can be kept: in
//! memory (a single node) and in the database (a cluster; SQLite here, `TEST_DATABASE_URL` adds
//! PostgreSQL in a schema of its own).
//!
//! `cargo bench -p eliza-e2e --bench registries [-- <operations>]` prints the mean time of a
//! session message (read, renew, compare-and-swap), a session read, and a job's whole life
//! (create, start, complete, poll).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl};
use eliza_domain::records::{MemoryRecords, RecordStore};
use eliza_domain::{AgentId, ChannelId, MessageId};
use eliza_http::jobs::{DEFAULT_RETENTION_MS, JobRegistry, JobReply, MAX_JOBS, NewJob};
use eliza_http::sessions::{Session, SessionConfig, SessionRegistry};
use eliza_store::{DieselStore, StoreOptions};
use serde_json::{Map, json};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// Sessions held while one is measured.
const LIVE_SESSIONS: usize = 1_000;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let operations: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(2_000);
    println!("registries: mean per operation over {operations} operations");
    report("memory", Arc::new(MemoryRecords::new()), operations).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = DieselStore::connect(&url, StoreOptions::default())
        .await
        .unwrap();
    report("sqlite", Arc::new(sqlite), operations).await;
    if let Some(url) = postgres_schema() {
        let postgres = DieselStore::connect(&url, StoreOptions::default())
            .await
            .unwrap();
        report("postgres", Arc::new(postgres), operations).await;
    }
}

/// A fresh schema on `TEST_DATABASE_URL`, as a URL whose search path is that schema.
fn postgres_schema() -> Option<String> {
    let base = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    let name = format!("bench_{}", Uuid::new_v4().simple());
    let mut conn = PgConnection::establish(&base).expect("TEST_DATABASE_URL");
    diesel::sql_query(format!("CREATE SCHEMA {name}"))
        .execute(&mut conn)
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}options=-csearch_path%3D{name}"))
}

async fn report(backend: &str, records: Arc<dyn RecordStore>, operations: usize) {
    let config = SessionConfig::default();
    let sessions = SessionRegistry::with_records(&config, Arc::clone(&records));
    let mut ids = Vec::with_capacity(LIVE_SESSIONS);
    for _ in 0..LIVE_SESSIONS {
        let session = Session::new(
            AgentId::new_random(),
            ChannelId::new_random(),
            Uuid::new_v4().to_string(),
            Map::new(),
            config.defaults(),
            Utc::now(),
        );
        ids.push(session.id.to_string());
        sessions.insert(session, Utc::now()).await.unwrap();
    }
    let started = Instant::now();
    for i in 0..operations {
        sessions
            .record_message(&ids[i % ids.len()], Utc::now())
            .await
            .unwrap();
    }
    let message = per_op(started, operations);
    let started = Instant::now();
    for i in 0..operations {
        sessions.get(&ids[i % ids.len()], Utc::now()).await.unwrap();
    }
    let read = per_op(started, operations);

    let jobs = JobRegistry::with_records(records, MAX_JOBS, DEFAULT_RETENTION_MS);
    let started = Instant::now();
    for _ in 0..operations {
        job_life(&jobs).await;
    }
    let job = per_op(started, operations);
    println!(
        "  {backend:<8} session message {message:>8.1} µs | session read {read:>8.1} µs | job create→start→complete→poll {job:>8.1} µs"
    );
}

async fn job_life(jobs: &JobRegistry) {
    let now = Utc::now().timestamp_millis();
    let job = jobs
        .create(
            NewJob {
                id: Uuid::new_v4(),
                agent_id: AgentId::new_random(),
                user_id: Uuid::new_v4().to_string(),
                channel_id: ChannelId::new_random(),
                prompt: "hello".to_owned(),
                metadata: json!({}),
                timeout_ms: 30_000,
            },
            now,
        )
        .await
        .unwrap();
    jobs.start_processing(job.id).await.unwrap();
    let reply = JobReply {
        id: MessageId::new_random(),
        content: "hi".to_owned(),
        author_id: job.agent_id.to_string(),
        created_at: now,
        metadata: None,
    };
    jobs.complete(job.id, reply, now + 1).await.unwrap();
    jobs.get(job.id, now + 2).await.unwrap().expect("the job");
}

fn per_op(started: Instant, operations: usize) -> f64 {
    started.elapsed().as_secs_f64() * 1e6 / operations as f64
}
