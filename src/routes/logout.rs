//! `GET|POST /logout` (`end_session_endpoint`, OIDC RP-Initiated Logout 1.0). With a valid
//! `id_token_hint` the session ends at once; otherwise the user confirms on a page whose form
//! carries a double-submit CSRF token.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::pages::{self, LOGOUT_CSRF, SESSION};
use crate::audit::{self, Actor, Event, Kind};
use crate::db;
use crate::domain::secret;
use crate::oauth::logout::{self, Logout};
use crate::oauth::params::Params;
use crate::oauth::session;
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::views::{LoggedOutPage, LogoutPage};

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match Params::parse(req.query_string().as_bytes()) {
        Ok(params) => handle(&req, &state, params, false).await,
        Err(e) => pages::oauth_error_page(&state, &e),
    }
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    match super::read_form(&req, payload, state.settings.server.max_body_bytes).await {
        Ok(params) => handle(&req, &state, params, true).await,
        Err(e) => pages::oauth_error_page(&state, &e),
    }
}

async fn handle(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    params: Params,
    is_post: bool,
) -> HttpResponse {
    let session_cookie = pages::read_cookie(req, state, SESSION);
    let now = state.clock.now();
    // A confirmation form posted back with the matching double-submit token.
    let confirmed_by_user = is_post
        && params.get("confirm") == Some("yes")
        && match (
            params.get("csrf"),
            pages::read_cookie(req, state, LOGOUT_CSRF),
        ) {
            (Some(form), Some(cookie)) => bool::from(form.as_bytes().ct_eq(cookie.as_bytes())),
            _ => false,
        };
    if is_post && params.get("confirm").is_some() && !confirmed_by_user {
        return pages::error_page(
            state,
            StatusCode::FORBIDDEN,
            "This form cannot be accepted",
            "It was sent from another browser or is out of date. Try signing out again.",
            None,
        );
    }
    let shared = state.clone();
    // One transaction: the session ends and its audit event is stored together.
    let checked = db::run_tx(&state.pool, move |conn| {
        let session = session::current(conn, &shared.settings, session_cookie.as_deref(), now)?;
        let logout = logout::check(
            conn,
            &shared.settings,
            &shared.keys.load(),
            &params,
            session.as_ref(),
        )?;
        if logout.confirmed_by_hint || confirmed_by_user {
            if let Some(s) = &session {
                db::sessions::delete(conn, &s.id_hash)?;
                let mut ended = Event::new(Kind::SessionEnded, Actor::User(s.user.id.clone()))
                    .subject(&s.user.id)
                    .reason("logout");
                ended.client = logout.client.as_ref().map(|c| c.id.clone());
                audit::record(conn, shared.settings.audit.store, now, &ended)?;
            }
        }
        Ok::<_, OAuthError>(logout)
    })
    .await;
    match checked {
        Ok(logout) if logout.confirmed_by_hint || confirmed_by_user => finished(state, &logout),
        Ok(logout) => confirm(state, &logout),
        Err(e) => pages::oauth_error_page(state, &e),
    }
}

fn finished(state: &AppState, logout: &Logout) -> HttpResponse {
    let mut response = match &logout.redirect {
        Some(to) => pages::redirect(to, true),
        None => pages::render(
            StatusCode::OK,
            &LoggedOutPage {
                brand: &state.brand,
                onward: logout.client.as_ref().and_then(pages::application_link),
            },
        ),
    };
    for name in [SESSION, LOGOUT_CSRF] {
        if let Err(e) = response.add_cookie(&pages::removal(state, name)) {
            tracing::error!(error = %e, "cannot clear a cookie");
        }
    }
    response
}

fn confirm(state: &AppState, logout: &Logout) -> HttpResponse {
    let csrf = secret::generate(&*state.random);
    let mut response = pages::render(
        StatusCode::OK,
        &LogoutPage {
            brand: &state.brand,
            csrf: csrf.expose_secret(),
            client_name: logout.client.as_ref().map(|c| c.name.as_str()),
            redirect_host: logout.redirect_host.as_deref(),
            client_id: logout.client_id.as_deref(),
            post_logout_redirect_uri: logout.post_logout_redirect_uri.as_deref(),
            state: logout.state.as_deref(),
        },
    );
    let cookie = pages::cookie(
        state,
        LOGOUT_CSRF,
        csrf.expose_secret().to_owned(),
        Some(900),
    );
    if let Err(e) = response.add_cookie(&cookie) {
        tracing::error!(error = %e, "cannot set the logout cookie");
    }
    response
}
