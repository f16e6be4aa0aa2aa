//! `channels` and `channel_participants`.

use crate::codec::{db_time, id_text, opt_from_json, opt_to_json, parse_id, utc};
use crate::conn::{DbConn, write_transaction};
use crate::error::{DbResult, corrupt};
use crate::queries::{convert_all, convert_opt, insert_ignore};
use crate::schema::{channel_participants, channels};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use eliza_domain::messaging::{Channel, ChannelType, ChannelUpdate};
use eliza_domain::{ChannelId, MessageServerId, StoreError};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = channels)]
pub(crate) struct ChannelRow {
    id: String,
    message_server_id: String,
    name: String,
    channel_type: String,
    source_type: Option<String>,
    source_id: Option<String>,
    topic: Option<String>,
    metadata: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<&Channel> for ChannelRow {
    type Error = StoreError;

    fn try_from(channel: &Channel) -> Result<Self, StoreError> {
        Ok(ChannelRow {
            id: id_text(channel.id),
            message_server_id: id_text(channel.message_server_id),
            name: channel.name.clone(),
            channel_type: channel.channel_type.as_str().to_owned(),
            source_type: channel.source_type.clone(),
            source_id: channel.source_id.clone(),
            topic: channel.topic.clone(),
            metadata: opt_to_json(channel.metadata.as_ref())?,
            created_at: db_time(channel.created_at),
            updated_at: db_time(channel.updated_at),
        })
    }
}

impl TryFrom<ChannelRow> for Channel {
    type Error = StoreError;

    fn try_from(row: ChannelRow) -> Result<Self, StoreError> {
        let channel_type = ChannelType::parse(&row.channel_type)
            .ok_or_else(|| corrupt("channels.type", &row.channel_type))?;
        Ok(Channel {
            id: parse_id("channels.id", &row.id)?,
            message_server_id: parse_id("channels.message_server_id", &row.message_server_id)?,
            name: row.name,
            channel_type,
            source_type: row.source_type,
            source_id: row.source_id,
            topic: row.topic,
            metadata: opt_from_json("channels.metadata", row.metadata.as_deref())?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// The fields an update may set; `None` leaves a column alone, `Some(None)` clears it.
#[derive(AsChangeset)]
#[diesel(table_name = channels)]
struct ChannelChanges {
    name: Option<String>,
    topic: Option<Option<String>>,
    metadata: Option<Option<String>>,
    updated_at: NaiveDateTime,
}

/// Inserts the channel and its participants together; an existing id is a `Conflict`.
pub(crate) fn create(
    conn: &mut DbConn,
    channel: &Channel,
    participants: &[String],
) -> DbResult<Channel> {
    let row = ChannelRow::try_from(channel)?;
    write_transaction(conn, |conn| {
        diesel::insert_into(channels::table)
            .values(&row)
            .execute(conn)?;
        add_participants(conn, channel.id, participants)
    })?;
    Ok(Channel::try_from(row)?)
}

pub(crate) fn get(conn: &mut DbConn, id: ChannelId) -> DbResult<Option<Channel>> {
    let row = channels::table
        .find(id_text(id))
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn list_for_server(
    conn: &mut DbConn,
    server: MessageServerId,
) -> DbResult<Vec<Channel>> {
    let rows = channels::table
        .filter(channels::message_server_id.eq(id_text(server)))
        .order((channels::created_at, channels::id))
        .select(ChannelRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

/// Applies the update (and replaces the participants when it lists them) in one transaction.
pub(crate) fn update(
    conn: &mut DbConn,
    id: ChannelId,
    update: &ChannelUpdate,
    now: DateTime<Utc>,
) -> DbResult<Option<Channel>> {
    let changes = ChannelChanges {
        name: update.name.clone(),
        topic: update.topic.clone(),
        metadata: match &update.metadata {
            Some(metadata) => Some(opt_to_json(metadata.as_ref())?),
            None => None,
        },
        updated_at: db_time(now),
    };
    write_transaction(conn, |conn| {
        let updated = diesel::update(channels::table.find(id_text(id)))
            .set(&changes)
            .execute(conn)?;
        if updated == 0 {
            return Ok(None);
        }
        if let Some(participants) = &update.participant_ids {
            diesel::delete(participants_of(id)).execute(conn)?;
            add_participants(conn, id, participants)?;
        }
        get(conn, id)
    })
}

pub(crate) fn delete(conn: &mut DbConn, id: ChannelId) -> DbResult<bool> {
    Ok(diesel::delete(channels::table.find(id_text(id))).execute(conn)? > 0)
}

/// Rows per INSERT: two bound values each, far below the backends' limits on bound values
/// (32,766 for SQLite, 65,535 for PostgreSQL), whatever the length of the client's list.
const PARTICIPANTS_PER_INSERT: usize = 1_000;

/// Adds the participants that are not there yet, one INSERT per [`PARTICIPANTS_PER_INSERT`]. An unknown
/// channel is a `Conflict` (foreign key).
pub(crate) fn add_participants(
    conn: &mut DbConn,
    id: ChannelId,
    participants: &[String],
) -> DbResult<()> {
    let channel = id_text(id);
    for chunk in participants.chunks(PARTICIPANTS_PER_INSERT) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|entity| {
                (
                    channel_participants::channel_id.eq(&channel),
                    channel_participants::entity_id.eq(entity),
                )
            })
            .collect();
        insert_ignore!(conn, channel_participants::table, &rows)?;
    }
    Ok(())
}

pub(crate) fn remove_participant(conn: &mut DbConn, id: ChannelId, entity: &str) -> DbResult<bool> {
    let removed =
        diesel::delete(participants_of(id).filter(channel_participants::entity_id.eq(entity)))
            .execute(conn)?;
    Ok(removed > 0)
}

pub(crate) fn participants(conn: &mut DbConn, id: ChannelId) -> DbResult<Vec<String>> {
    Ok(participants_of(id)
        .select(channel_participants::entity_id)
        .order(channel_participants::entity_id)
        .load(conn)?)
}

/// The oldest channel of this type and name on the server.
pub(crate) fn find_named(
    conn: &mut DbConn,
    server: MessageServerId,
    kind: ChannelType,
    name: &str,
) -> DbResult<Option<Channel>> {
    let row = channels::table
        .filter(channels::message_server_id.eq(id_text(server)))
        .filter(channels::channel_type.eq(kind.as_str()))
        .filter(channels::name.eq(name))
        .order((channels::created_at, channels::id))
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

fn participants_of(
    id: ChannelId,
) -> diesel::dsl::Filter<
    channel_participants::table,
    diesel::dsl::Eq<channel_participants::channel_id, String>,
> {
    channel_participants::table.filter(channel_participants::channel_id.eq(id_text(id)))
}
