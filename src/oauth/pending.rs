//! Authorization requests waiting for the login or consent page (DESIGN.md §2): stored
//! server-side, so that any replica can finish them, and rebuilt when the browser comes back.
//! Expired rows are left to the background purge (`db::purge_expired`), never deleted here.

use secrecy::ExposeSecret;

use super::error::OAuthError;
use super::request::{load_client, AuthorizationRequest, Prompt};
use super::session::Session;
use crate::config::Settings;
use crate::db::models::AuthorizationRequestRow;
use crate::db::{self, DbConnection};
use crate::domain::pkce::CodeChallenge;
use crate::domain::scope::Scope;
use crate::domain::secret;
use crate::random::Random;

/// Stores the request for the login or consent page; returns its id.
pub fn store(
    conn: &mut DbConnection,
    settings: &Settings,
    random: &dyn Random,
    now: i64,
    request: &AuthorizationRequest,
    browser_hash: &[u8],
    session: Option<&Session>,
) -> Result<String, OAuthError> {
    let id = secret::generate(random).expose_secret().to_owned();
    db::requests::insert(
        conn,
        &AuthorizationRequestRow {
            id: id.clone(),
            browser_hash: browser_hash.to_vec(),
            csrf_hash: None,
            client_id: request.client.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.to_string(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request
                .code_challenge
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            prompt: request.prompt.to_stored(),
            max_age: request.max_age,
            login_hint: request.login_hint.clone(),
            user_id: session.map(|s| s.user.id.clone()),
            auth_time: session.map(|s| s.auth_time),
            sid: session.map(|s| s.sid.clone()),
            created_at: now,
            expires_at: now + settings.sessions.login_timeout_secs,
            acr_values: request.acr_values.clone(),
        },
    )?;
    Ok(id)
}

/// Rebuilds a stored request; `None` when it expired or its client is gone.
pub fn restore(
    conn: &mut DbConnection,
    row: &AuthorizationRequestRow,
    now: i64,
) -> Result<Option<AuthorizationRequest>, OAuthError> {
    if row.expires_at <= now {
        return Ok(None);
    }
    let Some(client) = load_client(conn, &row.client_id)?.filter(|c| !c.disabled) else {
        return Ok(None);
    };
    let scope = if row.scope.is_empty() {
        Scope::empty()
    } else {
        Scope::parse(&row.scope).map_err(|e| OAuthError::internal("stored request", &e))?
    };
    Ok(Some(AuthorizationRequest {
        client,
        redirect_uri: row.redirect_uri.clone(),
        scope,
        state: row.state.clone(),
        nonce: row.nonce.clone(),
        code_challenge: row.code_challenge.clone().map(CodeChallenge::from_stored),
        prompt: Prompt::parse(row.prompt.as_deref()).unwrap_or_default(),
        max_age: row.max_age,
        login_hint: row.login_hint.clone(),
        acr_values: row.acr_values.clone(),
    }))
}
