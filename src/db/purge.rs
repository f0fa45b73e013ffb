//! The background purge of expired rows (DESIGN.md §5b): only the background job deletes what
//! has expired, never a request. Each statement deletes at most one batch of rows found through
//! the table's expiry index (`DELETE … WHERE key IN (SELECT key … WHERE expires < ? LIMIT n)`),
//! in a short transaction of its own, with a pause between batches, so that SQLite's single write
//! lock is never held for long and requests keep their turn.

use std::time::Duration;

use diesel::prelude::*;

use super::{DbConnection, DbError, Pool};

/// Authorization codes are kept this long past their expiry: a replay of a used code within
/// that time still revokes what the code issued (its access token, and through the family its
/// refresh tokens); later, the code is refused as unknown. An hour outlasts any access token a
/// code issues by default, and a code is useless to anyone once it expired.
pub const CODE_REPLAY_GRACE_SECS: i64 = 3600;
/// Refresh tokens are kept a day past their family's expiry, so that a late reuse is still
/// recognised as reuse rather than as an unknown token.
pub const REFRESH_REUSE_GRACE_SECS: i64 = 86_400;
/// One-time email links are kept an hour past their expiry: the hourly limits on sending them
/// (`email.per_account_per_hour`, `email.per_address_per_hour`) count the links of the last hour.
pub const EMAIL_TOKEN_GRACE_SECS: i64 = 3600;

/// What expires, one table each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    Sessions,
    UsedRequests,
    Codes,
    RefreshTokens,
    FamilyAccessTokens,
    RevokedAccessTokens,
    LoginThrottle,
    EmailTokens,
}

impl Expired {
    pub const ALL: [Self; 8] = [
        Self::Sessions,
        Self::UsedRequests,
        Self::Codes,
        Self::RefreshTokens,
        Self::FamilyAccessTokens,
        Self::RevokedAccessTokens,
        Self::LoginThrottle,
        Self::EmailTokens,
    ];

    /// Deletes at most `limit` rows of this kind that expired before `now` (less their grace),
    /// in one statement through the expiry index; returns how many.
    pub fn delete_batch(self, conn: &mut DbConnection, now: i64, limit: i64) -> QueryResult<usize> {
        /// `DELETE FROM t WHERE key IN (SELECT key FROM t WHERE expiry < before LIMIT limit)`.
        macro_rules! batch {
            ($table:ident, $key:ident, $expiry:ident, $before:expr) => {{
                use super::schema::$table::dsl as t;
                // The subquery reads the same table under another name.
                let rows = diesel::alias!(super::schema::$table as expired_rows);
                let expired = rows
                    .select(rows.field(t::$key))
                    .filter(rows.field(t::$expiry).lt($before))
                    .limit(limit);
                diesel::delete(t::$table.filter(t::$key.eq_any(expired))).execute(conn)
            }};
        }
        match self {
            Self::Sessions => batch!(sessions, id_hash, expires_at, now),
            Self::UsedRequests => batch!(used_requests, id_hash, expires_at, now),
            Self::Codes => batch!(
                authorization_codes,
                code_hash,
                expires_at,
                now - CODE_REPLAY_GRACE_SECS
            ),
            Self::RefreshTokens => batch!(
                refresh_tokens,
                token_hash,
                family_expires_at,
                now - REFRESH_REUSE_GRACE_SECS
            ),
            Self::FamilyAccessTokens => batch!(family_access_tokens, jti, expires_at, now),
            Self::RevokedAccessTokens => batch!(revoked_access_tokens, jti, expires_at, now),
            Self::LoginThrottle => batch!(login_throttle, key_hash, expires_at, now + 1),
            Self::EmailTokens => batch!(
                email_tokens,
                token_hash,
                expires_at,
                now - EMAIL_TOKEN_GRACE_SECS
            ),
        }
    }
}

/// How the purge paces itself.
#[derive(Clone, Copy, Debug)]
pub struct Batching {
    /// Rows per statement.
    pub rows: i64,
    /// Pause after each full batch.
    pub pause: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            rows: 500,
            pause: Duration::from_millis(50),
        }
    }
}

/// What a purge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub rows: usize,
    pub batches: usize,
}

/// Deletes everything that expired before `now`, table by table, batch by batch, each batch its
/// own transaction; a short batch ends a table.
pub async fn purge_expired(pool: &Pool, now: i64, batching: Batching) -> Result<Purged, DbError> {
    let mut purged = Purged::default();
    for kind in Expired::ALL {
        loop {
            let deleted = super::run_tx(pool, move |conn| {
                kind.delete_batch(conn, now, batching.rows)
                    .map_err(DbError::from)
            })
            .await?;
            purged.rows += deleted;
            purged.batches += 1;
            if (deleted as i64) < batching.rows {
                break;
            }
            tokio::time::sleep(batching.pause).await;
        }
    }
    Ok(purged)
}
