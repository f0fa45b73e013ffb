//! The clients Latchkey itself relies on: the admin client `latchkey admin bootstrap` creates
//! (client_credentials, scope `latchkey:admin`) and the built-in admin-console client through
//! which people sign in to the admin pages.

use super::clients::{add, list, NewClient, Registered};
use super::AdminError;
use crate::db::models::ClientRow;
use crate::db::{self, DbConnection, Pool};
use crate::domain::client::GrantType;

/// The name of the client `latchkey admin bootstrap` creates.
pub const BOOTSTRAP_NAME: &str = "Latchkey admin";
/// The scope that authorises the admin API and client registration.
pub const ADMIN_SCOPE: &str = "latchkey:admin";

/// Creates the admin client (client_credentials, scope `latchkey:admin`) unless it exists;
/// `Ok(None)` when it already does, so running it twice never prints a second secret.
pub fn bootstrap(conn: &mut DbConnection, now: i64) -> Result<Option<Registered>, AdminError> {
    let exists = list(conn)?
        .iter()
        .any(|c| c.name == BOOTSTRAP_NAME && c.scope.split(' ').any(|s| s == ADMIN_SCOPE));
    if exists {
        return Ok(None);
    }
    add(
        conn,
        NewClient {
            name: BOOTSTRAP_NAME.into(),
            grant_types: vec![GrantType::ClientCredentials],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scope: Some(format!("{ADMIN_SCOPE} latchkey:register")),
            public: false,
            first_party: true,
            refresh_token_ttl_secs: None,
            refresh_token_absolute_ttl_secs: None,
            access_token_alg: None,
            id_token_signed_response_alg: None,
        },
        now,
    )
    .map(Some)
}

/// The id of the built-in client through which people sign in to the admin pages.
pub const CONSOLE_ID: &str = "latchkey-admin-console";

/// Creates or updates the built-in admin-console client so that its redirect URI follows the
/// configured issuer. It is public, first-party and limited to `openid`.
pub fn ensure_console(pool: &Pool, base_url: &str, now: i64) -> Result<(), AdminError> {
    let redirect = serde_json::to_string(&[format!("{base_url}/admin/callback")])
        .map_err(|e| AdminError::internal("stored client", e))?;
    db::transaction(pool, |conn| {
        match db::clients::find(conn, CONSOLE_ID)? {
            Some(mut row) if row.redirect_uris != redirect => {
                row.redirect_uris = redirect;
                row.updated_at = now;
                db::clients::replace(conn, &row)?;
            }
            Some(_) => {}
            None => db::clients::insert(
                conn,
                &ClientRow {
                    id: CONSOLE_ID.into(),
                    name: "Latchkey administration".into(),
                    secret_hash: None,
                    grant_types: GrantType::AuthorizationCode.as_str().into(),
                    redirect_uris: redirect,
                    post_logout_redirect_uris: "[]".into(),
                    scope: "openid".into(),
                    first_party: true,
                    disabled: false,
                    created_at: now,
                    updated_at: now,
                    refresh_token_ttl_secs: None,
                    refresh_token_absolute_ttl_secs: None,
                    registration_token_hash: None,
                    token_endpoint_auth_method: "none".into(),
                    registered_by: None,
                    access_token_alg: None,
                    id_token_signed_response_alg: None,
                },
            )?,
        }
        Ok(())
    })
}
