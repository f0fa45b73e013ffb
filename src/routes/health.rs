//! `GET /healthz` (the process is up), `GET /readyz` (database reachable and a signing key
//! loaded) and `GET /metrics` (Prometheus text format).

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::db::{self, DbError};
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
            .insert_header((header::RETRY_AFTER, "5"))
            .json(body)
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    state.metrics.observe_pool(&state.pool);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
