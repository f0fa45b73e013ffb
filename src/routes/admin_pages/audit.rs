//! `GET /admin/audit`: the stored audit trail for administrators, newest first, filtered by event,
//! actor and subject (and `since`/`until`, Unix seconds, as in the API), with a link to older
//! events. It only reads, so it has no form to guard beyond the administrator's session.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use super::{administrator, PageError, PageResult};
use crate::admin::audit::{self, Query};
use crate::audit::Kind;
use crate::clock::rfc3339;
use crate::db;
use crate::db::audit_events::AuditEventRow;
use crate::oauth::params::Params;
use crate::routes::pages;
use crate::state::AppState;
use crate::views::{AuditPage, AuditRow};

/// The query string as a [`Query`]; a number that is not one is refused.
fn query(params: &Params) -> Result<Query, String> {
    let text = |name: &str| params.get(name).map(str::to_owned);
    let number = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| format!("`{name}` must be a number"))
            })
            .transpose()
    };
    Ok(Query {
        event: text("event"),
        actor: text("actor"),
        subject: text("subject"),
        since: number("since")?,
        until: number("until")?,
        before: number("before")?,
        limit: number("limit")?,
    })
}

fn row(event: AuditEventRow) -> AuditRow {
    let or_empty = |v: Option<String>| v.unwrap_or_default();
    AuditRow {
        time: rfc3339(event.at),
        event: event.event,
        actor: event.actor,
        subject: or_empty(event.subject),
        client: or_empty(event.client_id),
        address: or_empty(event.address),
        request_id: or_empty(event.request_id),
        reason: or_empty(event.reason),
        detail: or_empty(event.detail),
    }
}

/// The link to the page after this one: the same filters, older than `before`.
fn next_link(query: &Query, before: i64) -> String {
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("event", &query.event),
        ("actor", &query.actor),
        ("subject", &query.subject),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            link.append_pair(name, value);
        }
    }
    for (name, value) in [("since", query.since), ("until", query.until)] {
        if let Some(value) = value {
            link.append_pair(name, &value.to_string());
        }
    }
    link.append_pair("before", &before.to_string());
    format!("/admin/audit?{}", link.finish())
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> PageResult {
    administrator(&req, &state).await?;
    let refuse = |m: &str| PageError::page(&state, StatusCode::BAD_REQUEST, "Invalid filter", m);
    let params =
        Params::parse(req.query_string().as_bytes()).map_err(|e| refuse(&e.description))?;
    let query = query(&params).map_err(|m| refuse(&m))?;
    let (filter, limit) = audit::parse(query.clone()).map_err(|e| refuse(&e.to_string()))?;
    let page = db::run(&state.pool, move |conn| audit::page(conn, &filter, limit))
        .await
        .map_err(|e| PageError::failed(&state, e))?;
    let events: Vec<AuditRow> = page.events.into_iter().map(row).collect();
    let shown = AuditPage {
        brand: &state.brand,
        stored: state.settings.audit.store,
        events: &events,
        names: Kind::ALL.iter().map(|k| k.as_str()).collect(),
        event: query.event.as_deref().unwrap_or(""),
        actor: query.actor.as_deref().unwrap_or(""),
        subject: query.subject.as_deref().unwrap_or(""),
        next: page.next.map(|before| next_link(&query, before)),
    };
    Ok(super::guard::with_form_referrer_policy(pages::render(
        StatusCode::OK,
        &shown,
    )))
}
