//! Connections: the `MultiConnection` enum, URL-scheme dispatch, the r2d2 manager and transactions.

#[cfg(feature = "postgres")]
use diesel::PgConnection;
#[cfg(feature = "sqlite")]
use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::R2D2Connection;
use diesel::{Connection, ConnectionError};
use eliza_domain::StoreError;

/// One connection of either backend; the variant is chosen by [`DbUrl`], never by `MultiConnection::establish`
/// (which tries each backend in turn, and SQLite accepts any string as a file name).
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConn {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(PgConnection),
}

/// Runs `$body` with `$c` bound to the concrete inner connection, for SQL the `MultiBackend` cannot express
/// (ON CONFLICT). The body is compiled once per enabled backend.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            $crate::conn::DbConn::Sqlite($c) => $body,
            #[cfg(feature = "postgres")]
            $crate::conn::DbConn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL resolved to its backend and the string that backend's driver expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbUrl {
    pub backend: Backend,
    /// The PostgreSQL URL, or the SQLite file name (`:memory:` for an in-memory database).
    pub target: String,
}

const MEMORY: &str = ":memory:";

impl DbUrl {
    /// `postgres://`/`postgresql://` → PostgreSQL; `sqlite://<path>`, `sqlite:<path>`, `sqlite::memory:`, `:memory:` →
    /// SQLite. Anything else is refused, so that a typo never silently creates a new SQLite file.
    pub fn parse(url: &str) -> Result<DbUrl, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::enabled(Backend::Postgres, url.to_owned());
        }
        let path = if url == MEMORY {
            Some(MEMORY)
        } else {
            url.strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
        };
        match path {
            Some(path) if !path.is_empty() => Self::enabled(Backend::Sqlite, path.to_owned()),
            _ => Err(StoreError::Invalid(format!(
                "unsupported database URL {:?}: expected postgres://…, postgresql://…, sqlite://<path>, \
                 sqlite:<path>, sqlite::memory: or :memory:",
                redact(url)
            ))),
        }
    }

    fn enabled(backend: Backend, target: String) -> Result<DbUrl, StoreError> {
        let compiled = match backend {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
        };
        if compiled {
            Ok(DbUrl { backend, target })
        } else {
            Err(StoreError::Invalid(format!(
                "this build has no {} support (cargo feature `{}`)",
                backend.as_str(),
                backend.as_str()
            )))
        }
    }

    pub fn is_memory(&self) -> bool {
        self.backend == Backend::Sqlite && self.target == MEMORY
    }

    /// Opens a connection of the URL's backend.
    pub fn establish(&self) -> Result<DbConn, ConnectionError> {
        match self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => SqliteConnection::establish(&self.target).map(DbConn::Sqlite),
            #[cfg(feature = "postgres")]
            Backend::Postgres => PgConnection::establish(&self.target).map(DbConn::Postgres),
            #[allow(unreachable_patterns)]
            other => Err(ConnectionError::BadConnection(format!(
                "{} support is not compiled in",
                other.as_str()
            ))),
        }
    }
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The r2d2 manager: establishes the variant [`DbUrl`] picked and sets SQLite's per-connection pragmas.
#[derive(Debug)]
pub(crate) struct Manager {
    pub url: DbUrl,
}

/// Per-connection SQLite settings: foreign keys are off by default in SQLite, and concurrent writers must wait
/// instead of failing with `SQLITE_BUSY`.
#[cfg(feature = "sqlite")]
const SQLITE_ON_ACQUIRE: &str =
    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.url
            .establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Runs [`SQLITE_ON_ACQUIRE`] on every new SQLite connection.
#[derive(Debug)]
pub(crate) struct SqliteInit;

impl r2d2::CustomizeConnection<DbConn, diesel::r2d2::Error> for SqliteInit {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        match conn {
            #[cfg(feature = "sqlite")]
            DbConn::Sqlite(c) => c
                .batch_execute(SQLITE_ON_ACQUIRE)
                .map_err(diesel::r2d2::Error::QueryError),
            #[allow(unreachable_patterns)]
            _ => Ok(()),
        }
    }
}

/// A transaction for read-then-write work. On SQLite it starts with `BEGIN IMMEDIATE`, so the write lock is
/// taken up front (waiting on `busy_timeout`) instead of failing with `SQLITE_BUSY` when a read lock is upgraded.
pub(crate) fn write_transaction<T, E>(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match &mut *conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        #[cfg(feature = "postgres")]
        DbConn::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match work(conn) {
        Ok(value) => {
            DbConn::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            DbConn::rollback_transaction(conn)?;
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_by_scheme() {
        let pg = DbUrl::parse("postgres://u:p@h/db").unwrap();
        assert_eq!(pg.backend, Backend::Postgres);
        assert_eq!(pg.target, "postgres://u:p@h/db");
        assert_eq!(
            DbUrl::parse("postgresql://h/db").unwrap().backend,
            Backend::Postgres
        );
        for (url, target) in [
            ("sqlite://data/eliza.db", "data/eliza.db"),
            ("sqlite:///abs/eliza.db", "/abs/eliza.db"),
            ("sqlite:eliza.db", "eliza.db"),
            ("sqlite::memory:", ":memory:"),
            (":memory:", ":memory:"),
        ] {
            let parsed = DbUrl::parse(url).unwrap();
            assert_eq!(parsed.backend, Backend::Sqlite, "{url}");
            assert_eq!(parsed.target, target, "{url}");
        }
        assert!(DbUrl::parse(":memory:").unwrap().is_memory());
    }

    #[test]
    fn unknown_schemes_are_refused_without_leaking_passwords() {
        for url in [
            "mysql://u:secret@h/db",
            "eliza.db",
            "",
            "sqlite://",
            "postgress://x",
        ] {
            let err = DbUrl::parse(url).unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{url}: {err:?}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }
}
