//! The account page's forms about where a person is signed in and what they connected: end one
//! session or every other one, disconnect an application (`oauth::self_service`). Each is a
//! checked account form (`account::form`) that changes something in one transaction, then back
//! to the page with a notice.

use actix_web::{web, HttpRequest, HttpResponse};

use super::account::{failed, form};
use super::pages;
use crate::db;
use crate::oauth::self_service;
use crate::oauth::session::Session;
use crate::oauth::OAuthError;
use crate::state::AppState;

/// `POST /account/sessions/{sid}/end`: ends one session of this person.
pub async fn end_session(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let sid = path.into_inner();
    change(
        &req,
        payload,
        &state,
        "session-ended",
        move |conn, session, _| self_service::end_sessions(conn, session, Some(&sid)).map(drop),
    )
    .await
}

/// `POST /account/sessions/end-others`: ends every session but this one.
pub async fn end_other_sessions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    change(
        &req,
        payload,
        &state,
        "sessions-ended",
        |conn, session, _| self_service::end_sessions(conn, session, None).map(drop),
    )
    .await
}

/// `POST /account/apps/{client_id}/revoke`: disconnects an application.
pub async fn revoke_app(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let client_id = path.into_inner();
    change(
        &req,
        payload,
        &state,
        "app-revoked",
        move |conn, session, now| {
            self_service::revoke_app(conn, &session.user.id, &client_id, now).map(drop)
        },
    )
    .await
}

/// A checked form that changes something in one transaction, then back to the page.
async fn change<F>(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    notice: &str,
    op: F,
) -> HttpResponse
where
    F: FnOnce(&mut db::DbConnection, &Session, i64) -> Result<(), OAuthError> + Send + 'static,
{
    let session = match form(req, payload, state).await {
        Ok((session, _)) => session,
        Err(page) => return page,
    };
    let now = state.clock.now();
    match db::run_tx(&state.pool, move |conn| op(conn, &session, now)).await {
        Ok(()) => pages::redirect(&format!("/account?notice={notice}"), true),
        Err(e) => failed(state, &e),
    }
}
