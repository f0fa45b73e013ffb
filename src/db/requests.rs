//! Queries on `authorization_requests`: validated authorization requests waiting for login or
//! consent, stored server-side so that any replica can finish them.

use diesel::prelude::*;

use super::models::AuthorizationRequestRow;
use super::schema::authorization_requests as requests;
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &AuthorizationRequestRow) -> QueryResult<()> {
    diesel::insert_into(requests::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AuthorizationRequestRow>> {
    requests::table
        .find(id)
        .select(AuthorizationRequestRow::as_select())
        .first(conn)
        .optional()
}

pub fn set_csrf(conn: &mut DbConnection, id: &str, csrf_hash: &[u8]) -> QueryResult<usize> {
    diesel::update(requests::table.find(id))
        .set(requests::csrf_hash.eq(csrf_hash))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(requests::table.find(id)).execute(conn)
}

pub fn delete_expired(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(requests::table.filter(requests::expires_at.lt(now))).execute(conn)
}
