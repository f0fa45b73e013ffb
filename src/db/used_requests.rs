//! Queries on `used_requests`: the sealed authorization requests (`oauth::pending`) that were
//! used up — logged in, consented to, or out of tries — kept by the SHA-256 of their random id
//! until they expire, so that a replayed copy is refused. Only authenticated steps write here.

use diesel::prelude::*;

use super::schema::used_requests as used;
use super::DbConnection;

/// Marks a request used; `false` when it already was (the statement that loses a race).
pub fn mark(conn: &mut DbConnection, id_hash: &[u8], expires_at: i64) -> QueryResult<bool> {
    match diesel::insert_into(used::table)
        .values((used::id_hash.eq(id_hash), used::expires_at.eq(expires_at)))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn is_used(conn: &mut DbConnection, id_hash: &[u8]) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(used::table.find(id_hash))).get_result(conn)
}
