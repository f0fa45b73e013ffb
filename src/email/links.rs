//! One-time links (the protocol core of password reset, email verification and set-password
//! links; synchronous, a connection in hand): a 256-bit random token, shown once in the link,
//! stored only as its SHA-256 (`db::email_tokens`), short-lived and spent by one conditional
//! `UPDATE`. Using a password link sets the password, spends every other outstanding password
//! link of the person, ends all their sessions and revokes their refresh tokens, in one
//! transaction, audited.

use secrecy::{ExposeSecret, SecretString};

use crate::audit::{self, Actor, Event, Kind};
use crate::db::models::{EmailTokenRow, UserRow};
use crate::db::{self, DbConnection, DbError};
use crate::domain::secret::{self, SecretHash};
use crate::random::Random;

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// "Forgot your password?": emailed to the person.
    Reset,
    /// Confirms the address it was sent to.
    Verify,
    /// Made by an administrator and handed over by them.
    SetPassword,
}

/// The purposes whose link sets a password.
pub const PASSWORD_PURPOSES: [&str; 2] = ["reset", "set_password"];

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Verify => "verify",
            Self::SetPassword => "set_password",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Reset, Self::Verify, Self::SetPassword]
            .into_iter()
            .find(|p| p.as_str() == raw)
    }

    /// The page the link opens, below the issuer.
    pub fn path(self) -> &'static str {
        match self {
            Self::Verify => "/email/verify",
            Self::Reset | Self::SetPassword => "/password/reset",
        }
    }
}

/// A link just made: its URL (with the token: shown once, never logged) and when it expires.
pub struct Issued {
    pub url: SecretString,
    pub expires_at: i64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What to make a link for.
pub struct NewLink<'a> {
    pub user_id: &'a str,
    pub purpose: Purpose,
    /// The address a verification link goes to.
    pub email: Option<&'a str>,
    /// The SHA-256 of the source address that asked for it (reset requests).
    pub requested_from: Option<Vec<u8>>,
    pub ttl_secs: i64,
}

/// Stores a new link and returns its URL below `base_url` (the issuer).
pub fn issue(
    conn: &mut DbConnection,
    random: &dyn Random,
    base_url: &str,
    new: NewLink<'_>,
    now: i64,
) -> Result<Issued, DbError> {
    let token = secret::generate(random);
    let expires_at = now.saturating_add(new.ttl_secs);
    db::email_tokens::insert(
        conn,
        &EmailTokenRow {
            token_hash: SecretHash::of(&token).as_bytes().to_vec(),
            user_id: new.user_id.to_owned(),
            purpose: new.purpose.as_str().to_owned(),
            email: new.email.map(str::to_owned),
            requested_from: new.requested_from,
            created_at: now,
            expires_at,
            used_at: None,
        },
    )?;
    let url = format!(
        "{base_url}{}?token={}",
        new.purpose.path(),
        token.expose_secret()
    );
    Ok(Issued {
        url: SecretString::from(url),
        expires_at,
    })
}

/// A usable link as a page shows it before it is used.
#[derive(Debug)]
pub struct Usable {
    pub purpose: Purpose,
    pub username: String,
}

/// The hash of a presented token; `None` for what cannot be a token (absurd lengths).
fn token_hash(token: &str) -> Option<Vec<u8>> {
    (!token.is_empty() && token.len() <= 64).then(|| SecretHash::of_str(token).as_bytes().to_vec())
}

/// The link `token` opens, if it is usable at `now` for an enabled person; spends nothing (a
/// mail scanner that follows links must not use them up).
pub fn peek(conn: &mut DbConnection, token: &str, now: i64) -> Result<Option<Usable>, DbError> {
    let Some(hash) = token_hash(token) else {
        return Ok(None);
    };
    let Some(link) = db::email_tokens::find_usable(conn, &hash, now)? else {
        return Ok(None);
    };
    let Some(purpose) = Purpose::parse(&link.purpose) else {
        return Ok(None);
    };
    let user = db::users::find_by_id(conn, &link.user_id)?.filter(|u| !u.disabled);
    Ok(user.map(|u| Usable {
        purpose,
        username: u.username,
    }))
}

/// What using a link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Used {
    /// Done; with the purpose of the link.
    Done(Purpose),
    /// Unknown, expired, already used, for something else, or its person is disabled.
    Invalid,
    /// A verification link for an address the account no longer has: spent, nothing verified.
    Stale,
}

/// Sets the password hash `password_hash` (made with the password policy, before any
/// connection was taken) with the password link `token`, in one transaction at `now`.
pub fn set_password(
    conn: &mut DbConnection,
    store: bool,
    token: &str,
    password_hash: &str,
    now: i64,
) -> Result<Used, DbError> {
    let Some(hash) = token_hash(token) else {
        return Ok(Used::Invalid);
    };
    db::write_tx(conn, |conn| {
        let Some((link, user)) = spend(conn, &hash, &PASSWORD_PURPOSES, now)? else {
            return Ok(Used::Invalid);
        };
        db::users::set_password_hash(conn, &user.id, password_hash, now)?;
        db::email_tokens::spend_all(conn, &user.id, &PASSWORD_PURPOSES, now)?;
        // Whoever knew the old password may hold a session or a refresh token: end them.
        let sessions = db::sessions::delete_for_user(conn, &user.id)?;
        let owner = db::refresh_tokens::Owner::User(&user.id);
        let tokens = db::refresh_tokens::revoke_for(conn, owner, now)?;
        let actor = Actor::User(user.id.clone());
        let reset = Event::new(Kind::PasswordReset, actor.clone())
            .subject(&user.id)
            .reason(link.as_str());
        audit::record(conn, store, now, &reset.count(sessions))?;
        let revoked = Event::new(Kind::TokenRevoked, actor)
            .subject(&user.id)
            .token_type("refresh_token")
            .reason("password_reset");
        audit::record(conn, store, now, &revoked.count(tokens))?;
        Ok(Used::Done(link))
    })
}

/// Marks the address a verification link `token` was sent to as verified, if the account still
/// has it (compared without regard to ASCII case), in one transaction at `now`.
pub fn verify_email(
    conn: &mut DbConnection,
    store: bool,
    token: &str,
    now: i64,
) -> Result<Used, DbError> {
    let Some(hash) = token_hash(token) else {
        return Ok(Used::Invalid);
    };
    db::write_tx(conn, |conn| {
        let sent_to = db::email_tokens::find_usable(conn, &hash, now)?.and_then(|l| l.email);
        let Some((_, mut user)) = spend(conn, &hash, &["verify"], now)? else {
            return Ok(Used::Invalid);
        };
        let current = user.email.as_deref().unwrap_or("");
        if !sent_to.is_some_and(|s| s.eq_ignore_ascii_case(current)) {
            return Ok(Used::Stale);
        }
        user.email_verified = true;
        user.updated_at = now;
        db::users::update(conn, &user)?;
        let verified = Event::new(Kind::EmailVerified, Actor::User(user.id.clone()));
        audit::record(conn, store, now, &verified.subject(&user.id))?;
        Ok(Used::Done(Purpose::Verify))
    })
}

/// Spends the usable link hashing to `hash` with one of `purposes`, for an enabled person:
/// its purpose and the person, or `None` (nothing spent).
fn spend(
    conn: &mut DbConnection,
    hash: &[u8],
    purposes: &[&str],
    now: i64,
) -> Result<Option<(Purpose, UserRow)>, DbError> {
    let Some(link) = db::email_tokens::find_usable(conn, hash, now)? else {
        return Ok(None);
    };
    let Some(purpose) = Purpose::parse(&link.purpose).filter(|p| purposes.contains(&p.as_str()))
    else {
        return Ok(None);
    };
    let Some(user) = db::users::find_by_id(conn, &link.user_id)?.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    if !db::email_tokens::spend(conn, hash, purposes, now)? {
        return Ok(None);
    }
    Ok(Some((purpose, user)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_read_back_and_open_their_page() {
        for p in [Purpose::Reset, Purpose::Verify, Purpose::SetPassword] {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::parse("admin"), None);
        assert_eq!(Purpose::SetPassword.path(), "/password/reset");
        assert_eq!(Purpose::Verify.path(), "/email/verify");
    }

    #[test]
    fn what_cannot_be_a_token_is_never_looked_up() {
        assert!(token_hash("").is_none());
        assert!(token_hash(&"a".repeat(65)).is_none());
        assert_eq!(token_hash("abc").map(|h| h.len()), Some(32));
    }
}
