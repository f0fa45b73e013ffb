//! Queries on the `clients` table.

use diesel::prelude::*;

use super::models::ClientRow;
use super::schema::clients;
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ClientRow>> {
    clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order((clients::name.asc(), clients::id.asc()))
        .select(ClientRow::as_select())
        .load(conn)
}

pub fn set_secret_hash(
    conn: &mut DbConnection,
    id: &str,
    hash: &[u8],
    now: i64,
) -> QueryResult<usize> {
    diesel::update(clients::table.find(id))
        .set((clients::secret_hash.eq(hash), clients::updated_at.eq(now)))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(clients::table.find(id)).execute(conn)
}
