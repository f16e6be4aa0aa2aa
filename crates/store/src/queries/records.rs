//! `shared_records`: the messaging API's sessions and jobs for a cluster. Every change of a body
//! is one conditional update on its version, so two nodes writing the same record cannot both win.

use crate::codec::{db_time, from_json, id_text, parse_id, to_json, utc};
use crate::conn::DbConn;
use crate::error::{DbResult, corrupt};
use crate::queries::{convert_all, convert_opt, insert_ignore};
use crate::schema::shared_records;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use eliza_domain::StoreError;
use eliza_domain::records::{RecordKind, RecordOrder, SharedRecord};
use uuid::Uuid;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = shared_records)]
struct RecordRow {
    kind: String,
    id: String,
    tag: String,
    body: String,
    version: i64,
    created_at: NaiveDateTime,
    purge_at: NaiveDateTime,
}

impl RecordRow {
    fn new(record: &SharedRecord, version: i64) -> Result<RecordRow, StoreError> {
        Ok(RecordRow {
            kind: record.kind.as_str().to_owned(),
            id: id_text(record.id),
            tag: record.tag.clone(),
            body: to_json(&record.body)?,
            version,
            created_at: db_time(record.created_at),
            purge_at: db_time(record.purge_at),
        })
    }
}

impl TryFrom<RecordRow> for SharedRecord {
    type Error = StoreError;

    fn try_from(row: RecordRow) -> Result<Self, StoreError> {
        let kind = RecordKind::parse(&row.kind)
            .ok_or_else(|| corrupt("shared_records.kind", format_args!("{:?}", row.kind)))?;
        Ok(SharedRecord {
            kind,
            id: parse_id("shared_records.id", &row.id)?,
            tag: row.tag,
            body: from_json("shared_records.body", &row.body)?,
            version: row.version,
            created_at: utc(row.created_at),
            purge_at: utc(row.purge_at),
        })
    }
}

pub(crate) fn insert(conn: &mut DbConn, record: &SharedRecord) -> DbResult<bool> {
    let row = RecordRow::new(record, 1)?;
    Ok(insert_ignore!(conn, shared_records::table, &row)?)
}

pub(crate) fn get(conn: &mut DbConn, kind: RecordKind, id: Uuid) -> DbResult<Option<SharedRecord>> {
    let row = shared_records::table
        .find((kind.as_str(), id_text(id)))
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn swap(conn: &mut DbConn, record: &SharedRecord) -> DbResult<bool> {
    let current = shared_records::table
        .filter(shared_records::kind.eq(record.kind.as_str()))
        .filter(shared_records::id.eq(id_text(record.id)))
        .filter(shared_records::version.eq(record.version));
    let swapped = diesel::update(current)
        .set((
            shared_records::tag.eq(&record.tag),
            shared_records::body.eq(to_json(&record.body)?),
            shared_records::version.eq(record.version + 1),
            shared_records::purge_at.eq(db_time(record.purge_at)),
        ))
        .execute(conn)?;
    Ok(swapped > 0)
}

pub(crate) fn delete(conn: &mut DbConn, kind: RecordKind, id: Uuid) -> DbResult<bool> {
    let deleted =
        diesel::delete(shared_records::table.find((kind.as_str(), id_text(id)))).execute(conn)?;
    Ok(deleted > 0)
}

pub(crate) fn purge(conn: &mut DbConn, kind: RecordKind, now: DateTime<Utc>) -> DbResult<u64> {
    let due = shared_records::table
        .filter(shared_records::kind.eq(kind.as_str()))
        .filter(shared_records::purge_at.le(db_time(now)));
    Ok(diesel::delete(due).execute(conn)? as u64)
}

pub(crate) fn list(
    conn: &mut DbConn,
    kind: RecordKind,
    tag: Option<&str>,
    order: RecordOrder,
    limit: i64,
) -> DbResult<Vec<SharedRecord>> {
    let mut query = shared_records::table
        .filter(shared_records::kind.eq(kind.as_str()))
        .select(RecordRow::as_select())
        .limit(limit.max(0))
        .into_boxed();
    if let Some(tag) = tag {
        query = query.filter(shared_records::tag.eq(tag.to_owned()));
    }
    query = match order {
        RecordOrder::OldestFirst => {
            query.order((shared_records::created_at.asc(), shared_records::id.asc()))
        }
        RecordOrder::NewestFirst => {
            query.order((shared_records::created_at.desc(), shared_records::id.desc()))
        }
    };
    convert_all(query.load(conn)?)
}

pub(crate) fn count(conn: &mut DbConn, kind: RecordKind) -> DbResult<Vec<(String, i64)>> {
    let counts = shared_records::table
        .filter(shared_records::kind.eq(kind.as_str()))
        .group_by(shared_records::tag)
        .select((shared_records::tag, diesel::dsl::count_star()))
        .order(shared_records::tag)
        .load::<(String, i64)>(conn)?;
    Ok(counts)
}
