//! `message_servers` and `message_server_agents`.

use crate::codec::{db_time, id_text, opt_from_json, opt_to_json, parse_id, utc};
use crate::conn::DbConn;
use crate::error::DbResult;
use crate::queries::{convert_all, convert_opt, insert_ignore};
use crate::schema::{message_server_agents, message_servers};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use eliza_domain::messaging::MessageServer;
use eliza_domain::{AgentId, MessageServerId, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = message_servers, treat_none_as_null = true)]
pub(crate) struct ServerRow {
    id: String,
    name: String,
    source_type: String,
    source_id: Option<String>,
    metadata: Option<String>,
    #[diesel(skip_update)]
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<&MessageServer> for ServerRow {
    type Error = StoreError;

    fn try_from(server: &MessageServer) -> Result<Self, StoreError> {
        Ok(ServerRow {
            id: id_text(server.id),
            name: server.name.clone(),
            source_type: server.source_type.clone(),
            source_id: server.source_id.clone(),
            metadata: opt_to_json(server.metadata.as_ref())?,
            created_at: db_time(server.created_at),
            updated_at: db_time(server.updated_at),
        })
    }
}

impl TryFrom<ServerRow> for MessageServer {
    type Error = StoreError;

    fn try_from(row: ServerRow) -> Result<Self, StoreError> {
        Ok(MessageServer {
            id: parse_id("message_servers.id", &row.id)?,
            name: row.name,
            source_type: row.source_type,
            source_id: row.source_id,
            metadata: opt_from_json("message_servers.metadata", row.metadata.as_deref())?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// Inserts the server; an existing id is a `Conflict`.
pub(crate) fn create(conn: &mut DbConn, server: &MessageServer) -> DbResult<MessageServer> {
    let row = ServerRow::try_from(server)?;
    diesel::insert_into(message_servers::table)
        .values(&row)
        .execute(conn)?;
    Ok(MessageServer::try_from(row)?)
}

pub(crate) fn get(conn: &mut DbConn, id: MessageServerId) -> DbResult<Option<MessageServer>> {
    let row = message_servers::table
        .find(id_text(id))
        .select(ServerRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn list(conn: &mut DbConn) -> DbResult<Vec<MessageServer>> {
    let rows = message_servers::table
        .order((message_servers::created_at, message_servers::id))
        .select(ServerRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

/// Replaces every field but the id and `created_at`.
pub(crate) fn update(conn: &mut DbConn, server: &MessageServer) -> DbResult<bool> {
    let row = ServerRow::try_from(server)?;
    let updated = diesel::update(message_servers::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(updated > 0)
}

pub(crate) fn delete(conn: &mut DbConn, id: MessageServerId) -> DbResult<bool> {
    Ok(diesel::delete(message_servers::table.find(id_text(id))).execute(conn)? > 0)
}

pub(crate) fn add_agent(
    conn: &mut DbConn,
    server: MessageServerId,
    agent: AgentId,
) -> DbResult<()> {
    let row = (
        message_server_agents::message_server_id.eq(id_text(server)),
        message_server_agents::agent_id.eq(id_text(agent)),
    );
    insert_ignore!(conn, message_server_agents::table, &row)?;
    Ok(())
}

pub(crate) fn remove_agent(
    conn: &mut DbConn,
    server: MessageServerId,
    agent: AgentId,
) -> DbResult<bool> {
    let removed =
        diesel::delete(message_server_agents::table.find((id_text(server), id_text(agent))))
            .execute(conn)?;
    Ok(removed > 0)
}

pub(crate) fn server_agents(conn: &mut DbConn, server: MessageServerId) -> DbResult<Vec<AgentId>> {
    let ids: Vec<String> = message_server_agents::table
        .filter(message_server_agents::message_server_id.eq(id_text(server)))
        .select(message_server_agents::agent_id)
        .order(message_server_agents::agent_id)
        .load(conn)?;
    parse_ids("message_server_agents.agent_id", &ids)
}

pub(crate) fn agent_servers(conn: &mut DbConn, agent: AgentId) -> DbResult<Vec<MessageServerId>> {
    let ids: Vec<String> = message_server_agents::table
        .filter(message_server_agents::agent_id.eq(id_text(agent)))
        .select(message_server_agents::message_server_id)
        .order(message_server_agents::message_server_id)
        .load(conn)?;
    parse_ids("message_server_agents.message_server_id", &ids)
}

fn parse_ids<T: From<uuid::Uuid>>(column: &str, ids: &[String]) -> DbResult<Vec<T>> {
    Ok(ids
        .iter()
        .map(|id| parse_id(column, id))
        .collect::<Result<_, _>>()?)
}
