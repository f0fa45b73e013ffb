//! Queries on the `users` table.

use diesel::prelude::*;

use super::models::UserRow;
use super::schema::users;
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)
}

pub fn update(conn: &mut DbConnection, row: &UserRow) -> QueryResult<usize> {
    diesel::update(users::table.find(&row.id))
        .set(row)
        .execute(conn)
}

pub fn set_password_hash(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(users::table.find(id)).execute(conn)
}
