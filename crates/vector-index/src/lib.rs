//! eliza-rs approximate nearest-neighbour search over memory embeddings, without a database extension:
//! one HNSW graph (hnsw_rs) per agent, memory table and dimension, kept in memory for the agents
//! this node runs (the runtime opens an agent's index when the agent starts here and drops it when
//! it stops or moves to another node).
//!
//! - A graph is built from the store in the background; until it is ready, and for sets smaller
//!   than [`ANN_MIN_VECTORS`], searches are exact.
//! - Before each search the graph takes in the vectors written since it last looked (by the
//!   embedding's write time), whichever node wrote them; a replaced vector is added again.
//! - The graph only proposes candidates: they are re-read from the store with the search's
//!   filters and scored exactly, so deleted or edited memories never come back stale. When too
//!   few candidates pass the filters, the search falls back to exact.

use chrono::NaiveDateTime;
use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::hnsw::Hnsw;
use std::collections::HashMap;
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

/// A stored vector as the graph takes it: memory id, when the vector was written, the vector.
pub type StoredVector = (String, NaiveDateTime, Vec<f32>);

/// Which memory each graph point is, and which version of each memory's vector the graph has.
#[derive(Default)]
struct Points {
    /// Point id (the graph's data id) to memory id.
    memories: Vec<String>,
    /// Memory id to the write time of the vector in the graph (a sync's lookback sees some
    /// again; a replaced vector has a later time and is added as a new point).
    written: HashMap<String, NaiveDateTime>,
}

/// One HNSW graph and the memory ids of its points.
pub struct Graph {
    hnsw: Hnsw<'static, f32, UnitCosine>,
    points: RwLock<Points>,
    /// When (this node's clock) the last sync began; everything written before that, less the
    /// lookback, is in the graph.
    synced: Mutex<Option<NaiveDateTime>>,
    /// Held while the graph takes in new vectors, so two searches never add the same ones.
    syncing: Mutex<()>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph {
            // The size is only a first allocation hint; the graph grows as points come.
            hnsw: Hnsw::new(
                MAX_CONNECTIONS,
                1_000,
                MAX_LAYERS,
                EF_CONSTRUCTION,
                UnitCosine,
            ),
            points: RwLock::default(),
            synced: Mutex::default(),
            syncing: Mutex::default(),
        }
    }
}

impl Graph {
    pub fn sync_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.syncing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many memories the graph holds.
    pub fn len(&self) -> usize {
        self.read_points().written.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records that a sync (or the build) that began at `at` has taken everything in.
    pub fn synced_at(&self, at: NaiveDateTime) {
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        if Some(at) > *synced {
            *synced = Some(at);
        }
    }

    /// Whether the graph has this version (write time) of the memory's vector.
    pub fn has(&self, id: &str, written: NaiveDateTime) -> bool {
        self.read_points().written.get(id) == Some(&written)
    }

    /// Whether a search for `wanted` results is worth asking the graph: big enough to beat a
    /// scan, and not asking for most of it.
    pub fn serves(&self, wanted: usize) -> bool {
        let len = self.len();
        len >= ANN_MIN_VECTORS && wanted.saturating_mul(OVERSAMPLE) < len
    }

    /// Where the next sync starts reading: a little before the last one began, or at the start.
    pub fn sync_from(&self) -> Option<NaiveDateTime> {
        let synced = *self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        synced.map(|at| at - SYNC_LOOKBACK)
    }

    /// Adds the vectors the graph does not have in this version, in parallel when there are many.
    pub fn add(&self, vectors: Vec<StoredVector>) {
        let (first, vectors) = {
            let mut points = self.points.write().unwrap_or_else(PoisonError::into_inner);
            let first = points.memories.len();
            let mut fresh = Vec::new();
            for (id, written, mut vector) in vectors {
                if points.written.get(&id) == Some(&written) {
                    continue;
                }
                normalize(&mut vector);
                points.written.insert(id.clone(), written);
                points.memories.push(id);
                fresh.push(vector);
            }
            (first, fresh)
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
    /// A memory whose vector was replaced appears once (its old point may still be found).
    pub fn candidates(&self, query: &[f32], wanted: usize) -> Vec<String> {
        let mut query = query.to_vec();
        normalize(&mut query);
        let ask = wanted
            .saturating_mul(OVERSAMPLE)
            .max(MIN_CANDIDATES)
            .min(self.len().max(1));
        let found = self.hnsw.search(&query, ask, ask.max(MIN_EF_SEARCH));
        let points = self.read_points();
        let mut seen = std::collections::HashSet::new();
        found
            .into_iter()
            .filter_map(|neighbour| points.memories.get(neighbour.d_id))
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect()
    }

    fn read_points(&self) -> std::sync::RwLockReadGuard<'_, Points> {
        self.points.read().unwrap_or_else(PoisonError::into_inner)
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
    pub fn finish(&self, key: &GraphKey, graph: Option<Arc<Graph>>) {
        self.with_open(|open| {
            let Some(graphs) = open.get_mut(&key.agent) else {
                return;
            };
            let slot = (key.table.clone(), key.dim);
            match graph {
                Some(graph) => graphs.insert(slot, Slot::Ready(graph)),
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

    fn at(second: u32) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(i64::from(second), 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn points_added_in_bulk_and_one_by_one_are_found() {
        let graph = Graph::default();
        let bulk: Vec<StoredVector> = (0..3_000)
            .map(|i| (format!("m{i}"), at(1), vector(i)))
            .collect();
        graph.add(bulk);
        assert_eq!(graph.candidates(&vector(1_234), 10)[0], "m1234");
        let single = vec![1.0; 32];
        graph.add(vec![("late".to_owned(), at(2), single.clone())]);
        // Seen again through a sync's lookback: not added twice.
        graph.add(vec![("late".to_owned(), at(2), single.clone())]);
        assert_eq!(graph.len(), 3_001);
        assert!(graph.has("late", at(2)));
        assert_eq!(graph.candidates(&single, 10)[0], "late");
    }

    #[test]
    fn a_replaced_vector_is_found_by_its_new_value_once() {
        let graph = Graph::default();
        graph.add(
            (0..2_500)
                .map(|i| (format!("m{i}"), at(1), vector(i)))
                .collect(),
        );
        let moved = vector(9_999);
        graph.add(vec![("m7".to_owned(), at(5), moved.clone())]);
        assert!(graph.has("m7", at(5)) && !graph.has("m7", at(1)));
        assert_eq!(graph.len(), 2_500);
        let found = graph.candidates(&moved, 10);
        assert_eq!(found[0], "m7");
        assert_eq!(found.iter().filter(|id| *id == "m7").count(), 1);
    }

    #[test]
    fn searches_too_small_or_too_greedy_for_the_graph_are_left_to_the_scan() {
        let graph = Graph::default();
        graph.add(
            (0..ANN_MIN_VECTORS - 1)
                .map(|i| (format!("m{i}"), at(1), vector(i)))
                .collect(),
        );
        assert!(!graph.serves(10), "below the threshold");
        graph.add(
            (0..1_000)
                .map(|i| (format!("n{i}"), at(1), vector(i + 5_000)))
                .collect(),
        );
        assert!(graph.serves(10));
        assert!(!graph.serves(1_000), "asks for most of the graph");
        assert!(!graph.serves(usize::MAX));
        // Even a greedy ask is bounded by the graph's size.
        assert!(graph.candidates(&vector(3), usize::MAX).len() <= graph.len());
    }
}
