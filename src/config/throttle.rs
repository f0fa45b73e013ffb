//! `[login_throttle]`: thresholds and periods of the brute-force protection (`oauth::throttle`).

use serde::{Deserialize, Serialize};

use super::checks::invalid;
use super::{ConfigError, MAX_LIFETIME_SECS};

/// Brute-force protection of the login page and the password grant (`oauth::throttle`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoginThrottleSettings {
    pub enabled: bool,
    pub account_address_max_failures: i64,
    pub address_max_failures: i64,
    pub account_lockout_failures: i64,
    pub backoff_secs: i64,
    pub account_lockout_secs: i64,
    pub max_backoff_secs: i64,
    pub forget_after_secs: i64,
    pub request_max_failures: i64,
}

impl LoginThrottleSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let counts = [
            (
                "login_throttle.account_address_max_failures",
                self.account_address_max_failures,
            ),
            (
                "login_throttle.address_max_failures",
                self.address_max_failures,
            ),
            (
                "login_throttle.account_lockout_failures",
                self.account_lockout_failures,
            ),
            (
                "login_throttle.request_max_failures",
                self.request_max_failures,
            ),
        ];
        if let Some((key, _)) = counts.iter().find(|(_, v)| !(1..=1_000_000).contains(v)) {
            return Err(invalid(key, "must be from 1 to 1000000"));
        }
        let periods = [
            ("login_throttle.backoff_secs", self.backoff_secs),
            (
                "login_throttle.account_lockout_secs",
                self.account_lockout_secs,
            ),
            ("login_throttle.max_backoff_secs", self.max_backoff_secs),
            ("login_throttle.forget_after_secs", self.forget_after_secs),
        ];
        if let Some((key, _)) = periods
            .iter()
            .find(|(_, v)| !(1..=MAX_LIFETIME_SECS).contains(v))
        {
            return Err(invalid(key, "must be from 1 second to 10 years"));
        }
        if self.max_backoff_secs < self.backoff_secs.max(self.account_lockout_secs) {
            return Err(invalid(
                "login_throttle.max_backoff_secs",
                "must be at least backoff_secs and account_lockout_secs",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn a_cap_below_the_first_wait_is_refused() {
        let mut settings = Settings::defaults().unwrap();
        settings.login_throttle.max_backoff_secs = 120;
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "invalid value for `login_throttle.max_backoff_secs`: must be at least backoff_secs \
             and account_lockout_secs"
        );
        settings.login_throttle.max_backoff_secs = 3600;
        settings.login_throttle.address_max_failures = 0;
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "invalid value for `login_throttle.address_max_failures`: must be from 1 to 1000000"
        );
    }
}
