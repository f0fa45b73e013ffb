//! The rules between several configuration keys, and those that look outside the configuration
//! (files, argon2's own limits), checked once every single value has parsed (see
//! [`super::parse`]).

use super::{ConfigError, Settings};

pub(super) fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

impl Settings {
    /// Checks the rules between keys, in the order of `config/default.toml`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_key_schedule()?;
        crate::domain::signing_alg::check_settings(
            &self.keys.algorithms,
            self.tokens.access_token_alg,
        )
        .map_err(|(key, reason)| invalid(key, reason))?;
        self.check_branding()?;
        if self.login.known_device_days > 400 {
            return Err(invalid("login.known_device_days", "must be at most 400"));
        }
        self.login_throttle.validate()?;
        self.check_operations()?;
        self.check_email()?;
        self.check_passwords()
    }

    /// A replica serves a new key set up to `refresh_interval_secs` late, and caches keep the old
    /// JWKS for `jwks_max_age_secs`: a new key must be public that long before it signs, and
    /// a key must sign for longer than that lead.
    fn check_key_schedule(&self) -> Result<(), ConfigError> {
        let keys = &self.keys;
        let propagation = (keys.jwks_max_age_secs + keys.refresh_interval_secs) as i64;
        if keys.publication_lead_secs < propagation {
            return Err(invalid(
                "keys.publication_lead_secs",
                "must be at least keys.jwks_max_age_secs + keys.refresh_interval_secs",
            ));
        }
        if keys.rotation_period_secs <= keys.publication_lead_secs {
            return Err(invalid(
                "keys.rotation_period_secs",
                "must be longer than keys.publication_lead_secs",
            ));
        }
        Ok(())
    }

    fn check_branding(&self) -> Result<(), ConfigError> {
        let css = &self.branding.extra_css_file;
        if !css.as_os_str().is_empty() && !css.is_file() {
            return Err(invalid("branding.extra_css_file", "file does not exist"));
        }
        Ok(())
    }

    fn check_passwords(&self) -> Result<(), ConfigError> {
        let p = &self.passwords;
        argon2::Params::new(p.memory_kib, p.iterations, p.parallelism, None)
            .map_err(|e| invalid("passwords", format!("unusable argon2 parameters ({e})")))?;
        Ok(())
    }
}
