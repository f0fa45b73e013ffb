//! The UserInfo endpoint's core (OIDC Core §5.3) and bearer-token validation (RFC 6750, RFC 9068
//! §4): signature by a published key, `typ`, `iss`, `aud`, `exp`, and the revocation deny list.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{ErrorCode, OAuthError};
use crate::config::Settings;
use crate::crypto::jwt::{self, TYP_ACCESS_TOKEN};
use crate::crypto::keys::KeySet;
use crate::db::{self, DbConnection};
use crate::domain::scope::Scope;
use crate::domain::user::User;

/// The claims of a Latchkey access token that decisions are made on.
#[derive(Debug, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    #[serde(default)]
    pub scope: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

impl AccessClaims {
    /// The granted scope; a malformed one (never issued by Latchkey) grants nothing.
    pub fn scope(&self) -> Scope {
        self.scope
            .as_deref()
            .and_then(|s| Scope::parse(s).ok())
            .unwrap_or_default()
    }
}

fn invalid_token(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// Checks signature, type, issuer and audience, but not expiry (revocation needs that).
pub fn decode_access_token(
    settings: &Settings,
    keys: &KeySet,
    token: &str,
) -> Result<AccessClaims, OAuthError> {
    let payload = jwt::verify(keys, token, TYP_ACCESS_TOKEN)
        .map_err(|_| invalid_token("The access token is invalid"))?;
    let claims: AccessClaims = serde_json::from_slice(&payload)
        .map_err(|_| invalid_token("The access token is invalid"))?;
    if claims.iss != settings.issuer || claims.aud != settings.access_token_audience() {
        return Err(invalid_token("The access token is invalid"));
    }
    Ok(claims)
}

/// Checks signature, type, issuer, audience and expiry. The deny list is checked separately,
/// since it needs the database.
pub fn verify_access_token(
    settings: &Settings,
    keys: &KeySet,
    now: i64,
    token: &str,
) -> Result<AccessClaims, OAuthError> {
    let claims = decode_access_token(settings, keys, token)?;
    if claims.exp <= now {
        return Err(invalid_token("The access token has expired"));
    }
    Ok(claims)
}

/// The userinfo response: `sub` plus the claims the token's scopes allow (OIDC Core §5.4).
pub fn userinfo(
    conn: &mut DbConnection,
    claims: &AccessClaims,
) -> Result<Map<String, Value>, OAuthError> {
    check_live(conn, claims)?;
    let scope = claims.scope();
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "The access token lacks the openid scope",
        ));
    }
    let user = db::users::find_by_id(conn, &claims.sub)?
        .map(User::from)
        .filter(|u| !u.disabled)
        .ok_or_else(|| invalid_token("The user of this access token is no longer active"))?;
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(user.id.clone()));
    if scope.contains("profile") {
        if let Some(name) = &user.name {
            out.insert("name".into(), Value::String(name.clone()));
        }
        out.insert(
            "preferred_username".into(),
            Value::String(user.username.clone()),
        );
        out.insert("updated_at".into(), Value::from(user.updated_at));
    }
    if scope.contains("email") {
        if let Some(email) = &user.email {
            out.insert("email".into(), Value::String(email.clone()));
            out.insert("email_verified".into(), Value::Bool(user.email_verified));
        }
    }
    Ok(out)
}

/// True when the client a token was issued to still exists and is enabled: removing or disabling
/// a client ends its tokens at once.
pub fn client_is_live(conn: &mut DbConnection, client_id: &str) -> Result<bool, OAuthError> {
    Ok(db::clients::find(conn, client_id)?.is_some_and(|c| !c.disabled))
}

/// The checks that need the database, shared by every endpoint that accepts an access token:
/// not revoked, and its client still live.
pub fn check_live(conn: &mut DbConnection, claims: &AccessClaims) -> Result<(), OAuthError> {
    if db::refresh_tokens::is_access_token_denied(conn, &claims.jti)? {
        return Err(invalid_token("The access token has been revoked"));
    }
    if !client_is_live(conn, &claims.client_id)? {
        return Err(invalid_token(
            "The client of this access token no longer exists",
        ));
    }
    Ok(())
}
