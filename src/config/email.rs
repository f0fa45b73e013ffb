//! `[email]`: the SMTP relay that sends password-reset and verification links (`email`), the
//! lifetimes of those links and how many a person or an address may ask for. Off while `host`
//! is empty. The relay password is a secret: redacted in `Debug`, in `config check` and in logs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::checks::invalid;
use super::{ConfigError, Settings};

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: for a relay on the same machine or a test listener only.
    None,
    /// SMTP, upgraded with STARTTLS before anything else is said (RFC 3207); required.
    Starttls,
    /// TLS from the first byte (implicit TLS, "SMTPS", RFC 8314).
    Tls,
}

/// The relay password: never printed. `Debug` and serialisation (`config check`) write
/// `REDACTED` when it is set.
#[derive(Clone, Default)]
pub struct SmtpPassword(Option<secrecy::SecretString>);

impl SmtpPassword {
    pub fn new(value: &str) -> Self {
        Self((!value.is_empty()).then(|| secrecy::SecretString::from(value.to_owned())))
    }

    pub fn secret(&self) -> Option<&secrecy::SecretString> {
        self.0.as_ref()
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() { "REDACTED" } else { "\"\"" })
    }
}

impl<'de> Deserialize<'de> for SmtpPassword {
    /// A string; also a number or boolean, which is what an environment value that looks like
    /// one (`LATCHKEY__EMAIL__PASSWORD=123456`) arrives as.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a password")
            }
            fn visit_str<E>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_i64<E>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_bool<E>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        Ok(Self::new(&d.deserialize_any(Text)?))
    }
}

impl Serialize for SmtpPassword {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_set() { "REDACTED" } else { "" })
    }
}

/// `[email]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The relay's host name; empty: no email (no "Forgot your password?", no verification).
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    pub password: SmtpPassword,
    /// The `From` of every message, `Name <address>` or a bare address.
    pub from: String,
    #[serde(deserialize_with = "super::parse::positive")]
    pub timeout_secs: u64,
    #[serde(deserialize_with = "super::parse::lifetime")]
    pub reset_link_ttl_secs: i64,
    #[serde(deserialize_with = "super::parse::lifetime")]
    pub verify_link_ttl_secs: i64,
    #[serde(deserialize_with = "super::parse::lifetime")]
    pub password_link_ttl_secs: i64,
    #[serde(deserialize_with = "super::parse::positive")]
    pub per_account_per_hour: i64,
    #[serde(deserialize_with = "super::parse::positive")]
    pub per_address_per_hour: i64,
}

impl EmailSettings {
    /// Whether email is configured at all.
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }
}

impl Settings {
    /// With a relay: a usable `from`, a port, credentials in pairs, and no password sent in the
    /// clear to a relay off this machine.
    pub(super) fn check_email(&self) -> Result<(), ConfigError> {
        let email = &self.email;
        if !email.enabled() {
            return Ok(());
        }
        if email.port == 0 {
            return Err(invalid("email.port", "must be from 1 to 65535"));
        }
        if email.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "email.from",
                "must be an address, or Name <address>, when email.host is set",
            ));
        }
        if email.username.is_empty() == email.password.is_set() {
            return Err(invalid(
                "email.password",
                "email.username and email.password are set together or not at all",
            ));
        }
        let loopback = matches!(email.host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if email.tls == SmtpTls::None && email.password.is_set() && !loopback {
            return Err(invalid(
                "email.tls",
                "must be starttls or tls to send a password to a relay off this machine",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> Settings {
        let mut settings = Settings::defaults().unwrap();
        settings.email.host = "smtp.example.com".into();
        settings.email.from = "Latchkey <id@example.com>".into();
        settings.email.username = "relay".into();
        settings.email.password = SmtpPassword::new("hunter2-smtp");
        settings
    }

    #[test]
    fn the_relay_password_never_shows() {
        let settings = configured();
        assert!(settings.validate().is_ok());
        assert!(!format!("{settings:?}").contains("hunter2-smtp"));
        let printed = toml::to_string(&settings.redacted()).unwrap();
        assert!(!printed.contains("hunter2-smtp"));
        assert!(printed.contains("password = \"REDACTED\""));
    }

    #[test]
    fn a_configured_relay_is_checked() {
        let mut settings = configured();
        settings.email.from = "not an address".into();
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "invalid value for `email.from`: must be an address, or Name <address>, when \
             email.host is set"
        );
        let mut settings = configured();
        settings.email.password = SmtpPassword::default();
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "invalid value for `email.password`: email.username and email.password are set \
             together or not at all"
        );
        let mut settings = configured();
        settings.email.tls = SmtpTls::None;
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "invalid value for `email.tls`: must be starttls or tls to send a password to a \
             relay off this machine"
        );
        settings.email.host = "127.0.0.1".into();
        assert!(settings.validate().is_ok());
        assert!(Settings::defaults().unwrap().validate().is_ok());
    }
}
