//! Adding a passkey (WebAuthn §7.1, registering a new credential) on the account page: the
//! options ask for a discoverable (resident) credential and require user verification; the
//! answer is checked by `webauthn-rs` against the sealed state, and the credential is stored
//! sealed, with the hash of its id unique across all accounts. The first second factor a person
//! enrols brings the ten recovery codes. Audited as `mfa_enrolled` (or `mfa_failed`).

use serde_json::Value;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

use super::ceremony::{self, Purpose};
use super::{credential_hash, open_passkey, seal_passkey, user_handle, Prompt, RelyingParty};
use crate::audit::Kind;
use crate::crypto::master_key::MasterKey;
use crate::db::models::UserFactorRow;
use crate::db::{self, DbConnection};
use crate::domain::factor::FactorKind;
use crate::domain::user::User;
use crate::oauth::mfa::{self, recovery};
use crate::oauth::OAuthError;
use crate::random::Random;

/// What registration needs from around it.
pub struct Ceremony<'a> {
    pub rp: &'a RelyingParty,
    pub master: &'a MasterKey,
    pub random: &'a dyn Random,
    /// What the sealed state is bound to: the session that registers.
    pub binding: &'a str,
    pub now: i64,
}

/// The options of a new registration for `user`, excluding the passkeys they already have.
pub fn start(
    conn: &mut DbConnection,
    ceremony: &Ceremony<'_>,
    user: &User,
) -> Result<Prompt, OAuthError> {
    let handle = user_handle(&user.id)
        .ok_or_else(|| OAuthError::invalid_request("This account cannot have passkeys"))?;
    let mut existing = Vec::new();
    for row in db::user_factors::for_user(conn, &user.id)?
        .iter()
        .filter(|f| f.confirmed && f.kind == FactorKind::Passkey.as_str())
    {
        existing.push(open_passkey(ceremony.master, row)?.cred_id().clone());
    }
    let display = user.name.as_deref().unwrap_or(&user.username);
    let (options, state) = ceremony
        .rp
        .webauthn()
        .start_passkey_registration(handle, &user.username, display, Some(existing))
        .map_err(|e| OAuthError::internal("starting a passkey registration", &e))?;
    let mut options = serde_json::to_value(&options)
        .map_err(|e| OAuthError::internal("starting a passkey registration", &e))?;
    ask_for_discoverable(&mut options);
    let state = ceremony::seal(
        ceremony.master,
        ceremony.random,
        (Purpose::Register, ceremony.binding),
        ceremony.now + super::CEREMONY_SECS,
        state,
    )?;
    Ok(Prompt {
        options: options.to_string(),
        state,
    })
}

/// Asks the authenticator for a discoverable credential (`residentKey: "required"`, WebAuthn
/// §5.4.4), so the passkey can sign in without a username.
fn ask_for_discoverable(options: &mut Value) {
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
    }
}

/// The outcome of a registration's answer.
#[derive(Debug)]
pub enum Registered {
    /// Stored; `recovery_codes` are new codes to show once (the first factor), else empty.
    Added { recovery_codes: Vec<String> },
    /// The ceremony expired or was sealed for another session.
    Expired,
    /// The browser's answer did not verify (or the credential belongs to an account already).
    Refused,
}

/// Checks a registration's answer and stores the passkey as `name`.
pub fn finish(
    conn: &mut DbConnection,
    ceremony: &Ceremony<'_>,
    user_id: &str,
    answer: (&str, &str),
    name: &str,
) -> Result<Registered, OAuthError> {
    let (sealed, credential) = answer;
    let Some(state) = ceremony::open::<PasskeyRegistration>(
        ceremony.master,
        (Purpose::Register, ceremony.binding),
        sealed,
        ceremony.now,
    ) else {
        return Ok(Registered::Expired);
    };
    let refused = || {
        mfa::user_event(Kind::MfaFailed, user_id)
            .reason("passkey_enrolment")
            .log();
        Ok(Registered::Refused)
    };
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(credential) else {
        return refused();
    };
    let Ok(passkey) = ceremony
        .rp
        .webauthn()
        .finish_passkey_registration(&credential, &state)
    else {
        return refused();
    };
    let hash = credential_hash(passkey.cred_id().as_ref());
    if db::user_factors::find_by_credential(conn, &hash)?.is_some() {
        return refused();
    }
    let first = !mfa::has_factor(conn, user_id)?;
    let id = ceremony.random.uuid();
    let secret = seal_passkey(ceremony.master, ceremony.random, &id, &passkey)?;
    db::user_factors::insert(
        conn,
        &UserFactorRow {
            id,
            user_id: user_id.to_owned(),
            kind: FactorKind::Passkey.as_str().to_owned(),
            name: super::clean_name(name),
            secret,
            confirmed: true,
            last_step: None,
            created_at: ceremony.now,
            last_used_at: None,
            credential_hash: Some(hash),
        },
    )?;
    mfa::user_event(Kind::MfaEnrolled, user_id)
        .reason(FactorKind::Passkey.as_str())
        .log();
    let recovery_codes = if first {
        recovery::regenerate(conn, ceremony.random, user_id, ceremony.now)?
    } else {
        Vec::new()
    };
    Ok(Registered::Added { recovery_codes })
}

/// Renames one of a user's factors; `false` when it is not theirs.
pub fn rename(
    conn: &mut DbConnection,
    user_id: &str,
    factor_id: &str,
    name: &str,
) -> Result<bool, OAuthError> {
    let Some(row) = db::user_factors::for_user(conn, user_id)?
        .into_iter()
        .find(|f| f.id == factor_id && f.confirmed)
    else {
        return Ok(false);
    };
    let kind = FactorKind::parse(&row.kind).unwrap_or(FactorKind::Totp);
    if db::user_factors::rename(conn, user_id, factor_id, &super::clean_name(name))? != 1 {
        return Ok(false);
    }
    mfa::user_event(Kind::MfaRenamed, user_id)
        .reason(kind.as_str())
        .log();
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_options_ask_for_a_discoverable_credential_with_user_verification() {
        let rp = RelyingParty::for_issuer("https://id.example.com", "Example").unwrap();
        let handle = user_handle("6f1c2d1e-8f7a-4c61-9d55-2c0b6f3e9a10").unwrap();
        let (options, _) = rp
            .webauthn()
            .start_passkey_registration(handle, "alice", "Alice", None)
            .unwrap();
        let mut options = serde_json::to_value(&options).unwrap();
        ask_for_discoverable(&mut options);
        let selection = &options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(options["publicKey"]["rp"]["id"], "id.example.com");
    }
}
