//! `POST /login/passkey`: signing in with a passkey alone (`oauth::passkey::sign_in`), from the
//! login page's button or the username field's autofill (conditional UI). The login page carries
//! the ceremony state sealed to its pending request, so nothing is stored for a visitor. A
//! passkey with user verification is two factors (RFC 8176 `mfa`) and satisfies any second-factor
//! policy. Failures are throttled like second-factor codes (on the account the passkey names,
//! the address and the pending login) and the page says only that the passkey was not accepted.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{self, INTERACTION};
use crate::db;
use crate::domain::factor::Amr;
use crate::domain::user::User;
use crate::metrics::LoginOutcome;
use crate::oauth::interaction::{self, InteractionError, Pending};
use crate::oauth::passkey::sign_in::{self, Check};
use crate::oauth::passkey::Prompt;
use crate::oauth::throttle::{self, Refusal};
use crate::state::AppState;

/// The login page's message after a passkey that was not accepted.
pub const PASSKEY_FAILED: &str = "That passkey could not sign you in.";

/// The login page's passkey sign-in, when passkeys are on; sealed to `pending`.
pub(super) fn prompt(state: &AppState, pending: &Pending) -> Option<Prompt> {
    let check = Check {
        rp: state.passkeys.as_ref()?,
        master: &state.master_key,
        random: &*state.random,
        binding: &pending.opened.id,
        now: state.clock.now(),
    };
    sign_in::start_discoverable(&check)
        .map_err(|e| tracing::error!(error = %e.description, "cannot offer a passkey sign-in"))
        .ok()
}

/// What the POST found.
enum Found {
    SignedIn(User, Amr),
    /// Not accepted; `true` when it was this login's last try.
    Failed(bool),
    Refused(Refusal),
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if state.passkeys.is_none() {
        return pages::error_page(
            &state,
            StatusCode::NOT_FOUND,
            "Passkeys are not available here",
            "Sign in with your username and password.",
            None,
        );
    }
    let params = match super::read_interaction_form(&req, payload, &state).await {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let field = |name: &str| params.get(name).map(str::to_owned);
    let (request, csrf) = (field("request"), field("csrf"));
    let sealed = field("state").unwrap_or_default();
    let credential = field("credential").unwrap_or_default();
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let address = Some(super::ClientAddr::of(&req).0);
    let (now, shared) = (state.clock.now(), state.clone());
    let result = db::run(&state.pool, move |conn| {
        let ctx = shared.authorization_context(now);
        let pending = interaction::load(conn, &ctx, request.as_deref(), browser.as_deref())?;
        interaction::check_csrf(&pending, csrf.as_deref())?;
        let Some(rp) = shared.passkeys.as_ref() else {
            return Ok((pending, Found::Failed(false)));
        };
        let Some(answer) = sign_in::read(&credential) else {
            return Ok((pending, Found::Failed(false)));
        };
        let source = throttle::Source {
            username: &answer.claimed_user,
            address,
            request: Some(&pending.opened.id),
            client_id: &pending.request.client.id,
            audit_store: shared.settings.audit.store,
            second_factor: true,
        };
        let attempt = match throttle::begin(conn, &shared.settings.login_throttle, &source, now)? {
            Ok(attempt) => attempt,
            Err(refusal) => return Ok((pending, Found::Refused(refusal))),
        };
        let check = Check {
            rp,
            master: &shared.master_key,
            random: &*shared.random,
            binding: &pending.opened.id,
            now,
        };
        let signed_in = match sign_in::finish_discoverable(conn, &check, &sealed, &answer)? {
            Some((user_id, amr)) => db::users::find_by_id(conn, &user_id)?
                .map(User::from)
                .filter(|u| !u.disabled)
                .map(|user| (user, amr)),
            None => None,
        };
        throttle::settle(conn, &attempt, signed_in.is_some(), now)?;
        let found = match signed_in {
            Some((user, amr)) => Found::SignedIn(user, amr),
            None => Found::Failed(attempt.last_try),
        };
        Ok::<_, InteractionError>((pending, found))
    })
    .await;
    let (pending, found) = match result {
        Ok(found) => found,
        Err(e) => return pages::interaction_error(&state, e),
    };
    match found {
        Found::SignedIn(user, amr) => {
            state.metrics.login(LoginOutcome::Success);
            super::login::finish(&req, &state, pending, &user, amr, &[]).await
        }
        Found::Failed(last_try) => {
            state.metrics.login(LoginOutcome::Failure);
            if last_try {
                return super::login::refused(&state, pending, "", Refusal::RequestExhausted).await;
            }
            super::login::page(&state, &pending, "", Some(PASSKEY_FAILED))
        }
        Found::Refused(refusal) => super::login::refused(&state, pending, "", refusal).await,
    }
}
