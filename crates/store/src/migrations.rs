//! Embedded migrations, one directory per backend with identical version names. They run on a dedicated
//! connection before the pool is built; [`run_pending`] and [`revert_all`] serve operators who migrate
//! separately (`StoreOptions::run_migrations = false`).

use crate::conn::{DbConn, DbUrl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use eliza_domain::StoreError;

#[cfg(feature = "sqlite")]
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
#[cfg(feature = "postgres")]
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies every pending migration; returns the versions applied. Blocking.
pub fn run_pending(url: &str) -> Result<Vec<String>, StoreError> {
    let url = DbUrl::parse(url)?;
    let mut conn = connect(&url)?;
    migrate(&mut conn, Direction::Up)
}

/// Reverts every applied migration, newest first; returns the versions reverted. Blocking.
pub fn revert_all(url: &str) -> Result<Vec<String>, StoreError> {
    let url = DbUrl::parse(url)?;
    let mut conn = connect(&url)?;
    migrate(&mut conn, Direction::Down)
}

fn connect(url: &DbUrl) -> Result<DbConn, StoreError> {
    url.establish()
        .map_err(|err| StoreError::Unavailable(err.to_string()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Up,
    Down,
}

/// Migrates `conn` with the migrations of its backend.
pub(crate) fn migrate(conn: &mut DbConn, direction: Direction) -> Result<Vec<String>, StoreError> {
    let versions = match conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => migrate_sqlite(c, direction)?,
        #[cfg(feature = "postgres")]
        DbConn::Postgres(c) => migrate_postgres(c, direction)?,
    };
    versions.map_err(|err| failed(&err))
}

fn failed(err: &dyn std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("migration failed: {err}"))
}

/// File databases are switched to WAL here, once (SQLite ignores the request for in-memory ones). Foreign
/// keys are off while the schema changes (a table rebuild would otherwise cascade) and back on afterwards,
/// for a connection that stays in use.
#[cfg(feature = "sqlite")]
fn migrate_sqlite(
    conn: &mut diesel::SqliteConnection,
    direction: Direction,
) -> Result<MigrationResult, StoreError> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = OFF;",
    )
    .map_err(|err| failed(&err))?;
    let result = apply(conn, SQLITE, direction);
    conn.batch_execute("PRAGMA foreign_keys = ON;")
        .map_err(|err| failed(&err))?;
    Ok(result)
}

/// Nodes of a cluster start together on one database: a session-level advisory lock makes them
/// migrate one after the other (the later ones find nothing pending) instead of racing on the DDL.
#[cfg(feature = "postgres")]
fn migrate_postgres(
    conn: &mut diesel::PgConnection,
    direction: Direction,
) -> Result<MigrationResult, StoreError> {
    use diesel::connection::SimpleConnection;
    /// Any constant shared by every eliza-server: "eliza-rs" in ASCII.
    const MIGRATION_LOCK: &str = "SELECT pg_advisory_lock(7308332269652767347)";
    const MIGRATION_UNLOCK: &str = "SELECT pg_advisory_unlock(7308332269652767347)";
    conn.batch_execute(MIGRATION_LOCK)
        .map_err(|err| failed(&err))?;
    let result = apply(conn, POSTGRES, direction);
    conn.batch_execute(MIGRATION_UNLOCK)
        .map_err(|err| failed(&err))?;
    Ok(result)
}

type MigrationResult = Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>>;

fn apply<C, DB>(conn: &mut C, source: EmbeddedMigrations, direction: Direction) -> MigrationResult
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
{
    let versions = match direction {
        Direction::Up => conn.run_pending_migrations(source)?,
        Direction::Down => conn.revert_all_migrations(source)?,
    };
    Ok(versions.iter().map(ToString::to_string).collect())
}
