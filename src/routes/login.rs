//! `GET|POST /login`: the hosted login page for a stored authorization request. A failed login
//! says "Invalid username or password" and nothing more (DESIGN.md §7).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};

use super::authorize::next_response;
use super::pages::{self, INTERACTION, SESSION};
use crate::db;
use crate::metrics::LoginOutcome;
use crate::oauth::credentials;
use crate::oauth::interaction::{self, InteractionError, Pending};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::views::LoginPage;

fn page(
    state: &AppState,
    pending: &Pending,
    csrf: &SecretString,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    pages::render(
        StatusCode::OK,
        &LoginPage {
            brand: &state.brand,
            client_name: &pending.request.client.name,
            request_id: &pending.row.id,
            csrf: csrf.expose_secret(),
            username,
            error,
        },
    )
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = match Params::parse(req.query_string().as_bytes()) {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let id = params.get("request").map(str::to_owned);
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let now = state.clock.now();
    let result = db::run(&state.pool, move |conn| {
        let pending = interaction::load(conn, id.as_deref(), browser.as_deref(), now)?;
        let csrf = interaction::new_csrf(conn, &pending)?;
        Ok::<_, InteractionError>((pending, csrf))
    })
    .await;
    match result {
        Ok((pending, csrf)) => {
            let hint = pending.request.login_hint.clone().unwrap_or_default();
            page(&state, &pending, &csrf, &hint, None)
        }
        Err(e) => pages::interaction_error(&state, e),
    }
}

#[tracing::instrument(name = "login", skip_all)]
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let params = match super::read_form(&req, payload, state.settings.server.max_body_bytes).await {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let id = params.get("request").map(str::to_owned);
    let csrf = params.get("csrf").map(str::to_owned);
    let username = params.get("username").unwrap_or("").to_owned();
    let password = SecretString::from(params.get("password").unwrap_or("").to_owned());
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let now = state.clock.now();
    let name = username.clone();
    let prepared = db::run(&state.pool, move |conn| {
        interaction::login_prepare(
            conn,
            id.as_deref(),
            browser.as_deref(),
            csrf.as_deref(),
            &name,
            now,
        )
    })
    .await;
    let (pending, user) = match prepared {
        Ok(found) => found,
        Err(e) => return pages::interaction_error(&state, e),
    };
    let user = match credentials::check_password(
        &state.passwords,
        &state.pool,
        state.clock.now(),
        user,
        password,
    )
    .await
    {
        Ok(user) => user,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let Some(user) = user else {
        state.metrics.login(LoginOutcome::Failure);
        tracing::info!(target: "audit", event = "login_failed", client_id = %pending.request.client.id);
        let renewed = db::run(&state.pool, move |conn| {
            let csrf = interaction::new_csrf(conn, &pending)?;
            Ok::<_, InteractionError>((pending, csrf))
        })
        .await;
        return match renewed {
            Ok((pending, csrf)) => page(
                &state,
                &pending,
                &csrf,
                &username,
                Some(credentials::INVALID_CREDENTIALS),
            ),
            Err(e) => pages::interaction_error(&state, e),
        };
    };
    state.metrics.login(LoginOutcome::Success);
    let shared = state.clone();
    let completed = db::run_tx(&state.pool, move |conn| {
        interaction::login_complete(conn, &shared.settings, now, pending, &user)
    })
    .await;
    match completed {
        Ok((cookie, next)) => {
            let mut response = next_response(next, true);
            let cookie = pages::cookie(&state, SESSION, cookie.expose_secret().to_owned(), None);
            if let Err(e) = response.add_cookie(&cookie) {
                tracing::error!(error = %e, "cannot set the session cookie");
            }
            response
        }
        Err(e) => pages::interaction_error(&state, e),
    }
}
