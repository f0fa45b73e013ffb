//! Bearer tokens that authorise Latchkey's own APIs (RFC 6750): client registration and the admin
//! API accept a Latchkey access token carrying one of the required scopes. A user's token also
//! needs the user to hold the admin role; a revoked token, a disabled user or a removed client
//! ends the authorisation at once.

use super::access_token::{self, AccessClaims};
use super::error::{ErrorCode, OAuthError};
use crate::audit::Actor;
use crate::db::{self, DbConnection};
use crate::domain::scope::Scope;

/// The token from an `Authorization: Bearer …` header (RFC 6750 §2.1), if any.
pub fn from_header(value: Option<&str>) -> Result<Option<String>, OAuthError> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::new(
            ErrorCode::InvalidToken,
            "The Authorization header is not a Bearer token",
        )),
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id for a person's token, the client id for a client's own token.
    pub subject: String,
    pub client_id: String,
    pub scope: Scope,
    /// A person's token whose sign-in had a second factor (`amr` holds `mfa`).
    pub multi_factor: bool,
}

impl Principal {
    /// Whether a person signed in for this token (not a client's own token).
    pub fn is_person(&self) -> bool {
        self.subject != self.client_id
    }

    /// With `required` (`[admin] require_mfa`), a person's token must come from a sign-in with a
    /// second factor; otherwise RFC 9470's `insufficient_user_authentication`.
    pub fn require_multi_factor(&self, required: bool) -> Result<(), OAuthError> {
        if required && self.is_person() && !self.multi_factor {
            return Err(OAuthError::new(
                ErrorCode::InsufficientUserAuthentication,
                "A sign-in with a second factor is required",
            ));
        }
        Ok(())
    }

    /// Who acts with this token: the person, or the client with its own token.
    pub fn actor(&self) -> Actor {
        if !self.is_person() {
            Actor::Client(self.client_id.clone())
        } else {
            Actor::User(self.subject.clone())
        }
    }
}

/// Checks that the verified token is still good and carries one of `any_of`.
pub fn authorize(
    conn: &mut DbConnection,
    claims: &AccessClaims,
    any_of: &[&str],
) -> Result<Principal, OAuthError> {
    access_token::check_live(conn, claims)?;
    let scope = claims.scope();
    if !any_of.iter().any(|s| scope.contains(s)) {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            format!("The access token needs the scope {}", any_of.join(" or ")),
        ));
    }
    let multi_factor = claims
        .amr
        .as_ref()
        .is_some_and(|amr| amr.iter().any(|m| m == "mfa"));
    if claims.sub != claims.client_id {
        let user = db::users::find_by_id(conn, &claims.sub)?;
        match user {
            Some(u) if !u.disabled && u.is_admin => {}
            Some(u) if !u.disabled => {
                return Err(OAuthError::new(
                    ErrorCode::InsufficientScope,
                    "The user is not an administrator",
                ))
            }
            _ => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidToken,
                    "The user of this access token is no longer active",
                ))
            }
        }
    }
    Ok(Principal {
        subject: claims.sub.clone(),
        client_id: claims.client_id.clone(),
        scope,
        multi_factor,
    })
}
