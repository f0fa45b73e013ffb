//! What a person manages on their account page besides second factors: their browser sessions
//! (seen with the device and address they started from; end one, or every other) and the applications they connected (revoking one forgets the
//! consent and revokes that application's refresh tokens and the access tokens issued with
//! them). Audited as `session_ended` and `consent_revoked`.

use serde::Serialize;

use super::error::OAuthError;
use super::mfa::user_event;
use super::session::Session;
use crate::audit::Kind;
use crate::db::refresh_tokens::Owner;
use crate::db::{self, DbConnection};

/// A session as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub sid: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// A short summary of the browser it was started from, when known.
    pub device: Option<String>,
    /// The client address it was started from, when known.
    pub address: Option<String>,
    /// The session this page is seen in.
    pub current: bool,
}

/// A connected application.
#[derive(Debug, Clone, Serialize)]
pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub scope: String,
    pub created_at: i64,
}

pub fn sessions(
    conn: &mut DbConnection,
    session: &Session,
) -> Result<Vec<SessionView>, OAuthError> {
    Ok(db::sessions::for_user(conn, &session.user.id)?
        .into_iter()
        .map(|row| SessionView {
            current: row.id_hash == session.id_hash,
            sid: row.sid,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            device: row.device,
            address: row.address,
        })
        .collect())
}

/// Ends one of the person's sessions (`sid`), or every other one (`None`).
pub fn end_sessions(
    conn: &mut DbConnection,
    session: &Session,
    sid: Option<&str>,
) -> Result<usize, OAuthError> {
    let user = &session.user.id;
    let ended = match sid {
        Some(sid) => db::sessions::delete_by_sid(conn, user, sid)?,
        None => db::sessions::delete_others(conn, user, &session.id_hash)?,
    };
    user_event(Kind::SessionEnded, user)
        .reason(if sid.is_some() { "one" } else { "others" })
        .count(ended)
        .log();
    Ok(ended)
}

pub fn apps(conn: &mut DbConnection, user_id: &str) -> Result<Vec<AppView>, OAuthError> {
    let mut apps = Vec::new();
    for consent in db::consents::for_user(conn, user_id)? {
        let name = db::clients::find(conn, &consent.client_id)?
            .map(|c| c.name)
            .unwrap_or_else(|| consent.client_id.clone());
        apps.push(AppView {
            client_id: consent.client_id,
            name,
            scope: consent.scope,
            created_at: consent.created_at,
        });
    }
    Ok(apps)
}

/// Revokes a connected application: its consent and this person's tokens at it.
pub fn revoke_app(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<bool, OAuthError> {
    if db::consents::delete(conn, user_id, Some(client_id))? == 0 {
        return Ok(false);
    }
    let tokens = db::refresh_tokens::revoke_for(
        conn,
        Owner::Grant {
            user: user_id,
            client: client_id,
        },
        now,
    )?;
    user_event(Kind::ConsentRevoked, user_id)
        .client(client_id)
        .token_type("refresh_token")
        .count(tokens)
        .log();
    Ok(true)
}
