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
    Postgres {
        base: String,
        schema: String,
    },
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
        let (base, schema, url) = postgres_schema()?;
        let guard = Guard::Postgres { base, schema };
        let store = DieselStore::connect(&url, test_options())
            .await
            .expect("postgres store");
        Some(TestDb {
            store,
            url,
            _guard: guard,
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

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        if let Guard::Postgres { base, schema } = self
            && let Ok(mut conn) = PgConnection::establish(base)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// A fresh temporary directory and the `sqlite://` URL of a database file inside it.
pub fn sqlite_url() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("eliza.db").display());
    (dir, url)
}

/// Creates a schema `t_<random>` and returns `(base url, schema, url with that search_path)`.
#[cfg(feature = "postgres")]
pub fn postgres_schema() -> Option<(String, String, String)> {
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
    Some((base, schema, url))
}
