//! Token revocation (RFC 7009) and introspection (RFC 7662). Both authenticate the client first.
//! A client acts only on tokens issued to it (introspection: unless its registered scope holds
//! `latchkey:introspect`); anything else is treated like an unknown token, so neither endpoint
//! tells one client about another's tokens.

use serde_json::{json, Value};

use super::access_token;
use super::error::OAuthError;
use super::token::refresh_token;
use crate::audit::{self, Actor, Event, Kind};
use crate::config::Settings;
use crate::crypto::keys::KeySet;
use crate::db::models::RefreshTokenRow;
use crate::db::{self, DbConnection};
use crate::domain::client::Client;
use crate::domain::secret::SecretHash;
use crate::domain::user::User;

/// The scope that lets a client introspect every token, not only its own.
pub const INTROSPECT_ALL: &str = "latchkey:introspect";

/// JWTs (three dot-separated parts) are access tokens; opaque values are refresh tokens.
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

fn refresh_row(
    conn: &mut DbConnection,
    token: &str,
) -> Result<Option<RefreshTokenRow>, OAuthError> {
    Ok(db::refresh_tokens::find(
        conn,
        SecretHash::of_str(token).as_bytes(),
    )?)
}

/// RFC 7009 §2: revokes `token` if it is the client's; unknown tokens are not an error.
/// `token_type_hint` is not needed: the two kinds cannot be mistaken for each other.
pub fn revoke(
    conn: &mut DbConnection,
    settings: &Settings,
    keys: &KeySet,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<(), OAuthError> {
    if looks_like_jwt(token) {
        if let Ok(claims) = access_token::decode(settings, keys, token) {
            if claims.client_id == client.id && claims.exp > now {
                db::refresh_tokens::deny_access_token(conn, &claims.jti, claims.exp)?;
                let revoked = Event::new(Kind::TokenRevoked, Actor::Client(client.id.clone()))
                    .subject(&claims.sub)
                    .client(&client.id)
                    .token_type("access_token")
                    .jti(&claims.jti);
                audit::record(conn, settings.audit.store, now, &revoked)?;
            }
        }
        return Ok(());
    }
    if let Some(row) = refresh_row(conn, token)?.filter(|r| r.client_id == client.id) {
        let n = db::refresh_tokens::revoke_family(conn, &row.family_id, now)?;
        let revoked = Event::new(Kind::TokenRevoked, Actor::Client(client.id.clone()))
            .subject(&row.user_id)
            .client(&client.id)
            .token_type("refresh_token")
            .count(n);
        audit::record(conn, settings.audit.store, now, &revoked)?;
    }
    Ok(())
}

fn username(conn: &mut DbConnection, sub: &str) -> Result<Option<User>, OAuthError> {
    Ok(db::users::find_by_id(conn, sub)?.map(User::from))
}

/// RFC 7662 §2.2: the token's metadata when it is active and the client may see it, otherwise
/// `{"active": false}` and nothing more.
pub fn introspect(
    conn: &mut DbConnection,
    settings: &Settings,
    keys: &KeySet,
    client: &Client,
    token: &str,
    now: i64,
) -> Result<Value, OAuthError> {
    let inactive = json!({ "active": false });
    let privileged = client.scope.contains(INTROSPECT_ALL);
    if looks_like_jwt(token) {
        let Ok(claims) = access_token::decode(settings, keys, token) else {
            return Ok(inactive);
        };
        if claims.exp <= now
            || !(privileged || claims.client_id == client.id)
            || db::refresh_tokens::is_access_token_denied(conn, &claims.jti)?
            || !access_token::client_is_live(conn, &claims.client_id)?
        {
            return Ok(inactive);
        }
        // A user's token dies with the account (disabled or removed); a client's token has the
        // client as `sub` and no user.
        let user = username(conn, &claims.sub)?;
        let user_gone = match &user {
            Some(u) => u.disabled,
            None => claims.sub != claims.client_id,
        };
        if user_gone {
            return Ok(inactive);
        }
        let mut out = json!({
            "active": true,
            "token_type": "Bearer",
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "exp": claims.exp,
            "iat": claims.iat,
            "iss": claims.iss,
            "aud": claims.aud,
            "jti": claims.jti,
        });
        if let Some(user) = user {
            out["username"] = json!(user.username);
        }
        return Ok(out);
    }
    let Some(row) = refresh_row(conn, token)? else {
        return Ok(inactive);
    };
    let live = row.revoked_at.is_none()
        && row.rotated_at.is_none()
        && row.expires_at > now
        && row.family_expires_at > now;
    if !live || !(privileged || row.client_id == client.id) {
        return Ok(inactive);
    }
    // A token without offline_access dies with its browser session, as the grant says.
    if !refresh_token::session_alive(conn, settings, &row, now)? {
        return Ok(inactive);
    }
    let Some(user) = username(conn, &row.user_id)?.filter(|u| !u.disabled) else {
        return Ok(inactive);
    };
    Ok(json!({
        "active": true,
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": row.user_id,
        "username": user.username,
        "exp": row.expires_at,
        "iat": row.created_at,
        "iss": settings.issuer,
    }))
}
