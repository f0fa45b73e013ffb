//! Admin operations on users, clients and keys. The CLI, the admin pages and the admin HTTP API
//! call the same functions, so no rule is written twice. Like every core function they take a
//! connection (the async shell gets one through `db::run`); operations that change several rows
//! run in one transaction of their own ([`crate::db::write_tx`]), and password hashing happens
//! before any connection is taken.

pub mod audit;
pub mod built_in;
pub mod client_algs;
mod client_input;
pub mod client_view;
pub mod client_web;
pub mod clients;
pub mod factors;
pub mod groups;
pub mod keys;
pub mod password_links;
pub mod resources;
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
    /// Something that should not happen (corrupt stored data, a failed worker), with its cause.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Every password worker is busy and the queue is full: retry in a moment.
    #[error("too many password checks waiting; retry in a moment")]
    Busy,
}

impl AdminError {
    /// An internal failure while doing `context`, keeping its cause.
    pub fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

/// Runs an admin operation that hashes a password, in one of the password slots.
pub async fn with_passwords<T: Send + 'static>(
    passwords: &Passwords,
    f: impl FnOnce(&Passwords) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    passwords.run(f).await.map_err(|e| match e {
        crate::crypto::password::PasswordError::Busy => AdminError::Busy,
        other => AdminError::internal("password worker", other),
    })?
}
