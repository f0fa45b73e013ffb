//! Queries on `refresh_tokens` (stored as SHA-256 hashes, grouped in families by grant) and on
//! `revoked_access_tokens`, the deny list of access-token `jti`s kept until each token expires.

use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;

use super::models::RefreshTokenRow;
use super::schema::{family_access_tokens, refresh_tokens, revoked_access_tokens};
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, token_hash: &[u8]) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .find(token_hash)
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Revokes every live refresh token of a family, and denies every unexpired access token issued
/// within it. Returns the number of refresh tokens revoked.
pub fn revoke_family(conn: &mut DbConnection, family_id: &str, now: i64) -> QueryResult<usize> {
    let revoked = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    let live: Vec<(String, i64)> = family_access_tokens::table
        .filter(family_access_tokens::family_id.eq(family_id))
        .filter(family_access_tokens::expires_at.gt(now))
        .select((family_access_tokens::jti, family_access_tokens::expires_at))
        .load(conn)?;
    deny_all(conn, live)?;
    Ok(revoked)
}

/// An access token issued within a grant.
pub struct IssuedAccessToken<'a> {
    pub jti: &'a str,
    pub family_id: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub expires_at: i64,
}

/// Records an access token issued within a family, so that revoking the family, the user's or
/// the client's tokens denies it.
pub fn record_family_access_token(
    conn: &mut DbConnection,
    token: &IssuedAccessToken<'_>,
) -> QueryResult<()> {
    diesel::insert_into(family_access_tokens::table)
        .values((
            family_access_tokens::jti.eq(token.jti),
            family_access_tokens::family_id.eq(token.family_id),
            family_access_tokens::client_id.eq(token.client_id),
            family_access_tokens::user_id.eq(token.user_id),
            family_access_tokens::expires_at.eq(token.expires_at),
        ))
        .execute(conn)
        .map(drop)
}

fn deny_all(conn: &mut DbConnection, live: Vec<(String, i64)>) -> QueryResult<()> {
    for (jti, expires_at) in live {
        deny_access_token(conn, &jti, expires_at)?;
    }
    Ok(())
}

/// Whose tokens a bulk revocation covers.
#[derive(Clone, Copy)]
pub enum Owner<'a> {
    User(&'a str),
    Client(&'a str),
    /// One user's tokens at one client (a revoked connected application).
    Grant {
        user: &'a str,
        client: &'a str,
    },
}

/// Revokes every live refresh token of a user or a client and denies the unexpired access tokens
/// issued to them within grants.
pub fn revoke_for(conn: &mut DbConnection, owner: Owner<'_>, now: i64) -> QueryResult<usize> {
    let mut live = family_access_tokens::table
        .filter(family_access_tokens::expires_at.gt(now))
        .select((family_access_tokens::jti, family_access_tokens::expires_at))
        .into_boxed::<<DbConnection as Connection>::Backend>();
    let mut refresh = refresh_tokens::table
        .filter(refresh_tokens::revoked_at.is_null())
        .select(refresh_tokens::token_hash)
        .into_boxed::<<DbConnection as Connection>::Backend>();
    match owner {
        Owner::User(id) => {
            live = live.filter(family_access_tokens::user_id.eq(id));
            refresh = refresh.filter(refresh_tokens::user_id.eq(id));
        }
        Owner::Client(id) => {
            live = live.filter(family_access_tokens::client_id.eq(id));
            refresh = refresh.filter(refresh_tokens::client_id.eq(id));
        }
        Owner::Grant { user, client } => {
            live = live
                .filter(family_access_tokens::user_id.eq(user))
                .filter(family_access_tokens::client_id.eq(client));
            refresh = refresh
                .filter(refresh_tokens::user_id.eq(user))
                .filter(refresh_tokens::client_id.eq(client));
        }
    }
    let live: Vec<(String, i64)> = live.load(conn)?;
    deny_all(conn, live)?;
    let hashes: Vec<Vec<u8>> = refresh.load(conn)?;
    diesel::update(refresh_tokens::table.filter(refresh_tokens::token_hash.eq_any(hashes)))
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)
}

/// Marks a token rotated and records its successor; `false` when it was already rotated or
/// revoked (a concurrent refresh won).
pub fn rotate(
    conn: &mut DbConnection,
    token_hash: &[u8],
    now: i64,
    successor_hash: &[u8],
    successor_sealed: &[u8],
) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set((
        refresh_tokens::rotated_at.eq(now),
        refresh_tokens::successor_hash.eq(successor_hash),
        refresh_tokens::successor_sealed.eq(successor_sealed),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Puts an access token's `jti` on the deny list until `expires_at`.
pub fn deny_access_token(conn: &mut DbConnection, jti: &str, expires_at: i64) -> QueryResult<()> {
    let present = revoked_access_tokens::table
        .find(jti)
        .count()
        .get_result::<i64>(conn)?;
    if present > 0 {
        return Ok(());
    }
    let inserted = diesel::insert_into(revoked_access_tokens::table)
        .values((
            revoked_access_tokens::jti.eq(jti),
            revoked_access_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn);
    match inserted {
        // A concurrent revocation of the same token got there first: the goal is met.
        Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
        | Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

pub fn is_access_token_denied(conn: &mut DbConnection, jti: &str) -> QueryResult<bool> {
    revoked_access_tokens::table
        .find(jti)
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}
