//! The built-in clients through which people sign in to Latchkey's own pages: the admin console
//! (`/admin`) and the account page (`/account`). Each is public, first-party, limited to `openid`
//! and comes back to its own callback, so the login page names what the person is signing in to.
//! They are created at start and follow the configured issuer; no admin operation changes,
//! disables or removes them.

use super::AdminError;
use crate::db::models::ClientRow;
use crate::db::{self, DbConnection, Pool};
use crate::domain::client::GrantType;

/// The id of the built-in client through which people sign in to the admin pages.
pub const CONSOLE_ID: &str = "latchkey-admin-console";
/// The id of the built-in client through which people sign in to their account page.
pub const ACCOUNT_ID: &str = "latchkey-account";

/// Every built-in client: its id, its name (what the login page shows) and its callback path.
const BUILT_IN: [(&str, &str, &str); 2] = [
    (CONSOLE_ID, "Latchkey administration", "/admin/callback"),
    (ACCOUNT_ID, "Your Latchkey account", "/account/callback"),
];

/// Whether `client_id` is one of the built-in clients.
pub fn is_built_in(client_id: &str) -> bool {
    BUILT_IN.iter().any(|(id, _, _)| *id == client_id)
}

/// The refusal of a change to a built-in client (`verb`: changed, disabled, removed).
pub fn refusal(client_id: &str, verb: &str) -> AdminError {
    let what = if client_id == ACCOUNT_ID {
        "account page"
    } else {
        "admin console"
    };
    AdminError::Invalid(format!("the built-in {what} client cannot be {verb}"))
}

/// Creates or updates the built-in clients so that their redirect URIs follow the configured
/// issuer.
pub fn ensure(pool: &Pool, base_url: &str, now: i64) -> Result<(), AdminError> {
    db::transaction(pool, |conn| {
        for (id, name, callback) in BUILT_IN {
            ensure_one(conn, id, name, &format!("{base_url}{callback}"), now)?;
        }
        Ok(())
    })
}

fn ensure_one(
    conn: &mut DbConnection,
    id: &str,
    name: &str,
    redirect_uri: &str,
    now: i64,
) -> Result<(), AdminError> {
    let redirect = serde_json::to_string(&[redirect_uri])
        .map_err(|e| AdminError::internal("stored client", e))?;
    match db::clients::find(conn, id)? {
        Some(mut row) if row.redirect_uris != redirect => {
            row.redirect_uris = redirect;
            row.updated_at = now;
            db::clients::replace(conn, &row)?;
        }
        Some(_) => {}
        None => db::clients::insert(conn, &row(id, name, redirect, now))?,
    }
    Ok(())
}

fn row(id: &str, name: &str, redirect_uris: String, now: i64) -> ClientRow {
    ClientRow {
        id: id.into(),
        name: name.into(),
        secret_hash: None,
        grant_types: GrantType::AuthorizationCode.as_str().into(),
        redirect_uris,
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
        access_token_ttl_secs: None,
        id_token_claims: true,
        web_origins: "[]".into(),
    }
}
