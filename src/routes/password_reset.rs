//! `GET|POST /password/forgot` ("Forgot your password?", offered on the login page when email is
//! configured) and `GET|POST /password/reset?token=…` (the page a reset link or an
//! administrator's set-password link opens). The forgot form's answer is the same page, status
//! and timing whatever was typed: the lookup, the limits and the send all happen in the
//! background (`email::requests::reset`). Opening a link spends nothing; saving the new
//! password (policy checked, argon2 in a password slot, before any connection is taken) spends
//! it and ends every session and refresh token of the person (`email::links::set_password`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};

use super::link_form::{self, checked, new_csrf, with_csrf};
use super::pages;
use crate::admin::{self, AdminError};
use crate::db;
use crate::email::links::{self, Purpose, Used};
use crate::email::{message, requests};
use crate::oauth::params::{Params, MAX_SEALED_LEN};
use crate::state::AppState;
use crate::views::{ForgotPage, ForgotSentPage, NewPasswordPage, Onward};

/// The sealed sign-in a forgot page was opened from, kept only when it can go back into a URL
/// as it is (base64url).
fn sign_in_request(params: &Params) -> Option<String> {
    params
        .get("request")
        .filter(|r| !r.is_empty() && r.len() <= MAX_SEALED_LEN)
        .filter(|r| {
            r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
}

/// The page when email is not configured.
fn unavailable(state: &AppState) -> HttpResponse {
    pages::error_page(
        state,
        StatusCode::NOT_FOUND,
        "Password reset is not available",
        "This service sends no email. Ask your administrator for a link to set a new password.",
        None,
    )
}

/// `GET /password/forgot[?request=…]`.
pub async fn forgot(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.mailer.is_none() {
        return unavailable(&state);
    }
    let params = Params::parse_interaction(req.query_string().as_bytes()).unwrap_or_default();
    let request = sign_in_request(&params);
    let csrf = new_csrf(&state);
    let page = ForgotPage {
        brand: &state.brand,
        csrf: csrf.expose_secret(),
        request: request.as_deref(),
    };
    with_csrf(&state, pages::render(StatusCode::OK, &page), &csrf)
}

/// `POST /password/forgot`: the same "check your email" page for every name, known or not.
#[tracing::instrument(name = "password_forgot", skip_all)]
pub async fn request(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(mailer) = state.mailer.as_ref() else {
        return unavailable(&state);
    };
    let params = match super::read_interaction_form(&req, payload, &state).await {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    if !checked(&req, &state, &params) {
        return link_form::refused(&state);
    }
    let typed = params.get("account").unwrap_or("").to_owned();
    let address = super::ClientAddr::of(&req).0;
    let shared = state.clone();
    mailer.spawn(async move { send_reset(shared, typed, address).await });
    let request = sign_in_request(&params);
    let page = ForgotSentPage {
        brand: &state.brand,
        minutes: (state.settings.email.reset_link_ttl_secs / 60).max(1),
        request: request.as_deref(),
    };
    pages::render(StatusCode::OK, &page)
}

/// In the background: the link for `typed`, if it names an account that may get one now, sent.
async fn send_reset(state: web::Data<AppState>, typed: String, address: std::net::IpAddr) {
    let Some(mailer) = state.mailer.as_ref() else {
        return;
    };
    let now = state.clock.now();
    let shared = state.clone();
    let found = db::run(&state.pool, move |conn| {
        requests::reset(
            conn,
            &shared.settings,
            &*shared.random,
            &typed,
            address,
            now,
        )
    })
    .await;
    let to_send = match found {
        Ok(Some(to_send)) => to_send,
        Ok(None) => return,
        Err(e) => return tracing::warn!(error = %e, "a password reset request failed"),
    };
    let brand = &state.brand.product_name;
    let link = to_send.url.expose_secret();
    let sent = match message::password_reset(
        brand,
        &to_send.username,
        &to_send.to,
        link,
        to_send.ttl_secs,
    ) {
        Ok(outgoing) => mailer.send(&outgoing).await,
        Err(e) => Err(e.into()),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "the password reset email could not be sent");
    }
}

/// The new-password form for the usable link `token`.
fn form_page(
    state: &AppState,
    status: StatusCode,
    purpose: Purpose,
    username: &str,
    token: &str,
    error: Option<&str>,
) -> HttpResponse {
    let title = match purpose {
        Purpose::SetPassword => "Set your password",
        _ => "Choose a new password",
    };
    let csrf = new_csrf(state);
    let page = NewPasswordPage {
        brand: &state.brand,
        title,
        username,
        token,
        csrf: csrf.expose_secret(),
        min_length: state.settings.passwords.min_length,
        error,
    };
    with_csrf(state, pages::render(status, &page), &csrf)
}

/// The link `token` if it is a usable password link: its purpose and person.
async fn usable(state: &AppState, token: &str) -> Result<Option<links::Usable>, HttpResponse> {
    let (now, owned) = (state.clock.now(), token.to_owned());
    let found = db::run(&state.pool, move |conn| links::peek(conn, &owned, now))
        .await
        .map_err(|e| link_form::failed(state, e))?;
    Ok(found.filter(|u| u.purpose != Purpose::Verify))
}

/// `GET /password/reset?token=…`.
pub async fn open(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let token = params.get("token").unwrap_or("");
    match usable(&state, token).await {
        Ok(Some(link)) => form_page(
            &state,
            StatusCode::OK,
            link.purpose,
            &link.username,
            token,
            None,
        ),
        Ok(None) => link_form::invalid(&state),
        Err(page) => page,
    }
}

/// `POST /password/reset`: the new password.
#[tracing::instrument(name = "password_reset", skip_all)]
pub async fn save(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (params, token) = match link_form::read(&req, payload, &state).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let link = match usable(&state, &token).await {
        Ok(Some(link)) => link,
        Ok(None) => return link_form::invalid(&state),
        Err(page) => return page,
    };
    let again = |status, message: &str| {
        form_page(
            &state,
            status,
            link.purpose,
            &link.username,
            &token,
            Some(message),
        )
    };
    let password = params.get("password").unwrap_or("");
    if password != params.get("confirm").unwrap_or("") {
        return again(StatusCode::BAD_REQUEST, "The two passwords differ.");
    }
    let password = SecretString::from(password.to_owned());
    let hashed = admin::with_passwords(&state.passwords, move |p| {
        admin::users::hash_password(p, &password)
    })
    .await;
    let hash = match hashed {
        Ok(hash) => hash,
        Err(AdminError::Invalid(reason)) => return again(StatusCode::BAD_REQUEST, &reason),
        Err(AdminError::Busy) => {
            let mut page = again(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is busy. Please try again in a moment.",
            );
            page.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            return page;
        }
        Err(e) => {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "password hashing failed"
            );
            return pages::error_page(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The password could not be saved. Try again in a moment.",
                None,
            );
        }
    };
    let (now, store) = (state.clock.now(), state.settings.audit.store);
    let used = db::run(&state.pool, move |conn| {
        links::set_password(conn, store, &token, &hash, now)
    })
    .await;
    match used {
        Ok(Used::Done(purpose)) => {
            let title = match purpose {
                Purpose::SetPassword => "Your password is set",
                _ => "Your password is changed",
            };
            link_form::done(
                &state,
                StatusCode::OK,
                title,
                "You are signed out everywhere. Sign in with your new password from the \
                 application you were using.",
                Some(Onward {
                    href: "/account".into(),
                    label: "Go to your account".into(),
                }),
            )
        }
        Ok(_) => link_form::invalid(&state),
        Err(e) => link_form::failed(&state, e),
    }
}
