//! Synchronous query functions, one module per aggregate. Each takes a pooled connection and returns
//! domain types; the row structs and their conversions stay private to the module.

pub(crate) mod agents;
pub(crate) mod channels;
pub(crate) mod cluster;
pub(crate) mod logs;
pub(crate) mod memories;
pub(crate) mod message_servers;
pub(crate) mod messages;
pub(crate) mod records;
pub(crate) mod worlds;

use crate::error::DbResult;
use eliza_domain::StoreError;

/// Converts loaded rows into domain values, failing on the first corrupt row.
pub(crate) fn convert_all<R, T>(rows: Vec<R>) -> DbResult<Vec<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter()
        .map(|row| T::try_from(row).map_err(Into::into))
        .collect()
}

/// Converts an optional row.
pub(crate) fn convert_opt<R, T>(row: Option<R>) -> DbResult<Option<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    row.map(T::try_from).transpose().map_err(Into::into)
}

/// Inserts the row unless it would violate a unique key; returns whether it was inserted. `MultiBackend`
/// has no ON CONFLICT, so the statement is built for the concrete backend.
macro_rules! insert_ignore {
    ($conn:expr, $table:expr, $values:expr) => {
        $crate::conn::on_backend!($conn, |c| {
            diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c)
        })
        .map(|inserted| inserted > 0)
    };
}
pub(crate) use insert_ignore;

/// Inserts the row or, when `$target` already exists, applies `$changes` to it.
macro_rules! upsert {
    ($conn:expr, $table:expr, $values:expr, $target:expr, $changes:expr) => {
        $crate::conn::on_backend!($conn, |c| {
            diesel::insert_into($table)
                .values($values)
                .on_conflict($target)
                .do_update()
                .set($changes)
                .execute(c)
        })
    };
}
pub(crate) use upsert;
