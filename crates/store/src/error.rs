//! Internal error plumbing: query functions use `?` on both diesel and domain errors, and the
//! result is mapped to [`StoreError`] once, at the port boundary.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use eliza_domain::StoreError;

/// A diesel error or an already-classified store error.
#[derive(Debug)]
pub(crate) enum DbError {
    Diesel(DieselError),
    Store(StoreError),
}

pub(crate) type DbResult<T> = Result<T, DbError>;

impl From<DieselError> for DbError {
    fn from(err: DieselError) -> Self {
        DbError::Diesel(err)
    }
}

impl From<StoreError> for DbError {
    fn from(err: StoreError) -> Self {
        DbError::Store(err)
    }
}

impl From<DbError> for StoreError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Store(err) => err,
            DbError::Diesel(err) => map_diesel(err),
        }
    }
}

/// NotFound → NotFound, unique and foreign-key violations → Conflict, everything else → Backend.
pub(crate) fn map_diesel(err: DieselError) -> StoreError {
    match err {
        DieselError::NotFound => StoreError::NotFound {
            entity: "row",
            id: String::new(),
        },
        DieselError::DatabaseError(
            kind @ (DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation),
            info,
        ) => {
            let what = match kind {
                DatabaseErrorKind::UniqueViolation => "already exists",
                _ => "references a missing row",
            };
            StoreError::Conflict(format!("{what}: {}", info.message()))
        }
        // PostgreSQL refuses NUL (and other bytes invalid in UTF-8) in text columns.
        DieselError::DatabaseError(_, info) if info.message().contains("invalid byte sequence") => {
            StoreError::Invalid(format!(
                "text the database cannot store: {}",
                info.message()
            ))
        }
        other => StoreError::Backend(other.to_string()),
    }
}

/// Stored data that does not decode into the domain type.
pub(crate) fn corrupt(column: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("corrupt value in {column}: {detail}"))
}
