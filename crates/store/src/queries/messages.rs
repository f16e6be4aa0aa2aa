//! `central_messages`.

use crate::codec::{
    db_time, id_text, opt_filter_time, opt_from_json, opt_id_text, opt_to_json, parse_id,
    parse_opt_id, row_count, sql_count, utc,
};
use crate::conn::{DbConn, write_transaction};
use crate::error::DbResult;
use crate::queries::{convert_all, convert_opt, insert_ignore};
use crate::schema::{central_messages, channels};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use eliza_domain::messaging::{CentralMessage, MessagePage, MessageSearch};
use eliza_domain::{ChannelId, MessageId, StoreError};

diesel::define_sql_function! {
    /// SQL `lower()`, on both backends.
    fn lower(text: Text) -> Text;
}

/// The escape character of [`contains_pattern`].
const LIKE_ESCAPE: char = '\\';

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = central_messages, treat_none_as_null = true)]
pub(crate) struct MessageRow {
    id: String,
    #[diesel(skip_update)]
    channel_id: String,
    #[diesel(skip_update)]
    author_id: String,
    content: String,
    raw_message: Option<String>,
    in_reply_to_root_message_id: Option<String>,
    source_type: Option<String>,
    source_id: Option<String>,
    metadata: Option<String>,
    #[diesel(skip_update)]
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<&CentralMessage> for MessageRow {
    type Error = StoreError;

    fn try_from(message: &CentralMessage) -> Result<Self, StoreError> {
        Ok(MessageRow {
            id: id_text(message.id),
            channel_id: id_text(message.channel_id),
            author_id: message.author_id.clone(),
            content: message.content.clone(),
            raw_message: opt_to_json(message.raw_message.as_ref())?,
            in_reply_to_root_message_id: opt_id_text(message.in_reply_to_root_message_id),
            source_type: message.source_type.clone(),
            source_id: message.source_id.clone(),
            metadata: opt_to_json(message.metadata.as_ref())?,
            created_at: db_time(message.created_at),
            updated_at: db_time(message.updated_at),
        })
    }
}

impl TryFrom<MessageRow> for CentralMessage {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> Result<Self, StoreError> {
        Ok(CentralMessage {
            id: parse_id("central_messages.id", &row.id)?,
            channel_id: parse_id("central_messages.channel_id", &row.channel_id)?,
            author_id: row.author_id,
            content: row.content,
            raw_message: opt_from_json("central_messages.raw_message", row.raw_message.as_deref())?,
            source_type: row.source_type,
            source_id: row.source_id,
            metadata: opt_from_json("central_messages.metadata", row.metadata.as_deref())?,
            in_reply_to_root_message_id: parse_opt_id(
                "central_messages.in_reply_to_root_message_id",
                row.in_reply_to_root_message_id.as_deref(),
            )?,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// Idempotent by id: a message already stored under the id is returned as stored.
pub(crate) fn create(conn: &mut DbConn, message: &CentralMessage) -> DbResult<CentralMessage> {
    let row = MessageRow::try_from(message)?;
    write_transaction(conn, |conn| {
        insert_ignore!(conn, central_messages::table, &row)?;
        get(conn, message.id)?.ok_or_else(|| {
            StoreError::NotFound {
                entity: "message",
                id: message.id.to_string(),
            }
            .into()
        })
    })
}

pub(crate) fn get(conn: &mut DbConn, id: MessageId) -> DbResult<Option<CentralMessage>> {
    let row = central_messages::table
        .find(id_text(id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

/// Newest first; `before` keeps only strictly older messages.
pub(crate) fn list_for_channel(
    conn: &mut DbConn,
    channel: ChannelId,
    page: MessagePage,
) -> DbResult<Vec<CentralMessage>> {
    let mut query = central_messages::table
        .filter(central_messages::channel_id.eq(id_text(channel)))
        .select(MessageRow::as_select())
        .into_boxed();
    if let Some(before) = opt_filter_time(page.before) {
        query = query.filter(central_messages::created_at.lt(before));
    }
    let rows = query
        .order((
            central_messages::created_at.desc(),
            central_messages::id.desc(),
        ))
        .limit(sql_count(page.limit))
        .load(conn)?;
    convert_all(rows)
}

/// A LIKE pattern matching `text` anywhere, its wildcards (`%`, `_`) and [`LIKE_ESCAPE`] taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_') || ch == LIKE_ESCAPE {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// `lower(content) LIKE lower(pattern) ESCAPE '\'`, so the match is case-insensitive the same way on both
/// backends; the server filter goes through the message's channel. Newest first (`created_at DESC, id DESC`).
pub(crate) fn search(conn: &mut DbConn, search: &MessageSearch) -> DbResult<Vec<CentralMessage>> {
    let mut query = central_messages::table
        .inner_join(channels::table)
        .select(MessageRow::as_select())
        .into_boxed();
    // An empty text matches every message (a filtered listing).
    if !search.text.is_empty() {
        query = query.filter(
            lower(central_messages::content)
                .like(lower(contains_pattern(&search.text)))
                .escape(LIKE_ESCAPE),
        );
    }
    if let Some(channel) = search.channel {
        query = query.filter(central_messages::channel_id.eq(id_text(channel)));
    }
    if let Some(server) = search.server {
        query = query.filter(channels::message_server_id.eq(id_text(server)));
    }
    if let Some(author) = &search.author {
        query = query.filter(central_messages::author_id.eq(author.clone()));
    }
    if let Some(before) = opt_filter_time(search.before) {
        query = query.filter(central_messages::created_at.lt(before));
    }
    if let Some(after) = opt_filter_time(search.after) {
        query = query.filter(central_messages::created_at.gt(after));
    }
    let rows = query
        .order((
            central_messages::created_at.desc(),
            central_messages::id.desc(),
        ))
        .limit(sql_count(search.limit))
        .offset(sql_count(search.offset))
        .load(conn)?;
    convert_all(rows)
}

/// The replies to `message`, oldest first (`created_at ASC, id ASC`).
pub(crate) fn replies(conn: &mut DbConn, message: MessageId) -> DbResult<Vec<CentralMessage>> {
    let rows = central_messages::table
        .filter(central_messages::in_reply_to_root_message_id.eq(id_text(message)))
        .select(MessageRow::as_select())
        .order((
            central_messages::created_at.asc(),
            central_messages::id.asc(),
        ))
        .load(conn)?;
    convert_all(rows)
}

/// Replaces the content fields (not the channel, author or creation time) and `updated_at`.
pub(crate) fn update(conn: &mut DbConn, message: &CentralMessage) -> DbResult<bool> {
    let row = MessageRow::try_from(message)?;
    let updated = diesel::update(central_messages::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(updated > 0)
}

pub(crate) fn delete(conn: &mut DbConn, id: MessageId) -> DbResult<bool> {
    Ok(diesel::delete(central_messages::table.find(id_text(id))).execute(conn)? > 0)
}

pub(crate) fn clear_channel(conn: &mut DbConn, channel: ChannelId) -> DbResult<u64> {
    let deleted = diesel::delete(
        central_messages::table.filter(central_messages::channel_id.eq(id_text(channel))),
    )
    .execute(conn)?;
    Ok(row_count(deleted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_the_escape() {
        assert_eq!(contains_pattern("hello"), "%hello%");
        assert_eq!(contains_pattern("100%"), "%100\\%%");
        assert_eq!(contains_pattern("a_b"), "%a\\_b%");
        assert_eq!(contains_pattern("c:\\x"), "%c:\\\\x%");
        assert_eq!(contains_pattern("ünï"), "%ünï%");
    }
}
