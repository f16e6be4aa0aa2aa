//! The approximate (HNSW) vector search against the exact one, on a fixed data set of 100,000
//! 384-dimension vectors: recall at k = 10 must be at least 0.95. Prints the build time and the
//! search latencies of both paths.

use super::new_agent;
use crate::fixtures as fx;
use eliza_domain::memory::{MemorySearch, cosine_similarity};
use eliza_domain::store::{MemoryStore, WorldStore};
use eliza_domain::{AgentId, MemoryId};
use eliza_store::DieselStore;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const VECTORS: usize = 100_000;
const DIM: usize = 384;
const CENTRES: usize = 200;
const QUERIES: usize = 50;
const K: usize = 10;

/// A fixed pseudo-random sequence (xorshift64*), so every run sees the same data.
struct Sequence(u64);

impl Sequence {
    fn next_unit(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vector(&mut self) -> Vec<f32> {
        (0..DIM).map(|_| self.next_unit()).collect()
    }

    /// A point near `centre`, as sentence embeddings gather around topics.
    fn near(&mut self, centre: &[f32]) -> Vec<f32> {
        centre.iter().map(|x| x + 0.6 * self.next_unit()).collect()
    }
}

fn data_set(size: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut sequence = Sequence(0x5EED_1234_ABCD_0001);
    let centres: Vec<Vec<f32>> = (0..CENTRES).map(|_| sequence.vector()).collect();
    let mut near = |i: usize| sequence.near(&centres[i % CENTRES]);
    let vectors = (0..size).map(&mut near).collect();
    let queries = (0..QUERIES).map(|i| near(i * 7 + 3)).collect();
    (vectors, queries)
}

fn search(agent: AgentId, query: &[f32]) -> MemorySearch {
    MemorySearch {
        agent_id: agent,
        table: "messages".into(),
        embedding: query.to_vec(),
        room_id: None,
        world_id: None,
        entity_id: None,
        threshold: None,
        limit: K as u32,
    }
}

fn exact_top(ids: &[MemoryId], vectors: &[Vec<f32>], query: &[f32]) -> HashSet<MemoryId> {
    let mut scored: Vec<(f32, MemoryId)> = vectors
        .iter()
        .zip(ids)
        .map(|(vector, id)| (cosine_similarity(query, vector), *id))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(K).map(|(_, id)| id).collect()
}

async fn seed(store: &DieselStore, agent: AgentId, vectors: &[Vec<f32>]) -> Vec<MemoryId> {
    let mut ids = Vec::with_capacity(vectors.len());
    for chunk in vectors.chunks(1_000) {
        let mut writes = Vec::new();
        for vector in chunk {
            let mut memory = fx::memory(agent, None, fx::t(ids.len() as i64));
            memory.embedding = Some(vector.clone());
            ids.push(memory.id);
            let store = store.clone();
            writes.push(tokio::spawn(
                async move { store.create_memory(&memory).await },
            ));
        }
        for write in writes {
            assert!(write.await.unwrap().unwrap());
        }
    }
    ids
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub async fn approximate_search_matches_exact_on_100k_vectors(store: &DieselStore) {
    let agent = new_agent(store, "remembers a lot").await;
    let (vectors, queries) = data_set(VECTORS);
    let ids = seed(store, agent, &vectors).await;

    // Exact first: the agent has no index on this node yet.
    let mut exact_latency = Vec::new();
    for query in queries.iter().take(3) {
        let started = Instant::now();
        let hits = store.search_memories(&search(agent, query)).await.unwrap();
        exact_latency.push(started.elapsed());
        let found: HashSet<MemoryId> = hits.iter().map(|hit| hit.memory.id).collect();
        assert_eq!(
            found,
            exact_top(&ids, &vectors, query),
            "the exact path is exact"
        );
    }

    let build = index_and_wait(store, agent, VECTORS).await;

    let (mut found_total, mut ann_latency) = (0, Vec::new());
    for query in &queries {
        let started = Instant::now();
        let hits = store.search_memories(&search(agent, query)).await.unwrap();
        ann_latency.push(started.elapsed());
        assert_eq!(hits.len(), K);
        assert!(
            hits.windows(2)
                .all(|pair| pair[0].similarity >= pair[1].similarity)
        );
        let truth = exact_top(&ids, &vectors, query);
        found_total += hits
            .iter()
            .filter(|hit| truth.contains(&hit.memory.id))
            .count();
    }
    let recall = found_total as f64 / (QUERIES * K) as f64;
    println!(
        "{:?}: {VECTORS} vectors of {DIM}: index built in {build:?}; recall@{K} {recall:.3}; \
         search p50 approximate {:?}, exact {:?}",
        store.backend_kind(),
        median(ann_latency),
        median(exact_latency),
    );
    assert!(recall >= 0.95, "recall@{K} is {recall:.3}");

    store.drop_agent_vectors(agent);
    assert_eq!(store.vector_index_stats(), (0, 0));
}

async fn index_and_wait(store: &DieselStore, agent: AgentId, size: usize) -> Duration {
    let started = Instant::now();
    store.index_agent_vectors(agent).await.unwrap();
    while store.vector_index_stats() != (1, size) {
        let stats = store.vector_index_stats();
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "index not built: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

pub async fn the_index_follows_memories_stored_and_deleted_after_its_build(store: &DieselStore) {
    let agent = new_agent(store, "indexed").await;
    let size = eliza_vector_index::ANN_MIN_VECTORS + 500;
    let (vectors, queries) = data_set(size);
    let ids = seed(store, agent, &vectors).await;
    index_and_wait(store, agent, size).await;
    // Backdated: the graph follows write order, not the memory's own time.
    let mut fresh = fx::memory(agent, None, fx::t(-1_000));
    fresh.embedding = Some(queries[0].clone());
    store.create_memory(&fresh).await.unwrap();
    let hits = store
        .search_memories(&search(agent, &queries[0]))
        .await
        .unwrap();
    assert_eq!(
        hits[0].memory.id,
        fresh.id,
        "{:?}",
        hits.iter().map(|h| h.similarity).collect::<Vec<_>>()
    );
    assert_eq!(store.vector_index_stats(), (1, size + 1));
    assert!(store.delete_memory(fresh.id).await.unwrap());
    let hits = store
        .search_memories(&search(agent, &queries[0]))
        .await
        .unwrap();
    assert_eq!(hits.len(), K);
    assert!(hits.iter().all(|hit| hit.memory.id != fresh.id));
    // A replaced vector is found by its new value (the graph takes the new version in).
    assert!(
        store
            .set_memory_embedding(ids[7], &queries[1])
            .await
            .unwrap()
    );
    let hits = store
        .search_memories(&search(agent, &queries[1]))
        .await
        .unwrap();
    assert_eq!(hits[0].memory.id, ids[7]);
    assert_eq!(
        store.vector_index_stats(),
        (1, size + 1),
        "a new version adds no memory"
    );
    // Filters the graph's candidates cannot satisfy fall back to the exact search.
    let room = fx::room(agent, None);
    store.ensure_room(&room).await.unwrap();
    let mut in_room = fx::memory(agent, Some(room.id), fx::t(size as i64 + 2));
    in_room.embedding = Some(vectors[5].iter().map(|x| -x).collect());
    store.create_memory(&in_room).await.unwrap();
    let scoped = MemorySearch {
        room_id: Some(room.id),
        ..search(agent, &queries[0])
    };
    let hits = store.search_memories(&scoped).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].memory.id, in_room.id);
    store.drop_agent_vectors(agent);
}
