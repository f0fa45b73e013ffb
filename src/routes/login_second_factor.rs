//! `POST /login/second-factor`: the second step of a login (`oauth::second_factor`). After the
//! right password, a person with a second factor enters a TOTP or recovery code; one who must
//! have a factor and has none enrols a TOTP app here (QR code rendered on the server, no script).
//! A person with a passkey may use it instead (the page then runs Latchkey's passkey script).
//! Wrong codes and refused passkeys are throttled like wrong passwords, on their own counter.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::{ExposeSecret, SecretString};

use super::pages::{self, INTERACTION};
use crate::db;
use crate::domain::user::User;
use crate::oauth::authorize::Next;
use crate::oauth::interaction::{self, InteractionError, Pending};
use crate::oauth::mfa::policy::{self, AfterPassword};
use crate::oauth::mfa::{self, Account, Enrolment};
use crate::oauth::passkey::Prompt;
use crate::oauth::second_factor::{self, Checked, Form, Partial, PasskeyKeys};
use crate::oauth::throttle::{self, Refusal};
use crate::state::AppState;
use crate::views::{Onward, RecoveryCodesPage, SecondFactorPage};

/// The message for a wrong code.
const WRONG_CODE: &str = "That code is not valid. Try the current code.";

/// What the second-factor form shows.
struct Shown {
    pending: Pending,
    csrf: SecretString,
    sealed: String,
    enrolment: Option<Enrolment>,
    passkey: Option<Prompt>,
}

fn passkey_keys(state: &AppState) -> PasskeyKeys<'_> {
    PasskeyKeys {
        rp: state.passkeys.as_ref(),
        master: &state.master_key,
        random: &*state.random,
    }
}

fn render(
    state: &AppState,
    shown: &Shown,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let response = pages::render(
        status,
        &SecondFactorPage {
            brand: &state.brand,
            client_name: &shown.pending.request.client.name,
            request_id: &shown.pending.opened.token,
            csrf: shown.csrf.expose_secret(),
            sealed: &shown.sealed,
            enrolment: shown.enrolment.as_ref(),
            error,
            passkey: shown.passkey.as_ref(),
        },
    );
    if shown.passkey.is_some() {
        pages::with_script(response)
    } else {
        response
    }
}

/// After the right password: `Ok(pending)` when the login is complete with it, or the
/// second-factor page.
pub(super) async fn after_password(
    state: &web::Data<AppState>,
    pending: Pending,
    user: &User,
) -> Result<Pending, HttpResponse> {
    let shared = state.clone();
    let user = user.clone();
    let now = state.clock.now();
    let decided = db::run(&state.pool, move |conn| {
        let step = policy::after_password(conn, &shared.settings, &pending.request, &user.id)?;
        if step == AfterPassword::Done {
            return Ok::<_, InteractionError>(Err(pending));
        }
        let enrolment = if step == AfterPassword::Enrol {
            let account = Account {
                user_id: &user.id,
                username: &user.username,
                issuer_name: &shared.brand.product_name,
            };
            Some(mfa::enrol_start(
                conn,
                &shared.master_key,
                &*shared.random,
                &account,
                now,
            )?)
        } else {
            None
        };
        let expires = now + shared.settings.sessions.login_timeout_secs;
        let partial = Partial::new(
            &pending,
            &user.id,
            enrolment.as_ref().map(|e| e.factor_id.clone()),
            expires,
        );
        let sealed = partial.seal(&shared.master_key, &*shared.random)?;
        let passkey = second_factor::passkey_prompt(conn, &passkey_keys(&shared), &partial, now)?;
        let csrf = pending.csrf.clone();
        Ok(Ok(Shown {
            pending,
            csrf,
            sealed,
            enrolment,
            passkey,
        }))
    })
    .await;
    match decided {
        Ok(Err(pending)) => Ok(pending),
        Ok(Ok(shown)) => Err(render(state, &shown, None, StatusCode::OK)),
        Err(e) => Err(pages::interaction_error(state, e)),
    }
}

/// The recovery codes of a sign-in, shown once, with the way on.
pub(super) fn recovery_codes_page(state: &AppState, next: Next, codes: &[String]) -> HttpResponse {
    let href = match next {
        Next::Redirect(to) => to,
        Next::Login(id) => format!("/login?request={id}"),
        Next::Consent(id) => format!("/consent?request={id}"),
    };
    codes_page(state, codes, href, "I have saved them — continue")
}

/// New recovery codes, shown once, and a link on to `href`.
pub(super) fn codes_page(
    state: &AppState,
    codes: &[String],
    href: String,
    label: &str,
) -> HttpResponse {
    pages::render(
        StatusCode::OK,
        &RecoveryCodesPage {
            brand: &state.brand,
            codes,
            onward: Onward {
                href,
                label: label.to_owned(),
            },
        },
    )
}

/// What the POST found.
enum Found {
    Refused(Refusal),
    Checked(Checked),
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let params = match super::read_form(&req, payload, state.settings.server.max_body_bytes).await {
        Ok(p) => p,
        Err(e) => return pages::oauth_error_page(&state, &e),
    };
    let field = |name: &str| params.get(name).map(str::to_owned);
    let (id, csrf, sealed) = (field("request"), field("csrf"), field("state"));
    let code = SecretString::from(params.get("code").unwrap_or("").to_owned());
    let passkey_state = field("passkey_state").unwrap_or_default();
    let credential = field("credential").filter(|c| !c.is_empty());
    let browser = pages::read_cookie(&req, &state, INTERACTION);
    let address = Some(super::ClientAddr::of(&req).0);
    let now = state.clock.now();
    let shared = state.clone();
    let result = db::run(&state.pool, move |conn| {
        let form = Form {
            request: id.as_deref(),
            browser: browser.as_deref(),
            csrf: csrf.as_deref(),
            sealed: sealed.as_deref(),
        };
        let ctx = shared.authorization_context(now);
        let (pending, partial, user) = second_factor::prepare(conn, &ctx, &form)?;
        let source = throttle::Source {
            username: &user.id,
            address,
            request: Some(&pending.opened.id),
            client_id: &pending.request.client.id,
            audit_store: shared.settings.audit.store,
            second_factor: true,
        };
        let attempt = match throttle::begin(conn, &shared.settings.login_throttle, &source, now)? {
            Ok(attempt) => attempt,
            Err(refusal) => return Ok((pending, partial, user, Found::Refused(refusal), false)),
        };
        let checked = match &credential {
            Some(credential) => second_factor::check_passkey(
                conn,
                &passkey_keys(&shared),
                &partial,
                (&passkey_state, credential),
                now,
            )?,
            None => second_factor::check(
                conn,
                &shared.master_key,
                &*shared.random,
                &partial,
                code.expose_secret(),
                now,
            )?,
        };
        let success = matches!(checked, Checked::SignedIn { .. });
        throttle::settle(conn, &attempt, success, now)?;
        Ok::<_, InteractionError>((
            pending,
            partial,
            user,
            Found::Checked(checked),
            attempt.last_try,
        ))
    })
    .await;
    let (pending, partial, user, found, last_try) = match result {
        Ok(found) => found,
        Err(e) => return pages::interaction_error(&state, e),
    };
    match found {
        Found::Checked(Checked::SignedIn {
            amr,
            recovery_codes,
        }) => super::login::finish(&req, &state, pending, &user, amr, &recovery_codes).await,
        Found::Checked(Checked::Wrong) if last_try => {
            refused(&state, pending, partial, user, Refusal::RequestExhausted).await
        }
        Found::Checked(Checked::Wrong) => again(&state, pending, partial, user, None).await,
        Found::Refused(refusal) => refused(&state, pending, partial, user, refusal).await,
    }
}

/// A refused code: the wait on the form, or the end of this login.
async fn refused(
    state: &web::Data<AppState>,
    pending: Pending,
    partial: Partial,
    user: User,
    refusal: Refusal,
) -> HttpResponse {
    match refusal {
        Refusal::Throttled {
            retry_after_secs, ..
        } => again(state, pending, partial, user, Some(retry_after_secs)).await,
        Refusal::Crowded => {
            let wait = throttle::CROWDED_RETRY_SECS;
            again(state, pending, partial, user, Some(wait)).await
        }
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

/// The form again after a wrong code (or with the wait, when throttled), with a fresh CSRF token.
async fn again(
    state: &web::Data<AppState>,
    pending: Pending,
    partial: Partial,
    user: User,
    throttled: Option<i64>,
) -> HttpResponse {
    let shared = state.clone();
    let renewed = db::run(&state.pool, move |conn| {
        let csrf = pending.csrf.clone();
        let enrolment = second_factor::enrolment_of(
            conn,
            &shared.master_key,
            &user,
            &shared.brand.product_name,
            &partial,
        )?;
        let sealed = partial.seal(&shared.master_key, &*shared.random)?;
        let passkey = second_factor::passkey_prompt(
            conn,
            &passkey_keys(&shared),
            &partial,
            shared.clock.now(),
        )?;
        Ok::<_, InteractionError>(Shown {
            pending,
            csrf,
            sealed,
            enrolment,
            passkey,
        })
    })
    .await;
    let shown = match renewed {
        Ok(shown) => shown,
        Err(e) => return pages::interaction_error(state, e),
    };
    let Some(secs) = throttled else {
        return render(state, &shown, Some(WRONG_CODE), StatusCode::OK);
    };
    let mut response = render(
        state,
        &shown,
        Some(&throttle::wait_message(secs)),
        StatusCode::TOO_MANY_REQUESTS,
    );
    if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
