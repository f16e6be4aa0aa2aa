//! Column codecs between the portable schema and domain types: ids as lowercase hyphenated text,
//! UTC `NaiveDateTime`s, JSON as text and embeddings as little-endian f32 bytes.

use crate::error::corrupt;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use eliza_domain::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Anything stored as an id column.
pub(crate) trait AsUuid: Copy {
    fn uuid(self) -> Uuid;
}

impl AsUuid for Uuid {
    fn uuid(self) -> Uuid {
        self
    }
}

macro_rules! typed_ids {
    ($($name:ident),*) => {
        $(impl AsUuid for eliza_domain::ids::$name {
            fn uuid(self) -> Uuid {
                self.0
            }
        })*
    };
}

typed_ids!(
    AgentId,
    MessageServerId,
    ChannelId,
    MessageId,
    EntityId,
    WorldId,
    RoomId,
    MemoryId,
    LogId,
    TaskId,
    RelationshipId
);

/// An id as stored: lowercase and hyphenated, whatever the caller's typed id.
pub(crate) fn id_text(id: impl AsUuid) -> String {
    id.uuid().hyphenated().to_string()
}

pub(crate) fn opt_id_text(id: Option<impl AsUuid>) -> Option<String> {
    id.map(id_text)
}

/// Parses a stored id into any typed id.
pub(crate) fn parse_id<T: From<Uuid>>(column: &str, text: &str) -> Result<T, StoreError> {
    Uuid::parse_str(text)
        .map(T::from)
        .map_err(|err| corrupt(column, format_args!("{text:?}: {err}")))
}

pub(crate) fn parse_opt_id<T: From<Uuid>>(
    column: &str,
    text: Option<&str>,
) -> Result<Option<T>, StoreError> {
    text.map(|text| parse_id(column, text)).transpose()
}

/// Timestamps are stored as UTC without zone, truncated to microseconds (PostgreSQL's precision) so both
/// backends return the same value.
pub(crate) fn db_time(time: DateTime<Utc>) -> NaiveDateTime {
    time.naive_utc().trunc_subsecs(6)
}

pub(crate) fn opt_db_time(time: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    time.map(db_time)
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, in microseconds since the epoch.
const EARLIEST_FILTER_MICROS: i64 = -62_167_219_200_000_000;
const LATEST_FILTER_MICROS: i64 = 253_402_300_799_999_999;

/// A time a query compares with (`before`, `after`), clamped to the years 0–9999: PostgreSQL refuses
/// times before 4713 BC, and SQLite compares times as text, which sorts only with four-digit years.
/// The times this server writes lie inside that range, so the clamped bound selects the same rows.
pub(crate) fn filter_time(time: DateTime<Utc>) -> NaiveDateTime {
    let micros = time
        .timestamp_micros()
        .clamp(EARLIEST_FILTER_MICROS, LATEST_FILTER_MICROS);
    DateTime::from_timestamp_micros(micros).map_or_else(|| db_time(time), db_time)
}

pub(crate) fn opt_filter_time(time: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    time.map(filter_time)
}

pub(crate) fn utc(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|err| StoreError::Invalid(format!("not storable as JSON: {err}")))
}

pub(crate) fn opt_to_json<T: Serialize>(value: Option<&T>) -> Result<Option<String>, StoreError> {
    value.map(to_json).transpose()
}

pub(crate) fn from_json<T: DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| corrupt(column, err))
}

pub(crate) fn opt_from_json<T: DeserializeOwned>(
    column: &str,
    text: Option<&str>,
) -> Result<Option<T>, StoreError> {
    text.map(|text| from_json(column, text)).transpose()
}

/// Little-endian f32s; non-finite values become 0 as in 1.7.2, so similarity stays defined.
pub(crate) fn encode_vector(vector: &[f32]) -> Vec<u8> {
    vector
        .iter()
        .map(|x| if x.is_finite() { *x } else { 0.0 })
        .flat_map(f32::to_le_bytes)
        .collect()
}

pub(crate) fn decode_vector(dim: i32, bytes: &[u8]) -> Result<Vec<f32>, StoreError> {
    let expected = usize::try_from(dim).ok().and_then(|dim| dim.checked_mul(4));
    if expected != Some(bytes.len()) {
        return Err(corrupt(
            "embeddings.vector",
            format_args!("{} bytes for dimension {dim}", bytes.len()),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
        .collect())
}

/// A vector's dimension as stored.
pub(crate) fn vector_dim(vector: &[f32]) -> Result<i32, StoreError> {
    i32::try_from(vector.len()).map_err(|_| {
        StoreError::Invalid(format!(
            "embedding of {} dimensions is too large",
            vector.len()
        ))
    })
}

/// An affected-row count as the ports report it.
pub(crate) fn row_count(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}

/// A limit or offset as SQL wants it.
pub(crate) fn sql_count(count: u32) -> i64 {
    i64::from(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_reject_bad_lengths() {
        let v = vec![1.5, -2.0, 0.25];
        assert_eq!(decode_vector(3, &encode_vector(&v)).unwrap(), v);
        assert!(decode_vector(2, &encode_vector(&v)).is_err());
        assert!(decode_vector(-1, &[]).is_err());
        assert_eq!(
            decode_vector(2, &encode_vector(&[f32::NAN, f32::INFINITY])).unwrap(),
            vec![0.0, 0.0]
        );
    }

    #[test]
    fn times_keep_microseconds() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            utc(db_time(t)).to_rfc3339(),
            "2026-01-02T03:04:05.123456+00:00"
        );
    }

    #[test]
    fn filter_times_are_clamped_to_four_digit_years() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(
            utc(filter_time(DateTime::<Utc>::MIN_UTC)),
            at("0000-01-01T00:00:00Z")
        );
        assert_eq!(
            utc(filter_time(DateTime::<Utc>::MAX_UTC)),
            at("9999-12-31T23:59:59.999999Z")
        );
        let inside = at("2026-01-02T03:04:05.123456Z");
        assert_eq!(filter_time(inside), db_time(inside));
    }

    #[test]
    fn corrupt_ids_and_json_are_backend_errors() {
        assert!(matches!(
            parse_id::<Uuid>("agents.id", "nope"),
            Err(StoreError::Backend(_))
        ));
        assert!(matches!(
            from_json::<Vec<String>>("agents.topics", "{"),
            Err(StoreError::Backend(_))
        ));
    }
}
