//! What a login attempt is counted against (`oauth::throttle`): the counters' kinds, their keys
//! (SHA-256 of the account's login key, the source address, the pending login) and the back-off.

use super::Source;
use crate::config::LoginThrottleSettings;
use crate::domain::secret::SecretHash;
use crate::domain::user::login_key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Account,
    AccountAddress,
    Address,
    Request,
    /// Failed second-factor codes of one account (counted by user id).
    SecondFactor,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::AccountAddress => "account_address",
            Self::Address => "address",
            Self::Request => "request",
            Self::SecondFactor => "second_factor",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Counter {
    pub(super) kind: Kind,
    pub(super) key: Vec<u8>,
    pub(super) threshold: i64,
    pub(super) backoff_secs: i64,
}

fn hash(parts: &[&str]) -> Vec<u8> {
    SecretHash::of_str(&parts.join("\0")).as_bytes().to_vec()
}

/// The account a username counts against: its login key (NFKC, case-folded), so that `Alice`
/// and `alice` share one counter.
pub(super) fn account(username: &str) -> Option<String> {
    login_key(username)
}

pub(super) fn account_hash(account: &str) -> Vec<u8> {
    crate::domain::user::throttle_account_hash(account)
}

pub use crate::domain::address::counted as address;

pub(super) fn counters(settings: &LoginThrottleSettings, source: &Source<'_>) -> Vec<Counter> {
    let account = if source.second_factor {
        None
    } else {
        account(source.username)
    };
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
    if source.second_factor {
        let key = hash(&["second_factor", source.username]);
        let t = (settings.account_address_max_failures, settings.backoff_secs);
        push(Kind::SecondFactor, key, t.0, t.1);
    }
    if let Some(request) = source.request {
        let key = hash(&["request", request]);
        push(Kind::Request, key, settings.request_max_failures, 0);
    }
    counters
}

/// The wait after `over` failures past a threshold: `base`, doubled each time, at most `max`.
pub(super) fn backoff(base: i64, over: i64, max: i64) -> i64 {
    base.saturating_mul(1_i64 << over.clamp(0, 40)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

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
}
