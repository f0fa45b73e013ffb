//! The account page's profile and password forms (`oauth::profile`). A refused form shows the
//! account page again with its reason next to it (the profile as it was sent, never a password).
//! A password change needs the current password, checked like a login (`oauth::throttle`: the
//! same counters, back-offs and lock, and the same password workers), so a stolen session is no
//! way to guess it; the new one follows the same policy as everywhere else.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};

use super::account::{failed, form, show, Shown};
use super::pages;
use crate::admin::clients::ACCOUNT_ID;
use crate::audit::{self, Actor, Event, Kind};
use crate::crypto::password::PasswordError;
use crate::db;
use crate::oauth::profile::{self, ProfileChange};
use crate::oauth::session::Session;
use crate::oauth::throttle::{self, Refusal};
use crate::oauth::{ErrorCode, OAuthError};
use crate::state::AppState;

const WRONG_PASSWORD: &str = "Your current password is not correct.";
const NOT_THE_SAME: &str = "The new password and its repetition are not the same.";
const BUSY: &str = "The service is busy. Please try again in a moment.";

/// The routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/account/profile").route(web::post().to(profile)))
        .service(web::resource("/account/password").route(web::post().to(password)));
}

/// The account page again, refused with `status`; a `Retry-After` for throttled or busy answers.
async fn again(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    status: StatusCode,
    mut shown: Shown,
    retry_after: Option<i64>,
) -> HttpResponse {
    shown.status = Some(status);
    let mut response = show(req, state, shown).await.unwrap_or_else(|page| page);
    if let Some(secs) = retry_after {
        if let Ok(value) = header::HeaderValue::from_str(&secs.max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// `POST /account/profile` (`name`, `email`): empty fields clear the value.
pub async fn profile(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (session, params) = match form(&req, payload, &state).await {
        Ok(checked) => checked,
        Err(page) => return page,
    };
    let change = ProfileChange {
        name: params.get("name").unwrap_or("").to_owned(),
        email: params.get("email").unwrap_or("").to_owned(),
    };
    let (now, shared, sent) = (state.clock.now(), state.clone(), change.clone());
    let stored = db::run_tx(&state.pool, move |conn| {
        profile::update(conn, &shared.settings, &session, &sent, now)
    })
    .await;
    match stored {
        Ok(Ok(())) => pages::redirect("/account?notice=profile-saved", true),
        Ok(Err(refused)) => {
            let shown = Shown {
                profile_error: Some(refused.message()),
                typed: Some(change),
                ..Shown::default()
            };
            again(&req, &state, StatusCode::BAD_REQUEST, shown, None).await
        }
        Err(e) => failed(&state, &e),
    }
}

/// Why a password change stopped short: a reason the page says, or a failure.
enum Stop {
    Shown(Stopped),
    Failed(OAuthError),
}

impl From<OAuthError> for Stop {
    fn from(e: OAuthError) -> Self {
        Self::Failed(e)
    }
}

impl From<Stopped> for Stop {
    fn from(stopped: Stopped) -> Self {
        Self::Shown(stopped)
    }
}

/// A reason a password change stopped short, as the page says it.
struct Stopped {
    status: StatusCode,
    message: String,
    retry_after: Option<i64>,
}

impl Stopped {
    fn refused(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after: None,
        }
    }

    fn busy() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: BUSY.into(),
            retry_after: Some(1),
        }
    }
}

/// `POST /account/password` (`current_password`, `new_password`, `new_password_again`).
#[tracing::instrument(name = "account_password", skip_all)]
pub async fn password(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (session, params) = match form(&req, payload, &state).await {
        Ok(checked) => checked,
        Err(page) => return page,
    };
    let field = |name: &str| SecretString::from(params.get(name).unwrap_or("").to_owned());
    let (current, new) = (field("current_password"), field("new_password"));
    let again_typed = field("new_password_again");
    let changed = change_password(&req, &state, &session, current, new, again_typed).await;
    match changed {
        Ok(()) => pages::redirect("/account?notice=password-changed", true),
        Err(Stop::Shown(stopped)) => {
            let shown = Shown {
                password_error: Some(stopped.message),
                ..Shown::default()
            };
            again(&req, &state, stopped.status, shown, stopped.retry_after).await
        }
        Err(Stop::Failed(e)) => failed(&state, &e),
    }
}

/// Checks the new password (policy, repetition), then the current one (throttled like a login),
/// then hashes and stores the new one.
async fn change_password(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &Session,
    current: SecretString,
    new: SecretString,
    new_again: SecretString,
) -> Result<(), Stop> {
    if new.expose_secret() != new_again.expose_secret() {
        return Err(Stopped::refused(NOT_THE_SAME).into());
    }
    if let Err(rule) = state.passwords.check_policy(&new) {
        return Err(Stopped::refused(sentence(&rule)).into());
    }
    verify_current(req, state, session, current).await?;
    let hash = state.passwords.hash(new).await.map_err(|e| match e {
        PasswordError::Busy => Stop::Shown(Stopped::busy()),
        other => Stop::Failed(other.into()),
    })?;
    let (now, shared, session) = (state.clock.now(), state.clone(), session.clone());
    db::run_tx(&state.pool, move |conn| {
        profile::set_password(conn, &shared.settings, &session, &hash, now)
    })
    .await?;
    Ok(())
}

/// The current password, checked on the password workers through the login counters: a wrong
/// one is a failed login of this account from this address, a throttled one is not checked.
async fn verify_current(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &Session,
    current: SecretString,
) -> Result<(), Stop> {
    let user = session.user.clone();
    let (now, audit_store) = (state.clock.now(), state.settings.audit.store);
    let address = Some(super::ClientAddr::of(req).0);
    let (shared, username) = (state.clone(), user.username.clone());
    let attempt = db::run(&state.pool, move |conn| {
        let source = throttle::Source {
            username: &username,
            address,
            request: None,
            client_id: ACCOUNT_ID,
            audit_store,
            second_factor: false,
        };
        throttle::begin(conn, &shared.settings.login_throttle, &source, now)
    })
    .await
    .map_err(OAuthError::from)?;
    let attempt = attempt.map_err(|refusal| {
        Stop::Shown(match refusal {
            Refusal::Throttled {
                retry_after_secs, ..
            } => Stopped {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: throttle::wait_message(retry_after_secs),
                retry_after: Some(retry_after_secs),
            },
            Refusal::Crowded | Refusal::RequestExhausted => Stopped::busy(),
        })
    })?;
    let user_id = user.id.clone();
    let checked = throttle::check_password(
        &state.passwords,
        &state.pool,
        now,
        attempt,
        Some(user),
        current,
    )
    .await;
    match checked {
        Ok(Some(_)) => Ok(()),
        Ok(None) => {
            let event = Event::new(Kind::PasswordChangeFailed, Actor::User(user_id.clone()))
                .subject(&user_id)
                .client(ACCOUNT_ID)
                .reason("wrong_password");
            audit::record_apart(&state.pool, audit_store, now, event).await;
            Err(Stopped::refused(WRONG_PASSWORD).into())
        }
        Err(e) if e.code == ErrorCode::TemporarilyUnavailable => Err(Stopped::busy().into()),
        Err(e) => Err(e.into()),
    }
}

/// A policy rule ("a password needs …") as a sentence.
fn sentence(rule: &str) -> String {
    let mut chars = rule.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    let mut text = first.unwrap_or_default() + chars.as_str();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn policy_rules_read_as_sentences() {
        assert_eq!(
            sentence("a password needs at least 10 characters"),
            "A password needs at least 10 characters."
        );
        assert_eq!(
            sentence("this password is too easy to guess. Choose a longer one."),
            "This password is too easy to guess. Choose a longer one."
        );
    }
}
