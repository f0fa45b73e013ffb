//! Storage: one diesel [`DbConnection`] over PostgreSQL or SQLite, an r2d2 pool, the embedded
//! migrations, and [`run`]/[`run_tx`], the only bridge from async handlers to blocking diesel.

pub mod clients;
pub mod codes;
pub mod consents;
pub mod keys;
pub mod login_throttle;
pub mod models;
pub mod refresh_tokens;
pub mod requests;
pub mod schema;
pub mod sessions;
pub mod sqlite_file;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseSettings;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Arbitrary constant naming Latchkey's PostgreSQL advisory lock for schema changes.
const MIGRATION_LOCK: i64 = 0x4c61_7463_686b_6579;

/// A connection to whichever backend `database.url` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The pool every request borrows from.
pub type Pool = r2d2::Pool<Manager>;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time: the database is down or saturated.
    #[error("database unavailable: {0}")]
    Unavailable(#[from] r2d2::PoolError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("blocking task failed: {0}")]
    Blocking(String),
}

impl DbError {
    /// True when the database cannot be reached (no pooled connection in time, or the connection
    /// was lost): answered as 503 `temporarily_unavailable`, not as an internal error.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            Self::Unavailable(_)
                | Self::Query(
                    Error::DatabaseError(
                        DatabaseErrorKind::ClosedConnection
                            | DatabaseErrorKind::UnableToSendCommand,
                        _,
                    ) | Error::BrokenTransactionManager
                )
        )
    }
}

/// Which backend a URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres(String),
    Sqlite(PathBuf),
}

impl Backend {
    /// `postgres://…`/`postgresql://…` or `sqlite://relative/path`, `sqlite:///absolute/path`.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(
                    "sqlite:// needs a file path, for example sqlite://data/latchkey.db".into(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err("expected a URL starting with postgres:// or sqlite://".into())
    }

    /// Where the data lives, for the start-up log line (credentials masked).
    pub fn describe(&self) -> String {
        match self {
            Self::Postgres(url) => format!("PostgreSQL at {}", crate::config::redact_url(url)),
            Self::Sqlite(path) => format!("SQLite file {}", path.display()),
        }
    }
}

/// Opens connections for the pool, choosing the backend by URL scheme (never by trial and error,
/// which could turn a Postgres URL into a SQLite file name).
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.backend {
            Backend::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// A pool of one connection opened on demand, for the CLI. A short-lived process must not exit
/// while a background thread is still opening a connection (libpq and OpenSSL tear down their
/// global state at exit, under the thread's feet), so nothing is opened ahead of need.
pub fn cli_pool(settings: &DatabaseSettings) -> Result<Pool, DbError> {
    let single = DatabaseSettings {
        pool_size: 1,
        ..settings.clone()
    };
    build_pool(&single, Some(0))
}

/// Builds the pool. Connections are opened lazily, so an unreachable database does not stop the
/// process from starting its health endpoint; callers that need the database check it themselves.
pub fn pool(settings: &DatabaseSettings) -> Result<Pool, DbError> {
    build_pool(settings, Some(1))
}

fn build_pool(settings: &DatabaseSettings, min_idle: Option<u32>) -> Result<Pool, DbError> {
    let backend = Backend::from_url(&settings.url).map_err(DbError::Migration)?;
    if let Backend::Sqlite(path) = &backend {
        sqlite_file::prepare(path)?;
    }
    let pool = r2d2::Pool::builder()
        .max_size(settings.pool_size)
        .min_idle(min_idle)
        .connection_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .test_on_check_out(false)
        .build_unchecked(Manager { backend });
    Ok(pool)
}

/// Applies pending embedded migrations; on PostgreSQL under an advisory lock so replicas starting
/// together do not race. Returns the versions applied.
pub fn migrate(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConnection::Postgresql(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .execute(pg)?;
            result
        }
        DbConnection::Sqlite(lite) => lite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(ToString::to_string).collect::<Vec<_>>()),
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

/// Takes an exclusive, transaction-scoped lock so that only one process performs a one-off change
/// (creating or rotating signing keys). Call first inside [`transaction`] or [`run_tx`].
/// PostgreSQL: an advisory lock. SQLite: nothing more to do, since those transactions already
/// hold SQLite's single write lock from their first statement (`begin_write`).
pub fn lock_for_key_change(conn: &mut DbConnection) -> Result<(), DbError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            diesel::sql_query(format!(
                "SELECT pg_advisory_xact_lock({})",
                MIGRATION_LOCK + 1
            ))
            .execute(pg)?;
        }
        DbConnection::Sqlite(_) => {}
    }
    Ok(())
}

/// Deletes what has expired: sessions, pending requests, codes, refresh tokens, and deny-list
/// entries of access tokens that expired anyway. Returns the number of rows removed.
pub fn purge_expired(conn: &mut DbConnection, now: i64) -> Result<usize, DbError> {
    Ok(sessions::delete_expired(conn, now)?
        + requests::delete_expired(conn, now)?
        + codes::delete_expired(conn, now - 86_400)?
        + refresh_tokens::purge_expired(conn, now)?
        + refresh_tokens::purge_denied(conn, now)?
        + login_throttle::delete_expired(conn, now)?)
}

/// Runs `f` with a pooled connection on the blocking thread pool. The connection is taken inside the
/// closure, so no async task ever holds one.
pub async fn run<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(DbError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| E::from(DbError::Blocking(e.to_string())))?
}

/// Makes a SQLite transaction a writer from its first statement. SQLite's default (deferred)
/// transaction reads first and upgrades to a writer at its first write, and that upgrade fails at
/// once with "database is locked" when another connection wrote in between; taking the write
/// lock up front lets `busy_timeout` wait for it instead. PostgreSQL needs nothing.
fn begin_write(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    if let DbConnection::Sqlite(lite) = conn {
        diesel::sql_query("UPDATE signing_keys SET state = state WHERE kid = ''").execute(lite)?;
    }
    Ok(())
}

/// Like [`run`], inside one transaction: committed when `f` returns `Ok`, rolled back otherwise.
pub async fn run_tx<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + From<diesel::result::Error> + Send + 'static,
{
    run(pool, move |conn| {
        conn.transaction(|conn| {
            begin_write(conn)?;
            f(conn)
        })
    })
    .await
}

/// The synchronous form of [`run_tx`], for the CLI.
pub fn transaction<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DbError> + From<diesel::result::Error>,
{
    let mut conn = pool.get().map_err(DbError::from)?;
    let conn: &mut DbConnection = &mut conn;
    conn.transaction(|conn| {
        begin_write(conn)?;
        f(conn)
    })
}
