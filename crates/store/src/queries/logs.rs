//! `logs`, `tasks` and `cache`.

use crate::codec::{
    db_time, filter_time, from_json, id_text, opt_db_time, opt_id_text, parse_id, parse_opt_id,
    sql_count, to_json, utc,
};
use crate::conn::DbConn;
use crate::error::DbResult;
use crate::queries::{convert_all, convert_opt, upsert};
use crate::schema::{cache, logs, tasks};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use eliza_domain::log::{AgentLog, LogQuery};
use eliza_domain::task::{CacheEntry, Task};
use eliza_domain::{AgentId, LogId, StoreError, TaskId};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = logs)]
pub(crate) struct LogRow {
    id: String,
    agent_id: String,
    created_at: NaiveDateTime,
    entity_id: String,
    room_id: String,
    log_type: String,
    body: String,
}

impl TryFrom<&AgentLog> for LogRow {
    type Error = StoreError;

    fn try_from(log: &AgentLog) -> Result<Self, StoreError> {
        Ok(LogRow {
            id: id_text(log.id),
            agent_id: id_text(log.agent_id),
            created_at: db_time(log.created_at),
            entity_id: id_text(log.entity_id),
            room_id: id_text(log.room_id),
            log_type: log.log_type.clone(),
            body: to_json(&log.body)?,
        })
    }
}

impl TryFrom<LogRow> for AgentLog {
    type Error = StoreError;

    fn try_from(row: LogRow) -> Result<Self, StoreError> {
        Ok(AgentLog {
            id: parse_id("logs.id", &row.id)?,
            agent_id: parse_id("logs.agent_id", &row.agent_id)?,
            created_at: utc(row.created_at),
            entity_id: parse_id("logs.entity_id", &row.entity_id)?,
            room_id: parse_id("logs.room_id", &row.room_id)?,
            log_type: row.log_type,
            body: from_json("logs.body", &row.body)?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tasks)]
pub(crate) struct TaskRow {
    id: String,
    name: String,
    description: Option<String>,
    room_id: Option<String>,
    world_id: Option<String>,
    entity_id: Option<String>,
    agent_id: String,
    tags: String,
    metadata: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<&Task> for TaskRow {
    type Error = StoreError;

    fn try_from(task: &Task) -> Result<Self, StoreError> {
        Ok(TaskRow {
            id: id_text(task.id),
            name: task.name.clone(),
            description: task.description.clone(),
            room_id: opt_id_text(task.room_id),
            world_id: opt_id_text(task.world_id),
            entity_id: opt_id_text(task.entity_id),
            agent_id: id_text(task.agent_id),
            tags: to_json(&task.tags)?,
            metadata: to_json(&task.metadata)?,
            created_at: db_time(task.created_at),
            updated_at: db_time(task.updated_at),
        })
    }
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> Result<Self, StoreError> {
        Ok(Task {
            id: parse_id("tasks.id", &row.id)?,
            name: row.name,
            description: row.description,
            room_id: parse_opt_id("tasks.room_id", row.room_id.as_deref())?,
            world_id: parse_opt_id("tasks.world_id", row.world_id.as_deref())?,
            entity_id: parse_opt_id("tasks.entity_id", row.entity_id.as_deref())?,
            agent_id: parse_id("tasks.agent_id", &row.agent_id)?,
            tags: from_json("tasks.tags", &row.tags)?,
            metadata: from_json("tasks.metadata", &row.metadata)?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cache)]
pub(crate) struct CacheRow {
    key: String,
    agent_id: String,
    value: String,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

impl TryFrom<&CacheEntry> for CacheRow {
    type Error = StoreError;

    fn try_from(entry: &CacheEntry) -> Result<Self, StoreError> {
        Ok(CacheRow {
            key: entry.key.clone(),
            agent_id: id_text(entry.agent_id),
            value: to_json(&entry.value)?,
            created_at: db_time(entry.created_at),
            expires_at: opt_db_time(entry.expires_at),
        })
    }
}

impl TryFrom<CacheRow> for CacheEntry {
    type Error = StoreError;

    fn try_from(row: CacheRow) -> Result<Self, StoreError> {
        Ok(CacheEntry {
            key: row.key,
            agent_id: parse_id("cache.agent_id", &row.agent_id)?,
            value: from_json("cache.value", &row.value)?,
            created_at: utc(row.created_at),
            expires_at: row.expires_at.map(utc),
        })
    }
}

/// Inserts the log; an existing id is a `Conflict`, an unknown agent too.
pub(crate) fn create_log(conn: &mut DbConn, log: &AgentLog) -> DbResult<()> {
    let row = LogRow::try_from(log)?;
    diesel::insert_into(logs::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// Newest first, filtered by agent, room and type when given.
pub(crate) fn list_logs(conn: &mut DbConn, query: &LogQuery) -> DbResult<Vec<AgentLog>> {
    let mut select = logs::table.select(LogRow::as_select()).into_boxed();
    if let Some(agent) = query.agent_id {
        select = select.filter(logs::agent_id.eq(id_text(agent)));
    }
    if let Some(room) = query.room_id {
        select = select.filter(logs::room_id.eq(id_text(room)));
    }
    if let Some(log_type) = &query.log_type {
        select = select.filter(logs::log_type.eq(log_type.clone()));
    }
    let rows = select
        .order((logs::created_at.desc(), logs::id.desc()))
        .limit(sql_count(query.limit))
        .offset(sql_count(query.offset))
        .load(conn)?;
    convert_all(rows)
}

pub(crate) fn delete_log(conn: &mut DbConn, agent: AgentId, id: LogId) -> DbResult<bool> {
    let deleted = diesel::delete(
        logs::table
            .filter(logs::id.eq(id_text(id)))
            .filter(logs::agent_id.eq(id_text(agent))),
    )
    .execute(conn)?;
    Ok(deleted > 0)
}

/// Inserts the task; an existing id is a `Conflict`.
pub(crate) fn create_task(conn: &mut DbConn, task: &Task) -> DbResult<()> {
    let row = TaskRow::try_from(task)?;
    diesel::insert_into(tasks::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

pub(crate) fn agent_tasks(conn: &mut DbConn, agent: AgentId) -> DbResult<Vec<Task>> {
    let rows = tasks::table
        .filter(tasks::agent_id.eq(id_text(agent)))
        .order((tasks::created_at, tasks::id))
        .select(TaskRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

pub(crate) fn delete_task(conn: &mut DbConn, id: TaskId) -> DbResult<bool> {
    Ok(diesel::delete(tasks::table.find(id_text(id))).execute(conn)? > 0)
}

/// Inserts or replaces the entry for `(key, agent)`.
pub(crate) fn set_cache(conn: &mut DbConn, entry: &CacheEntry) -> DbResult<()> {
    let row = CacheRow::try_from(entry)?;
    let changes = (
        cache::value.eq(excluded(cache::value)),
        cache::created_at.eq(excluded(cache::created_at)),
        cache::expires_at.eq(excluded(cache::expires_at)),
    );
    upsert!(
        conn,
        cache::table,
        &row,
        (cache::key, cache::agent_id),
        changes
    )?;
    Ok(())
}

/// The entry unless it has expired by `now`.
pub(crate) fn get_cache(
    conn: &mut DbConn,
    agent: AgentId,
    key: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<CacheEntry>> {
    let row = cache::table
        .find((key, id_text(agent)))
        .filter(
            cache::expires_at
                .is_null()
                .or(cache::expires_at.gt(filter_time(now))),
        )
        .select(CacheRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn delete_cache(conn: &mut DbConn, agent: AgentId, key: &str) -> DbResult<bool> {
    Ok(diesel::delete(cache::table.find((key, id_text(agent)))).execute(conn)? > 0)
}
