//! `/account`: a person's own page: their profile and password (changed in
//! `account_profile`), their second factors (add an authenticator app, confirmed by a first
//! code; passkeys in `account_passkey`; rename or remove one), recovery codes (regenerate),
//! sessions and connected applications.
//! People sign in through the normal login page (the built-in account client, back to
//! `/account/callback`). Every form carries a CSRF token derived from the session (as on the
//! admin pages, under its own label) and must come from Latchkey's own origin.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::admin_pages::guard::{same_origin, session_form_token, with_form_referrer_policy};
use super::pages::{self, SESSION};
use crate::admin::clients::ACCOUNT_ID;
use crate::audit::Kind;
use crate::db;
use crate::domain::factor::FactorView;
use crate::oauth::mfa::{self, recovery, Account};
use crate::oauth::params::Params;
use crate::oauth::profile::ProfileChange;
use crate::oauth::self_service;
use crate::oauth::session::{self, Session};
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::views::{AccountPage, AccountTotpPage};

pub(super) const CSRF_LABEL: &[u8] = b"latchkey account form\0";
const WRONG_CODE: &str = "That code is not valid. Try the current code.";

pub(super) type Answer = Result<HttpResponse, HttpResponse>;

// The session and application forms live in their own module; their routes are these.
pub use super::account_sessions::{end_other_sessions, end_session, revoke_app};

pub(super) fn failed(state: &AppState, e: &OAuthError) -> HttpResponse {
    pages::oauth_error_page(state, e)
}

/// The signed-in person, or the way to the login page.
pub(super) async fn signed_in(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Session, HttpResponse> {
    let cookie = pages::read_cookie(req, state, SESSION);
    let (now, shared) = (state.clock.now(), state.clone());
    let found = db::run(&state.pool, move |conn| {
        session::current(conn, &shared.settings, cookie.as_deref(), now)
    })
    .await
    .map_err(|e| failed(state, &e))?;
    found.ok_or_else(|| {
        pages::redirect(
            &super::admin_pages::sign_in_url(state, ACCOUNT_ID, "/account/callback"),
            false,
        )
    })
}

/// A checked account form: the person and the form's fields.
pub(super) async fn form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
) -> Result<(Session, Params), HttpResponse> {
    let session = signed_in(req, state).await?;
    let params = super::read_form(req, payload, state.settings.server.max_body_bytes)
        .await
        .map_err(|e| failed(state, &e))?;
    let expected = session_form_token(req, state, CSRF_LABEL);
    let valid = same_origin(req, state)
        && params
            .get("csrf")
            .is_some_and(|f| bool::from(f.as_bytes().ct_eq(expected.expose_secret().as_bytes())));
    if !valid {
        return Err(pages::error_page(
            state,
            StatusCode::FORBIDDEN,
            "This form cannot be accepted",
            "It was sent from another page or is out of date. Reload your account page and try again.",
            None,
        ));
    }
    Ok((session, params))
}

fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "factor-removed" => "It was removed: it no longer signs you in.",
        "factor-added" => "The authenticator app was added.",
        "passkey-added" => "The passkey was added.",
        "factor-renamed" => "The name was changed.",
        "session-ended" => "The session was ended.",
        "sessions-ended" => "Every other session was ended.",
        "app-revoked" => "The application was disconnected; its access was revoked.",
        "profile-saved" => "Your profile was saved.",
        "password-changed" => "Your password was changed; every other session was ended.",
        "verification-sent" => "A verification link is on its way to your email address.",
        "verification-throttled" => {
            "Several verification emails were sent in the last hour. Try again later."
        }
        _ => return None,
    })
}

/// `GET /account/callback`: the sign-in finished; its code is consumed, never exchanged.
pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    super::admin_pages::consume_code(&req, &state, ACCOUNT_ID).await;
    pages::redirect("/account", false)
}

/// How the account page is shown this time: after a refused form, with its reason next to that
/// form and the profile as it was sent.
#[derive(Debug, Default)]
pub(super) struct Shown {
    /// 200 unless set.
    pub status: Option<StatusCode>,
    pub profile_error: Option<&'static str>,
    pub password_error: Option<String>,
    pub typed: Option<ProfileChange>,
}

/// `GET /account`.
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    show(&req, &state, Shown::default())
        .await
        .unwrap_or_else(|page| page)
}

/// The account page of the signed-in person.
pub(super) async fn show(req: &HttpRequest, state: &web::Data<AppState>, shown: Shown) -> Answer {
    let session = signed_in(req, state).await?;
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let user_id = session.user.id.clone();
    let current = session.clone();
    let (factors, codes_left, sessions, apps) = db::run(&state.pool, move |conn| {
        let factors: Vec<FactorView> = db::user_factors::views(conn, &user_id)?
            .into_iter()
            .filter(|f| f.confirmed)
            .collect();
        let left = db::user_factors::recovery_codes_left(conn, &user_id)?;
        let sessions = self_service::sessions(conn, &current)?;
        let apps = self_service::apps(conn, &user_id)?;
        Ok::<_, OAuthError>((factors, left, sessions, apps))
    })
    .await
    .map_err(|e| failed(state, &e))?;
    let csrf = session_form_token(req, state, CSRF_LABEL);
    let user = &session.user;
    let (name, email) = match &shown.typed {
        Some(typed) => (typed.name.as_str(), typed.email.as_str()),
        None => (
            user.name.as_deref().unwrap_or(""),
            user.email.as_deref().unwrap_or(""),
        ),
    };
    Ok(with_form_referrer_policy(pages::render(
        shown.status.unwrap_or(StatusCode::OK),
        &AccountPage {
            brand: &state.brand,
            username: &user.username,
            name,
            email,
            email_verified: user.email_verified && shown.typed.is_none(),
            profile_error: shown.profile_error,
            password_error: shown.password_error.as_deref(),
            csrf: csrf.expose_secret(),
            email_enabled: state.mailer.is_some(),
            factors: &factors,
            recovery_codes_left: codes_left,
            sessions: &sessions,
            apps: &apps,
            notice: notice(params.get("notice")),
            passkeys: state.passkeys.is_some(),
        },
    )))
}

/// `POST /account/totp`: starts adding an authenticator app (QR code and key).
pub async fn totp_start(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    totp_page(&req, payload, &state, false)
        .await
        .unwrap_or_else(|page| page)
}

/// `POST /account/totp/confirm`: its first code; the first factor brings recovery codes.
pub async fn totp_confirm(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    totp_page(&req, payload, &state, true)
        .await
        .unwrap_or_else(|page| page)
}

async fn totp_page(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    confirm: bool,
) -> Answer {
    let (session, params) = form(req, payload, state).await?;
    let (now, shared) = (state.clock.now(), state.clone());
    let factor = params.get("factor").unwrap_or("").to_owned();
    let code = params.get("code").unwrap_or("").to_owned();
    let user = session.user.clone();
    let outcome = db::run(&state.pool, move |conn| {
        let account = Account {
            user_id: &user.id,
            username: &user.username,
            issuer_name: &shared.brand.product_name,
        };
        if confirm {
            let confirmed = mfa::enrol_confirm(
                conn,
                &shared.master_key,
                &*shared.random,
                &user.id,
                &factor,
                &code,
                now,
            )?;
            if let Some(codes) = confirmed {
                return Ok::<_, OAuthError>(Ok(codes));
            }
            return Ok(Err((
                mfa::enrol_resume(conn, &shared.master_key, &account, &factor)?,
                true,
            )));
        }
        let started = mfa::enrol_start(conn, &shared.master_key, &*shared.random, &account, now)?;
        Ok(Err((Some(started), false)))
    })
    .await
    .map_err(|e| failed(state, &e))?;
    match outcome {
        Ok(codes) if codes.is_empty() => Ok(pages::redirect("/account?notice=factor-added", true)),
        Ok(codes) => Ok(codes_page(state, &codes)),
        Err((None, _)) => Ok(pages::redirect("/account", true)),
        Err((Some(enrolment), wrong)) => {
            let csrf = session_form_token(req, state, CSRF_LABEL);
            Ok(with_form_referrer_policy(pages::render(
                StatusCode::OK,
                &AccountTotpPage {
                    brand: &state.brand,
                    csrf: csrf.expose_secret(),
                    enrolment: &enrolment,
                    error: wrong.then_some(WRONG_CODE),
                },
            )))
        }
    }
}

pub(super) fn codes_page(state: &AppState, codes: &[String]) -> HttpResponse {
    let back = "I have saved them — back to my account";
    super::login_second_factor::codes_page(state, codes, "/account".into(), back)
}

/// `POST /account/factors/{id}/remove`.
pub async fn remove_factor(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let removed = async {
        let (session, _) = form(&req, payload, &state).await?;
        let id = path.into_inner();
        db::run(&state.pool, move |conn| {
            mfa::remove(conn, &session.user.id, &id)
        })
        .await
        .map_err(|e| failed(&state, &e))?;
        Ok(pages::redirect("/account?notice=factor-removed", true))
    };
    removed.await.unwrap_or_else(|page: HttpResponse| page)
}

/// `POST /account/recovery-codes`: a new set (the old codes stop working), shown once.
pub async fn regenerate_codes(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let made = async {
        let (session, _) = form(&req, payload, &state).await?;
        let (now, shared) = (state.clock.now(), state.clone());
        let codes = db::run(&state.pool, move |conn| {
            if !mfa::has_factor(conn, &session.user.id)? {
                return Ok::<_, OAuthError>(Vec::new());
            }
            mfa::user_event(Kind::RecoveryCodesRegenerated, &session.user.id).log();
            Ok(recovery::regenerate(
                conn,
                &*shared.random,
                &session.user.id,
                now,
            )?)
        })
        .await
        .map_err(|e| failed(&state, &e))?;
        if codes.is_empty() {
            return Ok(pages::redirect("/account", true));
        }
        Ok(codes_page(&state, &codes))
    };
    made.await.unwrap_or_else(|page: HttpResponse| page)
}
