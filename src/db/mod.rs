//! Storage: one diesel [`DbConnection`] over PostgreSQL or SQLite, an r2d2 pool, the embedded
//! migrations, and [`run`]/[`run_tx`], the only bridge from async handlers to blocking diesel.

pub mod audit_events;
pub mod change_generations;
pub mod clients;
pub mod codes;
pub mod consents;
mod convert;
pub mod email_tokens;
pub mod groups;
pub mod keys;
pub mod login_throttle;
pub mod models;
mod pool;
pub mod purge;
pub mod refresh_tokens;
pub mod resources;
pub mod schema;
pub mod sessions;
pub mod sqlite_file;
pub mod used_requests;
pub mod user_factors;
pub mod users;

use diesel::pg::PgConnection;
use diesel::r2d2;
use diesel::sqlite::SqliteConnection;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

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

pub use pool::{
    cli_pool, note_client_write, pool, run, run_tx, transaction, write_tx, Manager, Pool,
};

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
    /// Every pooled connection stayed busy for the whole connection timeout.
    #[error("database saturated: no connection became free in time")]
    Saturated,
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// The database is known to be down (a connection failed a moment ago) and another request is
    /// already probing it: answered at once instead of waiting out the connection timeout.
    #[error("database down; failing fast until a probe succeeds")]
    Down,
}

impl DbError {
    /// True when the database cannot be reached (no pooled connection in time, or the connection
    /// was lost): answered as 503 `temporarily_unavailable`, not as an internal error.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        if let Self::Query(Error::DatabaseError(DatabaseErrorKind::Unknown, info)) = self {
            return is_storage_full(info.message()) || is_busy(info.message());
        }
        matches!(
            self,
            Self::Unavailable(_)
                | Self::Saturated
                | Self::Down
                | Self::Connect(_)
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

/// SQLite's messages for a write that found no room (SQLITE_FULL: disk or `max_page_count`
/// full) or could not reach the disk (SQLITE_IOERR, what a full disk gives the WAL), and
/// PostgreSQL's "could not extend file" / "No space left on device" (SQLSTATE 53100).
fn is_storage_full(message: &str) -> bool {
    [
        "database or disk is full",
        "disk I/O error",
        "No space left on device",
        "could not extend file",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// SQLite's message when its write lock stayed taken for the whole `busy_timeout` (SQLITE_BUSY):
/// the database is saturated, which is 503 and `Retry-After`, not an internal error.
fn is_busy(message: &str) -> bool {
    message.contains("database is locked")
}

/// Which backend `database.url` names: parsed by the configuration, opened here.
pub use crate::config::Backend;

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
    transaction_lock(conn, MIGRATION_LOCK + 1)
}

/// Like [`lock_for_key_change`], for open client registrations, so that their global cap
/// (`registration.open_max_clients`) holds across replicas.
pub fn lock_for_open_registration(conn: &mut DbConnection) -> Result<(), DbError> {
    transaction_lock(conn, MIGRATION_LOCK + 2)
}

/// Like [`lock_for_key_change`], for sending one-time email links, so that their hourly limits
/// (`email.per_account_per_hour`, `email.per_address_per_hour`) hold under concurrent requests
/// and across replicas.
pub fn lock_for_email_links(conn: &mut DbConnection) -> Result<(), DbError> {
    transaction_lock(conn, MIGRATION_LOCK + 3)
}

fn transaction_lock(conn: &mut DbConnection, key: i64) -> Result<(), DbError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})")).execute(pg)?;
        }
        DbConnection::Sqlite(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn unknown(message: &str) -> DbError {
        DbError::Query(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn a_write_lock_held_past_the_busy_timeout_is_unavailable_not_an_internal_error() {
        assert!(unknown("database is locked").is_unavailable());
        assert!(unknown("database or disk is full").is_unavailable());
        assert!(!unknown("no such table: users").is_unavailable());
    }
}
