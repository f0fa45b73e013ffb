//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662): form body, client
//! authentication, `Cache-Control: no-store`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db;
use crate::domain::client::Client;
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::revocation;
use crate::oauth::{ErrorCode, OAuthError};
use crate::state::AppState;

/// The `token` parameter and the client credentials presented with it.
async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(String, Presented), OAuthError> {
    let params = super::read_form(req, payload, state.settings.server.max_body_bytes).await?;
    let authorization = super::authorization_header(req, ErrorCode::InvalidClient)?;
    let presented = client_auth::extract(authorization, &params)?;
    let token = params.require("token")?.to_owned();
    Ok((token, presented))
}

fn no_store(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    response
}

/// RFC 7009 revocation; the answer is readable by browser code on the origins the request's
/// client registered (CORS).
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut client_id = None;
    let result = revoke_for(&req, payload, &state, &mut client_id).await;
    super::cors::respond(&req, &state, client_id.as_deref(), result).await
}

async fn revoke_for(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    presented_id: &mut Option<String>,
) -> Result<HttpResponse, OAuthError> {
    let (token, presented) = read(req, payload, state).await?;
    let client_id = presented.client_id.clone();
    *presented_id = Some(client_id.clone());
    let now = state.clock.now();
    let shared = state.clone();
    db::run_tx(&state.pool, move |conn| {
        let client = client_auth::authenticate(conn, &presented)?;
        revocation::revoke(
            conn,
            &shared.settings,
            &shared.keys.load(),
            &client,
            &token,
            now,
        )
    })
    .await?;
    super::note_client(req, &client_id);
    Ok(no_store(HttpResponse::Ok()).finish())
}

pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let (token, presented) = read(&req, payload, &state).await?;
    let client_id = presented.client_id.clone();
    let now = state.clock.now();
    let shared = state.clone();
    let body = db::run(&state.pool, move |conn| {
        let client: Client = client_auth::authenticate(conn, &presented)?;
        if client.is_public() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "Public clients cannot introspect tokens",
            ));
        }
        revocation::introspect(
            conn,
            &shared.settings,
            &shared.keys.load(),
            &client,
            &token,
            now,
        )
    })
    .await?;
    super::note_client(&req, &client_id);
    Ok(no_store(HttpResponse::Ok()).json(body))
}
