//! Queries on `audit_events`: the stored audit trail (`audit.store`), written in the caller's
//! transaction, listed newest first by filters and an id cursor, purged in small batches.

use diesel::prelude::*;
use serde::Serialize;

use super::schema::audit_events as audit;
use super::DbConnection;

/// An event to store (`id` is assigned by the database).
#[derive(Debug, Insertable)]
#[diesel(table_name = audit)]
pub struct NewAuditEvent {
    pub at: i64,
    pub event: String,
    pub actor: String,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    /// A JSON object of the event's details, as text.
    pub detail: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit)]
pub struct AuditEventRow {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub actor: String,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &NewAuditEvent) -> QueryResult<()> {
    diesel::insert_into(audit::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Which events to list: every filter that is set must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub event: Option<String>,
    pub actor: Option<String>,
    pub subject: Option<String>,
    /// At or after this Unix time.
    pub since: Option<i64>,
    /// Before this Unix time.
    pub until: Option<i64>,
    /// Only events older than this id: the cursor of the next page.
    pub before: Option<i64>,
}

/// Up to `limit` events matching `filter`, newest first.
pub fn page(
    conn: &mut DbConnection,
    filter: &Filter,
    limit: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut query = audit::table
        .select(AuditEventRow::as_select())
        .order(audit::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(event) = &filter.event {
        query = query.filter(audit::event.eq(event.clone()));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit::actor.eq(actor.clone()));
    }
    if let Some(subject) = &filter.subject {
        query = query.filter(audit::subject.eq(subject.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit::at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit::at.lt(until));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit::id.lt(before));
    }
    query.load(conn)
}

/// Deletes up to `batch` events older than `cutoff` (oldest first); returns how many. The caller
/// repeats while a batch comes back full.
pub fn purge_before(conn: &mut DbConnection, cutoff: i64, batch: i64) -> QueryResult<usize> {
    let ids: Vec<i64> = audit::table
        .filter(audit::at.lt(cutoff))
        .order(audit::at.asc())
        .select(audit::id)
        .limit(batch)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(audit::table.filter(audit::id.eq_any(ids))).execute(conn)
}
