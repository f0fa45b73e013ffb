//! `POST /token` (RFC 6749 §3.2): form body only; answers with `Cache-Control: no-store`. This
//! handler is the async bridge of the synchronous grants: it authenticates the client once (from
//! the client cache, no database in the steady state), checks the grant type, then runs the grant
//! where it has to run — on the worker for `client_credentials`, on the blocking pool with one
//! connection for the grants that read or write rows, with argon2 in between for `password`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;

use crate::audit::{self, Actor, Event, Kind};
use crate::db;
use crate::domain::client::Client;
use crate::metrics::LoginOutcome;
use crate::oauth::token::{
    authorization_code, client_credentials, password, refresh_token, resolve_scope, TokenRequest,
    TokenResponse,
};
use crate::oauth::OAuthError;
use crate::oauth::{client_auth, credentials, throttle};
use crate::state::AppState;

/// The answer, readable by browser code on the origins the request's client registered (CORS).
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut client_id = None;
    let result = handle(&req, payload, &state, &mut client_id).await;
    super::cors::respond(&req, &state, client_id.as_deref(), result).await
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    client_id: &mut Option<String>,
) -> Result<HttpResponse, OAuthError> {
    let params = super::read_form(req, payload, state.settings.server.max_body_bytes).await?;
    let authorization = super::authorization_header(req, crate::oauth::ErrorCode::InvalidClient)?;
    let presented = client_auth::extract(authorization, &params);
    *client_id = presented.as_ref().ok().map(|p| p.client_id.clone());
    let mut request = TokenRequest::parse(&params)?;
    if let TokenRequest::Password(password) = &mut request {
        password.source = Some(super::ClientAddr::of(req).0);
    }
    let client = state.authenticate(&presented?).await?;
    super::note_client(req, &client.id);
    request.admit(&client)?;
    let grant = request.grant_type();
    let response = exchange(state.clone().into_inner(), client, request).await?;
    state
        .metrics
        .tokens_issued
        .with_label_values(&[grant.as_str()])
        .inc();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// Runs the grant for the authenticated `client`.
async fn exchange(
    state: Arc<AppState>,
    client: Arc<Client>,
    request: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let pool = state.pool.clone();
    match request {
        TokenRequest::ClientCredentials(r) => {
            let keys = state.keys.load();
            client_credentials::grant(&state.token_context(&keys), &client, r)
        }
        TokenRequest::AuthorizationCode(r) => {
            let shared = Arc::clone(&state);
            let outcome = db::run(&pool, move |conn| {
                let keys = shared.keys.load();
                authorization_code::grant(&shared.token_context(&keys), conn, &client, r)
            })
            .await?;
            match outcome {
                authorization_code::Outcome::Issued(response) => Ok(response),
                authorization_code::Outcome::Replayed { code_hash } => {
                    let now = state.clock.now();
                    let store = state.settings.audit.store;
                    db::run_tx(&pool, move |conn| {
                        authorization_code::revoke_issued(conn, store, &code_hash, now)
                    })
                    .await?;
                    Err(authorization_code::replayed())
                }
            }
        }
        TokenRequest::RefreshToken(r) => {
            db::run(&pool, move |conn| {
                let keys = state.keys.load();
                refresh_token::grant(&state.token_context(&keys), conn, &client, r)
            })
            .await
        }
        TokenRequest::Password(mut r) => {
            let scope = resolve_scope(&client, r.scope.take())?;
            let password = std::mem::replace(&mut r.password, SecretString::from(String::new()));
            let (shared, admitted) = (Arc::clone(&state), Arc::clone(&client));
            let username = r.username.clone();
            let begun = db::run(&pool, move |conn| {
                let keys = shared.keys.load();
                password::begin(conn, &shared.token_context(&keys), &admitted, &r)
            })
            .await?;
            let (user, attempt) = match begun {
                Ok(begun) => begun,
                Err(refusal) => {
                    state.metrics.login(LoginOutcome::refused(refusal.locked()));
                    return Err(throttle::refusal_error(refusal));
                }
            };
            let reason = credentials::failure_reason(user.as_ref());
            // No connection is held while argon2 runs.
            let now = state.clock.now();
            let checked =
                throttle::check_password(&state.passwords, &pool, now, attempt, user, password)
                    .await?;
            let Some(user) = checked else {
                state.metrics.login(LoginOutcome::Failure);
                let failed = password::failed(&client, &username, reason);
                audit::record_apart(&pool, state.settings.audit.store, now, failed).await;
                return Err(password::refused());
            };
            state.metrics.login(LoginOutcome::Success);
            let succeeded = Event::new(Kind::LoginSucceeded, Actor::User(user.id.clone()))
                .subject(&user.id)
                .client(&client.id)
                .account(&user.username)
                .grant("password");
            succeeded.log();
            let stores = client.allows(crate::domain::client::GrantType::RefreshToken);
            let issue = move |conn: &mut db::DbConnection| {
                let keys = state.keys.load();
                password::grant(&state.token_context(&keys), conn, &client, user, &scope)
            };
            if stores {
                db::run_tx(&pool, issue).await
            } else {
                db::run(&pool, issue).await
            }
        }
    }
}
