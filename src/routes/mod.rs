//! The async HTTP shell: one module per endpoint. Handlers extract input, call the protocol core
//! once, and map its result or error to a response.

pub mod account;
pub mod account_passkey;
pub mod account_profile;
pub mod account_sessions;
pub mod admin_api;
pub mod admin_api_resources;
pub mod admin_audit;
pub mod admin_pages;
pub mod assets;
pub mod authorize;
pub mod client_addr;
pub mod consent;
pub mod cors;
pub mod discovery;
pub mod email_verify;
pub mod error;
pub mod health;
pub mod jwks;
pub mod link_form;
pub mod login;
pub mod login_passkey;
pub mod login_second_factor;
pub mod logout;
pub mod observe;
pub mod pages;
pub mod password_reset;
pub mod register;
pub mod revocation;
pub mod token;
pub mod transport;
pub mod userinfo;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use crate::oauth::params::Params;
use crate::oauth::OAuthError;
use crate::state::AppState;

pub use client_addr::ClientAddr;
pub use observe::{note_client, observe, RequestId};

/// The `Authorization` header as text; a value that is not ASCII is refused with `code`
/// (`invalid_client` where it carries client credentials, `invalid_token` for bearer tokens).
pub fn authorization_header(
    req: &HttpRequest,
    code: crate::oauth::ErrorCode,
) -> Result<Option<&str>, OAuthError> {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|v| {
            v.to_str()
                .map_err(|_| OAuthError::new(code, "The Authorization header is not valid ASCII"))
        })
        .transpose()
}

/// The bearer token of the `Authorization` header (RFC 6750 §2.1), if there is one.
pub fn bearer_token(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let value = authorization_header(req, crate::oauth::ErrorCode::InvalidToken)?;
    crate::oauth::bearer::from_header(value)
}

/// Unknown paths: a JSON 404.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("application/json")
        .body(r#"{"error":"not_found","error_description":"No such endpoint"}"#)
}

/// Reads a body of at most `limit` bytes within `server.body_timeout_secs`; 413 in RFC 6749
/// form when larger, 408 when slower.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, OAuthError> {
    let too_large = || {
        OAuthError::invalid_request(format!("The request body exceeds {limit} bytes"))
            .with_status(413)
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(512).min(limit));
    let deadline = req
        .app_data::<web::Data<AppState>>()
        .map_or(10, |state| state.settings.server.body_timeout_secs);
    let read = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|_| OAuthError::invalid_request("The request body could not be read"))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    // A body trickled in to hold the connection open ends here (the connection is closed, since
    // the body was not read to its end).
    match tokio::time::timeout(std::time::Duration::from_secs(deadline), read).await {
        Ok(result) => result.map(|()| body),
        Err(_) => Err(
            OAuthError::invalid_request("The request body did not arrive in time").with_status(408),
        ),
    }
}

/// The media type of the request, lower-cased, without parameters.
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Reads an `application/x-www-form-urlencoded` body of at most `server.max_body_bytes` and parses
/// it strictly. Every failure is an RFC 6749 error: 413 for oversize, 400 otherwise.
pub async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Params, OAuthError> {
    if media_type(req) != "application/x-www-form-urlencoded" {
        return Err(OAuthError::invalid_request(
            "The request body must be application/x-www-form-urlencoded",
        ));
    }
    let body = read_body(req, payload, limit).await?;
    Params::parse(&body)
}

/// [`read_form`] for the login and consent forms, whose `request` carries a sealed pending
/// request ([`Params::parse_interaction`]).
pub async fn read_interaction_form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &crate::state::AppState,
) -> Result<Params, OAuthError> {
    if media_type(req) != "application/x-www-form-urlencoded" {
        return Err(OAuthError::invalid_request(
            "The request body must be application/x-www-form-urlencoded",
        ));
    }
    let body = read_body(req, payload, state.settings.server.max_body_bytes).await?;
    Params::parse_interaction(&body)
}
