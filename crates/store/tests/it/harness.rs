//! Fresh databases per test: a temporary SQLite file, or a throw-away PostgreSQL schema when
//! `TEST_DATABASE_URL` is set. Raw SQL helpers let tests look below the ports (orphans, corrupt rows).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use eliza_store::{DieselStore, StoreOptions};
use std::ops::Deref;

pub struct TestDb {
    pub store: DieselStore,
    pub url: String,
    /// Dropped after `store`, so the pool is closed before the database goes away.
    _guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Postgres(#[allow(dead_code)] PgSchema),
}

impl Deref for TestDb {
    type Target = DieselStore;

    fn deref(&self) -> &DieselStore {
        &self.store
    }
}

pub fn test_options() -> StoreOptions {
    StoreOptions {
        max_connections: Some(4),
        ..StoreOptions::default()
    }
}

/// Runs `$body` on a new concrete connection to the test database.
macro_rules! with_raw_conn {
    ($db:expr, |$conn:ident| $body:expr) => {{
        match $db.url.strip_prefix("sqlite://") {
            Some(path) => {
                let $conn = &mut SqliteConnection::establish(path).expect("sqlite connection");
                $body
            }
            #[cfg(feature = "postgres")]
            None => {
                let $conn = &mut PgConnection::establish(&$db.url).expect("postgres connection");
                $body
            }
            #[cfg(not(feature = "postgres"))]
            None => unreachable!("postgres support is not compiled in"),
        }
    }};
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let (dir, url) = sqlite_url();
        let store = DieselStore::connect(&url, test_options())
            .await
            .expect("sqlite store");
        TestDb {
            store,
            url,
            _guard: Guard::Sqlite(dir),
        }
    }

    /// `None` (and the test passes vacuously) when `TEST_DATABASE_URL` is not set.
    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Option<TestDb> {
        let schema = postgres_schema()?;
        let store = DieselStore::connect(&schema.url, test_options())
            .await
            .expect("postgres store");
        Some(TestDb {
            store,
            url: schema.url.clone(),
            _guard: Guard::Postgres(schema),
        })
    }

    /// Rows in `table`, read with a separate connection.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let query = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"));
        with_raw_conn!(self, |conn| query
            .get_result::<Count>(conn)
            .expect("count")
            .n)
    }

    /// Runs raw SQL below the ports.
    pub fn execute(&self, sql: &str) {
        with_raw_conn!(self, |conn| conn.batch_execute(sql).expect(sql))
    }
}

/// A throw-away PostgreSQL schema, dropped with this value.
#[cfg(feature = "postgres")]
pub struct PgSchema {
    /// `TEST_DATABASE_URL` with `search_path` set to the schema.
    pub url: String,
    base: String,
    schema: String,
}

#[cfg(feature = "postgres")]
impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.base) {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// A fresh temporary directory and the `sqlite://` URL of a database file inside it.
pub fn sqlite_url() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("eliza.db").display());
    (dir, url)
}

/// Creates a schema `t_<random>` in `TEST_DATABASE_URL`.
#[cfg(feature = "postgres")]
pub fn postgres_schema() -> Option<PgSchema> {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL test skipped");
        return None;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::establish(&base).expect("TEST_DATABASE_URL connection");
    conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    Some(PgSchema { url, base, schema })
}
