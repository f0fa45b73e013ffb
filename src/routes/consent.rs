//! `GET|POST /consent`: lists the requested scopes in plain words; approval is remembered per
//! user and client, denial returns `access_denied` to the client.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;

use super::pages::{self, INTERACTION, SESSION};
use crate::db;
use crate::oauth::interaction::{self, InteractionError};
use crate::oauth::params::Params;
use crate::oauth::session;
use crate::state::AppState;
use crate::views::ConsentPage;

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = match Params::parse_interaction(req.query_string().as_bytes()) {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let sealed = params.get("request").map(str::to_owned);
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let session_cookie = pages::read_cookie(&req, &state, SESSION);
    let now = state.clock.now();
    let shared = state.clone();
    let result = db::run(&state.pool, move |conn| {
        let session = session::current(conn, &shared.settings, session_cookie.as_deref(), now)?;
        let ctx = shared.authorization_context(now);
        let pending = interaction::consent_load(
            conn,
            &ctx,
            sealed.as_deref(),
            browser.as_deref(),
            session.as_ref(),
        )?;
        let username = session.map(|s| s.user.username).unwrap_or_default();
        Ok::<_, InteractionError>((pending, username))
    })
    .await;
    match result {
        Ok((pending, username)) => pages::render(
            StatusCode::OK,
            &ConsentPage {
                brand: &state.brand,
                client_name: &pending.request.client.name,
                redirect_host: pending
                    .request
                    .client
                    .unvouched_host(&pending.request.redirect_uri)
                    .as_deref(),
                scopes: interaction::describe_scope(&pending.request.scope),
                username: &username,
                request_id: &pending.opened.token,
                csrf: pending.csrf.expose_secret(),
            },
        ),
        Err(e) => pages::interaction_error(&state, e),
    }
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let params = match super::read_interaction_form(&req, payload, &state).await {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let sealed = params.get("request").map(str::to_owned);
    let csrf = params.get("csrf").map(str::to_owned);
    let approve = params.get("decision") == Some("approve");
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let session_cookie = pages::read_cookie(&req, &state, SESSION);
    let now = state.clock.now();
    let shared = state.clone();
    let result = db::run_tx(&state.pool, move |conn| {
        let session = session::current(conn, &shared.settings, session_cookie.as_deref(), now)?;
        let ctx = shared.authorization_context(now);
        let pending = interaction::consent_load(
            conn,
            &ctx,
            sealed.as_deref(),
            browser.as_deref(),
            session.as_ref(),
        )?;
        let session = session.ok_or(InteractionError::Forbidden)?;
        interaction::consent_decide(
            conn,
            &ctx,
            pending,
            &session,
            interaction::ConsentAnswer {
                csrf: csrf.as_deref(),
                approve,
            },
        )
    })
    .await;
    match result {
        Ok(to) => pages::redirect(&to, true),
        Err(e) => pages::interaction_error(&state, e),
    }
}
