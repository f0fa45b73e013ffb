//! Queries on `login_throttle`: failed-login counters shared by every replica (brute-force
//! protection, `oauth::throttle`): real failures, and attempts in flight (counted before their
//! password is checked). Every write is one statement, so concurrent attempts count.

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

/// Adds `row.failures` failures and `row.in_flight` attempts in flight to the stored counts, or
/// inserts `row`. A concurrent insert of the same key is caught and counted as an update.
pub fn add(conn: &mut DbConnection, row: &LoginThrottleRow) -> QueryResult<()> {
    let add = |conn: &mut DbConnection| {
        diesel::update(throttle::table.find(&row.key_hash))
            .set((
                throttle::failures.eq(throttle::failures + row.failures),
                throttle::in_flight.eq(throttle::in_flight + row.in_flight),
                throttle::updated_at.eq(row.updated_at),
                throttle::expires_at.eq(row.expires_at),
            ))
            .execute(conn)
    };
    if add(conn)? > 0 {
        return Ok(());
    }
    // In a savepoint: a concurrent insert's unique violation must not abort the transaction.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(throttle::table)
            .values(row)
            .execute(conn)
    });
    match inserted {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => add(conn).map(drop),
        other => other.map(drop),
    }
}

/// Forgets the attempts in flight on a key untouched since `before`: their checks ended long ago
/// (a release lost with a crashed process or a failed write), so they no longer crowd it.
pub fn forget_stale_in_flight(
    conn: &mut DbConnection,
    key: &[u8],
    before: i64,
) -> QueryResult<usize> {
    diesel::update(throttle::table.find(key))
        .filter(throttle::in_flight.gt(0))
        .filter(throttle::updated_at.lt(before))
        .set(throttle::in_flight.eq(0))
        .execute(conn)
}

/// Ends one attempt in flight on a key (its check is over, whatever the outcome); a counter back
/// at zero, with no failure and nothing in flight, is forgotten.
pub fn release(conn: &mut DbConnection, key: &[u8]) -> QueryResult<usize> {
    diesel::update(throttle::table.find(key))
        .filter(throttle::in_flight.gt(0))
        .set(throttle::in_flight.eq(throttle::in_flight - 1))
        .execute(conn)?;
    diesel::delete(
        throttle::table
            .find(key)
            .filter(throttle::in_flight.le(0))
            .filter(throttle::failures.le(0)),
    )
    .execute(conn)
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

pub fn delete(conn: &mut DbConnection, keys: &[Vec<u8>]) -> QueryResult<usize> {
    diesel::delete(throttle::table.filter(throttle::key_hash.eq_any(keys))).execute(conn)
}

/// Forgets every counter of one account (its own and its per-address ones): an unlock.
pub fn delete_for_account(conn: &mut DbConnection, account_hash: &[u8]) -> QueryResult<usize> {
    diesel::delete(throttle::table.filter(throttle::account_hash.eq(account_hash))).execute(conn)
}
