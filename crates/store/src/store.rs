//! [`DieselStore`]: the pool, start-up (migrations, then the pool) and the blocking bridge every port method uses.

use crate::conn::{Backend, DbConn, DbUrl, Manager, SqliteInit};
use crate::error::DbResult;
use crate::migrations::{Direction, migrate};
use eliza_domain::StoreError;
use eliza_domain::store::PoolStatus;
use std::sync::Arc;
use std::time::Duration;

type Pool = r2d2::Pool<Manager>;

/// How to open a [`DieselStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Pool size; `None` picks the backend default (10 for PostgreSQL, 4 for a SQLite file). An in-memory SQLite
    /// database always uses exactly one connection, since each connection would otherwise see its own database.
    pub max_connections: Option<u32>,
    /// How long to wait for a pooled connection before failing with `StoreError::Unavailable`.
    pub connection_timeout: Duration,
    /// Apply pending migrations at start-up.
    pub run_migrations: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: None,
            connection_timeout: Duration::from_secs(5),
            run_migrations: true,
        }
    }
}

const POSTGRES_POOL: u32 = 10;
const SQLITE_POOL: u32 = 4;

/// The diesel implementation of every storage port, over SQLite or PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct DieselStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pool: Pool,
    backend: Backend,
    /// The HNSW graphs of the agents this node runs.
    pub(crate) vectors: eliza_vector_index::VectorIndexes,
}

impl std::fmt::Debug for DieselStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselStore")
            .field("backend", &self.inner.backend)
            .field("pool", &self.pool_state())
            .finish()
    }
}

impl DieselStore {
    /// Opens the database named by `url`, migrating it first unless told not to. The blocking work runs on
    /// tokio's blocking pool, so this is safe to await on any executor thread.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<DieselStore, StoreError> {
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || DieselStore::connect_blocking(&url, options))
            .await
            .map_err(|err| StoreError::Backend(format!("store start-up task failed: {err}")))?
    }

    /// The blocking work of [`DieselStore::connect`].
    fn connect_blocking(url: &str, options: StoreOptions) -> Result<DieselStore, StoreError> {
        let url = DbUrl::parse(url)?;
        let backend = url.backend;
        let memory = url.is_memory();
        if options.run_migrations && !memory {
            let mut conn = url
                .establish()
                .map_err(|err| StoreError::Unavailable(err.to_string()))?;
            migrate(&mut conn, Direction::Up)?;
        }
        let pool = build_pool(url.clone(), &options)?;
        if options.run_migrations && memory {
            // The database lives and dies with the pool's single connection, so it is migrated there.
            let mut conn = pool.get().map_err(unavailable)?;
            migrate(&mut conn, Direction::Up)?;
        }
        tracing::info!(backend = backend.as_str(), "store ready");
        Ok(DieselStore {
            inner: Arc::new(Inner {
                pool,
                backend,
                vectors: Default::default(),
            }),
        })
    }

    /// The backend the URL selected.
    pub fn backend_kind(&self) -> Backend {
        self.inner.backend
    }

    pub(crate) fn pool_state(&self) -> PoolStatus {
        let state = self.inner.pool.state();
        PoolStatus {
            connections: state.connections,
            idle: state.idle_connections,
            max_size: self.inner.pool.max_size(),
        }
    }

    /// The blocking bridge: runs `work` with a pooled connection on tokio's blocking pool, inside the caller's
    /// tracing span. The connection is taken inside the closure so waiting for one never blocks the executor.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> DbResult<T> + Send + 'static,
    {
        let pool = self.inner.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(unavailable)?;
            work(&mut conn).map_err(StoreError::from)
        })
        .await
        .map_err(|err| StoreError::Backend(format!("database task failed: {err}")))?
    }
}

fn build_pool(url: DbUrl, options: &StoreOptions) -> Result<Pool, StoreError> {
    let memory = url.is_memory();
    let default_size = match url.backend {
        Backend::Postgres => POSTGRES_POOL,
        Backend::Sqlite => SQLITE_POOL,
    };
    let max_size = if memory {
        1
    } else {
        options.max_connections.unwrap_or(default_size).max(1)
    };
    let mut builder = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(options.connection_timeout);
    if url.backend == Backend::Sqlite {
        builder = builder.connection_customizer(Box::new(SqliteInit));
    }
    if memory {
        builder = builder.idle_timeout(None).max_lifetime(None);
    }
    builder.build(Manager { url }).map_err(unavailable)
}

fn unavailable(err: r2d2::Error) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use eliza_domain::store::StoreInfo;

    #[tokio::test]
    async fn an_exhausted_pool_is_unavailable() {
        let options = StoreOptions {
            connection_timeout: Duration::from_millis(100),
            ..StoreOptions::default()
        };
        let store = DieselStore::connect(":memory:", options).await.unwrap();
        let held = store.inner.pool.get().unwrap();
        let err = store.ping().await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        drop(held);
        store.ping().await.unwrap();
    }
}
