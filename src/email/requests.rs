//! Whether a link is sent (the core behind "Forgot your password?" and "Verify your email";
//! synchronous, a connection in hand): who the request names, whether they may get one now
//! (`email.per_account_per_hour`, `email.per_address_per_hour`, counted from the links of the
//! last hour), and the link itself, stored and audited in one transaction. What the page shows
//! never depends on the answer.

use std::net::IpAddr;

use secrecy::SecretString;

use super::links::{self, NewLink, Purpose};
use crate::audit::{self, Actor, Event, Kind};
use crate::config::Settings;
use crate::db::models::UserRow;
use crate::db::{self, DbConnection, DbError};
use crate::domain::secret::SecretHash;
use crate::domain::user::login_key;
use crate::random::Random;

/// The window of the hourly limits.
const HOUR: i64 = 3600;

/// A link to email.
pub struct ToSend {
    pub to: String,
    pub username: String,
    pub url: SecretString,
    pub ttl_secs: i64,
}

impl std::fmt::Debug for ToSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToSend")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The stored form of a requesting address: the SHA-256 of its throttle key (IPv6 per /64).
fn requested_from(address: IpAddr) -> Vec<u8> {
    let key = crate::domain::address::counted(address);
    SecretHash::of_str(&format!("email request\0{key}"))
        .as_bytes()
        .to_vec()
}

/// The account `typed` names: a username (as the login page compares it), else the one account
/// with that email address.
fn named(conn: &mut DbConnection, typed: &str) -> Result<Option<UserRow>, DbError> {
    let typed = typed.trim();
    if typed.is_empty() || typed.len() > 254 {
        return Ok(None);
    }
    let key = login_key(typed).unwrap_or_default();
    if let Some(user) = db::users::find_for_login(conn, typed, &key)? {
        return Ok(Some(user));
    }
    if typed.contains('@') {
        return Ok(db::users::find_by_unique_email(conn, typed)?);
    }
    Ok(None)
}

/// A password-reset request for `typed` (username or email address) from `address` at `now`:
/// the link to send, or `None` — no such enabled account with an address, or over a limit.
pub fn reset(
    conn: &mut DbConnection,
    settings: &Settings,
    random: &dyn Random,
    typed: &str,
    address: IpAddr,
    now: i64,
) -> Result<Option<ToSend>, DbError> {
    db::write_tx(conn, |conn| {
        let Some(user) = named(conn, typed)?.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        let Some(to) = user.email.clone() else {
            return Ok(None);
        };
        db::lock_for_email_links(conn)?;
        let from = requested_from(address);
        let email = &settings.email;
        let since = now - HOUR;
        let over = db::email_tokens::count_for_user(conn, &user.id, "reset", since)?
            >= email.per_account_per_hour
            || db::email_tokens::count_from(conn, &from, since)? >= email.per_address_per_hour;
        let event = Event::new(Kind::PasswordResetRequested, Actor::Anonymous).subject(&user.id);
        if over {
            audit::record(conn, settings.audit.store, now, &event.reason("throttled"))?;
            return Ok(None);
        }
        let new = NewLink {
            user_id: &user.id,
            purpose: Purpose::Reset,
            email: None,
            requested_from: Some(from),
            ttl_secs: email.reset_link_ttl_secs,
        };
        let issued = links::issue(conn, random, settings.base_url(), new, now)?;
        audit::record(conn, settings.audit.store, now, &event)?;
        Ok(Some(ToSend {
            to,
            username: user.username,
            url: issued.url,
            ttl_secs: email.reset_link_ttl_secs,
        }))
    })
}

/// What a verification request came to.
#[derive(Debug)]
pub enum Verification {
    Send(ToSend),
    /// No address, or it is verified already.
    Nothing,
    /// `email.per_account_per_hour` links were sent in the last hour.
    Throttled,
}

/// A request by the signed-in person `user_id` to verify their address, at `now`.
pub fn verify(
    conn: &mut DbConnection,
    settings: &Settings,
    random: &dyn Random,
    user_id: &str,
    now: i64,
) -> Result<Verification, DbError> {
    db::write_tx(conn, |conn| {
        let user = db::users::find_by_id(conn, user_id)?.filter(|u| !u.disabled);
        let Some((user, to)) = user
            .filter(|u| !u.email_verified)
            .and_then(|u| u.email.clone().map(|e| (u, e)))
        else {
            return Ok(Verification::Nothing);
        };
        db::lock_for_email_links(conn)?;
        let email = &settings.email;
        let sent = db::email_tokens::count_for_user(conn, &user.id, "verify", now - HOUR)?;
        if sent >= email.per_account_per_hour {
            return Ok(Verification::Throttled);
        }
        let new = NewLink {
            user_id: &user.id,
            purpose: Purpose::Verify,
            email: Some(&to),
            requested_from: None,
            ttl_secs: email.verify_link_ttl_secs,
        };
        let issued = links::issue(conn, random, settings.base_url(), new, now)?;
        let sent = Event::new(Kind::EmailVerificationSent, Actor::User(user.id.clone()));
        audit::record(conn, settings.audit.store, now, &sent.subject(&user.id))?;
        Ok(Verification::Send(ToSend {
            to,
            username: user.username,
            url: issued.url,
            ttl_secs: email.verify_link_ttl_secs,
        }))
    })
}
