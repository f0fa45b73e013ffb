//! `POST /token` (RFC 6749 §3.2): form body only; answers with `Cache-Control: no-store`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::oauth::client_auth;
use crate::oauth::token::{self, TokenRequest};
use crate::oauth::OAuthError;
use crate::state::AppState;

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let params = super::read_form(&req, payload, state.settings.server.max_body_bytes).await?;
    let authorization = super::authorization_header(&req, crate::oauth::ErrorCode::InvalidClient)?;
    let mut request = TokenRequest::parse(&params)?;
    if let TokenRequest::Password(password) = &mut request {
        password.source = req.peer_addr().map(|a| a.ip());
    }
    let presented = client_auth::extract(authorization, &params)?;
    let grant = request.grant_type();
    let response = token::exchange(&state.clone().into_inner(), presented, request).await?;
    state
        .metrics
        .tokens_issued
        .with_label_values(&[grant])
        .inc();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
