//! Access-token verification (RFC 9068 §4, RFC 6750 §3.1), shared by every endpoint that accepts
//! a Latchkey access token: userinfo, client registration, the admin API (through
//! `oauth::bearer`) and revocation. Signature by a published key, `typ`, `iss`, `aud`, `exp`,
//! and the checks that need the database: the revocation deny list and a live client.

use serde::{Deserialize, Serialize};

use super::error::{ErrorCode, OAuthError};
use crate::config::Settings;
use crate::crypto::jwt::{self, TYP_ACCESS_TOKEN};
use crate::crypto::keys::KeySet;
use crate::db::{self, DbConnection};
use crate::domain::scope::Scope;

/// The claims of a Latchkey access token that decisions are made on.
#[derive(Debug, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    #[serde(default)]
    pub scope: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// RFC 8176 methods of the person's sign-in; absent for client-only and password grants.
    #[serde(default)]
    pub amr: Option<Vec<String>>,
}

/// `aud`: one string, or an array for a token bound to several resources (RFC 8707).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// True when the token is for `audience` alone.
    pub fn is_only(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.len() == 1 && many[0] == audience,
        }
    }
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

pub(super) fn invalid_token(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// Checks signature, type and issuer, whatever the audience: the token of an API resource
/// (RFC 8707), for revocation and introspection. Not expiry.
pub fn decode_any_audience(
    settings: &Settings,
    keys: &KeySet,
    token: &str,
) -> Result<AccessClaims, OAuthError> {
    let payload = jwt::verify(keys, token, TYP_ACCESS_TOKEN)
        .map_err(|_| invalid_token("The access token is invalid"))?;
    let claims: AccessClaims = serde_json::from_slice(&payload)
        .map_err(|_| invalid_token("The access token is invalid"))?;
    if claims.iss != settings.issuer.as_str() {
        return Err(invalid_token("The access token is invalid"));
    }
    Ok(claims)
}

/// Checks signature, type, issuer and audience (Latchkey's own: a token bound to another
/// resource is not accepted here), but not expiry.
pub fn decode(settings: &Settings, keys: &KeySet, token: &str) -> Result<AccessClaims, OAuthError> {
    let claims = decode_any_audience(settings, keys, token)?;
    if !claims.aud.is_only(settings.access_token_audience()) {
        return Err(invalid_token("The access token is invalid"));
    }
    Ok(claims)
}

/// Checks signature, type, issuer, audience and expiry. The deny list is checked separately,
/// since it needs the database.
pub fn verify(
    settings: &Settings,
    keys: &KeySet,
    now: i64,
    token: &str,
) -> Result<AccessClaims, OAuthError> {
    let claims = decode(settings, keys, token)?;
    if claims.exp <= now {
        return Err(invalid_token("The access token has expired"));
    }
    Ok(claims)
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
