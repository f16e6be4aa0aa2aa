//! Exact memory search, the cost of every semantic lookup: the store loads each candidate
//! embedding from SQLite and scores it with `cosine_similarity`, so time grows with the number of
//! memories. Top-10 over 10,000 and 100,000 random 384-dimension vectors (the size of the local
//! embedding model's output), plus the scoring alone to show its share.
//!
//! `cargo bench -p eliza-store --bench vector_search`; under `cargo test --benches` each bench
//! runs once, at 10,000 memories only. Search results are checked against a brute-force ranking
//! before measuring.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use eliza_domain::memory::{MESSAGES_TABLE, Memory, MemorySearch, cosine_similarity};
use eliza_domain::store::{AgentStore, MemoryStore};
use eliza_domain::{Agent, AgentId, Character, MemoryId};
use eliza_store::{DieselStore, StoreOptions};
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const DIM: usize = 384;
const LIMIT: u32 = 10;
const SIZES: [usize; 2] = [10_000, 100_000];
/// Under `cargo test` (no `--bench` argument): seeding 100,000 rows takes ~40 s unoptimised, and
/// the 10,000 case already runs the same code.
const SMOKE_SIZES: [usize; 1] = [10_000];

/// xorshift64: deterministic vectors without a `rand` dependency.
struct XorShift(u64);

impl XorShift {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        // The top 24 bits as a float in [-1, 1).
        ((self.0 >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }

    fn vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.next_f32()).collect()
    }
}

/// A SQLite file store holding one agent's memories, each with one of `vectors`.
struct Corpus {
    store: DieselStore,
    agent: AgentId,
    ids: Vec<MemoryId>,
    /// Dropped after `store`, so the pool closes before the file goes.
    _dir: tempfile::TempDir,
}

fn seed_store(runtime: &Runtime, vectors: &[Vec<f32>]) -> Corpus {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    runtime.block_on(async {
        let store = DieselStore::connect(&url, StoreOptions::default())
            .await
            .expect("sqlite store");
        let character = Character::from_json(&json!({"name": "Bench", "bio": "Remembers."}))
            .expect("a character");
        let agent = Agent::new(character, Utc::now());
        store.create_agent(&agent).await.expect("agent stored");
        let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut ids = Vec::with_capacity(vectors.len());
        for (i, vector) in vectors.iter().enumerate() {
            let memory = Memory {
                id: MemoryId::new_random(),
                table: MESSAGES_TABLE.to_owned(),
                created_at: base + chrono::TimeDelta::seconds(i as i64),
                content: json!({"text": format!("message {i}: a line of conversation worth remembering later"), "source": "bench"}),
                entity_id: None,
                agent_id: agent.id,
                room_id: None,
                world_id: None,
                unique: true,
                metadata: json!({"type": "message"}),
                embedding: Some(vector.clone()),
            };
            assert!(store.create_memory(&memory).await.expect("memory stored"));
            ids.push(memory.id);
        }
        Corpus {
            store,
            agent: agent.id,
            ids,
            _dir: dir,
        }
    })
}

/// The ids of the `LIMIT` best-scoring vectors, computed by brute force.
fn expected_top(corpus: &Corpus, vectors: &[Vec<f32>], query: &[f32]) -> Vec<MemoryId> {
    let mut scored: Vec<(f32, MemoryId)> = vectors
        .iter()
        .zip(&corpus.ids)
        .map(|(vector, id)| (cosine_similarity(query, vector), *id))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(LIMIT as usize)
        .map(|(_, id)| id)
        .collect()
}

fn vector_search(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let query = rng.vector();

    let mut group = c.benchmark_group("memory_search_top10");
    // One search over 100,000 rows takes a sizeable fraction of a second: few, flat samples.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let sizes: &[usize] = if std::env::args().any(|arg| arg == "--bench") {
        &SIZES
    } else {
        &SMOKE_SIZES
    };
    for &size in sizes {
        let vectors: Vec<Vec<f32>> = (0..size).map(|_| rng.vector()).collect();
        let started = Instant::now();
        let corpus = seed_store(&runtime, &vectors);
        eprintln!(
            "seeded {size} memories in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let search = MemorySearch {
            agent_id: corpus.agent,
            table: MESSAGES_TABLE.to_owned(),
            embedding: query.clone(),
            room_id: None,
            world_id: None,
            entity_id: None,
            threshold: None,
            limit: LIMIT,
        };
        let hits = runtime
            .block_on(corpus.store.search_memories(&search))
            .expect("search");
        let found: Vec<MemoryId> = hits.iter().map(|hit| hit.memory.id).collect();
        assert_eq!(found, expected_top(&corpus, &vectors, &query));

        group.bench_function(BenchmarkId::new("sqlite_store", size), |b| {
            b.iter(|| runtime.block_on(corpus.store.search_memories(black_box(&search))))
        });
        bench_approximate(&mut group, &runtime, &corpus, &vectors, &search, &mut rng);
        // The scoring the store does after loading the rows, without SQLite and decoding.
        group.bench_function(BenchmarkId::new("cosine_scoring_only", size), |b| {
            b.iter(|| {
                vectors
                    .iter()
                    .map(|vector| cosine_similarity(black_box(&query), vector))
                    .fold(f32::MIN, f32::max)
            })
        });
    }
    group.finish();
}

/// The same search through the agent's HNSW index (built first, timed and printed), with its
/// recall on 20 queries against the exact top 10. These vectors are uniformly random, the hardest
/// case for a graph index (real embeddings cluster by topic).
fn bench_approximate(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    corpus: &Corpus,
    vectors: &[Vec<f32>],
    search: &MemorySearch,
    rng: &mut XorShift,
) {
    let size = vectors.len();
    let started = Instant::now();
    runtime.block_on(async {
        corpus
            .store
            .index_agent_vectors(corpus.agent)
            .await
            .expect("index opened");
        while corpus.store.vector_index_stats() != (1, size) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let queries: Vec<Vec<f32>> = (0..20).map(|_| rng.vector()).collect();
    let found: usize = queries
        .iter()
        .map(|query| {
            let search = MemorySearch {
                embedding: query.clone(),
                ..search.clone()
            };
            let hits = runtime
                .block_on(corpus.store.search_memories(&search))
                .expect("search");
            let expected = expected_top(corpus, vectors, query);
            hits.iter()
                .filter(|hit| expected.contains(&hit.memory.id))
                .count()
        })
        .sum();
    eprintln!(
        "{size} memories: HNSW index built in {:.1} s; recall@{LIMIT} on uniform random vectors {:.3}{}",
        started.elapsed().as_secs_f64(),
        found as f64 / (20 * LIMIT as usize) as f64,
        if size < eliza_vector_index::ANN_MIN_VECTORS {
            " (below the index threshold: exact)"
        } else {
            ""
        },
    );
    group.bench_function(BenchmarkId::new("sqlite_store_hnsw", size), |b| {
        b.iter(|| runtime.block_on(corpus.store.search_memories(black_box(search))))
    });
    corpus.store.drop_agent_vectors(corpus.agent);
}

criterion_group!(benches, vector_search);
criterion_main!(benches);
