//! Which database a `TestApp` runs on. SQLite in the app's temp dir by default; with
//! `ELIZA_E2E_BACKEND=postgres`, a fresh schema `t_<uuid>` in the PostgreSQL database named by
//! `TEST_DATABASE_URL` (as the store's contract suite does), dropped again with the app.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use std::path::Path;

/// `sqlite` (the default) or `postgres`.
pub const BACKEND_VAR: &str = "ELIZA_E2E_BACKEND";
/// The PostgreSQL database the schemas are created in.
pub const URL_VAR: &str = "TEST_DATABASE_URL";

/// Keeps one app's PostgreSQL schema alive and drops it (`DROP SCHEMA … CASCADE`) when dropped. Holds
/// nothing for SQLite, whose file goes away with the app's temp dir.
#[derive(Debug)]
pub struct DatabaseGuard {
    postgres: Option<Schema>,
}

#[derive(Debug)]
struct Schema {
    base_url: String,
    name: String,
}

/// The database URL for one app whose temp dir is `dir`, and the guard that cleans it up. The guard must
/// outlive the store (declare it after the store's owner in a struct).
pub fn database_url(dir: &Path) -> (String, DatabaseGuard) {
    match std::env::var(BACKEND_VAR).as_deref() {
        Err(_) | Ok("" | "sqlite") => (
            format!("sqlite://{}", dir.join("test.db").display()),
            DatabaseGuard { postgres: None },
        ),
        Ok("postgres") => postgres_schema(),
        Ok(other) => panic!("{BACKEND_VAR}={other:?}: expected `sqlite` or `postgres`"),
    }
}

/// Creates a schema `t_<uuid>` and returns the URL whose `search_path` is that schema.
fn postgres_schema() -> (String, DatabaseGuard) {
    let base_url = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{BACKEND_VAR}=postgres needs {URL_VAR} (a PostgreSQL URL, e.g. \
             TEST_DATABASE_URL=$(scripts/test-postgres))"
        ),
    };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::establish(&base_url)
        .unwrap_or_else(|err| panic!("cannot connect to {URL_VAR}: {err}"));
    conn.batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap_or_else(|err| panic!("CREATE SCHEMA {name}: {err}"));
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-c%20search_path%3D{name}");
    (
        url,
        DatabaseGuard {
            postgres: Some(Schema { base_url, name }),
        },
    )
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Some(Schema { base_url, name }) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(base_url)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
        }
    }
}
