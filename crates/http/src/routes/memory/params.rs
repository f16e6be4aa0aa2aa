//! Query and body parameters shared by the memory routes, each checked with a clear 400.

use crate::error::ApiError;
use crate::routes::agent_logs::{first, invalid_query};
use chrono::{DateTime, Utc};
use eliza_domain::memory::MESSAGES_TABLE;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The most memories one request returns; larger limits are lowered to it.
pub const MAX_LIMIT: u32 = 1_000;

/// How a memory list is filtered and paged.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    pub table: String,
    pub limit: u32,
    pub offset: u32,
    pub before: Option<DateTime<Utc>>,
    pub include_embedding: bool,
}

impl ListParams {
    /// Reads the table (the first of `table_keys` present, else `messages`), `limit` (default
    /// `default_limit`), `offset` (or the api-client's 1-based `page`), `before` (or `to`; epoch
    /// ms or ISO-8601) and `includeEmbedding` (`true` only, as 1.7.2 compares).
    pub fn parse(
        pairs: &[(String, String)],
        table_keys: &[&str],
        default_limit: u32,
    ) -> Result<ListParams, ApiError> {
        let limit = positive(pairs, "limit")?
            .unwrap_or(default_limit)
            .min(MAX_LIMIT);
        let offset = match (count(pairs, "offset")?, positive(pairs, "page")?) {
            (Some(offset), _) => offset,
            (None, Some(page)) => (page - 1).saturating_mul(limit),
            (None, None) => 0,
        };
        let before = first(pairs, "before").or_else(|| first(pairs, "to"));
        Ok(ListParams {
            table: table_keys
                .iter()
                .find_map(|key| first(pairs, key))
                .unwrap_or(MESSAGES_TABLE)
                .to_owned(),
            limit,
            offset,
            before: before.map(instant).transpose()?,
            include_embedding: first(pairs, "includeEmbedding") == Some("true"),
        })
    }
}

fn count(pairs: &[(String, String)], name: &str) -> Result<Option<u32>, ApiError> {
    first(pairs, name)
        .map(|text| {
            text.parse::<u32>()
                .map_err(|_| invalid_query(name, text, "a non-negative integer"))
        })
        .transpose()
}

fn positive(pairs: &[(String, String)], name: &str) -> Result<Option<u32>, ApiError> {
    match count(pairs, name)? {
        Some(0) => Err(invalid_query(name, "0", "a positive integer")),
        other => Ok(other),
    }
}

/// Epoch milliseconds, or an ISO-8601 date.
fn instant(text: &str) -> Result<DateTime<Utc>, ApiError> {
    let parsed = match text.parse::<i64>() {
        Ok(ms) => DateTime::from_timestamp_millis(ms),
        Err(_) => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.with_timezone(&Utc)),
    };
    parsed.ok_or_else(|| invalid_query("before", text, "epoch milliseconds or an ISO-8601 date"))
}

/// An optional UUID field of a JSON body: absent or `null` is `None`, anything but a UUID
/// string is a 400 `INVALID_ID` naming the field.
pub fn optional_uuid(body: &Map<String, Value>, key: &str) -> Result<Option<Uuid>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => eliza_domain::ids::validate_uuid(text)
            .map(Some)
            .ok_or_else(|| ApiError::invalid_id(format!("Invalid {key} format"))),
        Some(_) => Err(ApiError::invalid_id(format!("Invalid {key} format"))),
    }
}

/// An optional string field: absent or `null` is `None`, a non-string a 400 `BAD_REQUEST`.
pub fn optional_string<'a>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::bad_request(
            "BAD_REQUEST",
            format!("{key} must be a string"),
        )),
    }
}

/// An optional object field: absent or `null` is `None`, a non-object a 400 `BAD_REQUEST`.
pub fn optional_object<'a>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(_) => Err(ApiError::bad_request(
            "BAD_REQUEST",
            format!("{key} must be an object"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::agent_logs::test_pairs as pairs;

    #[test]
    fn defaults_and_caps() {
        let params = ListParams::parse(&[], &["tableName"], 20).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (params.table.as_str(), params.limit, params.offset),
            ("messages", 20, 0)
        );
        assert!(!params.include_embedding && params.before.is_none());
        let big = ListParams::parse(&pairs(&[("limit", "99999")]), &["tableName"], 20);
        assert_eq!(big.map(|p| p.limit).ok(), Some(MAX_LIMIT));
    }

    #[test]
    fn the_api_client_spellings_are_read_too() {
        let params = ListParams::parse(
            &pairs(&[("type", "facts"), ("page", "3"), ("limit", "10")]),
            &["tableName", "type"],
            20,
        );
        let params = params.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((params.table.as_str(), params.offset), ("facts", 20));
    }

    #[test]
    fn before_takes_millis_or_iso() {
        let ms = ListParams::parse(&pairs(&[("before", "1700000000000")]), &["t"], 1);
        let iso = ListParams::parse(&pairs(&[("to", "2023-11-14T22:13:20.000Z")]), &["t"], 1);
        assert_eq!(
            ms.ok().and_then(|p| p.before),
            iso.ok().and_then(|p| p.before)
        );
    }

    #[test]
    fn bad_values_are_400s() {
        for bad in [
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "x"),
            ("offset", "1.5"),
            ("before", "yesterday"),
        ] {
            let err = ListParams::parse(&pairs(&[bad]), &["t"], 1).err();
            assert_eq!(err.map(|e| e.status.as_u16()), Some(400), "{bad:?}");
        }
    }
}
