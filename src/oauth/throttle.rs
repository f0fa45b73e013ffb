//! Brute-force and credential-stuffing protection of password logins (DESIGN.md §5b), on the
//! login page and in the password grant (RFC 6749 §4.3, §10.10: "the authorization server MUST
//! protect the endpoint against brute force attacks").
//!
//! Every attempt is counted *before* the password is checked, in the database (so replicas
//! share the counters and concurrent guesses all count), per (account, source address), per
//! source address (IPv6 per /64), per account and per pending login. Past a counter's threshold
//! the next attempt must wait, and each further failure doubles the wait; a waiting attempt is
//! refused at once, without any argon2 work. A successful login clears the account's counters.

mod keys;

use std::net::IpAddr;

use secrecy::SecretString;

use keys::{account, account_hash, backoff, counters, Counter, Kind};

use super::credentials;
use super::error::{ErrorCode, OAuthError};
use crate::audit::{self, Actor, Event};
use crate::config::LoginThrottleSettings;
use crate::crypto::password::Passwords;
use crate::db::models::LoginThrottleRow;
use crate::db::{self, DbConnection, Pool};
use crate::domain::user::User;

/// What a login attempt names: the counters it is charged to.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The username as typed.
    pub username: &'a str,
    /// The peer address of the request.
    pub address: Option<IpAddr>,
    /// The pending login (login page) the attempt belongs to.
    pub request: Option<&'a str>,
    /// For the audit log.
    pub client_id: &'a str,
    /// `audit.store`: whether lockouts and back-offs are stored too.
    pub audit_store: bool,
    /// A second-factor code, not a password: `username` is then the user id, and the attempt
    /// counts against the account's second-factor counter instead of its password counters.
    pub second_factor: bool,
}

/// Why an attempt is refused before any password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: retry after this many seconds. `locked` when the account itself is
    /// locked (from every address), not just this address or pair.
    Throttled { retry_after_secs: i64, locked: bool },
    /// This pending login had its share of failures; the person starts again.
    RequestExhausted,
}

impl Refusal {
    /// True when the account itself is locked.
    pub fn locked(self) -> bool {
        matches!(self, Self::Throttled { locked: true, .. })
    }
}

/// An attempt that was counted; after a successful check, [`check_password`] clears it.
#[derive(Debug, Clone)]
pub struct Attempt {
    counters: Vec<Counter>,
    /// The attempt used the pending login's last try: if it fails, the person starts again.
    pub last_try: bool,
}

/// Counts an attempt before its password is checked, or refuses it without counting when one of
/// its counters is blocked. Runs before any argon2 work.
pub fn begin(
    conn: &mut DbConnection,
    settings: &LoginThrottleSettings,
    source: &Source<'_>,
    now: i64,
) -> Result<Result<Attempt, Refusal>, db::DbError> {
    if !settings.enabled {
        return Ok(Ok(Attempt {
            counters: Vec::new(),
            last_try: false,
        }));
    }
    let counters = counters(settings, source);
    let keys: Vec<Vec<u8>> = counters.iter().map(|c| c.key.clone()).collect();
    let live = db::login_throttle::find_live(conn, &keys, now)?;
    if let Some(refusal) = refusal(&counters, &live, source, now) {
        return Ok(Err(refusal));
    }
    db::login_throttle::delete_expired_among(conn, &keys, now)?;
    charge(conn, settings, &counters, source, now)?;
    let mut last_try = false;
    for row in db::login_throttle::find_live(conn, &keys, now)? {
        let Some(counter) = counters.iter().find(|c| c.key == row.key_hash) else {
            continue;
        };
        if row.failures < counter.threshold {
            continue;
        }
        if counter.kind == Kind::Request {
            last_try = true;
        } else {
            back_off(conn, settings, counter, &row, source, now)?;
        }
    }
    Ok(Ok(Attempt { counters, last_try }))
}

/// Why an attempt is refused before it is counted: its login page is out of tries, or one of
/// its counters is waiting.
fn refusal(
    counters: &[Counter],
    live: &[LoginThrottleRow],
    source: &Source<'_>,
    now: i64,
) -> Option<Refusal> {
    let exhausted = live.iter().any(|row| {
        counters.iter().any(|c| {
            c.key == row.key_hash && c.kind == Kind::Request && row.failures >= c.threshold
        })
    });
    if exhausted {
        throttled(source, "request_exhausted").log();
        return Some(Refusal::RequestExhausted);
    }
    let until = live
        .iter()
        .map(|r| r.blocked_until)
        .max()
        .filter(|u| *u > now)?;
    let locked = live.iter().any(|row| {
        row.blocked_until > now
            && counters
                .iter()
                .any(|c| c.key == row.key_hash && c.kind == Kind::Account)
    });
    let reason = if locked { "account_locked" } else { "backoff" };
    throttled(source, reason).wait_secs(until - now).log();
    Some(Refusal::Throttled {
        retry_after_secs: until - now,
        locked,
    })
}

/// The audit event of an attempt refused unchecked (logged only: a flood of refused attempts
/// writes nothing).
fn throttled(source: &Source<'_>, reason: &'static str) -> Event {
    Event::new(audit::Kind::LoginThrottled, Actor::Anonymous)
        .client(source.client_id)
        .account(source.username)
        .reason(reason)
}

/// Adds the attempt to each of its counters.
fn charge(
    conn: &mut DbConnection,
    settings: &LoginThrottleSettings,
    counters: &[Counter],
    source: &Source<'_>,
    now: i64,
) -> Result<(), db::DbError> {
    let account_hash = account(source.username).map(|a| account_hash(&a));
    for counter in counters {
        let row = LoginThrottleRow {
            key_hash: counter.key.clone(),
            kind: counter.kind.as_str().to_owned(),
            account_hash: match counter.kind {
                Kind::Account | Kind::AccountAddress => account_hash.clone(),
                Kind::Address | Kind::Request | Kind::SecondFactor => None,
            },
            failures: 1,
            blocked_until: 0,
            updated_at: now,
            expires_at: now.saturating_add(settings.forget_after_secs),
        };
        db::login_throttle::increment(conn, &row)?;
    }
    Ok(())
}

/// A counter at or past its threshold: the next attempt waits, twice as long per failure more.
fn back_off(
    conn: &mut DbConnection,
    settings: &LoginThrottleSettings,
    counter: &Counter,
    row: &LoginThrottleRow,
    source: &Source<'_>,
    now: i64,
) -> Result<(), db::DbError> {
    let over = row.failures - counter.threshold;
    let wait = backoff(counter.backoff_secs, over, settings.max_backoff_secs);
    db::login_throttle::block(conn, &row.key_hash, now.saturating_add(wait))?;
    let kind = if counter.kind == Kind::Account {
        audit::Kind::AccountLocked
    } else {
        audit::Kind::LoginBackoff
    };
    let event = Event::new(kind, Actor::Anonymous)
        .client(source.client_id)
        .account(source.username)
        .reason(counter.kind.as_str())
        .count(usize::try_from(row.failures).unwrap_or_default())
        .wait_secs(wait);
    audit::record(conn, source.audit_store, now, &event)?;
    Ok(())
}

/// After a successful login: the account's counters are cleared, the address gets its attempt
/// back (so people behind one shared address do not add up).
pub fn succeeded(conn: &mut DbConnection, attempt: &Attempt) -> Result<(), db::DbError> {
    let mut cleared = Vec::new();
    for counter in &attempt.counters {
        match counter.kind {
            Kind::Address => {
                db::login_throttle::refund(conn, &counter.key, counter.threshold)?;
            }
            Kind::Account | Kind::AccountAddress | Kind::Request | Kind::SecondFactor => {
                cleared.push(counter.key.clone())
            }
        }
    }
    db::login_throttle::delete(conn, &cleared)?;
    Ok(())
}

/// Gives every counter of an attempt its count back: the attempt was never checked (the password
/// workers were busy), so it is no failure.
fn refund(conn: &mut DbConnection, attempt: &Attempt) -> Result<(), db::DbError> {
    for counter in &attempt.counters {
        db::login_throttle::refund(conn, &counter.key, counter.threshold)?;
    }
    Ok(())
}

/// The shared password check ([`credentials::check_password`]) for an attempt counted by
/// [`begin`]: a success clears the attempt's counters, an attempt refused as busy is not counted.
pub async fn check_password(
    passwords: &Passwords,
    pool: &Pool,
    now: i64,
    attempt: Attempt,
    user: Option<User>,
    password: SecretString,
) -> Result<Option<User>, OAuthError> {
    let checked = credentials::check_password(passwords, pool, now, user, password).await;
    let success = matches!(checked, Ok(Some(_)));
    let busy = matches!(&checked, Err(e) if e.code == ErrorCode::TemporarilyUnavailable);
    if (success || busy) && !attempt.counters.is_empty() {
        let cleared = db::run(pool, move |conn| {
            if success {
                succeeded(conn, &attempt)
            } else {
                refund(conn, &attempt)
            }
        })
        .await;
        if let Err(e) = cleared {
            tracing::warn!(error = %e, "updating the login counters failed");
        }
    }
    checked
}

/// The password grant's answer to a throttled attempt: 429, `Retry-After`, nothing about why.
pub fn refusal_error(refusal: Refusal) -> OAuthError {
    let retry_after = match refusal {
        Refusal::Throttled {
            retry_after_secs, ..
        } => retry_after_secs,
        Refusal::RequestExhausted => 1,
    };
    OAuthError::invalid_grant("Too many failed attempts; retry later")
        .with_status(429)
        .with_retry_after(retry_after)
}

/// The login page's message for a throttled attempt, in whole minutes (rounded up).
pub fn wait_message(retry_after_secs: i64) -> String {
    match (retry_after_secs.max(1) + 59) / 60 {
        1 => "Too many attempts. Try again in 1 minute.".to_owned(),
        n => format!("Too many attempts. Try again in {n} minutes."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_shown_in_whole_minutes() {
        assert_eq!(wait_message(1), "Too many attempts. Try again in 1 minute.");
        assert_eq!(
            wait_message(60),
            "Too many attempts. Try again in 1 minute."
        );
        assert_eq!(
            wait_message(61),
            "Too many attempts. Try again in 2 minutes."
        );
    }
}
