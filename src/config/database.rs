//! `[database]`: the URL parsed into a [`Backend`] by its scheme, the pool's bounds, and a
//! `Debug` that masks the URL's password.

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    #[serde(deserialize_with = "super::parse::database_url")]
    pub url: String,
    #[serde(deserialize_with = "super::parse::non_zero_u32")]
    pub pool_size: NonZeroU32,
    #[serde(deserialize_with = "super::parse::non_zero_u64")]
    pub connect_timeout_secs: NonZeroU64,
    #[serde(deserialize_with = "super::parse::poll_interval_ms")]
    pub change_poll_interval_ms: u64,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("change_poll_interval_ms", &self.change_poll_interval_ms)
            .finish()
    }
}

/// Which backend `database.url` names, parsed from its scheme (never guessed by trying, which
/// could turn a PostgreSQL URL into a SQLite file name).
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
            Self::Postgres(url) => format!("PostgreSQL at {}", redact_url(url)),
            Self::Sqlite(path) => format!("SQLite file {}", path.display()),
        }
    }
}

/// Masks the passwords of a URL such as `postgres://user:secret@host/db` or
/// `postgres://user@host/db?password=secret` (libpq accepts both).
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return raw.to_owned();
    };
    if url.password().is_some() {
        // Setting a password only fails on URLs that cannot have one, excluded here.
        let _ = url.set_password(Some("REDACTED"));
    }
    let secret = |key: &str| key.eq_ignore_ascii_case("password");
    if url.query_pairs().any(|(key, _)| secret(&key)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if secret(&key) {
                    "REDACTED".into()
                } else {
                    value
                };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}
