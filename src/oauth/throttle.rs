//! Brute-force and credential-stuffing protection of password logins (DESIGN.md §5b), on the
//! login page and in the password grant (RFC 6749 §4.3, §10.10: "the authorization server MUST
//! protect the endpoint against brute force attacks").
//!
//! Every attempt is counted *before* the password is checked, in the database (so replicas
//! share the counters and concurrent guesses all count), per (account, source address), per
//! source address (IPv6 per /64), per account and per pending login. Past a counter's threshold
//! the next attempt must wait, and each further failure doubles the wait; a waiting attempt is
//! refused at once, without any argon2 work. A successful login clears the account's counters.

use std::net::IpAddr;

use secrecy::SecretString;

use super::credentials;
use super::error::{ErrorCode, OAuthError};
use crate::config::LoginThrottleSettings;
use crate::db::models::LoginThrottleRow;
use crate::db::{self, DbConnection};
use crate::domain::secret::SecretHash;
use crate::domain::user::{login_key, User};
use crate::state::AppState;

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
}

/// Why an attempt is refused before any password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: retry after this many seconds.
    Throttled { retry_after_secs: i64 },
    /// This pending login had its share of failures; the person starts again.
    RequestExhausted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Account,
    AccountAddress,
    Address,
    Request,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::AccountAddress => "account_address",
            Self::Address => "address",
            Self::Request => "request",
        }
    }
}

#[derive(Debug, Clone)]
struct Counter {
    kind: Kind,
    key: Vec<u8>,
    threshold: i64,
    backoff_secs: i64,
}

/// An attempt that was counted; after a successful check, [`check_password`] clears it.
#[derive(Debug, Clone)]
pub struct Attempt {
    counters: Vec<Counter>,
    /// The attempt used the pending login's last try: if it fails, the person starts again.
    pub last_try: bool,
}

fn hash(parts: &[&str]) -> Vec<u8> {
    SecretHash::of_str(&parts.join("\0")).as_bytes().to_vec()
}

/// The account a username counts against: its login key (NFKC, case-folded), so that `Alice`
/// and `alice` share one counter.
fn account(username: &str) -> Option<String> {
    login_key(username)
}

fn account_hash(account: &str) -> Vec<u8> {
    hash(&["account", account])
}

/// An address as counted: IPv4 (or IPv4-mapped IPv6) whole, other IPv6 by its /64, since one
/// subscriber usually holds a whole /64.
fn address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn counters(settings: &LoginThrottleSettings, source: &Source<'_>) -> Vec<Counter> {
    let account = account(source.username);
    let address = source.address.map(address);
    let mut counters = Vec::with_capacity(4);
    let mut push = |kind: Kind, key: Vec<u8>, threshold: i64, backoff_secs: i64| {
        counters.push(Counter {
            kind,
            key,
            threshold,
            backoff_secs,
        })
    };
    if let Some(account) = &account {
        let t = (
            settings.account_lockout_failures,
            settings.account_lockout_secs,
        );
        push(Kind::Account, account_hash(account), t.0, t.1);
    }
    if let (Some(account), Some(address)) = (&account, &address) {
        let key = hash(&["account_address", account, address]);
        let t = (settings.account_address_max_failures, settings.backoff_secs);
        push(Kind::AccountAddress, key, t.0, t.1);
    }
    if let Some(address) = &address {
        let key = hash(&["address", address]);
        push(
            Kind::Address,
            key,
            settings.address_max_failures,
            settings.backoff_secs,
        );
    }
    if let Some(request) = source.request {
        let key = hash(&["request", request]);
        push(Kind::Request, key, settings.request_max_failures, 0);
    }
    counters
}

/// The wait after `over` failures past a threshold: `base`, doubled each time, at most `max`.
fn backoff(base: i64, over: i64, max: i64) -> i64 {
    base.saturating_mul(1_i64 << over.clamp(0, 40)).min(max)
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
    let kind_of = |row: &LoginThrottleRow| counters.iter().find(|c| c.key == row.key_hash);
    let live = db::login_throttle::find_live(conn, &keys, now)?;
    let address = source.address.map(address).unwrap_or_default();
    let exhausted = live.iter().any(|row| {
        kind_of(row).is_some_and(|c| c.kind == Kind::Request && row.failures >= c.threshold)
    });
    if exhausted {
        tracing::info!(target: "audit", event = "login_throttled", scope = "request", %address, client_id = %source.client_id);
        return Ok(Err(Refusal::RequestExhausted));
    }
    if let Some(until) = live
        .iter()
        .map(|r| r.blocked_until)
        .max()
        .filter(|until| *until > now)
    {
        tracing::info!(target: "audit", event = "login_throttled", scope = "backoff", %address, client_id = %source.client_id, retry_after_secs = until - now);
        return Ok(Err(Refusal::Throttled {
            retry_after_secs: until - now,
        }));
    }
    db::login_throttle::delete_expired_among(conn, &keys, now)?;
    let account_hash = account(source.username).map(|a| account_hash(&a));
    for counter in &counters {
        let row = LoginThrottleRow {
            key_hash: counter.key.clone(),
            kind: counter.kind.as_str().to_owned(),
            account_hash: match counter.kind {
                Kind::Account | Kind::AccountAddress => account_hash.clone(),
                Kind::Address | Kind::Request => None,
            },
            failures: 1,
            blocked_until: 0,
            updated_at: now,
            expires_at: now.saturating_add(settings.forget_after_secs),
        };
        db::login_throttle::increment(conn, &row)?;
    }
    let mut last_try = false;
    for row in db::login_throttle::find_live(conn, &keys, now)? {
        let Some(counter) = kind_of(&row) else {
            continue;
        };
        if row.failures < counter.threshold {
            continue;
        }
        if counter.kind == Kind::Request {
            last_try = true;
            continue;
        }
        let wait = backoff(
            counter.backoff_secs,
            row.failures - counter.threshold,
            settings.max_backoff_secs,
        );
        db::login_throttle::block(conn, &row.key_hash, now.saturating_add(wait))?;
        let event = if counter.kind == Kind::Account {
            "account_locked"
        } else {
            "login_backoff"
        };
        let username = account(source.username).unwrap_or_default();
        tracing::warn!(target: "audit", event, scope = counter.kind.as_str(), %username, %address, failures = row.failures, wait_secs = wait, client_id = %source.client_id);
    }
    Ok(Ok(Attempt { counters, last_try }))
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
            Kind::Account | Kind::AccountAddress | Kind::Request => {
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
    state: &AppState,
    attempt: Attempt,
    user: Option<User>,
    password: SecretString,
) -> Result<Option<User>, OAuthError> {
    let checked = credentials::check_password(state, user, password).await;
    let success = matches!(checked, Ok(Some(_)));
    let busy = matches!(&checked, Err(e) if e.code == ErrorCode::TemporarilyUnavailable);
    if (success || busy) && !attempt.counters.is_empty() {
        let cleared = db::run(&state.pool, move |conn| {
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

/// Clears every counter of an account (its lockout and its per-address back-offs).
pub fn unlock(conn: &mut DbConnection, username: &str) -> Result<usize, db::DbError> {
    let Some(account) = account(username) else {
        return Ok(0);
    };
    Ok(db::login_throttle::delete_for_account(
        conn,
        &account_hash(&account),
    )?)
}

/// Until when an account is soft-locked, if it is.
pub fn locked_until(
    conn: &mut DbConnection,
    username: &str,
    now: i64,
) -> Result<Option<i64>, db::DbError> {
    let Some(account) = account(username) else {
        return Ok(None);
    };
    Ok(db::login_throttle::blocked_until(
        conn,
        &account_hash(&account),
        now,
    )?)
}

/// The password grant's answer to a throttled attempt: 429, `Retry-After`, nothing about why.
pub fn refusal_error(refusal: Refusal) -> OAuthError {
    let retry_after = match refusal {
        Refusal::Throttled { retry_after_secs } => retry_after_secs,
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
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(60, 0, 3600), 60);
        assert_eq!(backoff(60, 1, 3600), 120);
        assert_eq!(backoff(60, 5, 3600), 1920);
        assert_eq!(backoff(60, 6, 3600), 3600);
        assert_eq!(backoff(60, i64::MAX, 3600), 3600);
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address(a), address(b));
        assert_eq!(address(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address(mapped), "192.0.2.7");
    }

    #[test]
    fn usernames_differing_in_case_share_one_account_counter() {
        assert_eq!(account("Alice"), account("alice"));
        assert_eq!(account("' OR 1=1"), None);
    }

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
