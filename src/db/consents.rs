//! Queries on `consents`: the scopes a user approved for a client.

use diesel::prelude::*;

use super::models::ConsentRow;
use super::schema::consents;
use super::DbConnection;

pub fn find(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
) -> QueryResult<Option<ConsentRow>> {
    consents::table
        .find((user_id, client_id))
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces any earlier consent of this user for this client.
pub fn upsert(conn: &mut DbConnection, row: &ConsentRow) -> QueryResult<()> {
    diesel::delete(consents::table.find((&row.user_id, &row.client_id))).execute(conn)?;
    diesel::insert_into(consents::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn delete(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: Option<&str>,
) -> QueryResult<usize> {
    match client_id {
        Some(client_id) => diesel::delete(consents::table.find((user_id, client_id))).execute(conn),
        None => diesel::delete(consents::table.filter(consents::user_id.eq(user_id))).execute(conn),
    }
}

/// Every consent a user gave, newest first.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<ConsentRow>> {
    consents::table
        .filter(consents::user_id.eq(user_id))
        .order(consents::created_at.desc())
        .select(ConsentRow::as_select())
        .load(conn)
}
