//! Input helpers shared by the messaging routes (family B errors: `{"success":false,"error":"…"}`).

use crate::error::ApiError;
use crate::messaging::MessagingError;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use eliza_domain::StoreError;
use serde_json::{Map, Value};
use std::str::FromStr;

/// A 400 in family B.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::plain(StatusCode::BAD_REQUEST, message)
}

/// Parses a path or body id, answering 400 `message` when it is not a UUID.
pub fn parse_id<T: FromStr>(text: &str, message: &str) -> Result<T, ApiError> {
    text.parse().map_err(|_| bad_request(message))
}

/// A store failure in family B: `message` for the client, the cause in the log only.
pub fn store_error(err: StoreError, message: &str) -> ApiError {
    match err {
        StoreError::Unavailable(reason) => {
            tracing::warn!(%reason, "database unavailable");
            ApiError::plain(StatusCode::SERVICE_UNAVAILABLE, "Database not available")
        }
        StoreError::Invalid(reason) | StoreError::Conflict(reason) => {
            ApiError::plain(StatusCode::BAD_REQUEST, message).with_details(reason)
        }
        StoreError::NotFound { .. } => ApiError::plain(StatusCode::NOT_FOUND, message),
        StoreError::Backend(reason) => {
            tracing::error!(%reason, message, "database error");
            ApiError::plain(StatusCode::INTERNAL_SERVER_ERROR, message)
        }
    }
}

/// A messaging-service failure in family B.
pub fn messaging_error(err: MessagingError, message: &str) -> ApiError {
    match err {
        MessagingError::ChannelNotFound(_) => {
            ApiError::plain(StatusCode::NOT_FOUND, "Channel not found")
        }
        MessagingError::Store(err) => store_error(err, message),
    }
}

/// A string field the way 1.7.2 reads it: present, a string, non-empty.
pub fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

/// The first of several spellings that is a non-empty string (snake_case 1.7.2, camelCase api-client).
pub fn text_of<'a>(body: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|key| text(body, key))
}

/// The objects of an array field; a missing field, a non-array or a non-object item is `invalid`.
pub fn object_items<'a>(
    body: &'a Map<String, Value>,
    key: &str,
    invalid: impl Fn() -> ApiError,
) -> Result<Vec<&'a Map<String, Value>>, ApiError> {
    let items = body
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(&invalid)?;
    items
        .iter()
        .map(|item| item.as_object().ok_or_else(&invalid))
        .collect()
}

/// A value that is present and not null.
pub fn present<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|value| !value.is_null())
}

/// An object field: absent (or null) is `None`, anything but an object a 400.
pub fn optional_object(body: &Map<String, Value>, key: &str) -> Result<Option<Value>, ApiError> {
    match present(body, key) {
        None => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value.clone())),
        Some(_) => Err(bad_request(format!("{key} must be an object"))),
    }
}

/// The spellings of a body's message server: 1.7.2's `message_server_id`, its deprecated
/// `server_id` (1.7.2 copies it over), and the camelCase ones of the api-client and the seed.
pub const MESSAGE_SERVER_KEYS: [&str; 4] = [
    "message_server_id",
    "server_id",
    "messageServerId",
    "serverId",
];

/// The message server a body names, as a non-empty string.
pub fn message_server_field(body: &Map<String, Value>) -> Option<&str> {
    text_of(body, &MESSAGE_SERVER_KEYS)
}

/// `before`/`after` of the message lists: epoch milliseconds (1.7.2) or an ISO-8601 date (what
/// the web UI sends, which 1.7.2 misreads).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(millis) = text.parse::<i64>() {
        return DateTime::from_timestamp_millis(millis);
    }
    if let Ok(millis) = text.parse::<f64>() {
        return millis
            .is_finite()
            .then(|| DateTime::from_timestamp_millis(millis as i64))
            .flatten();
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// A `limit` query value: a positive integer, clamped to `max`; absent or unreadable → `default`.
pub fn limit(value: Option<&str>, default: u32, max: u32) -> u32 {
    value
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|limit| *limit > 0)
        .map_or(default, |limit| limit.min(i64::from(max)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_as_milliseconds_or_iso() {
        let expected = DateTime::from_timestamp_millis(1_763_895_600_209);
        assert_eq!(parse_time("1763895600209"), expected);
        assert_eq!(parse_time("2025-11-23T11:00:00.209Z"), expected);
        assert_eq!(parse_time("2025-11-23T12:00:00.209+01:00"), expected);
        assert_eq!(parse_time("1763895600209.0"), expected);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("NaN"), None);
    }

    #[test]
    fn limits_are_clamped_and_defaulted() {
        assert_eq!(limit(None, 50, 100), 50);
        assert_eq!(limit(Some("20"), 50, 100), 20);
        assert_eq!(limit(Some("5000"), 50, 100), 100);
        assert_eq!(limit(Some("0"), 50, 100), 50);
        assert_eq!(limit(Some("-3"), 50, 100), 50);
        assert_eq!(limit(Some("ten"), 50, 100), 50);
    }
}
