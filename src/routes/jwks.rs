//! `GET /jwks` (RFC 7517 §5): the public keys from the pre-serialised snapshot, with
//! `Cache-Control: max-age` and a strong `ETag` (`If-None-Match` → 304).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::state::AppState;

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let keys = state.keys.load();
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim() == keys.etag() || t.trim() == "*")
        });
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, state.jwks_cache_control.clone()))
        .insert_header((header::ETAG, keys.etag()))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    if matches {
        response.finish()
    } else {
        response
            .content_type("application/jwk-set+json")
            .body(keys.jwks().clone())
    }
}
