//! The UserInfo endpoint's core (OIDC Core §5.3): the claims an access token's scopes allow, for
//! an active user. The token itself is verified by [`super::access_token`].

use serde_json::{Map, Value};

use super::access_token::{self, invalid_token, AccessClaims};
use super::claims;
use super::error::{ErrorCode, OAuthError};
use crate::db::{self, DbConnection};
use crate::domain::user::User;

/// The userinfo response: `sub` plus the claims the token's scopes allow (OIDC Core §5.4);
/// `groups` only when the `groups` scope is offered (`claims.groups`).
pub fn userinfo(
    conn: &mut DbConnection,
    groups_offered: bool,
    token: &AccessClaims,
) -> Result<Map<String, Value>, OAuthError> {
    access_token::check_live(conn, token)?;
    let scope = token.scope();
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "The access token lacks the openid scope",
        ));
    }
    let user = db::users::find_by_id(conn, &token.sub)?
        .map(User::from)
        .filter(|u| !u.disabled)
        .ok_or_else(|| invalid_token("The user of this access token is no longer active"))?;
    let groups = if groups_offered && scope.contains(claims::GROUPS_SCOPE) {
        Some(db::groups::of_user(conn, &user.id)?)
    } else {
        None
    };
    let names: Option<Vec<String>> = groups.map(|g| g.into_iter().map(|g| g.name).collect());
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(user.id.clone()));
    out.extend(claims::standard(&user, names.as_deref(), &scope));
    Ok(out)
}
