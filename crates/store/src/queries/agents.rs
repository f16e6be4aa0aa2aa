//! `agents`: the agent row with its character spread over columns, as in 1.7.2 (plus templates, secrets,
//! lore and model_provider, which 1.7.2 drops).

use crate::codec::{
    db_time, from_json, id_text, opt_from_json, opt_id_text, opt_to_json, parse_id, parse_opt_id,
    to_json, utc,
};
use crate::conn::{DbConn, write_transaction};
use crate::error::DbResult;
use crate::queries::{convert_all, convert_opt, insert_ignore, upsert};
use crate::schema::{agents, channel_participants};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use eliza_domain::{Agent, AgentId, Character, StoreError};
use serde_json::Value;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = agents, treat_none_as_null = true)]
pub(crate) struct AgentRow {
    id: String,
    enabled: bool,
    server_id: Option<String>,
    #[diesel(skip_update)]
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    name: String,
    username: Option<String>,
    system: Option<String>,
    bio: String,
    message_examples: String,
    post_examples: String,
    topics: String,
    adjectives: String,
    knowledge: String,
    plugins: String,
    settings: String,
    style: String,
    templates: String,
    secrets: String,
    lore: Option<String>,
    model_provider: Option<String>,
}

impl TryFrom<&Agent> for AgentRow {
    type Error = StoreError;

    fn try_from(agent: &Agent) -> Result<Self, StoreError> {
        let c = &agent.character;
        Ok(AgentRow {
            id: id_text(agent.id),
            enabled: agent.enabled,
            server_id: opt_id_text(agent.server_id),
            created_at: db_time(agent.created_at),
            updated_at: db_time(agent.updated_at),
            name: c.name.clone(),
            username: c.username.clone(),
            system: c.system.clone(),
            bio: to_json(&c.bio)?,
            message_examples: to_json(&c.message_examples)?,
            post_examples: to_json(&c.post_examples)?,
            topics: to_json(&c.topics)?,
            adjectives: to_json(&c.adjectives)?,
            knowledge: to_json(&c.knowledge)?,
            plugins: to_json(&c.plugins)?,
            settings: to_json(&c.settings)?,
            style: to_json(&c.style)?,
            templates: to_json(&c.templates)?,
            secrets: to_json(&c.secrets)?,
            lore: opt_to_json(c.lore.as_ref())?,
            model_provider: c.model_provider.clone(),
        })
    }
}

impl TryFrom<AgentRow> for Agent {
    type Error = StoreError;

    fn try_from(row: AgentRow) -> Result<Self, StoreError> {
        let id: AgentId = parse_id("agents.id", &row.id)?;
        let character = Character {
            id: Some(id),
            name: row.name,
            username: row.username,
            system: row.system,
            templates: from_json("agents.templates", &row.templates)?,
            bio: from_json("agents.bio", &row.bio)?,
            message_examples: from_json("agents.message_examples", &row.message_examples)?,
            post_examples: from_json("agents.post_examples", &row.post_examples)?,
            topics: from_json("agents.topics", &row.topics)?,
            adjectives: from_json("agents.adjectives", &row.adjectives)?,
            knowledge: from_json("agents.knowledge", &row.knowledge)?,
            plugins: from_json("agents.plugins", &row.plugins)?,
            settings: from_json("agents.settings", &row.settings)?,
            secrets: from_json("agents.secrets", &row.secrets)?,
            style: from_json("agents.style", &row.style)?,
            lore: opt_from_json("agents.lore", row.lore.as_deref())?,
            model_provider: row.model_provider,
        };
        Ok(Agent {
            id,
            enabled: row.enabled,
            server_id: parse_opt_id("agents.server_id", row.server_id.as_deref())?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            character,
        })
    }
}

pub(crate) fn create(conn: &mut DbConn, agent: &Agent) -> DbResult<bool> {
    let row = AgentRow::try_from(agent)?;
    Ok(insert_ignore!(conn, agents::table, &row)?)
}

pub(crate) fn save(conn: &mut DbConn, agent: &Agent) -> DbResult<Agent> {
    let row = AgentRow::try_from(agent)?;
    write_transaction(conn, |conn| {
        upsert!(conn, agents::table, &row, agents::id, &row)?;
        get(conn, agent.id)?.ok_or_else(|| not_found(agent.id).into())
    })
}

pub(crate) fn get(conn: &mut DbConn, id: AgentId) -> DbResult<Option<Agent>> {
    let row = agents::table
        .find(id_text(id))
        .select(AgentRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn list(conn: &mut DbConn) -> DbResult<Vec<Agent>> {
    convert_all(agents::table.select(AgentRow::as_select()).load(conn)?)
}

/// Read, `Agent::apply_patch`, write, in one transaction holding the row's write lock throughout.
pub(crate) fn update(
    conn: &mut DbConn,
    id: AgentId,
    patch: &Value,
    now: DateTime<Utc>,
) -> DbResult<Option<Agent>> {
    write_transaction(conn, |conn| {
        let Some(row) = find_locked(conn, &id_text(id))? else {
            return Ok(None);
        };
        let mut agent = Agent::try_from(row)?;
        agent
            .apply_patch(patch, now)
            .map_err(|err| StoreError::Invalid(err.message))?;
        let row = AgentRow::try_from(&agent)?;
        diesel::update(agents::table.find(&row.id))
            .set(&row)
            .execute(conn)?;
        Ok(Some(Agent::try_from(row)?))
    })
}

/// The row, locked until the transaction ends. PostgreSQL needs `FOR UPDATE`; on SQLite the enclosing
/// `BEGIN IMMEDIATE` already holds the database's write lock (and SQLite has no row locks).
fn find_locked(conn: &mut DbConn, id: &str) -> DbResult<Option<AgentRow>> {
    let query = agents::table.find(id);
    let row = match conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => query.select(AgentRow::as_select()).first(c).optional()?,
        #[cfg(feature = "postgres")]
        DbConn::Postgres(c) => query
            .select(AgentRow::as_select())
            .for_update()
            .first(c)
            .optional()?,
    };
    Ok(row)
}

/// Deletes the agent; its own rows go by cascade, and its channel memberships (which name it by
/// id, without a foreign key) with it.
pub(crate) fn delete(conn: &mut DbConn, id: AgentId) -> DbResult<bool> {
    let id = id_text(id);
    write_transaction(conn, |conn| {
        diesel::delete(channel_participants::table.filter(channel_participants::entity_id.eq(&id)))
            .execute(conn)?;
        Ok(diesel::delete(agents::table.find(&id)).execute(conn)? > 0)
    })
}

fn not_found(id: AgentId) -> StoreError {
    StoreError::NotFound {
        entity: "agent",
        id: id.to_string(),
    }
}
