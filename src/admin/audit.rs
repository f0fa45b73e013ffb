//! Reading the stored audit trail (`audit_events`, kept when `audit.store` is on): filtered by
//! event name, actor, subject and time, newest first, paged by an id cursor. Shared by the admin
//! API (`GET /admin/api/audit`) and the admin pages (`/admin/audit`).

use serde::{Deserialize, Serialize};

use super::AdminError;
use crate::audit::Kind;
use crate::db::audit_events::{self, AuditEventRow, Filter};
use crate::db::DbConnection;

/// The most events one page holds, and the default.
pub const MAX_LIMIT: i64 = 200;
const DEFAULT_LIMIT: i64 = 50;

/// What a caller asks for, as the query string names it; empty values are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Query {
    pub event: Option<String>,
    pub actor: Option<String>,
    pub subject: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// The `next` cursor of the previous page.
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// One page of events, and the cursor of the next one when there may be more.
#[derive(Debug, Serialize)]
pub struct Page {
    pub events: Vec<AuditEventRow>,
    pub next: Option<i64>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Checks a query: a known event name, a limit from 1 to [`MAX_LIMIT`], a time range in order.
pub fn parse(query: Query) -> Result<(Filter, i64), AdminError> {
    let event = non_empty(query.event);
    if let Some(name) = &event {
        name.parse::<Kind>().map_err(AdminError::Invalid)?;
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AdminError::Invalid(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    if let (Some(since), Some(until)) = (query.since, query.until) {
        if since >= until {
            return Err(AdminError::Invalid("since must be before until".into()));
        }
    }
    let filter = Filter {
        event,
        actor: non_empty(query.actor),
        subject: non_empty(query.subject),
        since: query.since,
        until: query.until,
        before: query.before,
    };
    Ok((filter, limit))
}

/// The page of events `filter` selects.
pub fn page(conn: &mut DbConnection, filter: &Filter, limit: i64) -> Result<Page, AdminError> {
    let events = audit_events::page(conn, filter, limit)?;
    let full = i64::try_from(events.len()).unwrap_or(i64::MAX) == limit;
    let next = events.last().filter(|_| full).map(|e| e.id);
    Ok(Page { events, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_events_bad_limits_and_reversed_ranges_are_refused() {
        let bad = |q: Query| parse(q).is_err();
        assert!(bad(Query {
            event: Some("login".into()),
            ..Query::default()
        }));
        assert!(bad(Query {
            limit: Some(0),
            ..Query::default()
        }));
        assert!(bad(Query {
            limit: Some(MAX_LIMIT + 1),
            ..Query::default()
        }));
        assert!(bad(Query {
            since: Some(10),
            until: Some(10),
            ..Query::default()
        }));
        let (filter, limit) = parse(Query {
            event: Some("login_failed".into()),
            actor: Some(" ".into()),
            ..Query::default()
        })
        .unwrap();
        assert_eq!(limit, DEFAULT_LIMIT);
        assert_eq!(filter.event.as_deref(), Some("login_failed"));
        assert_eq!(filter.actor, None);
    }
}
