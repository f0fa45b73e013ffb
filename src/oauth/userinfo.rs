//! The UserInfo endpoint's core (OIDC Core §5.3): the claims an access token's scopes allow, for
//! an active user. The token itself is verified by [`super::access_token`].

use serde_json::{Map, Value};

use super::access_token::{self, invalid_token, AccessClaims};
use super::error::{ErrorCode, OAuthError};
use crate::db::{self, DbConnection};
use crate::domain::user::User;

/// The userinfo response: `sub` plus the claims the token's scopes allow (OIDC Core §5.4).
pub fn userinfo(
    conn: &mut DbConnection,
    claims: &AccessClaims,
) -> Result<Map<String, Value>, OAuthError> {
    access_token::check_live(conn, claims)?;
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
