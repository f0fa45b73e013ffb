//! `GET|POST /login`: the hosted login page for a sealed authorization request (`oauth::pending`). A failed login
//! says "Invalid username or password" and nothing more (DESIGN.md §7); a throttled one says only
//! how long to wait (DESIGN.md §5b, `oauth::throttle`), and one login page takes a bounded number
//! of failures. When passkeys are on, the page also offers a sign-in with a passkey alone
//! (`login_passkey`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};

use super::authorize::next_response;
use super::pages::{self, INTERACTION, SESSION};
use crate::audit::{self, Actor, Event, Kind};
use crate::db;
use crate::domain::factor::Amr;
use crate::domain::user::User;
use crate::metrics::LoginOutcome;
use crate::oauth::credentials;
use crate::oauth::interaction::{self, InteractionError, Pending};
use crate::oauth::known_device;
use crate::oauth::params::Params;
use crate::oauth::session;
use crate::oauth::throttle::{self, Refusal};
use crate::oauth::ErrorCode;
use crate::state::AppState;
use crate::views::LoginPage;

/// The login page's answer when every password worker is busy.
const BUSY: &str = "The service is busy. Please try again in a moment.";

pub(super) fn page(
    state: &AppState,
    pending: &Pending,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let passkey = super::login_passkey::prompt(state, pending);
    let response = pages::render(
        StatusCode::OK,
        &LoginPage {
            brand: &state.brand,
            client_name: &pending.request.client.name,
            request_id: &pending.opened.token,
            csrf: pending.csrf.expose_secret(),
            username,
            error,
            passkey: passkey.as_ref(),
            forgot: state.mailer.is_some(),
        },
    );
    if passkey.is_some() {
        pages::with_script(response)
    } else {
        response
    }
}

/// Why the form is shown again.
enum Again {
    /// Wrong credentials, whatever was wrong.
    Invalid,
    /// Throttled: 429 and the wait, in seconds.
    Throttled(i64),
    /// The password workers are busy: 503, retry in a moment.
    Busy,
}

/// The form again, for the same pending request, with a generic message.
fn again(state: &AppState, pending: &Pending, username: &str, why: Again) -> HttpResponse {
    let (status, message, retry_after) = match why {
        Again::Invalid => {
            let message = Some(credentials::INVALID_CREDENTIALS);
            return page(state, pending, username, message);
        }
        Again::Throttled(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            throttle::wait_message(secs),
            secs,
        ),
        Again::Busy => (StatusCode::SERVICE_UNAVAILABLE, BUSY.to_owned(), 1),
    };
    let mut response = page(state, pending, username, Some(&message));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A refused attempt: the wait on the form, or, when this login had its share of failures, the
/// end of it (the person starts again from the application).
pub(super) async fn refused(
    state: &AppState,
    pending: Pending,
    username: &str,
    refusal: Refusal,
) -> HttpResponse {
    match refusal {
        Refusal::Throttled {
            retry_after_secs, ..
        } => again(
            state,
            &pending,
            username,
            Again::Throttled(retry_after_secs),
        ),
        // As many logins as allowed are being checked right now: like busy workers, not a failure.
        Refusal::Crowded => again(state, &pending, username, Again::Busy),
        Refusal::RequestExhausted => {
            let ended = db::run(&state.pool, move |conn| {
                interaction::exhausted(conn, &pending)
            })
            .await;
            if let Err(e) = ended {
                tracing::warn!(error = %e, "ending an exhausted login failed");
            }
            pages::error_page(
                state,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed attempts",
                "Go back to the application and start again.",
                None,
            )
        }
    }
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = match Params::parse_interaction(req.query_string().as_bytes()) {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let sealed = params.get("request").map(str::to_owned);
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let now = state.clock.now();
    let shared = state.clone();
    let result = db::run(&state.pool, move |conn| {
        let ctx = shared.authorization_context(now);
        interaction::load(conn, &ctx, sealed.as_deref(), browser.as_deref())
    })
    .await;
    match result {
        Ok(pending) => {
            let hint = pending.request.login_hint.clone().unwrap_or_default();
            page(&state, &pending, &hint, None)
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
    let params = match super::read_interaction_form(&req, payload, &state).await {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let sealed = params.get("request").map(str::to_owned);
    let csrf = params.get("csrf").map(str::to_owned);
    let username = params.get("username").unwrap_or("").to_owned();
    let password = SecretString::from(params.get("password").unwrap_or("").to_owned());
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let now = state.clock.now();
    let name = username.clone();
    let address = Some(super::ClientAddr::of(&req).0);
    let shared = state.clone();
    let audit_store = state.settings.audit.store;
    let by_email = state.settings.login.by_email;
    let prepared = db::run(&state.pool, move |conn| {
        let ctx = shared.authorization_context(now);
        let (pending, user) = interaction::login_prepare(
            conn,
            &ctx,
            sealed.as_deref(),
            browser.as_deref(),
            csrf.as_deref(),
            &name,
            by_email,
        )?;
        // Failures count against the account the name resolved to (by username or email alike),
        // and against the request's random id: a replayed copy of the sealed value shares the
        // count, whatever the form around it.
        let account = user.as_ref().map_or(name.as_str(), |u| u.username.as_str());
        let source = throttle::Source {
            username: account,
            address,
            request: Some(&pending.opened.id),
            client_id: &pending.request.client.id,
            audit_store,
            second_factor: false,
        };
        let attempt = throttle::begin(conn, &shared.settings.login_throttle, &source, now)?;
        Ok::<_, InteractionError>((pending, user, attempt))
    })
    .await;
    let (pending, user, attempt) = match prepared {
        Ok(found) => found,
        Err(e) => return pages::interaction_error(&state, e),
    };
    let attempt = match attempt {
        Ok(attempt) => attempt,
        Err(refusal) => {
            state.metrics.login(LoginOutcome::refused(refusal.locked()));
            return refused(&state, pending, &username, refusal).await;
        }
    };
    let last_try = attempt.last_try;
    let reason = credentials::failure_reason(user.as_ref());
    // A browser this person signed in from before waits in the priority lane.
    let lane = known_device::lane(
        &state.master_key,
        pages::read_cookie(&req, &state, known_device::COOKIE).as_deref(),
        user.as_ref().map(|u| u.id.as_str()),
        now,
        known_device_ttl(&state),
    );
    let user = match throttle::check_password(
        &state.passwords.in_lane(lane),
        &state.pool,
        state.clock.now(),
        attempt,
        user,
        password,
    )
    .await
    {
        Ok(user) => user,
        Err(e) if e.code == ErrorCode::TemporarilyUnavailable => {
            return again(&state, &pending, &username, Again::Busy)
        }
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let Some(user) = user else {
        state.metrics.login(LoginOutcome::Failure);
        let failed = Event::new(Kind::LoginFailed, Actor::Anonymous)
            .client(&pending.request.client.id)
            .account(&username)
            .reason(reason);
        audit::record_apart(&state.pool, audit_store, now, failed).await;
        if last_try {
            return refused(&state, pending, &username, Refusal::RequestExhausted).await;
        }
        return again(&state, &pending, &username, Again::Invalid);
    };
    state.metrics.login(LoginOutcome::Success);
    let pending = match super::login_second_factor::after_password(&state, pending, &user).await {
        Ok(pending) => pending,
        Err(second_step) => return second_step,
    };
    finish(&req, &state, pending, &user, Amr::password(), &[]).await
}

/// Ends a successful login (by `amr`): a new session, then consent or the code. With new
/// recovery codes, a page shows them once before the person goes on.
pub(super) async fn finish(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    pending: Pending,
    user: &User,
    amr: Amr,
    recovery_codes: &[String],
) -> HttpResponse {
    let shared = state.clone();
    let now = state.clock.now();
    let (user, user_id) = (user.clone(), user.id.clone());
    // Every login starts a new session and ends the one this browser had (session fixation,
    // re-login as another user, prompt=login).
    let previous = pages::read_cookie(req, state, SESSION);
    let from = started_from(req);
    let completed = db::run_tx(&state.pool, move |conn| {
        session::end(conn, previous.as_deref())?;
        let ctx = shared.authorization_context(now);
        interaction::login_complete(conn, &ctx, pending, (&user, &amr, &from))
    })
    .await;
    match completed {
        Ok((cookie, next)) => {
            let mut response = if recovery_codes.is_empty() {
                next_response(next, true)
            } else {
                super::login_second_factor::recovery_codes_page(state, next, recovery_codes)
            };
            let cookie = pages::cookie(state, SESSION, cookie.expose_secret().to_owned(), None);
            if let Err(e) = response.add_cookie(&cookie) {
                tracing::error!(error = %e, "cannot set the session cookie");
            }
            let ttl = known_device_ttl(state);
            if ttl > 0 {
                let device = known_device::issue(&state.master_key, &user_id, now);
                let device = pages::cookie(state, known_device::COOKIE, device, Some(ttl));
                if let Err(e) = response.add_cookie(&device) {
                    tracing::error!(error = %e, "cannot set the known-device cookie");
                }
            }
            response
        }
        Err(e) => pages::interaction_error(state, e),
    }
}

/// How long a browser stays a known device (`login.known_device_days`), in seconds; 0: never.
fn known_device_ttl(state: &AppState) -> i64 {
    i64::from(state.settings.login.known_device_days) * 86_400
}

/// Where this browser signs in from: its `User-Agent` summarised, and the client address.
fn started_from(req: &HttpRequest) -> session::StartedFrom {
    let user_agent = req.headers().get(header::USER_AGENT);
    session::StartedFrom {
        device: crate::domain::device::summary(user_agent.and_then(|v| v.to_str().ok())),
        address: Some(super::ClientAddr::of(req).to_string()),
    }
}
