//! Queries on the `user_factors` table (second factors; secrets sealed under the master key) and
//! `recovery_codes` (single-use codes, by their SHA-256).

use diesel::prelude::*;

use super::models::{RecoveryCodeRow, UserFactorRow};
use super::schema::{recovery_codes, user_factors};
use super::DbConnection;
use crate::domain::factor::FactorView;

/// A user's factors as people and admins see them (no secrets).
pub fn views(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<FactorView>> {
    Ok(for_user(conn, user_id)?
        .into_iter()
        .map(|row| FactorView {
            id: row.id,
            kind: row.kind,
            name: row.name,
            confirmed: row.confirmed,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect())
}

pub fn insert(conn: &mut DbConnection, row: &UserFactorRow) -> QueryResult<()> {
    diesel::insert_into(user_factors::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// A user's factors, confirmed or not, oldest first.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<UserFactorRow>> {
    user_factors::table
        .filter(user_factors::user_id.eq(user_id))
        .order(user_factors::created_at.asc())
        .select(UserFactorRow::as_select())
        .load(conn)
}

/// Confirms a factor with the time step of its first code.
pub fn confirm(conn: &mut DbConnection, id: &str, step: i64, now: i64) -> QueryResult<usize> {
    diesel::update(
        user_factors::table
            .find(id)
            .filter(user_factors::confirmed.eq(false)),
    )
    .set((
        user_factors::confirmed.eq(true),
        user_factors::last_step.eq(step),
        user_factors::last_used_at.eq(now),
    ))
    .execute(conn)
}

/// Accepts time step `step` once: only a step later than the last accepted one moves it, so
/// of two uses of one code only the first changes a row.
pub fn accept_step(conn: &mut DbConnection, id: &str, step: i64, now: i64) -> QueryResult<usize> {
    diesel::update(
        user_factors::table
            .find(id)
            .filter(user_factors::confirmed.eq(true))
            .filter(
                user_factors::last_step
                    .is_null()
                    .or(user_factors::last_step.lt(step)),
            ),
    )
    .set((
        user_factors::last_step.eq(step),
        user_factors::last_used_at.eq(now),
    ))
    .execute(conn)
}

pub fn delete(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(
        user_factors::table
            .find(id)
            .filter(user_factors::user_id.eq(user_id)),
    )
    .execute(conn)
}

/// Deletes unconfirmed factors (abandoned enrolments) of a user.
pub fn delete_unconfirmed(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(
        user_factors::table
            .filter(user_factors::user_id.eq(user_id))
            .filter(user_factors::confirmed.eq(false)),
    )
    .execute(conn)
}

/// Every factor and recovery code of a user (an admin's reset).
pub fn delete_all(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    let codes = delete_recovery_codes(conn, user_id)?;
    let factors = diesel::delete(user_factors::table.filter(user_factors::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(codes + factors)
}

pub fn insert_recovery_codes(conn: &mut DbConnection, rows: &[RecoveryCodeRow]) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(recovery_codes::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_recovery_codes(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))).execute(conn)
}

/// Spends a recovery code: one row changes only the first time.
pub fn use_recovery_code(
    conn: &mut DbConnection,
    user_id: &str,
    code_hash: &[u8],
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        recovery_codes::table
            .find(code_hash)
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
}

/// How many unused recovery codes a user has left.
pub fn recovery_codes_left(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// The confirmed passkey whose credential id hashes to `credential_hash`.
pub fn find_by_credential(
    conn: &mut DbConnection,
    credential_hash: &[u8],
) -> QueryResult<Option<UserFactorRow>> {
    user_factors::table
        .filter(user_factors::credential_hash.eq(credential_hash))
        .filter(user_factors::confirmed.eq(true))
        .select(UserFactorRow::as_select())
        .first(conn)
        .optional()
}

/// Stores a passkey's updated credential (signature counter, backup state) after a use.
pub fn record_use(
    conn: &mut DbConnection,
    id: &str,
    sealed: Option<&[u8]>,
    now: i64,
) -> QueryResult<usize> {
    let row = user_factors::table.find(id);
    match sealed {
        Some(sealed) => diesel::update(row)
            .set((
                user_factors::secret.eq(sealed),
                user_factors::last_used_at.eq(now),
            ))
            .execute(conn),
        None => diesel::update(row)
            .set(user_factors::last_used_at.eq(now))
            .execute(conn),
    }
}

/// Renames one of a user's factors.
pub fn rename(conn: &mut DbConnection, user_id: &str, id: &str, name: &str) -> QueryResult<usize> {
    diesel::update(
        user_factors::table
            .find(id)
            .filter(user_factors::user_id.eq(user_id)),
    )
    .set(user_factors::name.eq(name))
    .execute(conn)
}
