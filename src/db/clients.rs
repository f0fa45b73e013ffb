//! Queries on the `clients` table. Every write records itself ([`note_client_write`]) so that
//! this process's client cache drops what it holds once the write is committed.

use diesel::prelude::*;

use super::models::ClientRow;
use super::schema::clients;
use super::{note_client_write, DbConnection};
use crate::domain::client::REGISTERED_OPENLY as OPEN;

/// Records a write that changed rows.
fn written(conn: &mut DbConnection, rows: usize) -> QueryResult<usize> {
    if rows > 0 {
        note_client_write(conn);
    }
    Ok(rows)
}

pub fn insert(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(row)
        .execute(conn)?;
    note_client_write(conn);
    Ok(())
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
        .and_then(|rows| written(conn, rows))
}

pub fn set_disabled(
    conn: &mut DbConnection,
    id: &str,
    disabled: bool,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(clients::table.find(id))
        .set((clients::disabled.eq(disabled), clients::updated_at.eq(now)))
        .execute(conn)
        .and_then(|rows| written(conn, rows))
}

/// Sets the client's access-token lifetime (`None`: `tokens.access_token_ttl_secs`).
pub fn set_access_token_ttl(
    conn: &mut DbConnection,
    id: &str,
    ttl_secs: Option<i64>,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(clients::table.find(id))
        .set((
            clients::access_token_ttl_secs.eq(ttl_secs),
            clients::updated_at.eq(now),
        ))
        .execute(conn)
        .and_then(|rows| written(conn, rows))
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    let rows = diesel::delete(clients::table.find(id)).execute(conn)?;
    written(conn, rows)
}

/// Whether an enabled client registered the web origin `origin` (CORS preflight, which names
/// no client). `origin` is in its ASCII serialisation, matched as one element of the JSON array.
pub fn any_allows_origin(conn: &mut DbConnection, origin: &str) -> QueryResult<bool> {
    let Ok(element) = serde_json::to_string(origin) else {
        return Ok(false);
    };
    let escaped = element
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let found = clients::table
        .filter(clients::disabled.eq(false))
        .filter(
            clients::web_origins
                .like(format!("%{escaped}%"))
                .escape('\\'),
        )
        .select(clients::id)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Overwrites every column of an existing client.
pub fn replace(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<usize> {
    diesel::update(clients::table.find(&row.id))
        .set((
            clients::name.eq(&row.name),
            clients::grant_types.eq(&row.grant_types),
            clients::redirect_uris.eq(&row.redirect_uris),
            clients::post_logout_redirect_uris.eq(&row.post_logout_redirect_uris),
            clients::scope.eq(&row.scope),
            clients::first_party.eq(row.first_party),
            clients::updated_at.eq(row.updated_at),
            clients::refresh_token_ttl_secs.eq(row.refresh_token_ttl_secs),
            clients::refresh_token_absolute_ttl_secs.eq(row.refresh_token_absolute_ttl_secs),
            clients::registration_token_hash.eq(&row.registration_token_hash),
            clients::token_endpoint_auth_method.eq(&row.token_endpoint_auth_method),
            clients::access_token_alg.eq(&row.access_token_alg),
            clients::id_token_signed_response_alg.eq(&row.id_token_signed_response_alg),
            clients::id_token_claims.eq(row.id_token_claims),
            clients::web_origins.eq(&row.web_origins),
        ))
        .execute(conn)
        .and_then(|rows| written(conn, rows))
}

/// Records that a person signed in to the client: its first authorization code. Written once;
/// nothing cached depends on it, so the client cache is left alone.
pub fn mark_used(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        clients::table
            .find(id)
            .filter(clients::first_used_at.is_null()),
    )
    .set(clients::first_used_at.eq(now))
    .execute(conn)
}

/// Moves `updated_at` only (a metadata document fetched again, unchanged): nothing cached
/// depends on it, so the client cache is left alone.
pub fn touch(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<usize> {
    diesel::update(clients::table.find(id))
        .set(clients::updated_at.eq(now))
        .execute(conn)
}

/// How many openly registered clients exist.
pub fn count_open(conn: &mut DbConnection) -> QueryResult<i64> {
    clients::table
        .filter(clients::registered_by.eq(OPEN))
        .count()
        .get_result(conn)
}

/// What the age of an unused client counts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    /// Its registration (`created_at`): updating an open client does not keep it.
    Registered,
    /// Its last fetch (`updated_at`): a metadata document fetched again is kept.
    Fetched,
}

/// Up to `limit` clients registered by `registered_by` (openly, or from a metadata document)
/// whose age (`since`) began before `before`, that nobody ever signed in to, oldest first.
pub fn unused(
    conn: &mut DbConnection,
    registered_by: &str,
    since: Since,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let query = clients::table
        .filter(clients::registered_by.eq(registered_by))
        .filter(clients::first_used_at.is_null())
        .select(clients::id)
        .limit(limit)
        .into_boxed();
    match since {
        Since::Registered => query
            .filter(clients::created_at.lt(before))
            .order(clients::created_at.asc())
            .load(conn),
        Since::Fetched => query
            .filter(clients::updated_at.lt(before))
            .order(clients::updated_at.asc())
            .load(conn),
    }
}

/// Deletes the client unless someone signed in to it meanwhile; 1 if deleted.
pub fn delete_unused(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    let rows = diesel::delete(
        clients::table
            .find(id)
            .filter(clients::first_used_at.is_null()),
    )
    .execute(conn)?;
    written(conn, rows)
}

/// The client's own second-factor policy (`required`, `optional`, `off`); `None` follows the
/// global `[mfa] policy`.
pub fn mfa_policy(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    clients::table
        .find(id)
        .select(clients::mfa_policy)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

pub fn set_mfa_policy(
    conn: &mut DbConnection,
    id: &str,
    policy: Option<&str>,
) -> QueryResult<usize> {
    let rows = diesel::update(clients::table.find(id))
        .set(clients::mfa_policy.eq(policy))
        .execute(conn)?;
    written(conn, rows)
}
