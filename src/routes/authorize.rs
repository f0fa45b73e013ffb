//! `GET|POST /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): validates the request, then sends
//! the browser back to the client with a code or on to the login or consent page.

use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};

use super::pages::{self, INTERACTION, SESSION};
use crate::db;
use crate::domain::secret;
use crate::oauth::authorize::{self, Next};
use crate::oauth::interaction;
use crate::oauth::params::Params;
use crate::oauth::session;
use crate::state::AppState;

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match Params::parse(req.query_string().as_bytes()) {
        Ok(params) => handle(&req, state, params, false).await,
        Err(e) => pages::oauth_error_page(&state, &e),
    }
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    match super::read_form(&req, payload, state.settings.server.max_body_bytes).await {
        Ok(params) => handle(&req, state, params, true).await,
        Err(e) => pages::oauth_error_page(&state, &e),
    }
}

/// Where the browser goes for `next`.
pub fn next_response(next: Next, after_post: bool) -> HttpResponse {
    match next {
        Next::Redirect(to) => pages::redirect(&to, after_post),
        Next::Login(sealed) => pages::redirect(&format!("/login?request={sealed}"), after_post),
        Next::Consent(sealed) => pages::redirect(&format!("/consent?request={sealed}"), after_post),
    }
}

#[tracing::instrument(name = "authorize", skip_all)]
async fn handle(
    req: &HttpRequest,
    state: web::Data<AppState>,
    params: Params,
    after_post: bool,
) -> HttpResponse {
    let session_cookie = pages::read_cookie(req, &state, SESSION);
    let existing = pages::read_cookie(req, &state, INTERACTION).filter(|v| v.len() == 43);
    let fresh_browser = existing.is_none();
    let browser = existing
        .map(SecretString::from)
        .unwrap_or_else(|| secret::generate(&*state.random));
    let browser_hash = interaction::browser_hash(&browser);
    let now = state.clock.now();
    let shared = state.clone();
    let result = db::run(&state.pool, move |conn| {
        let request = authorize::validate(conn, &params)?;
        let session = session::current(conn, &shared.settings, session_cookie.as_deref(), now)?;
        let ctx = shared.authorization_context(now);
        authorize::decide(conn, &ctx, request, session.as_ref(), &browser_hash)
    })
    .await;
    match result {
        Ok(next) => {
            let needs_browser_cookie = fresh_browser && !matches!(next, Next::Redirect(_));
            let mut response = next_response(next, after_post);
            if needs_browser_cookie {
                let cookie = pages::cookie(
                    &state,
                    INTERACTION,
                    browser.expose_secret().to_owned(),
                    Some(state.settings.sessions.login_timeout_secs),
                );
                if let Err(e) = response.add_cookie(&cookie) {
                    tracing::error!(error = %e, "cannot set the interaction cookie");
                }
            }
            response
        }
        Err(e) => pages::authorize_error(&state, e, after_post),
    }
}
