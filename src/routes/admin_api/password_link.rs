//! `POST /admin/api/users/{username}/password-link`: a one-time set-password link for the user
//! (`admin::password_links`), shown once. The body is optional: `{"ttl_secs": N}` sets the
//! link's lifetime (default `email.password_link_ttl_secs`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{authorize, json_body, object, ok, run, ApiError};
use crate::admin::{password_links, AdminError};
use crate::state::AppState;

/// Whether the request has a body at all.
fn has_body(req: &HttpRequest) -> bool {
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => req.headers().contains_key(header::TRANSFER_ENCODING),
    }
}

pub async fn post(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let mut ttl = state.settings.email.password_link_ttl_secs;
    if has_body(&req) {
        let body = object(json_body(&req, payload, &state).await?)?;
        match body.get("ttl_secs") {
            None | Some(Value::Null) => {}
            Some(value) => {
                ttl = value
                    .as_i64()
                    .ok_or_else(|| AdminError::Invalid("`ttl_secs` must be an integer".into()))?;
            }
        }
    }
    let (random, base) = (state.random.clone(), state.settings.base_url().to_owned());
    let username = path.into_inner();
    let link = run(&state, move |conn| {
        password_links::create(conn, &by, &*random, &base, &username, ttl)
    })
    .await?;
    Ok(ok(StatusCode::CREATED, json!(link)))
}
