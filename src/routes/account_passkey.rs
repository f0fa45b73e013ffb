//! `POST /account/passkey` and `/account/passkey/finish`: adding a passkey on the account page
//! (`oauth::passkey::register`): the first form names it, the page that follows runs the
//! WebAuthn registration in the browser (Latchkey's own script) and posts its answer back. The
//! ceremony state is sealed in that page, bound to the session. `POST
//! /account/factors/{id}/rename` renames a passkey or an authenticator app. Every form carries
//! the account page's CSRF token and must come from Latchkey's own origin.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::ExposeSecret;

use super::account::{codes_page, failed, form, Answer, CSRF_LABEL};
use super::admin_pages::guard::{session_form_token, with_form_referrer_policy};
use super::pages;
use crate::db;
use crate::oauth::passkey::register::{self, Ceremony, Registered};
use crate::oauth::passkey::{self, Prompt};
use crate::oauth::session::Session;
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::views::AccountPasskeyPage;

const EXPIRED: &str = "This page was open too long. Try again.";
const REFUSED: &str = "The passkey could not be added. Try again, or use another device.";

/// What a registration's sealed state is bound to: this person in this session.
fn binding(session: &Session) -> String {
    format!(
        "{}\0{}",
        session.user.id,
        URL_SAFE_NO_PAD.encode(&session.id_hash)
    )
}

fn unavailable(state: &AppState) -> HttpResponse {
    pages::error_page(
        state,
        StatusCode::NOT_FOUND,
        "Passkeys are not available here",
        "This service's address is not a domain name, which passkeys need. Use an authenticator app instead.",
        None,
    )
}

fn page(
    req: &HttpRequest,
    state: &AppState,
    name: &str,
    prompt: &Prompt,
    error: Option<&str>,
) -> HttpResponse {
    let csrf = session_form_token(req, state, CSRF_LABEL);
    with_form_referrer_policy(pages::with_script(pages::render(
        StatusCode::OK,
        &AccountPasskeyPage {
            brand: &state.brand,
            csrf: csrf.expose_secret(),
            name,
            prompt,
            error,
        },
    )))
}

/// `POST /account/passkey`: the page that creates a passkey named as the form says.
pub async fn start(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    begin(&req, payload, &state)
        .await
        .unwrap_or_else(|page| page)
}

async fn begin(req: &HttpRequest, payload: web::Payload, state: &web::Data<AppState>) -> Answer {
    if state.passkeys.is_none() {
        return Err(unavailable(state));
    }
    let (session, params) = form(req, payload, state).await?;
    let name = passkey::clean_name(params.get("name").unwrap_or(""));
    let (now, shared) = (state.clock.now(), state.clone());
    let prompt = db::run(&state.pool, move |conn| {
        prompt_for(conn, &shared, &session, now)
    })
    .await
    .map_err(|e| failed(state, &e))?;
    Ok(page(req, state, &name, &prompt, None))
}

fn prompt_for(
    conn: &mut db::DbConnection,
    state: &AppState,
    session: &Session,
    now: i64,
) -> Result<Prompt, OAuthError> {
    let rp = state
        .passkeys
        .as_ref()
        .ok_or_else(|| OAuthError::invalid_request("Passkeys are not available"))?;
    let binding = binding(session);
    let ceremony = Ceremony {
        rp,
        master: &state.master_key,
        random: &*state.random,
        binding: &binding,
        now,
    };
    register::start(conn, &ceremony, &session.user)
}

/// `POST /account/passkey/finish`: the browser's answer; stored, or the page again.
pub async fn finish(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    complete(&req, payload, &state)
        .await
        .unwrap_or_else(|page| page)
}

async fn complete(req: &HttpRequest, payload: web::Payload, state: &web::Data<AppState>) -> Answer {
    if state.passkeys.is_none() {
        return Err(unavailable(state));
    }
    let (session, params) = form(req, payload, state).await?;
    let field = |name: &str| params.get(name).unwrap_or("").to_owned();
    let (sealed, credential) = (field("state"), field("credential"));
    let name = passkey::clean_name(&field("name"));
    let (now, shared, named) = (state.clock.now(), state.clone(), name.clone());
    let outcome = db::run_tx(&state.pool, move |conn| {
        let binding = binding(&session);
        let Some(rp) = shared.passkeys.as_ref() else {
            return Err(OAuthError::invalid_request("Passkeys are not available"));
        };
        let ceremony = Ceremony {
            rp,
            master: &shared.master_key,
            random: &*shared.random,
            binding: &binding,
            now,
        };
        let registered = register::finish(
            conn,
            &ceremony,
            &session.user.id,
            (&sealed, &credential),
            &named,
        )?;
        let again = match registered {
            Registered::Added { .. } => None,
            _ => Some(register::start(conn, &ceremony, &session.user)?),
        };
        Ok((registered, again))
    })
    .await
    .map_err(|e| failed(state, &e))?;
    match outcome {
        (Registered::Added { recovery_codes }, _) if recovery_codes.is_empty() => {
            Ok(pages::redirect("/account?notice=passkey-added", true))
        }
        (Registered::Added { recovery_codes }, _) => Ok(codes_page(state, &recovery_codes)),
        (refusal, Some(prompt)) => {
            let message = match refusal {
                Registered::Expired => EXPIRED,
                _ => REFUSED,
            };
            Ok(page(req, state, &name, &prompt, Some(message)))
        }
        (_, None) => Ok(pages::redirect("/account", true)),
    }
}

/// `POST /account/factors/{id}/rename`.
pub async fn rename(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let renamed = async {
        let (session, params) = form(&req, payload, &state).await?;
        let (id, name) = (
            path.into_inner(),
            params.get("name").unwrap_or("").to_owned(),
        );
        let changed = db::run_tx(&state.pool, move |conn| {
            register::rename(conn, &session.user.id, &id, &name)
        })
        .await
        .map_err(|e| failed(&state, &e))?;
        Ok(pages::redirect(
            if changed {
                "/account?notice=factor-renamed"
            } else {
                "/account"
            },
            true,
        ))
    };
    renamed.await.unwrap_or_else(|page: HttpResponse| page)
}
