//! Queries on the `signing_keys` table.

use diesel::prelude::*;

use super::models::SigningKeyRow;
use super::schema::signing_keys;
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &SigningKeyRow) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Every stored key, newest first.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order(signing_keys::created_at.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)
}

pub fn set_state(conn: &mut DbConnection, kid: &str, state: &str, now: i64) -> QueryResult<usize> {
    let target = signing_keys::table.find(kid);
    match state {
        "active" => diesel::update(target)
            .set((
                signing_keys::state.eq(state),
                signing_keys::activated_at.eq(now),
            ))
            .execute(conn),
        "retired" => diesel::update(target)
            .set((
                signing_keys::state.eq(state),
                signing_keys::retired_at.eq(now),
            ))
            .execute(conn),
        _ => diesel::update(target)
            .set(signing_keys::state.eq(state))
            .execute(conn),
    }
}

pub fn set_activate_after(conn: &mut DbConnection, kid: &str, at: i64) -> QueryResult<usize> {
    diesel::update(signing_keys::table.find(kid))
        .set(signing_keys::activate_after.eq(at))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, kid: &str) -> QueryResult<usize> {
    diesel::delete(signing_keys::table.find(kid)).execute(conn)
}
