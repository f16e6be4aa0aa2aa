//! `memories` and their `embeddings` (one little-endian f32 vector per memory); search is an exact cosine
//! scan in Rust, as 1.7.2's pgvector query is (it has no ANN index either).

use crate::codec::{
    db_time, decode_vector, encode_vector, from_json, id_text, opt_filter_time, opt_id_text,
    parse_id, parse_opt_id, row_count, sql_count, to_json, utc, vector_dim,
};
use crate::conn::{DbConn, write_transaction};
use crate::error::DbResult;
use crate::queries::{insert_ignore, upsert};
use crate::schema::{embeddings, memories, rooms};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use eliza_domain::memory::{Memory, MemoryQuery, MemorySearch, ScoredMemory, cosine_similarity};
use eliza_domain::{AgentId, EntityId, MemoryId, RoomId, StoreError, WorldId};
use eliza_vector_index::{GraphKey, StoredVector};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = memories)]
pub(crate) struct MemoryRow {
    id: String,
    memory_type: String,
    created_at: NaiveDateTime,
    content: String,
    entity_id: Option<String>,
    agent_id: String,
    room_id: Option<String>,
    world_id: Option<String>,
    is_unique: bool,
    metadata: String,
}

#[derive(Insertable)]
#[diesel(table_name = embeddings)]
struct EmbeddingRow {
    memory_id: String,
    created_at: NaiveDateTime,
    dim: i32,
    vector: Vec<u8>,
}

impl EmbeddingRow {
    fn new(memory: MemoryId, vector: &[f32], now: DateTime<Utc>) -> Result<Self, StoreError> {
        Ok(EmbeddingRow {
            memory_id: id_text(memory),
            created_at: db_time(now),
            dim: vector_dim(vector)?,
            vector: encode_vector(vector),
        })
    }
}

impl TryFrom<&Memory> for MemoryRow {
    type Error = StoreError;

    fn try_from(memory: &Memory) -> Result<Self, StoreError> {
        Ok(MemoryRow {
            id: id_text(memory.id),
            memory_type: memory.table.clone(),
            created_at: db_time(memory.created_at),
            content: to_json(&memory.content)?,
            entity_id: opt_id_text(memory.entity_id),
            agent_id: id_text(memory.agent_id),
            room_id: opt_id_text(memory.room_id),
            world_id: opt_id_text(memory.world_id),
            is_unique: memory.unique,
            metadata: to_json(&memory.metadata)?,
        })
    }
}

/// A memory row with its embedding's `(dim, vector)` when one was loaded.
type Loaded = (MemoryRow, Option<(i32, Vec<u8>)>);

fn to_memory((row, embedding): Loaded) -> Result<Memory, StoreError> {
    let embedding = embedding
        .map(|(dim, bytes)| decode_vector(dim, &bytes))
        .transpose()?;
    memory_of(row, embedding)
}

fn memory_of(row: MemoryRow, embedding: Option<Vec<f32>>) -> Result<Memory, StoreError> {
    Ok(Memory {
        id: parse_id("memories.id", &row.id)?,
        table: row.memory_type,
        created_at: utc(row.created_at),
        content: from_json("memories.content", &row.content)?,
        entity_id: parse_opt_id("memories.entity_id", row.entity_id.as_deref())?,
        agent_id: parse_id("memories.agent_id", &row.agent_id)?,
        room_id: parse_opt_id("memories.room_id", row.room_id.as_deref())?,
        world_id: parse_opt_id("memories.world_id", row.world_id.as_deref())?,
        unique: row.is_unique,
        metadata: from_json("memories.metadata", &row.metadata)?,
        embedding,
    })
}

/// The filters listing and search share.
struct Scope<'a> {
    table: &'a str,
    agent: Option<AgentId>,
    room: Option<RoomId>,
    world: Option<WorldId>,
    entity: Option<EntityId>,
}

impl Scope<'_> {
    /// The scope's filters on a loaded row (what [`scoped!`] asks of the database).
    fn admits(&self, row: &MemoryRow) -> bool {
        let matches = |wanted: Option<String>, actual: &Option<String>| {
            wanted.is_none_or(|wanted| actual.as_ref() == Some(&wanted))
        };
        row.memory_type == self.table
            && self
                .agent
                .is_none_or(|agent| row.agent_id == id_text(agent))
            && matches(self.room.map(id_text), &row.room_id)
            && matches(self.world.map(id_text), &row.world_id)
            && matches(self.entity.map(id_text), &row.entity_id)
    }
}

/// Applies a [`Scope`] to a boxed query over `memories` (alone or joined with `embeddings`).
macro_rules! scoped {
    ($query:expr, $scope:expr) => {{
        let scope: &Scope<'_> = $scope;
        let mut query = $query.filter(memories::memory_type.eq(scope.table.to_owned()));
        if let Some(agent) = scope.agent {
            query = query.filter(memories::agent_id.eq(id_text(agent)));
        }
        if let Some(room) = scope.room {
            query = query.filter(memories::room_id.eq(id_text(room)));
        }
        if let Some(world) = scope.world {
            query = query.filter(memories::world_id.eq(id_text(world)));
        }
        if let Some(entity) = scope.entity {
            query = query.filter(memories::entity_id.eq(id_text(entity)));
        }
        query
    }};
}

/// The memory row and, when the memory carries a vector, its embedding row.
fn rows_of(memory: &Memory, now: DateTime<Utc>) -> DbResult<(MemoryRow, Option<EmbeddingRow>)> {
    let row = MemoryRow::try_from(memory)?;
    let embedding = memory
        .embedding
        .as_deref()
        .map(|vector| EmbeddingRow::new(memory.id, vector, now))
        .transpose()?;
    Ok((row, embedding))
}

/// Inserts the memory unless its id exists; the embedding row only comes with a new memory.
pub(crate) fn create(conn: &mut DbConn, memory: &Memory, now: DateTime<Utc>) -> DbResult<bool> {
    let (row, embedding) = rows_of(memory, now)?;
    write_transaction(conn, |conn| {
        let inserted = insert_ignore!(conn, memories::table, &row)?;
        if let (true, Some(embedding)) = (inserted, &embedding) {
            diesel::insert_into(embeddings::table)
                .values(embedding)
                .execute(conn)?;
        }
        Ok(inserted)
    })
}

pub(crate) fn get(conn: &mut DbConn, id: MemoryId) -> DbResult<Option<Memory>> {
    let loaded: Option<Loaded> = memories::table
        .left_join(embeddings::table)
        .filter(memories::id.eq(id_text(id)))
        .select((
            MemoryRow::as_select(),
            (embeddings::dim, embeddings::vector).nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(loaded.map(to_memory).transpose()?)
}

/// Newest first (`created_at DESC, id DESC`), with the embedding only when asked for.
pub(crate) fn list(conn: &mut DbConn, query: &MemoryQuery) -> DbResult<Vec<Memory>> {
    let scope = Scope {
        table: &query.table,
        agent: query.agent_id,
        room: query.room_id,
        world: query.world_id,
        entity: query.entity_id,
    };
    let mut select = scoped!(
        memories::table.left_join(embeddings::table).into_boxed(),
        &scope
    )
    .order((memories::created_at.desc(), memories::id.desc()));
    if let Some(before) = opt_filter_time(query.before) {
        select = select.filter(memories::created_at.lt(before));
    }
    if let Some(limit) = query.limit {
        select = select.limit(sql_count(limit));
    }
    if let Some(offset) = query.offset {
        select = select.offset(sql_count(offset));
    }
    let loaded: Vec<Loaded> = if query.include_embedding {
        select
            .select((
                MemoryRow::as_select(),
                (embeddings::dim, embeddings::vector).nullable(),
            ))
            .load(conn)?
    } else {
        let rows: Vec<MemoryRow> = select.select(MemoryRow::as_select()).load(conn)?;
        rows.into_iter().map(|row| (row, None)).collect()
    };
    Ok(loaded
        .into_iter()
        .map(to_memory)
        .collect::<Result<_, _>>()?)
}

/// Replaces content, metadata, entity, room and world, and upserts the embedding when the memory
/// carries one.
pub(crate) fn update(conn: &mut DbConn, memory: &Memory, now: DateTime<Utc>) -> DbResult<bool> {
    let (row, embedding) = rows_of(memory, now)?;
    write_transaction(conn, |conn| {
        let updated = diesel::update(memories::table.find(&row.id))
            .set((
                memories::content.eq(&row.content),
                memories::metadata.eq(&row.metadata),
                memories::entity_id.eq(&row.entity_id),
                memories::room_id.eq(&row.room_id),
                memories::world_id.eq(&row.world_id),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Ok(false);
        }
        if let Some(embedding) = &embedding {
            upsert_embedding(conn, embedding)?;
        }
        Ok(true)
    })
}

/// Inserts or replaces a memory's embedding. A replaced vector takes the new write time, so the
/// vector indexes that follow write times take it in again.
fn upsert_embedding(conn: &mut DbConn, embedding: &EmbeddingRow) -> DbResult<()> {
    let changes = (
        embeddings::dim.eq(excluded(embeddings::dim)),
        embeddings::vector.eq(excluded(embeddings::vector)),
        embeddings::created_at.eq(excluded(embeddings::created_at)),
    );
    upsert!(
        conn,
        embeddings::table,
        embedding,
        embeddings::memory_id,
        changes
    )?;
    Ok(())
}

pub(crate) fn set_embedding(
    conn: &mut DbConn,
    id: MemoryId,
    vector: &[f32],
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let embedding = EmbeddingRow::new(id, vector, now)?;
    write_transaction(conn, |conn| {
        let exists = memories::table
            .find(id_text(id))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if exists {
            upsert_embedding(conn, &embedding)?;
        }
        Ok(exists)
    })
}

pub(crate) fn delete(conn: &mut DbConn, id: MemoryId) -> DbResult<bool> {
    Ok(diesel::delete(memories::table.find(id_text(id))).execute(conn)? > 0)
}

/// Deletes the agent's memories of `tables` (every table when empty), optionally only in one room.
pub(crate) fn delete_many(
    conn: &mut DbConn,
    agent: AgentId,
    room: Option<RoomId>,
    tables: &[String],
) -> DbResult<u64> {
    let mut delete = diesel::delete(memories::table)
        .filter(memories::agent_id.eq(id_text(agent)))
        .into_boxed();
    if let Some(room) = room {
        delete = delete.filter(memories::room_id.eq(id_text(room)));
    }
    if !tables.is_empty() {
        delete = delete.filter(memories::memory_type.eq_any(tables.to_vec()));
    }
    Ok(row_count(delete.execute(conn)?))
}

/// Deletes the memories of `tables` (every table when empty) that belong to the world: stamped
/// with it, or kept in one of its rooms.
pub(crate) fn delete_in_world(
    conn: &mut DbConn,
    world: WorldId,
    tables: &[String],
) -> DbResult<u64> {
    let world = id_text(world);
    write_transaction(conn, |conn| {
        let world_rooms: Vec<String> = rooms::table
            .filter(rooms::world_id.eq(&world))
            .select(rooms::id)
            .load(conn)?;
        let mut delete = diesel::delete(memories::table)
            .filter(
                memories::world_id
                    .eq(&world)
                    .or(memories::room_id.eq_any(world_rooms)),
            )
            .into_boxed();
        if !tables.is_empty() {
            delete = delete.filter(memories::memory_type.eq_any(tables.to_vec()));
        }
        Ok(row_count(delete.execute(conn)?))
    })
}

/// Exact cosine similarity over the agent's memories of the table that have an embedding of the same
/// dimension; hits at or above the threshold, best first.
pub(crate) fn search(conn: &mut DbConn, search: &MemorySearch) -> DbResult<Vec<ScoredMemory>> {
    let scored = score(conn, search, None)?;
    best(search, scored)
}

/// A memory row with its vector and exact similarity to the query.
pub(crate) type Scored = (f32, MemoryRow, Vec<f32>);

/// Scores every memory in the search's scope (only those among `ids` when given) against its
/// embedding, without the threshold or the limit.
pub(crate) fn score(
    conn: &mut DbConn,
    search: &MemorySearch,
    ids: Option<&[String]>,
) -> DbResult<Vec<Scored>> {
    let scope = Scope {
        table: &search.table,
        agent: Some(search.agent_id),
        room: search.room_id,
        world: search.world_id,
        entity: search.entity_id,
    };
    let dim = vector_dim(&search.embedding)?;
    let rows: Vec<(MemoryRow, (i32, Vec<u8>))> = match ids {
        // Candidates are few: read them by key and check the scope here, so the planner never
        // prefers the agent's whole table (through its index) to the primary key.
        Some(ids) => memories::table
            .inner_join(embeddings::table)
            .filter(memories::id.eq_any(ids.to_vec()))
            .filter(embeddings::dim.eq(dim))
            .select((
                MemoryRow::as_select(),
                (embeddings::dim, embeddings::vector),
            ))
            .load::<(MemoryRow, (i32, Vec<u8>))>(conn)?
            .into_iter()
            .filter(|(row, _)| scope.admits(row))
            .collect(),
        None => scoped!(
            memories::table.inner_join(embeddings::table).into_boxed(),
            &scope
        )
        .filter(embeddings::dim.eq(dim))
        .select((
            MemoryRow::as_select(),
            (embeddings::dim, embeddings::vector),
        ))
        .load(conn)?,
    };
    rows.into_iter()
        .map(|(row, (dim, bytes))| {
            let vector = decode_vector(dim, &bytes)?;
            Ok((cosine_similarity(&search.embedding, &vector), row, vector))
        })
        .collect()
}

/// The best scored memories above the search's threshold, most similar first, up to its limit.
/// Only the hits' JSON is decoded.
pub(crate) fn best(search: &MemorySearch, scored: Vec<Scored>) -> DbResult<Vec<ScoredMemory>> {
    let mut hits: Vec<Scored> = scored
        .into_iter()
        .filter(|(similarity, ..)| {
            search
                .threshold
                .is_none_or(|threshold| *similarity >= threshold)
        })
        .collect();
    hits.sort_by(|a, b| b.0.total_cmp(&a.0));
    hits.truncate(usize::try_from(search.limit).unwrap_or(usize::MAX));
    hits.into_iter()
        .map(|(similarity, row, vector)| {
            let memory = memory_of(row, Some(vector))?;
            Ok(ScoredMemory { memory, similarity })
        })
        .collect()
}

/// A position in the order vectors were written: (embedding write time, memory id).
pub(crate) type VectorCursor = Option<(NaiveDateTime, String)>;

/// The columns of a [`StoredVector`], as loaded.
type VectorColumns = (String, NaiveDateTime, i32, Vec<u8>);

fn stored_vectors(rows: Vec<VectorColumns>) -> DbResult<Vec<StoredVector>> {
    rows.into_iter()
        .map(|(id, at, dim, bytes)| Ok((id, at, decode_vector(dim, &bytes)?)))
        .collect()
}

/// The vectors of one agent's table and dimension written after `cursor`, in write order
/// (the embedding row's own time, set by the store, so a backdated memory is not missed).
pub(crate) fn vectors_after(
    conn: &mut DbConn,
    key: &GraphKey,
    cursor: &VectorCursor,
    limit: i64,
) -> DbResult<Vec<StoredVector>> {
    let mut query = memories::table
        .inner_join(embeddings::table)
        .filter(memories::agent_id.eq(key.agent.clone()))
        .filter(memories::memory_type.eq(key.table.clone()))
        .filter(embeddings::dim.eq(key.dim))
        .into_boxed();
    if let Some((at, id)) = cursor {
        let later = embeddings::created_at.gt(*at);
        let same_time_later_id = BoolExpressionMethods::and(
            embeddings::created_at.eq(*at),
            embeddings::memory_id.gt(id.clone()),
        );
        query = query.filter(BoolExpressionMethods::or(later, same_time_later_id));
    }
    let rows = query
        .order((embeddings::created_at, embeddings::memory_id))
        .limit(limit)
        .select((
            embeddings::memory_id,
            embeddings::created_at,
            embeddings::dim,
            embeddings::vector,
        ))
        .load(conn)?;
    stored_vectors(rows)
}

/// The memory ids, with their vectors' write times, of one agent's table and dimension whose
/// vectors were written since `since`: what a graph sync checks against the versions it has.
/// Two steps, so the embeddings' time index does the narrowing: the window holds few rows, the
/// agent's table may hold millions.
pub(crate) fn vector_ids_since(
    conn: &mut DbConn,
    key: &GraphKey,
    since: NaiveDateTime,
) -> DbResult<Vec<(String, NaiveDateTime)>> {
    let recent: Vec<(String, NaiveDateTime)> = embeddings::table
        .filter(embeddings::created_at.ge(since))
        .filter(embeddings::dim.eq(key.dim))
        .select((embeddings::memory_id, embeddings::created_at))
        .load(conn)?;
    let mut ids = Vec::new();
    for chunk in recent.chunks(ID_CHUNK) {
        let chunk_ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let theirs: std::collections::HashSet<String> = memories::table
            .filter(memories::id.eq_any(chunk_ids))
            .filter(memories::agent_id.eq(key.agent.clone()))
            .filter(memories::memory_type.eq(key.table.clone()))
            .select(memories::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        ids.extend(chunk.iter().filter(|(id, _)| theirs.contains(id)).cloned());
    }
    Ok(ids)
}

/// Ids per `IN` list (SQLite allows 32,766 bound values; smaller lists plan better anyway).
const ID_CHUNK: usize = 500;

/// The vectors of these memories.
pub(crate) fn vectors_of(conn: &mut DbConn, ids: &[String]) -> DbResult<Vec<StoredVector>> {
    let rows = embeddings::table
        .filter(embeddings::memory_id.eq_any(ids))
        .select((
            embeddings::memory_id,
            embeddings::created_at,
            embeddings::dim,
            embeddings::vector,
        ))
        .load(conn)?;
    stored_vectors(rows)
}

/// The (table, dimension) pairs of an agent's stored vectors: the graphs it needs.
pub(crate) fn vector_kinds(conn: &mut DbConn, agent: &str) -> DbResult<Vec<(String, i32)>> {
    Ok(memories::table
        .inner_join(embeddings::table)
        .filter(memories::agent_id.eq(agent.to_owned()))
        .select((memories::memory_type, embeddings::dim))
        .distinct()
        .load(conn)?)
}
