//! Settings: `config/default.toml` (compiled in) → `--config FILE` / `LATCHKEY_CONFIG` →
//! `LATCHKEY__SECTION__KEY` environment variables, then [`Settings::validate`].

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use url::Url;

/// The longest lifetime any setting may give a token, session or key: 10 years. Keeps every
/// `now + lifetime` far from overflow.
pub const MAX_LIFETIME_SECS: i64 = 10 * 365 * 86_400;

/// The documented defaults, compiled into the binary.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Everything Latchkey can be configured with. See `config/default.toml` for each key.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub issuer: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub passwords: PasswordSettings,
    pub sessions: SessionSettings,
    pub branding: BrandingSettings,
    pub registration: RegistrationSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub max_body_bytes: usize,
    // Operations (issue 11): proxies, shutdown.
    /// Peers whose `Forwarded`/`X-Forwarded-For` name the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Accept a plain-http issuer whose host is not loopback (development behind no TLS at all).
    pub allow_http_issuer: bool,
    pub tls: TlsSettings,
}

/// Direct TLS: PEM files, reloaded on SIGHUP; both empty for plain HTTP.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TlsSettings {
    pub fn enabled(&self) -> bool {
        !self.cert_file.as_os_str().is_empty()
    }
}

/// True for `localhost` and loopback addresses, where plain http never leaves the machine.
fn is_loopback_host(host: Option<url::Host<&str>>) -> bool {
    match host {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    pub change_poll_interval_ms: u64,
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("change_poll_interval_ms", &self.change_poll_interval_ms)
            .finish()
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub master_key_file: PathBuf,
    pub rsa_bits: usize,
    /// One chain of signing keys per algorithm; RS256 always among them.
    pub algorithms: Vec<crate::crypto::keys::SigningAlg>,
    pub jwks_max_age_secs: u64,
    pub rotation_period_secs: i64,
    pub publication_lead_secs: i64,
    pub refresh_interval_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub access_token_audience: String,
    /// `alg` of access tokens for clients without their own choice; one of `keys.algorithms`.
    pub access_token_alg: crate::crypto::keys::SigningAlg,
    pub authorization_code_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub refresh_token_absolute_ttl_secs: i64,
    pub refresh_token_reuse_grace_secs: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub idle_timeout_secs: i64,
    pub absolute_timeout_secs: i64,
    pub login_timeout_secs: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationSettings {
    pub open: bool,
    pub open_per_hour: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingSettings {
    pub product_name: String,
    pub logo_url: String,
    pub accent_color: String,
    pub extra_css_file: PathBuf,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub max_concurrent: usize,
    pub min_length: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

// Operations (issue 11): the metrics listener and its access.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A separate IP:PORT for `/metrics`; empty serves it on the main listener.
    pub bind: String,
    /// A file holding the bearer token `/metrics` requires; empty requires none.
    pub bearer_token_file: PathBuf,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Why a configuration was refused; the message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("{0}")]
    Parse(String),
    #[error("invalid value for `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

impl Settings {
    /// Loads the layered configuration and validates it. `file` is `--config`; when absent the
    /// `LATCHKEY_CONFIG` environment variable is consulted.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env_file = std::env::var_os("LATCHKEY_CONFIG").map(PathBuf::from);
        let file = file.map(Path::to_path_buf).or(env_file);
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("LATCHKEY__").split("__"));
        Self::from_figment(figment)
    }

    /// The compiled-in defaults alone, validated; the starting point for tests.
    pub fn defaults() -> Result<Self, ConfigError> {
        Self::from_figment(Figment::from(Toml::string(DEFAULT_TOML)))
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value that serde's types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer = Url::parse(&self.issuer)
            .map_err(|e| invalid("issuer", format!("not an absolute URL ({e})")))?;
        if !matches!(issuer.scheme(), "https" | "http") {
            return Err(invalid(
                "issuer",
                "must use https (or http for development)",
            ));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(invalid("issuer", "must not have a query or fragment"));
        }
        if issuer.host_str().is_none() || !issuer.username().is_empty() {
            return Err(invalid(
                "issuer",
                "must have a host and no user information",
            ));
        }
        self.server.bind.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "server.bind",
                "expected IP:PORT, for example 127.0.0.1:8080",
            )
        })?;
        if issuer.scheme() == "http"
            && !is_loopback_host(issuer.host())
            && !self.server.allow_http_issuer
        {
            return Err(invalid(
                "issuer",
                "must use https outside loopback (set server.allow_http_issuer = true to serve \
                 plain http anyway, for development only)",
            ));
        }
        let tls = &self.server.tls;
        if tls.cert_file.as_os_str().is_empty() != tls.key_file.as_os_str().is_empty() {
            return Err(invalid(
                "server.tls",
                "cert_file and key_file are set together or not at all",
            ));
        }
        for (key, path) in [
            ("server.tls.cert_file", &tls.cert_file),
            ("server.tls.key_file", &tls.key_file),
        ] {
            if !path.as_os_str().is_empty() && !path.is_file() {
                return Err(invalid(key, "file does not exist"));
            }
        }
        if self.server.shutdown_grace_secs > 3600 {
            return Err(invalid(
                "server.shutdown_grace_secs",
                "must be at most 3600",
            ));
        }
        if !self.metrics.bind.is_empty() && self.metrics.bind.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "metrics.bind",
                "expected IP:PORT, for example 127.0.0.1:9090, or empty",
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        crate::db::Backend::from_url(&self.database.url)
            .map_err(|reason| invalid("database.url", reason))?;
        if self.database.pool_size == 0 {
            return Err(invalid("database.pool_size", "must be at least 1"));
        }
        if self.database.connect_timeout_secs == 0 {
            return Err(invalid("database.connect_timeout_secs", "must be positive"));
        }
        if !(10..=60_000).contains(&self.database.change_poll_interval_ms) {
            return Err(invalid(
                "database.change_poll_interval_ms",
                "must be between 10 and 60000",
            ));
        }
        if !(2048..=8192).contains(&self.keys.rsa_bits) || self.keys.rsa_bits % 8 != 0 {
            return Err(invalid(
                "keys.rsa_bits",
                "must be a multiple of 8 from 2048 to 8192",
            ));
        }
        crate::crypto::keys::alg::check_settings(
            &self.keys.algorithms,
            self.tokens.access_token_alg,
        )
        .map_err(|(key, reason)| invalid(key, reason))?;
        if self.tokens.access_token_ttl_secs <= 0 {
            return Err(invalid("tokens.access_token_ttl_secs", "must be positive"));
        }
        let lifetimes = [
            ("tokens.id_token_ttl_secs", self.tokens.id_token_ttl_secs),
            (
                "tokens.authorization_code_ttl_secs",
                self.tokens.authorization_code_ttl_secs,
            ),
            (
                "tokens.refresh_token_ttl_secs",
                self.tokens.refresh_token_ttl_secs,
            ),
            (
                "tokens.refresh_token_absolute_ttl_secs",
                self.tokens.refresh_token_absolute_ttl_secs,
            ),
            (
                "sessions.idle_timeout_secs",
                self.sessions.idle_timeout_secs,
            ),
            (
                "sessions.absolute_timeout_secs",
                self.sessions.absolute_timeout_secs,
            ),
            (
                "sessions.login_timeout_secs",
                self.sessions.login_timeout_secs,
            ),
        ];
        if let Some((key, _)) = lifetimes.iter().find(|(_, v)| *v <= 0) {
            return Err(invalid(key, "must be positive"));
        }
        let all = lifetimes.iter().copied().chain([
            (
                "tokens.access_token_ttl_secs",
                self.tokens.access_token_ttl_secs,
            ),
            ("keys.rotation_period_secs", self.keys.rotation_period_secs),
            (
                "tokens.refresh_token_reuse_grace_secs",
                self.tokens.refresh_token_reuse_grace_secs,
            ),
        ]);
        for (key, value) in all {
            if value > MAX_LIFETIME_SECS {
                return Err(invalid(key, "must be at most 10 years (315360000 s)"));
            }
        }
        if self.keys.jwks_max_age_secs > 86_400 || self.keys.refresh_interval_secs > 86_400 {
            return Err(invalid(
                "keys",
                "jwks_max_age_secs and refresh_interval_secs must be at most a day",
            ));
        }
        // A replica serves a new key set up to refresh_interval_secs late, and caches keep the
        // old JWKS for jwks_max_age_secs: a new key must be public that long before it signs.
        if self.keys.publication_lead_secs
            < (self.keys.jwks_max_age_secs + self.keys.refresh_interval_secs) as i64
        {
            return Err(invalid(
                "keys.publication_lead_secs",
                "must be at least keys.jwks_max_age_secs + keys.refresh_interval_secs",
            ));
        }
        if self.keys.rotation_period_secs <= self.keys.publication_lead_secs {
            return Err(invalid(
                "keys.rotation_period_secs",
                "must be longer than keys.publication_lead_secs",
            ));
        }
        if self.keys.refresh_interval_secs == 0 {
            return Err(invalid("keys.refresh_interval_secs", "must be positive"));
        }
        if self.registration.open_per_hour == 0 {
            return Err(invalid("registration.open_per_hour", "must be positive"));
        }
        if !(8..=128).contains(&self.passwords.min_length) {
            return Err(invalid("passwords.min_length", "must be from 8 to 128"));
        }
        if self.tokens.refresh_token_reuse_grace_secs < 0 {
            return Err(invalid(
                "tokens.refresh_token_reuse_grace_secs",
                "must not be negative",
            ));
        }
        let color = self.branding.accent_color.strip_prefix('#').unwrap_or("");
        if !matches!(color.len(), 3 | 6) || !color.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid("branding.accent_color", "expected #rgb or #rrggbb"));
        }
        if !self.branding.logo_url.is_empty() {
            let logo = Url::parse(&self.branding.logo_url)
                .map_err(|e| invalid("branding.logo_url", format!("not an absolute URL ({e})")))?;
            if !matches!(logo.scheme(), "https" | "http") {
                return Err(invalid("branding.logo_url", "must be an http(s) URL"));
            }
        }
        if !self.branding.extra_css_file.as_os_str().is_empty()
            && !self.branding.extra_css_file.is_file()
        {
            return Err(invalid("branding.extra_css_file", "file does not exist"));
        }
        if self.branding.product_name.trim().is_empty() {
            return Err(invalid("branding.product_name", "must not be empty"));
        }
        argon2::Params::new(
            self.passwords.memory_kib,
            self.passwords.iterations,
            self.passwords.parallelism,
            None,
        )
        .map_err(|e| invalid("passwords", format!("unusable argon2 parameters ({e})")))?;
        if self.log.level.trim().is_empty() {
            return Err(invalid("log.level", "must not be empty"));
        }
        Ok(())
    }

    /// The issuer without a trailing slash, for building endpoint URLs.
    pub fn base_url(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// How long a retired key stays published: until every token it signed has expired and
    /// every cached JWKS has been refreshed.
    pub fn retired_key_retention_secs(&self) -> i64 {
        self.tokens
            .access_token_ttl_secs
            .max(self.tokens.id_token_ttl_secs)
            + (self.keys.jwks_max_age_secs + self.keys.refresh_interval_secs) as i64
    }

    /// True when the issuer is https: cookies get `Secure` and the `__Host-` prefix.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// `aud` of access tokens.
    pub fn access_token_audience(&self) -> &str {
        if self.tokens.access_token_audience.is_empty() {
            &self.issuer
        } else {
            &self.tokens.access_token_audience
        }
    }

    /// A copy safe to print: credentials in the database URL are masked.
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        copy.database.url = redact_url(&self.database.url);
        copy
    }

    /// Development conveniences in force, each worth a loud warning at start.
    pub fn development_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Ok(url) = Url::parse(&self.issuer) {
            if url.scheme() == "http" {
                warnings.push(format!(
                    "issuer {} uses plain http: tokens and passwords travel unencrypted; use https in production",
                    self.issuer
                ));
            }
        }
        if self.database.url.starts_with("sqlite:") {
            warnings.push(
                "embedded SQLite database in use: fine for one instance, use PostgreSQL to run replicas"
                    .to_owned(),
            );
        }
        warnings
    }
}

/// Masks the password of a URL such as `postgres://user:secret@host/db`.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            // Setting a password only fails on URLs that cannot have one, excluded above.
            let _ = url.set_password(Some("REDACTED"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::defaults().is_ok());
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/latchkey"),
            "postgres://app:REDACTED@db:5432/latchkey"
        );
        let mut settings = Settings::defaults().unwrap();
        settings.database.url = "postgres://app:hunter2@db/latchkey".into();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn a_relative_issuer_is_refused() {
        let mut settings = Settings::defaults().unwrap();
        settings.issuer = "latchkey.example".into();
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.starts_with("invalid value for `issuer`"), "{err}");
    }

    #[test]
    fn a_negative_lifetime_is_refused() {
        let mut settings = Settings::defaults().unwrap();
        settings.tokens.access_token_ttl_secs = -5;
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "invalid value for `tokens.access_token_ttl_secs`: must be positive"
        );
    }
}
