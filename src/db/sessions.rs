//! Queries on the `sessions` table (browser sessions, looked up by the hash of the cookie value).

use diesel::prelude::*;

use super::models::SessionRow;
use super::schema::sessions;
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id_hash: &[u8]) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id_hash)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_sid(conn: &mut DbConnection, sid: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::sid.eq(sid))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn touch(conn: &mut DbConnection, id_hash: &[u8], now: i64) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id_hash))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id_hash)).execute(conn)
}

pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// A user's sessions, most recently seen first.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .order(sessions::last_seen_at.desc())
        .select(SessionRow::as_select())
        .load(conn)
}

/// Ends a user's session by its public id.
pub fn delete_by_sid(conn: &mut DbConnection, user_id: &str, sid: &str) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::sid.eq(sid)),
    )
    .execute(conn)
}

/// Ends every session of a user but one.
pub fn delete_others(conn: &mut DbConnection, user_id: &str, keep: &[u8]) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id_hash.ne(keep)),
    )
    .execute(conn)
}
