//! eliza-rs approximate nearest-neighbour search over memory embeddings, without a database extension:
//! one HNSW graph (hnsw_rs) per agent, memory table and dimension, kept in memory for the agents
//! this node runs (the runtime opens an agent's index when the agent starts here and drops it when
//! it stops or moves to another node).
//!
//! - A graph is built from the store in the background; until it is ready, and for sets smaller
//!   than [`ANN_MIN_VECTORS`], searches are exact.
//! - Before each search the graph takes in the vectors stored since it last looked (by
//!   `created_at`, then id), whichever node wrote them.
//! - The graph only proposes candidates: they are re-read from the store with the search's
//!   filters and scored exactly, so deleted or edited memories never come back stale. When too
//!   few candidates pass the filters, the search falls back to exact.

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::hnsw::Hnsw;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Below this many vectors an exact scan is fast enough and always right.
pub const ANN_MIN_VECTORS: usize = 2_000;
/// Links per node and layer (HNSW `M`).
const MAX_CONNECTIONS: usize = 16;
const MAX_LAYERS: usize = 16;
const EF_CONSTRUCTION: usize = 100;
/// Candidates asked of the graph per wanted result, and the floor of the search breadth.
const OVERSAMPLE: usize = 10;
const MIN_CANDIDATES: usize = 100;
const MIN_EF_SEARCH: usize = 256;

/// Which graph: the agent's memories of one table (`type`) and dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GraphKey {
    pub agent: String,
    pub table: String,
    pub dim: i32,
}

/// How far before the previous sync each sync looks: a vector is stamped with its writer's clock
/// when it is written, and becomes visible when its transaction commits, so one stamped a little
/// before the previous sync (another node's clock, a slow transaction) may not have been there yet.
pub const SYNC_LOOKBACK: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// One HNSW graph and the memory ids of its points.
pub struct Graph {
    hnsw: Hnsw<'static, f32, UnitCosine>,
    ids: RwLock<Vec<String>>,
    /// The memory ids already in the graph (a sync's lookback sees some again).
    known: Mutex<HashSet<String>>,
    /// When (this node's clock) the last sync began; everything written before that, less the
    /// lookback, is in the graph.
    synced: Mutex<Option<chrono::NaiveDateTime>>,
    /// Held while the graph takes in new vectors, so two searches never add the same ones.
    syncing: Mutex<()>,
}

impl Graph {
    fn new(expected: usize) -> Self {
        Graph {
            hnsw: Hnsw::new(
                MAX_CONNECTIONS,
                expected.max(1_000),
                MAX_LAYERS,
                EF_CONSTRUCTION,
                UnitCosine,
            ),
            ids: RwLock::default(),
            known: Mutex::default(),
            synced: Mutex::default(),
            syncing: Mutex::default(),
        }
    }

    pub fn sync_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.syncing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn len(&self) -> usize {
        self.ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records that a sync (or the build) that began at `at` has taken everything in.
    pub fn synced_at(&self, at: chrono::NaiveDateTime) {
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        if Some(at) > *synced {
            *synced = Some(at);
        }
    }

    /// Whether the memory is in the graph already.
    pub fn contains(&self, id: &str) -> bool {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    /// Where the next sync starts reading: a little before the last one began, or at the start.
    pub fn sync_from(&self) -> Option<chrono::NaiveDateTime> {
        let synced = *self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        synced.map(|at| at - SYNC_LOOKBACK)
    }

    /// Adds the `(memory id, vector)` points not in the graph yet, in parallel when there are many.
    pub fn add(&self, points: Vec<(String, Vec<f32>)>) {
        let points: Vec<(String, Vec<f32>)> = {
            let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            points
                .into_iter()
                .filter(|(id, _)| known.insert(id.clone()))
                .collect()
        };
        if points.is_empty() {
            return;
        }
        let (first, vectors) = {
            let mut ids = self.ids.write().unwrap_or_else(PoisonError::into_inner);
            let first = ids.len();
            let mut vectors = Vec::with_capacity(points.len());
            for (id, mut vector) in points {
                normalize(&mut vector);
                ids.push(id);
                vectors.push(vector);
            }
            (first, vectors)
        };
        let batch: Vec<(&Vec<f32>, usize)> = vectors
            .iter()
            .enumerate()
            .map(|(offset, vector)| (vector, first + offset))
            .collect();
        if batch.len() >= 64 {
            self.hnsw.parallel_insert(&batch);
        } else {
            for (vector, id) in batch {
                self.hnsw.insert((vector.as_slice(), id));
            }
        }
    }

    /// The memory ids of the approximate `wanted` nearest points, nearest first.
    pub fn candidates(&self, query: &[f32], wanted: usize) -> Vec<String> {
        let mut query = query.to_vec();
        normalize(&mut query);
        let ask = (wanted * OVERSAMPLE).max(MIN_CANDIDATES);
        let found = self.hnsw.search(&query, ask, ask.max(MIN_EF_SEARCH));
        let ids = self.ids.read().unwrap_or_else(PoisonError::into_inner);
        found
            .into_iter()
            .filter_map(|neighbour| ids.get(neighbour.d_id).cloned())
            .collect()
    }
}

/// The cosine distance of unit vectors, `1 - a·b`, summed in eight lanes so the compiler
/// vectorises it (anndists' own dot product sums one lane at a time).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Scales to unit length, so the dot-product distance is the cosine one.
fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in vector {
            *x /= norm;
        }
    }
}

/// A graph being built or ready.
#[derive(Clone)]
pub enum Slot {
    Building,
    Ready(Arc<Graph>),
}

type OpenGraphs = HashMap<String, HashMap<(String, i32), Slot>>;

/// The graphs of the agents this node indexes.
#[derive(Default)]
pub struct VectorIndexes {
    /// Agents whose graphs are kept (as lowercase hyphenated ids).
    open: Mutex<OpenGraphs>,
}

impl VectorIndexes {
    pub fn open(&self, agent: &str) {
        self.with_open(|open| {
            open.entry(agent.to_owned()).or_default();
        });
    }

    pub fn close(&self, agent: &str) {
        self.with_open(|open| open.remove(agent));
    }

    pub fn is_open(&self, agent: &str) -> bool {
        self.with_open(|open| open.contains_key(agent))
    }

    pub fn slot(&self, key: &GraphKey) -> Option<Slot> {
        self.with_open(|open| {
            open.get(&key.agent)?
                .get(&(key.table.clone(), key.dim))
                .cloned()
        })
    }

    /// Marks the graph as being built; false when it is already there or the agent is closed.
    pub fn claim(&self, key: &GraphKey) -> bool {
        self.with_open(|open| {
            let Some(graphs) = open.get_mut(&key.agent) else {
                return false;
            };
            let slot = (key.table.clone(), key.dim);
            if graphs.contains_key(&slot) {
                return false;
            }
            graphs.insert(slot, Slot::Building);
            true
        })
    }

    /// Installs a built graph (unless the agent was closed meanwhile) or forgets a failed build.
    pub fn finish(&self, key: &GraphKey, graph: Option<Graph>) {
        self.with_open(|open| {
            let Some(graphs) = open.get_mut(&key.agent) else {
                return;
            };
            let slot = (key.table.clone(), key.dim);
            match graph {
                Some(graph) => graphs.insert(slot, Slot::Ready(Arc::new(graph))),
                None => graphs.remove(&slot),
            };
        });
    }

    /// How many graphs are ready, and the points in them (for logs and tests).
    pub fn stats(&self) -> (usize, usize) {
        self.with_open(|open| {
            open.values()
                .flat_map(HashMap::values)
                .filter_map(|slot| match slot {
                    Slot::Ready(graph) => Some(graph.len()),
                    Slot::Building => None,
                })
                .fold((0, 0), |(graphs, points), len| (graphs + 1, points + len))
        })
    }

    fn with_open<T>(&self, f: impl FnOnce(&mut OpenGraphs) -> T) -> T {
        f(&mut self.open.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A new graph sized for `expected` points.
pub fn new_graph(expected: usize) -> Graph {
    Graph::new(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A distinct pseudo-random vector per seed (xorshift).
    fn vector(seed: usize) -> Vec<f32> {
        let mut state = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) + 1;
        (0..32)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 2_000) as f32 / 1_000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn the_distance_is_one_minus_the_cosine_of_unit_vectors() {
        let mut a: Vec<f32> = (0..19).map(|i| i as f32 - 9.0).collect();
        let mut b: Vec<f32> = (0..19).map(|i| (i * i) as f32).collect();
        normalize(&mut a);
        normalize(&mut b);
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((UnitCosine.eval(&a, &b) - (1.0 - naive)).abs() < 1e-6);
        assert!(UnitCosine.eval(&a, &a).abs() < 1e-6);
    }

    #[test]
    fn points_added_in_bulk_and_one_by_one_are_found() {
        let graph = new_graph(0);
        let bulk: Vec<(String, Vec<f32>)> =
            (0..3_000).map(|i| (format!("m{i}"), vector(i))).collect();
        graph.add(bulk);
        assert_eq!(graph.candidates(&vector(1_234), 10)[0], "m1234");
        let single = vec![1.0; 32];
        graph.add(vec![("late".to_owned(), single.clone())]);
        // Seen again through a sync's lookback: not added twice.
        graph.add(vec![("late".to_owned(), single.clone())]);
        assert_eq!(graph.len(), 3_001);
        assert_eq!(graph.candidates(&single, 10)[0], "late");
    }
}
