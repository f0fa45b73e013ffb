//! `GET|POST /userinfo` (OIDC Core §5.3): the bearer token from the `Authorization` header
//! (RFC 6750 §2.1) or, on POST, the form body (§2.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db;
use crate::oauth::OAuthError;
use crate::oauth::{access_token, userinfo};
use crate::state::AppState;

/// RFC 6750 §3.1: a request without any token gets a bare challenge.
fn no_token() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="latchkey""#))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({"error": "invalid_token", "error_description": "No access token was provided"}))
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut client_id = None;
    let result = match super::bearer_token(&req) {
        Ok(Some(token)) => respond(&state, token, &mut client_id).await,
        Ok(None) => Ok(no_token()),
        Err(e) => Err(e),
    };
    super::cors::respond(&req, &state, client_id.as_deref(), result).await
}

/// The answer, readable by browser code on the origins the token's client registered (CORS).
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut client_id = None;
    let result = read_and_respond(&req, payload, &state, &mut client_id).await;
    super::cors::respond(&req, &state, client_id.as_deref(), result).await
}

async fn read_and_respond(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    client_id: &mut Option<String>,
) -> Result<HttpResponse, OAuthError> {
    let header_token = super::bearer_token(req)?;
    let has_body = req.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .starts_with(b"application/x-www-form-urlencoded")
    });
    let body_token = if has_body {
        let params = super::read_form(req, payload, state.settings.server.max_body_bytes).await?;
        params.get("access_token").map(str::to_owned)
    } else {
        None
    };
    match (header_token, body_token) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "The access token was sent in more than one way",
        )),
        (Some(token), None) | (None, Some(token)) => respond(state, token, client_id).await,
        (None, None) => Ok(no_token()),
    }
}

#[tracing::instrument(name = "userinfo", skip_all)]
async fn respond(
    state: &AppState,
    token: String,
    client_id: &mut Option<String>,
) -> Result<HttpResponse, OAuthError> {
    let now = state.clock.now();
    let claims = access_token::verify(&state.settings, &state.keys.load(), now, &token)?;
    *client_id = Some(claims.client_id.clone());
    let groups_offered = state.settings.claims.groups;
    let body = db::run(&state.pool, move |conn| {
        userinfo::userinfo(conn, groups_offered, &claims)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body))
}
