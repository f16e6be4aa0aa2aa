//! `logs`, `tasks` and `cache`.

use crate::codec::{
    db_time, filter_time, from_json, id_text, opt_db_time, opt_id_text, parse_id, parse_opt_id,
    sql_count, to_json, utc,
};
use crate::conn::{DbConn, MultiBackend};
use crate::error::DbResult;
use crate::queries::{convert_all, convert_opt, upsert};
use crate::schema::{cache, logs, tasks};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use diesel::upsert::excluded;
use eliza_domain::log::{
    AgentLog, LogQuery, RUN_LOGS_MAX, RunCounts, RunPage, RunQuery, RunStatus, RunSummary,
};
use eliza_domain::task::{CacheEntry, Task};
use eliza_domain::{AgentId, LogId, RoomId, StoreError, TaskId};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Queryable, QueryableByName, Selectable, Insertable)]
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

/// Newest first, filtered by agent, room and type when given; `exclude_types` drops rows in SQL (type equal
/// to, or `body.modelType` containing, the value; both through `lower()`), so a page is never short.
pub(crate) fn list_logs(conn: &mut DbConn, query: &LogQuery) -> DbResult<Vec<AgentLog>> {
    let dialect = Dialect::of(conn);
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
    let model_type = dialect.json_text("body", "modelType");
    let contains = format!(
        ") OR COALESCE({}(lower({model_type}), lower(",
        dialect.position_function()
    );
    for excluded in query.exclude_types.iter().filter(|text| !text.is_empty()) {
        select = select.filter(
            sql::<Bool>("NOT (lower(type) = lower(")
                .bind::<Text, _>(excluded.clone())
                .sql(&contains)
                .bind::<Text, _>(excluded.clone())
                .sql(")), 0) > 0)"),
        );
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

/// Rows of a run are expected no earlier than this before the run's first `run_event` row (the
/// `useModel` and `embedding_event` rows are written without waiting, so their clocks may differ a
/// little). The run queries read only rows from then on, instead of parsing every body of the agent.
const RUN_ROWS_SLACK: TimeDelta = TimeDelta::seconds(60);

/// The backend's spelling of the JSON functions (bodies are JSON text on both backends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// A build with one backend never constructs the other's variant.
#[cfg_attr(not(all(feature = "sqlite", feature = "postgres")), allow(dead_code))]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn of(conn: &DbConn) -> Dialect {
        match conn {
            #[cfg(feature = "sqlite")]
            DbConn::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            DbConn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// `<column>.<key>` as text, NULL when absent. `key` is a trusted identifier.
    fn json_text(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
            Dialect::Postgres => format!("({column}::json ->> '{key}')"),
        }
    }

    /// Whether `<column>.<key>` is a JSON string.
    fn json_is_string(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_type({column}, '$.{key}') = 'text'"),
            Dialect::Postgres => format!("json_typeof({column}::json -> '{key}') = 'string'"),
        }
    }

    /// `<column>.<key>` as JSON text when it is an object, else NULL.
    fn json_object(self, column: &str, key: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "CASE WHEN json_type({column}, '$.{key}') = 'object' THEN json_extract({column}, '$.{key}') END"
            ),
            Dialect::Postgres => format!(
                "CASE WHEN json_typeof({column}::json -> '{key}') = 'object' THEN ({column}::json -> '{key}')::text END"
            ),
        }
    }

    /// `body.result.success` is the JSON `false` (an `action` row that failed).
    fn action_failed(self) -> &'static str {
        match self {
            Dialect::Sqlite => "json_type(body, '$.result.success') = 'false'",
            Dialect::Postgres => {
                "(json_typeof(body::json -> 'result' -> 'success') = 'boolean' \
                 AND (body::json -> 'result' ->> 'success') = 'false')"
            }
        }
    }

    /// `instr`/`strpos`: the 1-based position of a substring, 0 when absent.
    fn position_function(self) -> &'static str {
        match self {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        }
    }
}

/// Raw SQL for what the query builder cannot say (grouping on JSON fields, window counts), with the
/// backend's placeholders: `?` on SQLite, `$n` on PostgreSQL.
struct RawSql {
    dialect: Dialect,
    query: BoxedSqlQuery<'static, MultiBackend, SqlQuery>,
    binds: usize,
}

impl RawSql {
    fn new(dialect: Dialect) -> RawSql {
        RawSql {
            dialect,
            query: diesel::sql_query("").into_boxed(),
            binds: 0,
        }
    }

    fn sql(mut self, text: &str) -> RawSql {
        self.query = self.query.sql(text);
        self
    }

    fn placeholder(&mut self) -> String {
        self.binds += 1;
        match self.dialect {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${}", self.binds),
        }
    }

    fn text(mut self, value: String) -> RawSql {
        let placeholder = self.placeholder();
        self.query = self.query.sql(placeholder).bind::<Text, _>(value);
        self
    }

    /// `(?, ?, …)` with one bind per value; `values` must not be empty.
    fn texts(mut self, values: &[String]) -> RawSql {
        self = self.sql("(");
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                self = self.sql(", ");
            }
            self = self.text(value.clone());
        }
        self.sql(")")
    }

    fn time(mut self, value: NaiveDateTime) -> RawSql {
        let placeholder = self.placeholder();
        self.query = self.query.sql(placeholder).bind::<Timestamp, _>(value);
        self
    }

    fn int(mut self, value: i64) -> RawSql {
        let placeholder = self.placeholder();
        self.query = self.query.sql(placeholder).bind::<BigInt, _>(value);
        self
    }
}

/// One run of [`list_runs`], with the number of runs matching in all.
#[derive(QueryableByName)]
struct RunRow {
    #[diesel(sql_type = Text)]
    run_id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    started_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    ended_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    message_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    room_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    entity_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    metadata: Option<String>,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Per run: the `run_event` rows grouped by `body.runId` (string run ids only); `started_at` is the earliest
/// `started` row, `ended_at` the latest `completed`/`timeout`/`error` row and the status that row's.
const RUNS_AGGREGATE: &str = "), runs AS (
    SELECT run_id,
        MIN(CASE WHEN status = 'started' THEN created_at END) AS started_at,
        MAX(CASE WHEN status IN ('completed', 'timeout', 'error') THEN created_at END) AS ended_at,
        MAX(CASE WHEN status = 'completed' THEN created_at END) AS completed_at,
        MAX(CASE WHEN status = 'timeout' THEN created_at END) AS timeout_at,
        MIN(message_id) AS message_id,
        MIN(room_id) AS room_id,
        MIN(entity_id) AS entity_id,
        MAX(metadata) AS metadata
    FROM events
    GROUP BY run_id
), summaries AS (
    SELECT run_id, started_at, ended_at, message_id, room_id, entity_id, metadata,
        CASE
            WHEN ended_at IS NULL THEN 'started'
            WHEN ended_at = completed_at THEN 'completed'
            WHEN ended_at = timeout_at THEN 'timeout'
            ELSE 'error'
        END AS status
    FROM runs
)
SELECT run_id, status, started_at, ended_at, message_id, room_id, entity_id, metadata,
    COUNT(*) OVER () AS total
FROM summaries";

/// The runs of the agent from its `run_event` rows in the window, newest start first (runs without a
/// `started` row last), with the total before the limit and the counts of each run on the page.
pub(crate) fn list_runs(conn: &mut DbConn, query: &RunQuery) -> DbResult<RunPage> {
    let dialect = Dialect::of(conn);
    let mut raw = RawSql::new(dialect)
        .sql(&format!(
            "WITH events AS (SELECT {run_id} AS run_id, {status} AS status, {message_id} AS message_id, \
             {metadata} AS metadata, created_at, room_id, entity_id FROM logs WHERE agent_id = ",
            run_id = dialect.json_text("body", "runId"),
            status = dialect.json_text("body", "status"),
            message_id = dialect.json_text("body", "messageId"),
            metadata = dialect.json_object("body", "metadata"),
        ))
        .text(id_text(query.agent_id))
        .sql(&format!(
            " AND type = 'run_event' AND {}",
            dialect.json_is_string("body", "runId")
        ));
    if let Some(room) = query.room_id {
        raw = raw.sql(" AND room_id = ").text(id_text(room));
    }
    if let Some(from) = query.from {
        raw = raw.sql(" AND created_at >= ").time(filter_time(from));
    }
    if let Some(to) = query.to {
        raw = raw.sql(" AND created_at <= ").time(filter_time(to));
    }
    raw = raw.sql(RUNS_AGGREGATE);
    if let Some(status) = query.status {
        raw = raw.sql(" WHERE status = ").text(status.as_str().to_owned());
    }
    // With LIMIT 0 the window count would have no row to ride on.
    raw = raw
        .sql(
            " ORDER BY CASE WHEN started_at IS NULL THEN 1 ELSE 0 END, started_at DESC, \
             ended_at DESC, run_id LIMIT ",
        )
        .int(sql_count(query.limit.max(1)));
    let rows: Vec<RunRow> = raw.query.load(conn)?;
    let total = rows
        .first()
        .map_or(0, |row| u64::try_from(row.total).unwrap_or(0));
    let mut runs = rows
        .into_iter()
        .take(usize::try_from(query.limit).unwrap_or(usize::MAX))
        .map(RunSummary::try_from)
        .collect::<Result<Vec<_>, StoreError>>()?;
    let run_ids: Vec<String> = runs.iter().map(|run| run.run_id.clone()).collect();
    // Only when every run on the page has its start can the scan begin there.
    let since = runs
        .iter()
        .map(|run| run.started_at)
        .collect::<Option<Vec<_>>>()
        .and_then(|starts| starts.into_iter().min());
    let mut counts = count_run_rows(conn, dialect, query.agent_id, &run_ids, since)?;
    for run in &mut runs {
        run.counts = counts
            .remove(&run.run_id)
            .unwrap_or_default()
            .with_status(run.status);
    }
    Ok(RunPage { runs, total })
}

impl TryFrom<RunRow> for RunSummary {
    type Error = StoreError;

    fn try_from(row: RunRow) -> Result<Self, StoreError> {
        let metadata = row
            .metadata
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        Ok(RunSummary {
            status: RunStatus::parse(&row.status).unwrap_or(RunStatus::Error),
            run_id: row.run_id,
            started_at: row.started_at.map(utc),
            ended_at: row.ended_at.map(utc),
            message_id: row.message_id,
            room_id: parse_opt_id("logs.room_id", row.room_id.as_deref())?,
            entity_id: parse_opt_id("logs.entity_id", row.entity_id.as_deref())?,
            metadata,
            counts: RunCounts::default(),
        })
    }
}

/// The counts of one run, as [`RunCounts::tally`] would make them from its rows.
#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Text)]
    run_id: String,
    #[diesel(sql_type = BigInt)]
    actions: i64,
    #[diesel(sql_type = BigInt)]
    action_errors: i64,
    #[diesel(sql_type = BigInt)]
    model_calls: i64,
    #[diesel(sql_type = BigInt)]
    evaluators: i64,
    #[diesel(sql_type = BigInt)]
    embedding_errors: i64,
}

/// [`RunCounts::tally`] in SQL over the rows that belong to the runs (`body.parentRunId` first, then
/// `body.runId`), grouped per run.
fn count_run_rows(
    conn: &mut DbConn,
    dialect: Dialect,
    agent: AgentId,
    run_ids: &[String],
    since: Option<DateTime<Utc>>,
) -> DbResult<HashMap<String, RunCounts>> {
    if run_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let run_id = dialect.json_text("body", "runId");
    let parent = dialect.json_text("body", "parentRunId");
    let mut raw = RawSql::new(dialect)
        .sql(&format!("SELECT CASE WHEN {parent} IN "))
        .texts(run_ids)
        .sql(&format!(
            " THEN {parent} ELSE {run_id} END AS run_id, \
             SUM(CASE WHEN type = 'action' THEN 1 ELSE 0 END) AS actions, \
             SUM(CASE WHEN type = 'action' AND {failed} THEN 1 ELSE 0 END) AS action_errors, \
             SUM(CASE WHEN substr(type, 1, 9) = 'useModel:' THEN 1 ELSE 0 END) AS model_calls, \
             SUM(CASE WHEN type = 'evaluator' THEN 1 ELSE 0 END) AS evaluators, \
             SUM(CASE WHEN type = 'embedding_event' AND {status} = 'failed' THEN 1 ELSE 0 END) \
             AS embedding_errors \
             FROM logs WHERE agent_id = ",
            failed = dialect.action_failed(),
            status = dialect.json_text("body", "status"),
        ))
        .text(id_text(agent))
        .sql(
            " AND (type IN ('action', 'evaluator', 'embedding_event') \
             OR substr(type, 1, 9) = 'useModel:')",
        );
    if let Some(since) = since {
        raw = raw
            .sql(" AND created_at >= ")
            .time(filter_time(since - RUN_ROWS_SLACK));
    }
    raw = raw
        .sql(&format!(" AND ({run_id} IN "))
        .texts(run_ids)
        .sql(&format!(" OR {parent} IN "))
        .texts(run_ids)
        .sql(") GROUP BY 1");
    let rows: Vec<CountRow> = raw.query.load(conn)?;
    let count = |value: i64| u64::try_from(value).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|row| {
            let counts = RunCounts {
                actions: count(row.actions),
                model_calls: count(row.model_calls),
                errors: count(row.action_errors) + count(row.embedding_errors),
                evaluators: count(row.evaluators),
            };
            (row.run_id, counts)
        })
        .collect())
}

/// The rows of one run, oldest first: those whose `body.runId` or `body.parentRunId` is `run_id`, and the
/// `action_event` rows of the runs of its `action` rows (1.7.2's run detail). Only rows from a minute
/// before the run's first `run_event` row are read when it has one.
pub(crate) fn list_run_logs(
    conn: &mut DbConn,
    agent: AgentId,
    run_id: &str,
    room: Option<RoomId>,
) -> DbResult<Vec<AgentLog>> {
    let dialect = Dialect::of(conn);
    let run_id_of = |column: &str| dialect.json_text(column, "runId");
    let parent_of = |column: &str| dialect.json_text(column, "parentRunId");
    let first_event: Option<NaiveDateTime> = logs::table
        .filter(logs::agent_id.eq(id_text(agent)))
        .filter(logs::log_type.eq("run_event"))
        .filter(
            sql::<Bool>(&format!("{} = ", run_id_of("body"))).bind::<Text, _>(run_id.to_owned()),
        )
        .select(diesel::dsl::min(logs::created_at))
        .first(conn)?;
    let since = first_event.map(|at| filter_time(utc(at) - RUN_ROWS_SLACK));
    let mut raw = RawSql::new(dialect)
        .sql("SELECT id, agent_id, created_at, entity_id, room_id, type AS log_type, body FROM logs WHERE agent_id = ")
        .text(id_text(agent));
    if let Some(room) = room {
        raw = raw.sql(" AND room_id = ").text(id_text(room));
    }
    if let Some(since) = since {
        raw = raw.sql(" AND created_at >= ").time(since);
    }
    raw = raw
        .sql(&format!(" AND ({} = ", run_id_of("body")))
        .text(run_id.to_owned())
        .sql(&format!(" OR {} = ", parent_of("body")))
        .text(run_id.to_owned())
        .sql(&format!(
            " OR (type = 'action_event' AND {} IN (SELECT {} FROM logs AS a WHERE a.agent_id = ",
            run_id_of("body"),
            run_id_of("a.body"),
        ))
        .text(id_text(agent))
        .sql(" AND a.type = 'action'");
    if let Some(since) = since {
        raw = raw.sql(" AND a.created_at >= ").time(since);
    }
    raw = raw
        .sql(&format!(" AND ({} = ", run_id_of("a.body")))
        .text(run_id.to_owned())
        .sql(&format!(" OR {} = ", parent_of("a.body")))
        .text(run_id.to_owned())
        .sql(")))) ORDER BY created_at, id LIMIT ")
        .int(sql_count(RUN_LOGS_MAX));
    let rows: Vec<LogRow> = raw.query.load(conn)?;
    convert_all(rows)
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
