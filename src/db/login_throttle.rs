//! Queries on `login_throttle`: failed-login counters shared by every replica (brute-force
//! protection, `oauth::throttle`). Every write is one statement, so concurrent attempts count.

use diesel::prelude::*;

use super::models::LoginThrottleRow;
use super::schema::login_throttle as throttle;
use super::DbConnection;

/// The live rows among `keys` (expired ones are as good as absent).
pub fn find_live(
    conn: &mut DbConnection,
    keys: &[Vec<u8>],
    now: i64,
) -> QueryResult<Vec<LoginThrottleRow>> {
    throttle::table
        .filter(throttle::key_hash.eq_any(keys))
        .filter(throttle::expires_at.gt(now))
        .select(LoginThrottleRow::as_select())
        .load(conn)
}

/// Forgets the expired rows among `keys`, so that counting starts again from zero.
pub fn delete_expired_among(
    conn: &mut DbConnection,
    keys: &[Vec<u8>],
    now: i64,
) -> QueryResult<usize> {
    diesel::delete(
        throttle::table
            .filter(throttle::key_hash.eq_any(keys))
            .filter(throttle::expires_at.le(now)),
    )
    .execute(conn)
}

/// Counts one attempt: adds one to the stored count, or inserts `row` (with `failures = 1`).
/// A concurrent insert of the same key is caught and counted as an update.
pub fn increment(conn: &mut DbConnection, row: &LoginThrottleRow) -> QueryResult<()> {
    let add_one = |conn: &mut DbConnection| {
        diesel::update(throttle::table.find(&row.key_hash))
            .set((
                throttle::failures.eq(throttle::failures + 1),
                throttle::updated_at.eq(row.updated_at),
                throttle::expires_at.eq(row.expires_at),
            ))
            .execute(conn)
    };
    if add_one(conn)? > 0 {
        return Ok(());
    }
    match diesel::insert_into(throttle::table)
        .values(row)
        .execute(conn)
    {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => add_one(conn).map(drop),
        other => other.map(drop),
    }
}

/// Blocks a key until `until`, never shortening a longer block, and keeps the row that long.
pub fn block(conn: &mut DbConnection, key: &[u8], until: i64) -> QueryResult<usize> {
    diesel::update(throttle::table.find(key))
        .filter(throttle::expires_at.lt(until))
        .set(throttle::expires_at.eq(until))
        .execute(conn)?;
    diesel::update(throttle::table.find(key))
        .filter(throttle::blocked_until.lt(until))
        .set(throttle::blocked_until.eq(until))
        .execute(conn)
}

/// Gives back one counted attempt (a successful login from a shared address), lifting the block
/// when the count falls below `threshold`; a counter back at zero is forgotten.
pub fn refund(conn: &mut DbConnection, key: &[u8], threshold: i64) -> QueryResult<usize> {
    diesel::update(throttle::table.find(key))
        .filter(throttle::failures.gt(0))
        .set(throttle::failures.eq(throttle::failures - 1))
        .execute(conn)?;
    diesel::delete(throttle::table.find(key).filter(throttle::failures.le(0))).execute(conn)?;
    diesel::update(throttle::table.find(key))
        .filter(throttle::failures.lt(threshold))
        .set(throttle::blocked_until.eq(0))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, keys: &[Vec<u8>]) -> QueryResult<usize> {
    diesel::delete(throttle::table.filter(throttle::key_hash.eq_any(keys))).execute(conn)
}

/// Forgets every counter of one account (its own and its per-address ones): an unlock.
pub fn delete_for_account(conn: &mut DbConnection, account_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(throttle::table.filter(throttle::account_hash.eq(account_hash))).execute(conn)
}
