//! Queries on `email_tokens`: one-time links (password reset, email verification, set-password),
//! stored only as the SHA-256 of their token and spent by one conditional `UPDATE`.

use diesel::prelude::*;

use super::models::EmailTokenRow;
use super::schema::email_tokens;
use super::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &EmailTokenRow) -> QueryResult<()> {
    diesel::insert_into(email_tokens::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The link whose token hashes to `hash` if it is still usable at `now`: unspent, unexpired.
pub fn find_usable(
    conn: &mut DbConnection,
    hash: &[u8],
    now: i64,
) -> QueryResult<Option<EmailTokenRow>> {
    email_tokens::table
        .find(hash)
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select(EmailTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Spends the link if it is usable at `now` and has one of `purposes`: one statement, so of two
/// concurrent uses exactly one wins. True when this call spent it.
pub fn spend(
    conn: &mut DbConnection,
    hash: &[u8],
    purposes: &[&str],
    now: i64,
) -> QueryResult<bool> {
    let spent = diesel::update(
        email_tokens::table
            .find(hash)
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now))
            .filter(email_tokens::purpose.eq_any(purposes)),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(spent == 1)
}

/// Spends every outstanding link of `user_id` with one of `purposes`; returns how many.
pub fn spend_all(
    conn: &mut DbConnection,
    user_id: &str,
    purposes: &[&str],
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq_any(purposes))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)
}

/// Links of `purpose` made for `user_id` since `since`.
pub fn count_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    purpose: &str,
    since: i64,
) -> QueryResult<i64> {
    email_tokens::table
        .filter(email_tokens::user_id.eq(user_id))
        .filter(email_tokens::purpose.eq(purpose))
        .filter(email_tokens::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// Links asked for from the address hashing to `requested_from` since `since`.
pub fn count_from(conn: &mut DbConnection, requested_from: &[u8], since: i64) -> QueryResult<i64> {
    email_tokens::table
        .filter(email_tokens::requested_from.eq(requested_from))
        .filter(email_tokens::created_at.ge(since))
        .count()
        .get_result(conn)
}
