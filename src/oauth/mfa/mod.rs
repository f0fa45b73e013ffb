//! Second factors of a user: TOTP enrolment (confirmed by a first code), verification at sign-in
//! (a TOTP code, accepted once, or a recovery code, spent once), listing and removal. Secrets are
//! sealed with AES-256-GCM under the master key, bound to their factor id. Every factor event is
//! an audit event (`mfa_enrolled`, `mfa_removed`, `mfa_failed`, `recovery_code_used`).

pub mod policy;
pub mod recovery;
pub mod totp;

use super::error::OAuthError;
use crate::audit::{Actor, Event, Kind};
use crate::crypto::master_key::MasterKey;
use crate::db::models::UserFactorRow;
use crate::db::{self, DbConnection};
use crate::domain::factor::{Amr, FactorKind};
use crate::random::Random;

/// The master-key context of TOTP secrets: a domain-separation label and the factor id.
fn seal_context(factor_id: &str) -> Vec<u8> {
    [b"latchkey totp secret\0".as_slice(), factor_id.as_bytes()].concat()
}

/// Whether the user has a confirmed second factor.
pub fn has_factor(conn: &mut DbConnection, user_id: &str) -> Result<bool, OAuthError> {
    Ok(db::user_factors::for_user(conn, user_id)?
        .iter()
        .any(|f| f.confirmed))
}

/// A TOTP enrolment in progress: what the enrolment page shows.
pub struct Enrolment {
    pub factor_id: String,
    pub secret_base32: String,
    pub qr_svg: Option<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("factor_id", &self.factor_id)
            .finish_non_exhaustive()
    }
}

/// Who enrols, for the authenticator's label.
pub struct Account<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    /// The issuer's name as the authenticator app shows it (the brand name).
    pub issuer_name: &'a str,
}

fn open_secret(master: &MasterKey, row: &UserFactorRow) -> Result<Vec<u8>, OAuthError> {
    master
        .decrypt(&row.secret, &seal_context(&row.id))
        .map_err(|e| OAuthError::internal("opening a TOTP secret", &e))
}

fn enrolment(account: &Account<'_>, factor_id: String, secret: &[u8]) -> Enrolment {
    let uri = totp::otpauth_uri(account.issuer_name, account.username, secret);
    Enrolment {
        factor_id,
        secret_base32: totp::base32(secret),
        qr_svg: totp::qr_svg(&uri),
    }
}

/// Starts a TOTP enrolment: a new unconfirmed factor (earlier unconfirmed ones are dropped).
pub fn enrol_start(
    conn: &mut DbConnection,
    master: &MasterKey,
    random: &dyn Random,
    account: &Account<'_>,
    now: i64,
) -> Result<Enrolment, OAuthError> {
    db::user_factors::delete_unconfirmed(conn, account.user_id)?;
    let id = random.uuid();
    let secret = totp::new_secret(random);
    let sealed = master
        .encrypt(random, &secret, &seal_context(&id))
        .map_err(|e| OAuthError::internal("sealing a TOTP secret", &e))?;
    db::user_factors::insert(
        conn,
        &UserFactorRow {
            id: id.clone(),
            user_id: account.user_id.to_owned(),
            kind: FactorKind::Totp.as_str().to_owned(),
            name: "Authenticator app".to_owned(),
            secret: sealed,
            confirmed: false,
            last_step: None,
            created_at: now,
            last_used_at: None,
            credential_hash: None,
        },
    )?;
    Ok(enrolment(account, id, &secret))
}

/// The enrolment page again (after a wrong first code), for the same unconfirmed factor.
pub fn enrol_resume(
    conn: &mut DbConnection,
    master: &MasterKey,
    account: &Account<'_>,
    factor_id: &str,
) -> Result<Option<Enrolment>, OAuthError> {
    let rows = db::user_factors::for_user(conn, account.user_id)?;
    let Some(row) = rows.iter().find(|f| f.id == factor_id && !f.confirmed) else {
        return Ok(None);
    };
    let secret = zeroize::Zeroizing::new(open_secret(master, row)?);
    Ok(Some(enrolment(account, row.id.clone(), &secret)))
}

/// Confirms an enrolment with its first code. Returns `None` for a wrong code; else the new
/// recovery codes when this is the user's first factor (shown once), or an empty list.
pub fn enrol_confirm(
    conn: &mut DbConnection,
    master: &MasterKey,
    random: &dyn Random,
    user_id: &str,
    factor_id: &str,
    code: &str,
    now: i64,
) -> Result<Option<Vec<String>>, OAuthError> {
    let rows = db::user_factors::for_user(conn, user_id)?;
    let first = !rows.iter().any(|f| f.confirmed);
    let Some(row) = rows.iter().find(|f| f.id == factor_id && !f.confirmed) else {
        return Ok(None);
    };
    let secret = zeroize::Zeroizing::new(open_secret(master, row)?);
    let Some(step) = totp::matching_step(&secret, code, now, None) else {
        user_event(Kind::MfaFailed, user_id)
            .reason("enrolment")
            .log();
        return Ok(None);
    };
    if db::user_factors::confirm(conn, factor_id, step, now)? != 1 {
        return Ok(None);
    }
    user_event(Kind::MfaEnrolled, user_id).reason("totp").log();
    if first {
        return Ok(Some(recovery::regenerate(conn, random, user_id, now)?));
    }
    Ok(Some(Vec::new()))
}

/// Checks a second factor at sign-in: a TOTP code of any confirmed factor (accepted once), or
/// a recovery code (spent). Returns the `amr` earned, or `None` (audited as `mfa_failed`).
pub fn verify(
    conn: &mut DbConnection,
    master: &MasterKey,
    user_id: &str,
    presented: &str,
    now: i64,
) -> Result<Option<Amr>, OAuthError> {
    for row in db::user_factors::for_user(conn, user_id)?
        .iter()
        .filter(|f| f.confirmed && f.kind == FactorKind::Totp.as_str())
    {
        let secret = zeroize::Zeroizing::new(open_secret(master, row)?);
        if let Some(step) = totp::matching_step(&secret, presented, now, row.last_step) {
            // Of two uses of one code, only the first moves the step.
            if db::user_factors::accept_step(conn, &row.id, step, now)? == 1 {
                return Ok(Some(Amr::with_factor(FactorKind::Totp)));
            }
        }
    }
    if recovery::spend(conn, user_id, presented, now)? {
        let left = db::user_factors::recovery_codes_left(conn, user_id)?;
        user_event(Kind::RecoveryCodeUsed, user_id)
            .count(usize::try_from(left).unwrap_or_default())
            .log();
        return Ok(Some(Amr::with_recovery_code()));
    }
    user_event(Kind::MfaFailed, user_id).reason("sign_in").log();
    Ok(None)
}

/// An audit event a person causes about themselves.
pub(crate) fn user_event(kind: Kind, user_id: &str) -> Event {
    Event::new(kind, Actor::User(user_id.to_owned())).subject(user_id)
}

/// Removes one factor; with the last one gone, the recovery codes go too.
pub fn remove(conn: &mut DbConnection, user_id: &str, factor_id: &str) -> Result<bool, OAuthError> {
    let kind = db::user_factors::for_user(conn, user_id)?
        .into_iter()
        .find(|f| f.id == factor_id)
        .and_then(|f| FactorKind::parse(&f.kind))
        .unwrap_or(FactorKind::Totp);
    if db::user_factors::delete(conn, user_id, factor_id)? != 1 {
        return Ok(false);
    }
    if !has_factor(conn, user_id)? {
        db::user_factors::delete_recovery_codes(conn, user_id)?;
    }
    user_event(Kind::MfaRemoved, user_id)
        .reason(kind.as_str())
        .log();
    Ok(true)
}
