//! `GET /healthz` (the process is up), `GET /readyz` (database reachable and a signing key
//! loaded) and `GET /metrics` (Prometheus text format, optionally behind a bearer token).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db::{self, DbError};
use crate::metrics::access::MetricsAccess;
use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = db::run(&state.pool, |conn| {
        diesel::r2d2::R2D2Connection::ping(conn).map_err(DbError::from)
    })
    .await
    .is_ok();
    let keys = state.keys.load().active().is_some();
    let body = serde_json::json!({
        "status": if database && keys { "ready" } else { "unavailable" },
        "database": database,
        "signing_key": keys,
    });
    if database && keys {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, crate::oauth::error::RETRY_AFTER_SECS))
            .json(body)
    }
}

/// `GET /metrics`; with `metrics.bearer_token_file`, only for the bearer of that token.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: web::Data<MetricsAccess>,
) -> HttpResponse {
    let presented = super::bearer_token(&req).ok().flatten();
    if !access.allows(presented.as_deref()) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="metrics""#))
            .content_type("application/json")
            .body(
                r#"{"error":"invalid_token","error_description":"A valid bearer token is required"}"#,
            );
    }
    let keys = state.keys.load();
    state
        .metrics
        .observe(&state.pool, &state.passwords, &keys, state.clock.now());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
