//! Checking a passkey (WebAuthn §7.2, verifying an authentication assertion): alone, with a
//! discoverable credential and no username (the login page's button and conditional UI), or as
//! the second step after a password (the person's own passkeys are allowed). User verification
//! is required either way. Each use stores the new signature counter and backup state; a
//! counter that went backwards (a cloned authenticator, as `webauthn-rs` reports it) is refused.
//! Failures are audited as `mfa_failed`.

use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PublicKeyCredential, WebauthnError,
};

use super::ceremony::{self, Purpose};
use super::{credential_hash, open_passkey, seal_passkey, Prompt, RelyingParty};
use crate::audit::{Actor, Event, Kind};
use crate::crypto::master_key::MasterKey;
use crate::db::models::UserFactorRow;
use crate::db::{self, DbConnection};
use crate::domain::factor::{Amr, FactorKind, PasskeyUse};
use crate::oauth::mfa;
use crate::oauth::OAuthError;
use crate::random::Random;

/// What a check needs from around it.
pub struct Check<'a> {
    pub rp: &'a RelyingParty,
    pub master: &'a MasterKey,
    pub random: &'a dyn Random,
    /// What the sealed state is bound to: the pending login (and, after a password, the user).
    pub binding: &'a str,
    pub now: i64,
}

fn prompt<T: serde::Serialize>(
    check: &Check<'_>,
    purpose: Purpose,
    options: &impl serde::Serialize,
    state: T,
) -> Result<Prompt, OAuthError> {
    let options = serde_json::to_string(options)
        .map_err(|e| OAuthError::internal("starting a passkey check", &e))?;
    let expires_at = check.now + super::CEREMONY_SECS;
    let state = ceremony::seal(
        check.master,
        check.random,
        (purpose, check.binding),
        expires_at,
        state,
    )?;
    Ok(Prompt { options, state })
}

/// The options of a sign-in with any discoverable passkey of this relying party.
pub fn start_discoverable(check: &Check<'_>) -> Result<Prompt, OAuthError> {
    let (options, state) = check
        .rp
        .webauthn()
        .start_discoverable_authentication()
        .map_err(|e| OAuthError::internal("starting a passkey sign-in", &e))?;
    prompt(check, Purpose::SignIn, &options, state)
}

fn passkeys_of(
    conn: &mut DbConnection,
    master: &MasterKey,
    user_id: &str,
) -> Result<Vec<Passkey>, OAuthError> {
    db::user_factors::for_user(conn, user_id)?
        .iter()
        .filter(|f| f.confirmed && f.kind == FactorKind::Passkey.as_str())
        .map(|row| open_passkey(master, row))
        .collect()
}

/// The options of a second step with one of `user_id`'s passkeys; `None` when they have none.
pub fn start_second_factor(
    conn: &mut DbConnection,
    check: &Check<'_>,
    user_id: &str,
) -> Result<Option<Prompt>, OAuthError> {
    let passkeys = passkeys_of(conn, check.master, user_id)?;
    if passkeys.is_empty() {
        return Ok(None);
    }
    let (options, state) = check
        .rp
        .webauthn()
        .start_passkey_authentication(&passkeys)
        .map_err(|e| OAuthError::internal("starting a passkey check", &e))?;
    prompt(check, Purpose::SecondFactor, &options, state).map(Some)
}

/// A browser's answer, read but not yet checked, and the account its user handle names (what
/// throttling counts the attempt against).
pub struct Answer {
    credential: PublicKeyCredential,
    pub claimed_user: String,
}

/// Reads a sign-in answer (JSON); `None` when it is not one or names no user.
pub fn read(credential: &str) -> Option<Answer> {
    let credential: PublicKeyCredential = serde_json::from_str(credential).ok()?;
    let handle = credential.get_user_unique_id()?;
    let claimed_user = webauthn_rs::prelude::Uuid::from_slice(handle)
        .ok()?
        .to_string();
    Some(Answer {
        credential,
        claimed_user,
    })
}

fn failed(user_id: Option<&str>, reason: &'static str) {
    match user_id {
        Some(user) => mfa::user_event(Kind::MfaFailed, user),
        None => Event::new(Kind::MfaFailed, Actor::Anonymous),
    }
    .reason(reason)
    .log();
}

/// The confirmed passkey of `user_id` that made `credential`.
fn stored(
    conn: &mut DbConnection,
    credential: &PublicKeyCredential,
    user_id: &str,
) -> Result<Option<UserFactorRow>, OAuthError> {
    let hash = credential_hash(credential.get_credential_id());
    Ok(db::user_factors::find_by_credential(conn, &hash)?
        .filter(|row| row.user_id == user_id && row.kind == FactorKind::Passkey.as_str()))
}

/// Stores what a use changed (counter, backup state) and the time of use; the `amr` earned.
fn used(
    conn: &mut DbConnection,
    check: &Check<'_>,
    (row, mut passkey): (&UserFactorRow, Passkey),
    result: &AuthenticationResult,
    with_password: bool,
) -> Result<Amr, OAuthError> {
    let sealed = match passkey.update_credential(result) {
        Some(true) => Some(seal_passkey(check.master, check.random, &row.id, &passkey)?),
        _ => None,
    };
    db::user_factors::record_use(conn, &row.id, sealed.as_deref(), check.now)?;
    Ok(Amr::with_passkey(
        with_password,
        PasskeyUse {
            synced: result.backup_eligible(),
            user_verified: result.user_verified(),
        },
    ))
}

fn refused(user_id: &str, error: &WebauthnError, alone: bool) {
    let reason = match error {
        WebauthnError::CredentialPossibleCompromise => "cloned_authenticator",
        _ if alone => "passkey_sign_in",
        _ => "passkey",
    };
    failed(Some(user_id), reason);
}

/// Checks a sign-in with a passkey alone: the user id and `amr`, or `None` (audited).
pub fn finish_discoverable(
    conn: &mut DbConnection,
    check: &Check<'_>,
    sealed: &str,
    answer: &Answer,
) -> Result<Option<(String, Amr)>, OAuthError> {
    let state = ceremony::open::<DiscoverableAuthentication>(
        check.master,
        (Purpose::SignIn, check.binding),
        sealed,
        check.now,
    );
    let user = answer.claimed_user.as_str();
    let (Some(state), Some(row)) = (state, stored(conn, &answer.credential, user)?) else {
        failed(None, "passkey_sign_in");
        return Ok(None);
    };
    let passkey = open_passkey(check.master, &row)?;
    let result = check.rp.webauthn().finish_discoverable_authentication_v2(
        &answer.credential,
        state,
        &passkey,
    );
    match result {
        Ok(result) if result.user_verified() => {
            let amr = used(conn, check, (&row, passkey), &result, false)?;
            Ok(Some((row.user_id.clone(), amr)))
        }
        Ok(_) => {
            failed(Some(user), "passkey_sign_in");
            Ok(None)
        }
        Err(e) => {
            refused(user, &e, true);
            Ok(None)
        }
    }
}

/// Checks a passkey as the second step of `user_id`'s sign-in: the `amr`, or `None` (audited).
pub fn finish_second_factor(
    conn: &mut DbConnection,
    check: &Check<'_>,
    user_id: &str,
    sealed: &str,
    credential: &str,
) -> Result<Option<Amr>, OAuthError> {
    let state = ceremony::open::<PasskeyAuthentication>(
        check.master,
        (Purpose::SecondFactor, check.binding),
        sealed,
        check.now,
    );
    let credential = serde_json::from_str::<PublicKeyCredential>(credential).ok();
    let row = match &credential {
        Some(credential) => stored(conn, credential, user_id)?,
        None => None,
    };
    let (Some(state), Some(credential), Some(row)) = (state, credential, row) else {
        failed(Some(user_id), "passkey");
        return Ok(None);
    };
    let passkey = open_passkey(check.master, &row)?;
    match check
        .rp
        .webauthn()
        .finish_passkey_authentication(&credential, &state)
    {
        Ok(result) => used(conn, check, (&row, passkey), &result, true).map(Some),
        Err(e) => {
            refused(user_id, &e, false);
            Ok(None)
        }
    }
}
