//! Start-up and migrations: URL dispatch, migration parity and up → down → up per backend.

use crate::harness::{sqlite_url, test_options};
use eliza_domain::StoreError;
use eliza_domain::store::{AgentStore, StoreInfo};
use eliza_store::{DieselStore, StoreOptions, migrations};
use std::path::PathBuf;
use std::time::Duration;

fn migration_versions(backend: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend);
    let mut versions: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    entry.path().join(file).is_file(),
                    "{:?} lacks {file}",
                    entry.path()
                );
            }
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    versions.sort();
    versions
}

#[test]
fn migration_directories_have_the_same_versions() {
    let sqlite = migration_versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_versions("postgres"));
}

#[tokio::test]
async fn bad_url_schemes_are_refused() {
    for url in ["mysql://root@localhost/eliza", "eliza.db", "", "sqlite://"] {
        let err = DieselStore::connect(url, StoreOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{url}: {err:?}");
    }
    assert!(matches!(
        migrations::run_pending("ftp://x"),
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    let options = StoreOptions {
        connection_timeout: Duration::from_millis(300),
        ..StoreOptions::default()
    };
    let err = DieselStore::connect("postgres://nobody@127.0.0.1:1/none", options)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn sqlite_in_memory_urls_work_on_one_connection() {
    for url in [":memory:", "sqlite::memory:"] {
        let store = DieselStore::connect(url, test_options()).await.unwrap();
        assert_eq!(store.pool_status().max_size, 1);
        let agent = crate::fixtures::agent("Mem");
        assert!(store.create_agent(&agent).await.unwrap());
        assert_eq!(store.list_agents().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn sqlite_without_startup_migrations_needs_run_pending() {
    let (_dir, url) = sqlite_url();
    let options = StoreOptions {
        run_migrations: false,
        ..test_options()
    };
    let store = DieselStore::connect(&url, options).await.unwrap();
    assert!(matches!(
        store.list_agents().await,
        Err(StoreError::Backend(_))
    ));
    assert_eq!(
        migrations::run_pending(&url).unwrap().len(),
        migration_versions("sqlite").len()
    );
    assert!(migrations::run_pending(&url).unwrap().is_empty());
    assert!(store.list_agents().await.unwrap().is_empty());
}

/// Applies, reverts and re-applies every migration, then checks the schema works.
async fn up_down_up(url: &str) {
    let versions = migration_versions("sqlite");
    let applied = migrations::run_pending(url).unwrap();
    assert_eq!(applied.len(), versions.len());
    let mut reverted = migrations::revert_all(url).unwrap();
    reverted.reverse();
    assert_eq!(reverted, applied);
    assert_eq!(migrations::run_pending(url).unwrap(), applied);
    let options = StoreOptions {
        run_migrations: false,
        ..test_options()
    };
    let store = DieselStore::connect(url, options).await.unwrap();
    store.ping().await.unwrap();
    assert!(
        store
            .create_agent(&crate::fixtures::agent("After"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sqlite_migrations_go_up_down_and_up_again() {
    let (_dir, url) = sqlite_url();
    up_down_up(&url).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_migrations_go_up_down_and_up_again() {
    if let Some(schema) = crate::harness::postgres_schema() {
        up_down_up(&schema.url).await;
    }
}

#[tokio::test]
async fn sqlite_files_use_wal_and_foreign_keys() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let db = crate::harness::TestDb::sqlite().await;
    let path = db.url.strip_prefix("sqlite://").unwrap();
    let mut conn = diesel::SqliteConnection::establish(path).unwrap();
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    // Foreign keys are enforced on pooled connections: a room needs its agent.
    let room = crate::fixtures::room(eliza_domain::AgentId::new_random(), None);
    let err = eliza_domain::store::WorldStore::ensure_room(&*db, &room)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}
