//! Admin operations on users, clients and keys. The CLI calls these today; the admin HTTP API
//! calls the same functions, so no rule is written twice.

pub mod clients;
pub mod keys;
pub mod users;

use crate::crypto::password::Passwords;
use crate::db::DbError;

/// Why an admin operation failed; messages are fit to show the admin.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
    /// Every password worker is busy and the queue is full: retry in a moment.
    #[error("too many password checks waiting; retry in a moment")]
    Busy,
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

/// Runs an admin operation on the blocking pool (from the admin API and pages).
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
}

/// Runs an admin operation that hashes a password, in one of the password slots.
pub async fn with_passwords<T: Send + 'static>(
    passwords: &Passwords,
    f: impl FnOnce(&Passwords) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    passwords.run(f).await.map_err(|e| match e {
        crate::crypto::password::PasswordError::Busy => AdminError::Busy,
        other => AdminError::Internal(other.to_string()),
    })?
}
