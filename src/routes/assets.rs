//! `GET /assets/…`: the built-in style sheet, the theme built from `[branding]`, the optional
//! extra style sheet, and the passkey script, all compiled in or read once at start.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::state::AppState;
use crate::views::{PASSKEY_SCRIPT, STYLESHEET};

fn css(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

pub async fn stylesheet() -> HttpResponse {
    css(STYLESHEET.to_owned())
}

pub async fn theme(state: web::Data<AppState>) -> HttpResponse {
    css(state.theme_css.clone())
}

pub async fn extra(state: web::Data<AppState>) -> HttpResponse {
    match &state.extra_css {
        Some(body) => css(body.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `GET /assets/passkey.js`: the one script of the pages that offer passkeys.
pub async fn passkey_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(PASSKEY_SCRIPT)
}
