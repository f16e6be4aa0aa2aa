//! The store's vector search: through the agent's HNSW graph when this node keeps one (see
//! `eliza_vector_index`), exactly otherwise.

use crate::DieselStore;
use crate::codec::id_text;
use crate::conn::DbConn;
use crate::error::DbResult;
use crate::queries::memories::{self, VectorCursor};
use eliza_domain::memory::{MemorySearch, ScoredMemory};
use eliza_domain::{AgentId, StoreError};
use eliza_vector_index::{Graph, GraphKey, Slot, StoredVector};
use std::sync::Arc;
use std::time::Instant;

/// Vectors read from the store per round trip while a graph is built.
const SYNC_BATCH: i64 = 10_000;
/// Missing vectors fetched per round trip while a graph is synced.
const SYNC_CHUNK: usize = 500;

impl DieselStore {
    pub(crate) async fn search_vectors(
        &self,
        search: MemorySearch,
    ) -> Result<Vec<ScoredMemory>, StoreError> {
        let key = graph_key(&search);
        match self.inner.vectors.slot(&key) {
            Some(Slot::Ready(graph)) => {
                self.run(move |c| approximate(c, &graph, &key, &search))
                    .await
            }
            slot => {
                if slot.is_none() && self.inner.vectors.is_open(&key.agent) {
                    self.spawn_build(key);
                }
                self.run(move |c| memories::search(c, &search)).await
            }
        }
    }

    /// Keeps graphs for the agent from now on and builds one per table and dimension it has.
    pub(crate) async fn open_vector_index(&self, agent: AgentId) -> Result<(), StoreError> {
        let agent = id_text(agent);
        self.inner.vectors.open(&agent);
        let kinds = {
            let agent = agent.clone();
            self.run(move |c| memories::vector_kinds(c, &agent)).await?
        };
        for (table, dim) in kinds {
            self.spawn_build(GraphKey {
                agent: agent.clone(),
                table,
                dim,
            });
        }
        Ok(())
    }

    /// How many vector graphs are ready on this node and the points in them.
    pub fn vector_index_stats(&self) -> (usize, usize) {
        self.inner.vectors.stats()
    }

    pub(crate) fn close_vector_index(&self, agent: AgentId) {
        self.inner.vectors.close(&id_text(agent));
    }

    /// Builds the graph in the background, one batch of vectors at a time (a pooled connection is
    /// held per batch only); searches stay exact until it is installed.
    fn spawn_build(&self, key: GraphKey) {
        if !self.inner.vectors.claim(&key) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let built = store.build(&key).await;
            match built {
                Ok(graph) => {
                    tracing::info!(
                        agent = key.agent,
                        table = key.table,
                        dim = key.dim,
                        vectors = graph.len(),
                        ms = started.elapsed().as_millis(),
                        "vector index ready"
                    );
                    store.inner.vectors.finish(&key, Some(graph));
                }
                Err(err) => {
                    tracing::warn!(agent = key.agent, table = key.table, %err, "vector index not built; searches stay exact");
                    store.inner.vectors.finish(&key, None);
                }
            }
        });
    }

    async fn build(&self, key: &GraphKey) -> Result<Arc<Graph>, StoreError> {
        let began = chrono::Utc::now().naive_utc();
        let graph = Arc::new(Graph::default());
        let mut cursor: VectorCursor = None;
        loop {
            let (batch_key, from) = (key.clone(), cursor.clone());
            let rows = self
                .run(move |c| memories::vectors_after(c, &batch_key, &from, SYNC_BATCH))
                .await?;
            let full = rows.len() as i64 == SYNC_BATCH;
            cursor = next_cursor(&rows, cursor);
            let target = Arc::clone(&graph);
            tokio::task::spawn_blocking(move || target.add(rows))
                .await
                .map_err(|err| StoreError::Backend(format!("vector index build failed: {err}")))?;
            if !full {
                break;
            }
        }
        graph.synced_at(began);
        Ok(graph)
    }
}

fn graph_key(search: &MemorySearch) -> GraphKey {
    GraphKey {
        agent: id_text(search.agent_id),
        table: search.table.clone(),
        dim: i32::try_from(search.embedding.len()).unwrap_or(i32::MAX),
    }
}

/// Where reading goes on after `rows` (the last one read), or stays.
fn next_cursor(rows: &[StoredVector], cursor: VectorCursor) -> VectorCursor {
    rows.last().map(|(id, at, _)| (*at, id.clone())).or(cursor)
}

/// Takes in what was stored since the graph last looked, then searches it; exact when the graph
/// is small, the search asks for most of it, or too few of its candidates pass the filters.
fn approximate(
    conn: &mut DbConn,
    graph: &Graph,
    key: &GraphKey,
    search: &MemorySearch,
) -> DbResult<Vec<ScoredMemory>> {
    sync(conn, graph, key)?;
    let limit = usize::try_from(search.limit).unwrap_or(usize::MAX);
    if !graph.serves(limit) {
        return memories::search(conn, search);
    }
    let candidates = graph.candidates(&search.embedding, limit);
    let scored = memories::score(conn, search, Some(&candidates))?;
    if scored.len() < limit {
        return memories::search(conn, search);
    }
    memories::best(search, scored)
}

/// Takes in the vectors written since the previous sync began (less a lookback): their ids
/// first, then the vectors of the versions it does not have yet.
fn sync(conn: &mut DbConn, graph: &Graph, key: &GraphKey) -> DbResult<()> {
    let _one_sync_at_a_time = graph.sync_lock();
    let began = chrono::Utc::now().naive_utc();
    // A graph built before its table had vectors reads everything.
    let since = graph
        .sync_from()
        .unwrap_or(chrono::DateTime::UNIX_EPOCH.naive_utc());
    let missing: Vec<String> = memories::vector_ids_since(conn, key, since)?
        .into_iter()
        .filter(|(id, written)| !graph.has(id, *written))
        .map(|(id, _)| id)
        .collect();
    for chunk in missing.chunks(SYNC_CHUNK) {
        graph.add(memories::vectors_of(conn, chunk)?);
    }
    graph.synced_at(began);
    Ok(())
}
