//! Brute-force and credential-stuffing protection of password logins (DESIGN.md §5b), on the
//! login page and in the password grant (RFC 6749 §4.3, §10.10: "the authorization server MUST
//! protect the endpoint against brute force attacks").
//!
//! Counters live in the database (so replicas share them), per (account, source address), per
//! source address (IPv6 per /64), per account and per pending login. Each keeps two counts:
//! attempts *in flight* and real failures. An attempt is counted in flight *before* its password
//! is checked, in one transaction, so concurrent guesses all count: a counter lets through at
//! most its threshold less its failures (one at a time once past it), and an attempt beyond is
//! refused as crowded, for a moment and without counting. Only a failed check is a failure; past
//! a counter's threshold the next attempt must wait, and each further failure doubles the wait; a
//! waiting attempt is refused at once, without any argon2 work. Crowding never starts or
//! lengthens a wait, so many people signing in at once behind one shared address are slowed for
//! a second at most. A successful login clears the account's counters.

mod answer;
mod keys;

use std::net::IpAddr;

use secrecy::SecretString;

pub use answer::{refusal_error, wait_message};
pub use keys::address as address_key;
use keys::{account, account_hash, backoff, counters, Counter, Kind};

use super::credentials;
use super::error::OAuthError;
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
    /// As many attempts as a counter allows are being checked right now: retry in a moment
    /// ([`CROWDED_RETRY_SECS`]). Not a failure, and it never lengthens a back-off.
    Crowded,
}

impl Refusal {
    /// True when the account itself is locked.
    pub fn locked(self) -> bool {
        matches!(self, Self::Throttled { locked: true, .. })
    }
}

/// How long an attempt refused as [`Refusal::Crowded`] is told to wait, in seconds.
pub const CROWDED_RETRY_SECS: i64 = 1;

/// Attempts in flight on a counter untouched for this long are forgotten: every check ends far
/// sooner (the password queue is bounded), so their release was lost.
const IN_FLIGHT_STALE_SECS: i64 = 60;

/// An attempt that was counted in flight; [`check_password`] ends it with the check's outcome.
#[derive(Debug, Clone)]
pub struct Attempt {
    counters: Vec<Counter>,
    /// The attempt used the pending login's last try: if it fails, the person starts again.
    pub last_try: bool,
    audit: Audit,
}

/// What a failure needs to set the back-off and audit it.
#[derive(Debug, Clone, Default)]
struct Audit {
    /// The account's login key, for its counters' hash.
    account: String,
    /// The username as in [`Source`], for the audit events.
    username: String,
    client_id: String,
    audit_store: bool,
    max_backoff_secs: i64,
    forget_after_secs: i64,
}

/// Counts an attempt in flight before its password is checked, or refuses it without counting
/// when one of its counters is blocked, or is crowded by attempts already being checked. Runs
/// before any argon2 work.
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
            audit: Audit::default(),
        }));
    }
    let counters = counters(settings, source);
    let keys: Vec<Vec<u8>> = counters.iter().map(|c| c.key.clone()).collect();
    let live = db::login_throttle::find_live(conn, &keys, now)?;
    if let Some(refusal) = refusal(&counters, &live, source, now) {
        return Ok(Err(refusal));
    }
    let account = account(source.username).unwrap_or_default();
    // One transaction: concurrent attempts on a counter are counted one after the other, so
    // exactly as many as it allows are let through.
    let last_try = db::write_tx(conn, |conn| {
        db::login_throttle::delete_expired_among(conn, &keys, now)?;
        charge(conn, settings, &counters, now, &account)?;
        let live = db::login_throttle::find_live(conn, &keys, now)?;
        let matching = || {
            live.iter()
                .filter_map(|row| Some((counters.iter().find(|c| c.key == row.key_hash)?, row)))
        };
        if matching().any(|(c, row)| row.in_flight > (c.threshold - row.failures).max(1)) {
            release(conn, &counters)?;
            return Ok::<_, db::DbError>(None);
        }
        Ok(Some(matching().any(|(c, row)| {
            c.kind == Kind::Request && row.failures + row.in_flight >= c.threshold
        })))
    })?;
    let Some(last_try) = last_try else {
        throttled(source, "in_flight")
            .wait_secs(CROWDED_RETRY_SECS)
            .log();
        return Ok(Err(Refusal::Crowded));
    };
    let audit = Audit {
        account,
        username: source.username.to_owned(),
        client_id: source.client_id.to_owned(),
        audit_store: source.audit_store,
        max_backoff_secs: settings.max_backoff_secs,
        forget_after_secs: settings.forget_after_secs,
    };
    Ok(Ok(Attempt {
        counters,
        last_try,
        audit,
    }))
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

/// A row adding `failures` failures and `in_flight` attempts in flight to a counter.
fn row(counter: &Counter, account: &str, now: i64, forget_after: i64) -> LoginThrottleRow {
    LoginThrottleRow {
        key_hash: counter.key.clone(),
        kind: counter.kind.as_str().to_owned(),
        account_hash: match counter.kind {
            Kind::Account | Kind::AccountAddress if !account.is_empty() => {
                Some(account_hash(account))
            }
            _ => None,
        },
        failures: 0,
        blocked_until: 0,
        updated_at: now,
        expires_at: now.saturating_add(forget_after),
        in_flight: 0,
    }
}

/// Counts the attempt in flight on each of its counters.
fn charge(
    conn: &mut DbConnection,
    settings: &LoginThrottleSettings,
    counters: &[Counter],
    now: i64,
    account: &str,
) -> Result<(), db::DbError> {
    for counter in counters {
        let stale = now.saturating_sub(IN_FLIGHT_STALE_SECS);
        db::login_throttle::forget_stale_in_flight(conn, &counter.key, stale)?;
        let row = LoginThrottleRow {
            in_flight: 1,
            ..row(counter, account, now, settings.forget_after_secs)
        };
        db::login_throttle::add(conn, &row)?;
    }
    Ok(())
}

/// Ends the attempt in flight on each of its counters.
fn release(conn: &mut DbConnection, counters: &[Counter]) -> Result<(), db::DbError> {
    for counter in counters {
        db::login_throttle::release(conn, &counter.key)?;
    }
    Ok(())
}

/// A failed check: each counter gets a real failure; one at or past its threshold makes the
/// next attempt wait, twice as long per failure more.
fn failed(conn: &mut DbConnection, attempt: &Attempt, now: i64) -> Result<(), db::DbError> {
    let audit = &attempt.audit;
    for counter in &attempt.counters {
        let row = LoginThrottleRow {
            failures: 1,
            ..row(counter, &audit.account, now, audit.forget_after_secs)
        };
        db::login_throttle::add(conn, &row)?;
        db::login_throttle::release(conn, &counter.key)?;
    }
    let keys: Vec<Vec<u8>> = attempt.counters.iter().map(|c| c.key.clone()).collect();
    for row in db::login_throttle::find_live(conn, &keys, now)? {
        let Some(counter) = attempt.counters.iter().find(|c| c.key == row.key_hash) else {
            continue;
        };
        if counter.kind != Kind::Request && row.failures >= counter.threshold {
            back_off(conn, audit, counter, &row, now)?;
        }
    }
    Ok(())
}

/// A counter at or past its threshold: the next attempt waits, twice as long per failure more.
fn back_off(
    conn: &mut DbConnection,
    attempt: &Audit,
    counter: &Counter,
    row: &LoginThrottleRow,
    now: i64,
) -> Result<(), db::DbError> {
    let over = row.failures - counter.threshold;
    let wait = backoff(counter.backoff_secs, over, attempt.max_backoff_secs);
    db::login_throttle::block(conn, &row.key_hash, now.saturating_add(wait))?;
    let kind = if counter.kind == Kind::Account {
        audit::Kind::AccountLocked
    } else {
        audit::Kind::LoginBackoff
    };
    let event = Event::new(kind, Actor::Anonymous)
        .client(&attempt.client_id)
        .account(&attempt.username)
        .reason(counter.kind.as_str())
        .count(usize::try_from(row.failures).unwrap_or_default())
        .wait_secs(wait);
    audit::record(conn, attempt.audit_store, now, &event)?;
    Ok(())
}

/// After a successful login: the account's counters are cleared; the address only ends its
/// attempt in flight (so people behind one shared address do not add up).
fn succeeded(conn: &mut DbConnection, attempt: &Attempt) -> Result<(), db::DbError> {
    // Rows are written in the counters' order, as everywhere, so concurrent writers never
    // wait on each other in a cycle.
    for counter in &attempt.counters {
        match counter.kind {
            Kind::Address => db::login_throttle::release(conn, &counter.key)?,
            Kind::Account | Kind::AccountAddress | Kind::Request | Kind::SecondFactor => {
                db::login_throttle::delete(conn, std::slice::from_ref(&counter.key))?
            }
        };
    }
    Ok(())
}

/// Ends an attempt whose code was checked synchronously (a second factor): a success clears
/// the account's counters, anything else is a failure.
pub fn settle(
    conn: &mut DbConnection,
    attempt: &Attempt,
    success: bool,
    now: i64,
) -> Result<(), db::DbError> {
    if success {
        succeeded(conn, attempt)
    } else {
        failed(conn, attempt, now)
    }
}

/// The shared password check ([`credentials::check_password`]) for an attempt counted by
/// [`begin`], which it ends: a success clears the account's counters, a wrong password (or an
/// unknown user) is a failure, and an attempt that was not checked (the password workers were
/// busy, an error) is no failure. The check and its ending run in their own task, so a client
/// that hangs up mid-check cannot leave its attempt in flight.
pub async fn check_password(
    passwords: &Passwords,
    pool: &Pool,
    now: i64,
    attempt: Attempt,
    user: Option<User>,
    password: SecretString,
) -> Result<Option<User>, OAuthError> {
    let (passwords, pool) = (passwords.clone(), pool.clone());
    let task = tokio::spawn(async move {
        let checked = credentials::check_password(&passwords, &pool, now, user, password).await;
        end(&pool, attempt, &checked, now).await;
        checked
    });
    match task.await {
        Ok(checked) => checked,
        Err(e) => Err(OAuthError::internal("password check", &e)),
    }
}

/// Ends a counted attempt with the outcome of its check, in one transaction.
async fn end(pool: &Pool, attempt: Attempt, checked: &Result<Option<User>, OAuthError>, now: i64) {
    if attempt.counters.is_empty() {
        return;
    }
    let outcome = match checked {
        Ok(Some(_)) => Outcome::Success,
        Ok(None) => Outcome::Failure,
        Err(_) => Outcome::Unchecked,
    };
    let ended = db::run_tx(pool, move |conn| match outcome {
        Outcome::Success => succeeded(conn, &attempt),
        Outcome::Failure => failed(conn, &attempt, now),
        Outcome::Unchecked => release(conn, &attempt.counters),
    })
    .await;
    if let Err(e) = ended {
        tracing::warn!(error = %e, "updating the login counters failed");
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Success,
    Failure,
    Unchecked,
}
