//! When a sign-in asks for a second factor: the client's own policy, else the global `[mfa]
//! policy`, and `acr_values` asking for `urn:latchkey:acr:mfa` (step-up). With `[admin]
//! require_mfa`, the admin console's sign-in always does.

use super::super::error::OAuthError;
use super::super::request::AuthorizationRequest;
use crate::config::Settings;
use crate::db::{self, DbConnection};
use crate::domain::factor::{acr_values_want_mfa, MfaPolicy};

/// The policy that applies to sign-ins to `client_id`.
pub fn for_client(
    conn: &mut DbConnection,
    settings: &Settings,
    client_id: &str,
) -> Result<MfaPolicy, OAuthError> {
    if settings.admin.require_mfa && client_id == crate::admin::clients::CONSOLE_ID {
        return Ok(MfaPolicy::Required);
    }
    let own = db::clients::mfa_policy(conn, client_id)?
        .as_deref()
        .and_then(MfaPolicy::parse);
    Ok(MfaPolicy::for_client(settings.mfa.policy, own))
}

/// Whether this request must be answered by a multi-factor sign-in, whoever signs in.
pub fn wants_second_factor(
    conn: &mut DbConnection,
    settings: &Settings,
    request: &AuthorizationRequest,
) -> Result<bool, OAuthError> {
    Ok(acr_values_want_mfa(request.acr_values.as_deref())
        || for_client(conn, settings, &request.client.id)? == MfaPolicy::Required)
}

/// What follows a correct password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPassword {
    /// Signed in with the password alone.
    Done,
    /// Enter a code of an enrolled factor.
    Verify,
    /// A second factor is required and the person has none: enrol one now.
    Enrol,
}

/// What a person who just gave the right password does next.
pub fn after_password(
    conn: &mut DbConnection,
    settings: &Settings,
    request: &AuthorizationRequest,
    user_id: &str,
) -> Result<AfterPassword, OAuthError> {
    let has_factor = super::has_factor(conn, user_id)?;
    let wanted = wants_second_factor(conn, settings, request)?;
    let policy = for_client(conn, settings, &request.client.id)?;
    Ok(match (has_factor, wanted, policy) {
        (true, true, _) | (true, _, MfaPolicy::Optional) => AfterPassword::Verify,
        (false, true, _) => AfterPassword::Enrol,
        _ => AfterPassword::Done,
    })
}
