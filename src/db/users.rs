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

/// The user a typed name means: the exact username first, else the one whose normalised name is
/// `key` (`domain::user::login_key`).
pub fn find_for_login(
    conn: &mut DbConnection,
    username: &str,
    key: &str,
) -> QueryResult<Option<UserRow>> {
    if let Some(row) = find_by_username(conn, username)? {
        return Ok(Some(row));
    }
    find_by_normalized(conn, key)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// The one user whose email address is `email` without regard to ASCII case (through the
/// `users_email_lower` index); `None` when no user or more than one has it.
pub fn find_by_unique_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    let mut rows = users::table
        .filter(lower(users::email).eq(email.to_ascii_lowercase()))
        .select(UserRow::as_select())
        .limit(2)
        .load(conn)?;
    Ok(match rows.len() {
        1 => rows.pop(),
        _ => None,
    })
}

/// Whether a user other than `except` has the email address `email`, without regard to ASCII
/// case (through the `users_email_lower` index).
pub fn email_taken(conn: &mut DbConnection, email: &str, except: &str) -> QueryResult<bool> {
    let found: i64 = users::table
        .filter(lower(users::email).eq(email.to_ascii_lowercase()))
        .filter(users::id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

pub fn find_by_normalized(conn: &mut DbConnection, key: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username_normalized.eq(key))
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

/// Users ordered by username, optionally filtered by a substring of username or email; with the
/// total count of matches.
pub fn page(
    conn: &mut DbConnection,
    filter: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let pattern = filter.map(|f| {
        let escaped = f
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let mut query = users::table.into_boxed();
    let mut count = users::table.into_boxed();
    if let Some(p) = &pattern {
        query = query.filter(
            users::username
                .like(p.clone())
                .escape('\\')
                .or(users::email.like(p.clone()).escape('\\')),
        );
        count = count.filter(
            users::username
                .like(p.clone())
                .escape('\\')
                .or(users::email.like(p.clone()).escape('\\')),
        );
    }
    let total = count.count().get_result(conn)?;
    let rows = query
        .order(users::username.asc())
        .offset(offset)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
