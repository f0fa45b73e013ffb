//! What the pages of the one-time links share (`password_reset`, `email_verify`): their CSRF
//! guard — a random value in an `HttpOnly` cookie that the form repeats (double submit), and a
//! request from Latchkey's own origin — and their closing pages (done, link invalid).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::admin_pages::guard::{same_origin, with_form_referrer_policy};
use super::pages;
use crate::domain::secret;
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::views::{LinkDonePage, Onward};

/// The cookie holding the CSRF value of the link pages' forms.
const LINK_CSRF: &str = "latchkey_link_form";
/// How long a link page's form may be left open, in seconds.
const FORM_SECS: i64 = 3600;

/// A fresh CSRF value for a form about to be shown.
pub fn new_csrf(state: &AppState) -> SecretString {
    secret::generate(&*state.random)
}

/// `response` (a page with a form carrying `csrf`) with its cookie, and the referrer policy
/// that lets the browser say the form came from this origin.
pub fn with_csrf(state: &AppState, response: HttpResponse, csrf: &SecretString) -> HttpResponse {
    let mut response = with_form_referrer_policy(response);
    let cookie = pages::cookie(
        state,
        LINK_CSRF,
        csrf.expose_secret().to_owned(),
        Some(FORM_SECS),
    );
    if let Err(e) = response.add_cookie(&cookie) {
        tracing::error!(error = %e, "cannot set the link form cookie");
    }
    response
}

/// Whether a posted form is this browser's own: same origin, and its `csrf` field equals the
/// cookie.
pub fn checked(req: &HttpRequest, state: &AppState, params: &Params) -> bool {
    let cookie = pages::read_cookie(req, state, LINK_CSRF);
    same_origin(req, state)
        && match (params.get("csrf"), cookie) {
            (Some(form), Some(cookie)) if !form.is_empty() => {
                bool::from(form.as_bytes().ct_eq(cookie.as_bytes()))
            }
            _ => false,
        }
}

/// A posted link form that is this browser's own ([`checked`]): its fields and its `token`;
/// otherwise the page to answer with.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Params, String), HttpResponse> {
    let params = super::read_form(req, payload, state.settings.server.max_body_bytes)
        .await
        .map_err(|e| pages::oauth_error_page(state, &e))?;
    if !checked(req, state, &params) {
        return Err(refused(state));
    }
    let token = params.get("token").unwrap_or("").to_owned();
    Ok((params, token))
}

/// The answer to a form that is not this browser's own.
pub fn refused(state: &AppState) -> HttpResponse {
    pages::error_page(
        state,
        StatusCode::FORBIDDEN,
        "This form cannot be accepted",
        "It was sent from another page or is out of date. Open the link from your email again.",
        None,
    )
}

/// A closing page.
pub fn done(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
    onward: Option<Onward>,
) -> HttpResponse {
    pages::render(
        status,
        &LinkDonePage {
            brand: &state.brand,
            title,
            message,
            alert: !status.is_success(),
            onward,
        },
    )
}

/// The page of a link that does not work (unknown, expired, used, its person disabled); with
/// the way to a new reset link when email is configured.
pub fn invalid(state: &AppState) -> HttpResponse {
    let onward = state.mailer.as_ref().map(|_| Onward {
        href: "/password/forgot".into(),
        label: "Ask for a new password link".into(),
    });
    done(
        state,
        StatusCode::BAD_REQUEST,
        "This link does not work",
        "It has expired, has already been used, or was not copied whole. Links work once and \
         for a short time only.",
        onward,
    )
}

/// The page when a database failure stops the flow (logged there; a generic text shown).
pub fn failed(state: &AppState, error: crate::db::DbError) -> HttpResponse {
    pages::oauth_error_page(state, &crate::oauth::OAuthError::from(error))
}
