//! RP-Initiated Logout 1.0: `id_token_hint`, `client_id`, `post_logout_redirect_uri` (only
//! registered ones, exact match) and `state`. A request without a valid hint for the current
//! user is confirmed by the user first, so no site can log people out behind their backs; so is
//! any redirect to an openly registered client (RFC 9700 §4.11).

use serde::Deserialize;

use super::authorize::redirect_with;
use super::error::OAuthError;
use super::params::Params;
use super::session::Session;
use crate::config::Settings;
use crate::crypto::jwt::{self, TYP_JWT};
use crate::crypto::keys::KeySet;
use crate::db::{self, DbConnection};
use crate::domain::client::Client;

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    aud: String,
}

/// A checked logout request.
#[derive(Debug)]
pub struct Logout {
    pub client: Option<Client>,
    /// Where to send the browser afterwards, with `state` appended.
    pub redirect: Option<String>,
    /// The host of `redirect` when the client was registered openly: shown, and confirmed.
    pub redirect_host: Option<String>,
    /// The raw parameters, echoed into the confirmation form.
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// A valid `id_token_hint` that names the current user (or there is no session at all).
    pub confirmed_by_hint: bool,
}

/// Verifies an `id_token_hint` issued by us; expiry does not matter here (§2).
fn verify_hint(settings: &Settings, keys: &KeySet, hint: &str) -> Option<HintClaims> {
    let payload = jwt::verify(keys, hint, TYP_JWT).ok()?;
    let claims: HintClaims = serde_json::from_slice(&payload).ok()?;
    (claims.iss == settings.issuer.as_str()).then_some(claims)
}

/// Checks the request. Errors are shown as pages: a bad logout request never redirects.
pub fn check(
    conn: &mut DbConnection,
    settings: &Settings,
    keys: &KeySet,
    params: &Params,
    session: Option<&Session>,
) -> Result<Logout, OAuthError> {
    let hint = params
        .get("id_token_hint")
        .and_then(|h| verify_hint(settings, keys, h));
    if params.get("id_token_hint").is_some() && hint.is_none() {
        return Err(OAuthError::invalid_request(
            "The id_token_hint is not valid",
        ));
    }
    let client_id = match (
        params.get("client_id"),
        hint.as_ref().map(|h| h.aud.as_str()),
    ) {
        (Some(param), Some(aud)) if param != aud => {
            return Err(OAuthError::invalid_request(
                "client_id does not match the id_token_hint",
            ))
        }
        (Some(id), _) | (None, Some(id)) => Some(id.to_owned()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => Some(
            db::clients::find(conn, id)?
                .map(Client::try_from)
                .transpose()
                .map_err(|e| OAuthError::internal("client lookup", &e))?
                .ok_or_else(|| OAuthError::invalid_request("The client is unknown"))?,
        ),
        None => None,
    };
    let state = params.get("state").map(str::to_owned);
    let post_logout_redirect_uri = params.get("post_logout_redirect_uri").map(str::to_owned);
    let redirect = match (&post_logout_redirect_uri, &client) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "post_logout_redirect_uri needs client_id or id_token_hint",
            ))
        }
        (Some(uri), Some(client)) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            Some(redirect_with(uri, &[("state", state.as_deref())]))
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "The post_logout_redirect_uri is not registered for this client",
            ))
        }
    };
    // Anyone can register an open client, so a hint for one is no reason to redirect unasked:
    // that would make this endpoint an open redirector (RFC 9700 §4.11). The person confirms,
    // on a page that names where they will be sent.
    let redirect_host = match (&redirect, &client, &post_logout_redirect_uri) {
        (Some(_), Some(client), Some(uri)) => client.unvouched_host(uri),
        _ => None,
    };
    let confirmed_by_hint =
        redirect_host.is_none() && hint.is_some_and(|h| session.is_none_or(|s| s.user.id == h.sub));
    Ok(Logout {
        client,
        redirect,
        redirect_host,
        client_id,
        post_logout_redirect_uri,
        state,
        confirmed_by_hint,
    })
}
