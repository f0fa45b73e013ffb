//! Email verification: `POST /account/email/verify` ("Verify your email" on the account page)
//! sends a link to the person's address (`email::requests::verify`, in the background);
//! `GET /email/verify?token=…` asks for a click (opening a link spends nothing) and
//! `POST /email/verify` sets `email_verified` — only if the account still has the address the
//! link was sent to (`email::links::verify_email`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;

use super::link_form::{self, new_csrf, with_csrf};
use super::pages;
use crate::db;
use crate::email::links::{self, Purpose, Used};
use crate::email::message;
use crate::email::requests::{self, Verification};
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::views::{Onward, VerifyEmailPage};

fn to_account() -> Option<Onward> {
    Some(Onward {
        href: "/account".into(),
        label: "Go to your account".into(),
    })
}

/// `POST /account/email/verify`: a verification link to the signed-in person's address.
pub async fn send(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let session = match super::account::form(&req, payload, &state).await {
        Ok((session, _)) => session,
        Err(page) => return page,
    };
    let Some(mailer) = state.mailer.as_ref() else {
        return pages::redirect("/account", true);
    };
    let (now, shared, user_id) = (state.clock.now(), state.clone(), session.user.id);
    let asked = db::run(&state.pool, move |conn| {
        requests::verify(conn, &shared.settings, &*shared.random, &user_id, now)
    })
    .await;
    let to_send = match asked {
        Ok(Verification::Send(to_send)) => to_send,
        Ok(Verification::Nothing) => return pages::redirect("/account", true),
        Ok(Verification::Throttled) => {
            return pages::redirect("/account?notice=verification-throttled", true)
        }
        Err(e) => return link_form::failed(&state, e),
    };
    let shared = state.clone();
    mailer.spawn(async move {
        let Some(mailer) = shared.mailer.as_ref() else {
            return;
        };
        let brand = &shared.brand.product_name;
        let link = to_send.url.expose_secret();
        let (name, ttl) = (&to_send.username, to_send.ttl_secs);
        let sent = match message::verify_email(brand, name, &to_send.to, link, ttl) {
            Ok(outgoing) => mailer.send(&outgoing).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "the verification email could not be sent");
        }
    });
    pages::redirect("/account?notice=verification-sent", true)
}

/// `GET /email/verify?token=…`: the confirmation button.
pub async fn open(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let token = params.get("token").unwrap_or("").to_owned();
    let (now, owned) = (state.clock.now(), token.clone());
    let found = db::run(&state.pool, move |conn| links::peek(conn, &owned, now)).await;
    match found {
        Ok(Some(link)) if link.purpose == Purpose::Verify => {
            let csrf = new_csrf(&state);
            let page = VerifyEmailPage {
                brand: &state.brand,
                username: &link.username,
                token: &token,
                csrf: csrf.expose_secret(),
            };
            with_csrf(&state, pages::render(StatusCode::OK, &page), &csrf)
        }
        Ok(_) => link_form::invalid(&state),
        Err(e) => link_form::failed(&state, e),
    }
}

/// `POST /email/verify`.
pub async fn confirm(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let token = match link_form::read(&req, payload, &state).await {
        Ok((_, token)) => token,
        Err(page) => return page,
    };
    let (now, store) = (state.clock.now(), state.settings.audit.store);
    let used = db::run(&state.pool, move |conn| {
        links::verify_email(conn, store, &token, now)
    })
    .await;
    match used {
        Ok(Used::Done(_)) => link_form::done(
            &state,
            StatusCode::OK,
            "Your email address is verified",
            "Thank you. Applications you sign in to can now rely on it.",
            to_account(),
        ),
        Ok(Used::Stale) => link_form::done(
            &state,
            StatusCode::BAD_REQUEST,
            "This link is for another address",
            "Your account's email address changed after the link was sent, so it verifies \
             nothing. Ask for a new link on your account page.",
            to_account(),
        ),
        Ok(Used::Invalid) => link_form::invalid(&state),
        Err(e) => link_form::failed(&state, e),
    }
}
