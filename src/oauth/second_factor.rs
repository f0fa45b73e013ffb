//! The second step of a login: after the right password, the person proves a second factor (or,
//! when one is required and they have none, enrols one) before the session starts. Who gave the
//! right password travels in a value sealed under the master key (AES-256-GCM, bound to the
//! pending request), so nothing is written until the login succeeds and no other request's form
//! can carry it. A person with a passkey may answer with it instead of a code; its ceremony
//! state is sealed to the same pending request and user.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::error::OAuthError;
use super::interaction::{self, InteractionError, Pending};
use super::mfa::{self, Account, Enrolment};
use super::passkey::sign_in::{self, Check};
use super::passkey::{Prompt, RelyingParty};
use super::request::Context;
use crate::crypto::master_key::MasterKey;
use crate::db::{self, DbConnection};
use crate::domain::factor::{Amr, FactorKind};
use crate::domain::user::User;
use crate::random::Random;

/// What the sealed value says: this user gave the right password for this request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Partial {
    request: String,
    pub user_id: String,
    /// The unconfirmed factor being enrolled at sign-in, if any.
    pub enrol: Option<String>,
    expires_at: i64,
}

fn context(request: &str) -> Vec<u8> {
    [b"latchkey second factor\0".as_slice(), request.as_bytes()].concat()
}

impl Partial {
    pub fn new(pending: &Pending, user_id: &str, enrol: Option<String>, expires_at: i64) -> Self {
        Self {
            request: pending.opened.id.clone(),
            user_id: user_id.to_owned(),
            enrol,
            expires_at,
        }
    }

    /// The form field value.
    pub fn seal(&self, master: &MasterKey, random: &dyn Random) -> Result<String, OAuthError> {
        let plain =
            serde_json::to_vec(self).map_err(|e| OAuthError::internal("sealing a sign-in", &e))?;
        let sealed = master
            .encrypt(random, &plain, &context(&self.request))
            .map_err(|e| OAuthError::internal("sealing a sign-in", &e))?;
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens a form field value; `None` when it is not one sealed for `request`, or expired.
    pub fn open(master: &MasterKey, sealed: &str, request: &str, now: i64) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.as_bytes()).ok()?;
        let plain = master.decrypt(&bytes, &context(request)).ok()?;
        let partial: Self = serde_json::from_slice(&plain).ok()?;
        (partial.request == request && partial.expires_at > now).then_some(partial)
    }
}

/// What the second-factor form sent: the request, its CSRF token, the sealed state.
pub struct Form<'a> {
    pub request: Option<&'a str>,
    pub browser: Option<&'a str>,
    pub csrf: Option<&'a str>,
    pub sealed: Option<&'a str>,
}

/// Loads the request and the user the sealed value names, after the browser and CSRF checks.
pub fn prepare(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    form: &Form<'_>,
) -> Result<(Pending, Partial, User), InteractionError> {
    let pending = interaction::load(conn, ctx, form.request, form.browser)?;
    interaction::check_csrf(&pending, form.csrf)?;
    let partial = form
        .sealed
        .and_then(|s| Partial::open(ctx.master_key, s, &pending.opened.id, ctx.now))
        .ok_or(InteractionError::Forbidden)?;
    let user = db::users::find_by_id(conn, &partial.user_id)?
        .map(User::from)
        .filter(|u| !u.disabled)
        .ok_or(InteractionError::Expired)?;
    Ok((pending, partial, user))
}

/// The result of a code.
pub enum Checked {
    /// Wrong code (audited as `mfa_failed`).
    Wrong,
    /// Signed in; `recovery_codes` are new codes to show once (first enrolment).
    SignedIn {
        amr: Amr,
        recovery_codes: Vec<String>,
    },
}

/// Checks the code of a second-factor form: the first code of the factor being enrolled, or a
/// code of an enrolled factor or a recovery code.
pub fn check(
    conn: &mut DbConnection,
    master: &MasterKey,
    random: &dyn Random,
    partial: &Partial,
    code: &str,
    now: i64,
) -> Result<Checked, OAuthError> {
    let user_id = &partial.user_id;
    if let Some(factor) = &partial.enrol {
        return Ok(
            match mfa::enrol_confirm(conn, master, random, user_id, factor, code, now)? {
                Some(recovery_codes) => Checked::SignedIn {
                    amr: Amr::with_factor(FactorKind::Totp),
                    recovery_codes,
                },
                None => Checked::Wrong,
            },
        );
    }
    Ok(match mfa::verify(conn, master, user_id, code, now)? {
        Some(amr) => Checked::SignedIn {
            amr,
            recovery_codes: Vec::new(),
        },
        None => Checked::Wrong,
    })
}

/// The enrolment the form shows again, if the sign-in is enrolling.
pub fn enrolment_of(
    conn: &mut DbConnection,
    master: &MasterKey,
    user: &User,
    issuer_name: &str,
    partial: &Partial,
) -> Result<Option<Enrolment>, OAuthError> {
    let Some(factor) = &partial.enrol else {
        return Ok(None);
    };
    let account = Account {
        user_id: &user.id,
        username: &user.username,
        issuer_name,
    };
    mfa::enrol_resume(conn, master, &account, factor)
}

/// What the passkey ceremony of a second step is bound to: the pending login and the user.
pub fn passkey_binding(partial: &Partial) -> String {
    format!("{}\0{}", partial.request, partial.user_id)
}

/// Where a second step's passkey check comes from.
pub struct PasskeyKeys<'a> {
    pub rp: Option<&'a RelyingParty>,
    pub master: &'a MasterKey,
    pub random: &'a dyn Random,
}

/// The passkey check the second-factor page offers: `None` when passkeys are off, the person
/// has none, or they are enrolling an authenticator app.
pub fn passkey_prompt(
    conn: &mut DbConnection,
    keys: &PasskeyKeys<'_>,
    partial: &Partial,
    now: i64,
) -> Result<Option<Prompt>, OAuthError> {
    let Some(rp) = keys.rp.filter(|_| partial.enrol.is_none()) else {
        return Ok(None);
    };
    let binding = passkey_binding(partial);
    let check = Check {
        rp,
        master: keys.master,
        random: keys.random,
        binding: &binding,
        now,
    };
    sign_in::start_second_factor(conn, &check, &partial.user_id)
}

/// Checks the passkey answer (`sealed` state, `credential` JSON) of a second-factor form.
pub fn check_passkey(
    conn: &mut DbConnection,
    keys: &PasskeyKeys<'_>,
    partial: &Partial,
    answer: (&str, &str),
    now: i64,
) -> Result<Checked, OAuthError> {
    let Some(rp) = keys.rp.filter(|_| partial.enrol.is_none()) else {
        return Ok(Checked::Wrong);
    };
    let binding = passkey_binding(partial);
    let check = Check {
        rp,
        master: keys.master,
        random: keys.random,
        binding: &binding,
        now,
    };
    let (sealed, credential) = answer;
    Ok(
        match sign_in::finish_second_factor(conn, &check, &partial.user_id, sealed, credential)? {
            Some(amr) => Checked::SignedIn {
                amr,
                recovery_codes: Vec::new(),
            },
            None => Checked::Wrong,
        },
    )
}
