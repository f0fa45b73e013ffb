//! What a person changes about themselves on the account page: their profile (name and email
//! address, checked by the same rules as the admin's, a changed address no longer verified) and
//! their password (once the current one was checked: every other session of theirs ends and
//! every refresh token of theirs is revoked, so whoever knew the old password keeps nothing).
//! Audited as `profile_updated`, `password_changed` and `token_revoked`.

use super::error::{ErrorCode, OAuthError};
use super::session::Session;
use crate::audit::{self, Actor, Event, Kind};
use crate::config::Settings;
use crate::db::refresh_tokens::Owner;
use crate::db::{self, DbConnection};
use crate::domain::user::{is_display_name, is_email};

/// Why a profile change is refused; each says what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Email,
    Name,
    /// `[login] by_email` is on and another account has this address: sharing it would stop
    /// both from signing in by it.
    EmailTaken,
}

impl Refused {
    pub fn message(self) -> &'static str {
        match self {
            Self::Email => "That is not an email address. Check it and try again.",
            Self::Name => "A name has at most 200 printable characters.",
            Self::EmailTaken => {
                "Another account already uses that email address. Use a different one."
            }
        }
    }
}

/// A profile as the person sent it: empty fields clear the value.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub name: String,
    pub email: String,
}

fn cleaned(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Checks and stores the person's profile; `Ok(Err(_))` says why it was refused (nothing
/// written). Run inside a transaction.
pub fn update(
    conn: &mut DbConnection,
    settings: &Settings,
    session: &Session,
    change: &ProfileChange,
    now: i64,
) -> Result<Result<(), Refused>, OAuthError> {
    let (name, email) = (cleaned(&change.name), cleaned(&change.email));
    if email.as_deref().is_some_and(|e| !is_email(e)) {
        return Ok(Err(Refused::Email));
    }
    if name.as_deref().is_some_and(|n| !is_display_name(n)) {
        return Ok(Err(Refused::Name));
    }
    let user_id = &session.user.id;
    let Some(mut user) = db::users::find_by_id(conn, user_id)? else {
        return Err(OAuthError::new(
            ErrorCode::ServerError,
            "The account is gone",
        ));
    };
    let email_changed = email != user.email;
    let name_changed = name != user.name;
    if email_changed && settings.login.by_email {
        if let Some(taken) = email.as_deref() {
            if db::users::email_taken(conn, taken, user_id)? {
                return Ok(Err(Refused::EmailTaken));
            }
        }
    }
    let reason = match (name_changed, email_changed) {
        (false, false) => return Ok(Ok(())),
        (true, false) => "name",
        (false, true) => "email",
        (true, true) => "name_email",
    };
    if email_changed {
        user.email_verified = false;
    }
    user.email = email;
    user.name = name;
    user.updated_at = now;
    db::users::update(conn, &user)?;
    let event = Event::new(Kind::ProfileUpdated, Actor::User(user_id.clone()))
        .subject(user_id)
        .reason(reason);
    audit::record(conn, settings.audit.store, now, &event)?;
    Ok(Ok(()))
}

/// Stores the person's new password hash (checked and made by the caller, after their current
/// password was verified); ends their other sessions and revokes their refresh tokens. Returns
/// how many sessions ended. Run inside a transaction.
pub fn set_password(
    conn: &mut DbConnection,
    settings: &Settings,
    session: &Session,
    hash: &str,
    now: i64,
) -> Result<usize, OAuthError> {
    let user_id = &session.user.id;
    db::users::set_password_hash(conn, user_id, hash, now)?;
    let ended = db::sessions::delete_others(conn, user_id, &session.id_hash)?;
    let revoked = db::refresh_tokens::revoke_for(conn, Owner::User(user_id), now)?;
    let actor = || Actor::User(user_id.clone());
    let changed = Event::new(Kind::PasswordChanged, actor())
        .subject(user_id)
        .reason("self_service")
        .count(ended);
    audit::record(conn, settings.audit.store, now, &changed)?;
    let tokens = Event::new(Kind::TokenRevoked, actor())
        .subject(user_id)
        .reason("password_changed")
        .token_type("refresh_token")
        .count(revoked);
    audit::record(conn, settings.audit.store, now, &tokens)?;
    Ok(ended)
}
