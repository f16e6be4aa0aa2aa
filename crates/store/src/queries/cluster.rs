//! `agent_leases` and `agent_work`: agent ownership across nodes and the durable work queue.
//!
//! Every lease change is one conditional statement (insert-if-absent, update-if-mine,
//! update-if-expired), so two nodes racing for an agent cannot both win on either backend.

use crate::codec::{db_time, from_json, id_text, parse_id, to_json, utc};
use crate::conn::{DbConn, write_transaction};
use crate::error::DbResult;
use crate::queries::{convert_all, insert_ignore};
use crate::schema::{agent_leases, agent_work, cluster_nodes};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use eliza_domain::cluster::{Acquired, Lease, NodeId, QueuedWork};
use eliza_domain::{AgentId, StoreError};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = agent_leases)]
struct LeaseRow {
    agent_id: String,
    node_id: String,
    epoch: i64,
    expires_at: NaiveDateTime,
}

impl TryFrom<LeaseRow> for Lease {
    type Error = StoreError;

    fn try_from(row: LeaseRow) -> Result<Self, StoreError> {
        Ok(Lease {
            agent_id: parse_id("agent_leases.agent_id", &row.agent_id)?,
            node_id: NodeId(parse_id("agent_leases.node_id", &row.node_id)?),
            epoch: row.epoch,
            expires_at: utc(row.expires_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = agent_work)]
struct WorkRow {
    agent_id: String,
    work_key: String,
    payload: String,
    created_at: NaiveDateTime,
}

impl TryFrom<WorkRow> for QueuedWork {
    type Error = StoreError;

    fn try_from(row: WorkRow) -> Result<Self, StoreError> {
        Ok(QueuedWork {
            agent_id: parse_id("agent_work.agent_id", &row.agent_id)?,
            payload: from_json("agent_work.payload", &row.payload)?,
            key: row.work_key,
            created_at: utc(row.created_at),
        })
    }
}

pub(crate) fn acquire(
    conn: &mut DbConn,
    agent: AgentId,
    node: NodeId,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DbResult<Acquired> {
    let (agent_text, node_text) = (id_text(agent), id_text(node.0));
    let fresh = LeaseRow {
        agent_id: agent_text.clone(),
        node_id: node_text.clone(),
        epoch: 1,
        expires_at: db_time(until),
    };
    if !insert_ignore!(conn, agent_leases::table, &fresh)? {
        let mine = agent_leases::table
            .filter(agent_leases::agent_id.eq(&agent_text))
            .filter(agent_leases::node_id.eq(&node_text));
        let renewed = diesel::update(mine)
            .set(agent_leases::expires_at.eq(db_time(until)))
            .execute(conn)?;
        if renewed == 0 {
            let expired = agent_leases::table
                .filter(agent_leases::agent_id.eq(&agent_text))
                .filter(agent_leases::expires_at.le(db_time(now)));
            diesel::update(expired)
                .set((
                    agent_leases::node_id.eq(&node_text),
                    agent_leases::epoch.eq(agent_leases::epoch + 1),
                    agent_leases::expires_at.eq(db_time(until)),
                ))
                .execute(conn)?;
        }
    }
    let lease = Lease::try_from(
        agent_leases::table
            .find(&agent_text)
            .select(LeaseRow::as_select())
            .first(conn)?,
    )?;
    Ok(if lease.node_id == node {
        Acquired::Held(lease)
    } else {
        Acquired::OwnedBy(lease)
    })
}

pub(crate) fn renew(
    conn: &mut DbConn,
    node: NodeId,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DbResult<Vec<Lease>> {
    let node_text = id_text(node.0);
    let mine = agent_leases::table.filter(agent_leases::node_id.eq(&node_text));
    diesel::update(mine.filter(agent_leases::expires_at.gt(db_time(now))))
        .set(agent_leases::expires_at.eq(db_time(until)))
        .execute(conn)?;
    // Every lease of this node that is live now: the ones just renewed and any taken meanwhile
    // (an agent started between the two statements holds a lease this node must not give up).
    let rows = mine
        .filter(agent_leases::expires_at.gt(db_time(now)))
        .select(LeaseRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

pub(crate) fn release(conn: &mut DbConn, agent: AgentId, node: NodeId) -> DbResult<bool> {
    let mine = agent_leases::table
        .filter(agent_leases::agent_id.eq(id_text(agent)))
        .filter(agent_leases::node_id.eq(id_text(node.0)));
    Ok(diesel::delete(mine).execute(conn)? > 0)
}

pub(crate) fn expire(conn: &mut DbConn, node: NodeId, now: DateTime<Utc>) -> DbResult<u64> {
    let mine = agent_leases::table.filter(agent_leases::node_id.eq(id_text(node.0)));
    let expired = diesel::update(mine)
        .set(agent_leases::expires_at.eq(db_time(now)))
        .execute(conn)?;
    Ok(expired as u64)
}

pub(crate) fn list(conn: &mut DbConn) -> DbResult<Vec<Lease>> {
    let rows = agent_leases::table
        .order(agent_leases::agent_id)
        .select(LeaseRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

pub(crate) fn holds(
    conn: &mut DbConn,
    agent: AgentId,
    node: NodeId,
    epoch: i64,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let held = agent_leases::table
        .filter(agent_leases::agent_id.eq(id_text(agent)))
        .filter(agent_leases::node_id.eq(id_text(node.0)))
        .filter(agent_leases::epoch.eq(epoch))
        .filter(agent_leases::expires_at.gt(db_time(now)))
        .count()
        .get_result::<i64>(conn)?;
    Ok(held > 0)
}

pub(crate) fn enqueue(conn: &mut DbConn, work: &QueuedWork) -> DbResult<bool> {
    let row = WorkRow {
        agent_id: id_text(work.agent_id),
        work_key: work.key.clone(),
        payload: to_json(&work.payload)?,
        created_at: db_time(work.created_at),
    };
    Ok(insert_ignore!(conn, agent_work::table, &row)?)
}

pub(crate) fn queued(conn: &mut DbConn, agent: AgentId, limit: i64) -> DbResult<Vec<QueuedWork>> {
    let rows = agent_work::table
        .filter(agent_work::agent_id.eq(id_text(agent)))
        .order((agent_work::created_at, agent_work::work_key))
        .limit(limit)
        .select(WorkRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

pub(crate) fn finish(conn: &mut DbConn, agent: AgentId, key: &str) -> DbResult<bool> {
    let work = agent_work::table
        .filter(agent_work::agent_id.eq(id_text(agent)))
        .filter(agent_work::work_key.eq(key));
    Ok(diesel::delete(work).execute(conn)? > 0)
}

pub(crate) fn drop_all(conn: &mut DbConn, agent: AgentId) -> DbResult<u64> {
    let work = agent_work::table.filter(agent_work::agent_id.eq(id_text(agent)));
    Ok(diesel::delete(work).execute(conn)? as u64)
}

pub(crate) fn register_node(
    conn: &mut DbConn,
    node: NodeId,
    http_url: &str,
    now: DateTime<Utc>,
) -> DbResult<()> {
    write_transaction(conn, |conn| {
        diesel::delete(cluster_nodes::table.filter(cluster_nodes::http_url.eq(http_url)))
            .execute(conn)?;
        diesel::insert_into(cluster_nodes::table)
            .values((
                cluster_nodes::node_id.eq(id_text(node.0)),
                cluster_nodes::http_url.eq(http_url),
                cluster_nodes::registered_at.eq(db_time(now)),
            ))
            .execute(conn)?;
        Ok::<_, crate::error::DbError>(())
    })
}

pub(crate) fn node_url(conn: &mut DbConn, node: NodeId) -> DbResult<Option<String>> {
    let url = cluster_nodes::table
        .find(id_text(node.0))
        .select(cluster_nodes::http_url)
        .first(conn)
        .optional()?;
    Ok(url)
}
