//! `GET /admin/api/audit`: the stored audit trail as JSON, for an admin token (`latchkey:admin`),
//! filtered by `event`, `actor`, `subject`, `since`, `until` (Unix seconds) and paged newest first
//! with `limit` and the `next` cursor passed back as `before`. Empty when `audit.store` is off.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::admin_api::{authorize, ApiError};
use crate::admin::audit::{self, Query};
use crate::db;
use crate::state::AppState;

pub async fn list(
    req: HttpRequest,
    query: web::Query<Query>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let (filter, limit) = audit::parse(query.into_inner())?;
    let page = db::run(&state.pool, move |conn| audit::page(conn, &filter, limit)).await?;
    Ok(HttpResponse::build(StatusCode::OK)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "events": page.events,
            "next": page.next,
            "stored": state.settings.audit.store,
        })))
}
