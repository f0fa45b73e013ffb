//! `GET /.well-known/openid-configuration` (OIDC Discovery 1.0 §4): the pre-serialised document.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::state::AppState;

pub async fn get(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state.discovery.clone())
}
