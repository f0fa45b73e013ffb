//! Queries on `authorization_codes`. A code is consumed by one atomic
//! `UPDATE … WHERE consumed_at IS NULL`, so two concurrent redemptions cannot both succeed.

use diesel::prelude::*;

use super::models::AuthorizationCodeRow;
use super::schema::authorization_codes as codes;
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &AuthorizationCodeRow) -> QueryResult<()> {
    diesel::insert_into(codes::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(
    conn: &mut DbConnection,
    code_hash: &[u8],
) -> QueryResult<Option<AuthorizationCodeRow>> {
    codes::table
        .find(code_hash)
        .select(AuthorizationCodeRow::as_select())
        .first(conn)
        .optional()
}

/// Marks the code consumed; `false` when it already was (a replay).
pub fn consume(conn: &mut DbConnection, code_hash: &[u8], now: i64) -> QueryResult<bool> {
    diesel::update(
        codes::table
            .find(code_hash)
            .filter(codes::consumed_at.is_null()),
    )
    .set(codes::consumed_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records the access token issued from the code, so that a replay can revoke it.
pub fn record_access_token(
    conn: &mut DbConnection,
    code_hash: &[u8],
    jti: &str,
    expires_at: i64,
) -> QueryResult<usize> {
    diesel::update(codes::table.find(code_hash))
        .set((
            codes::access_token_jti.eq(jti),
            codes::access_token_expires_at.eq(expires_at),
        ))
        .execute(conn)
}
