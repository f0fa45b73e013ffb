//! Settings: `config/default.toml` (compiled in) → `--config FILE` / `LATCHKEY_CONFIG` →
//! `LATCHKEY__SECTION__KEY` environment variables. Every value is parsed into its type as it is
//! read ([`parse`]), so an invalid one stops the start with a message that names its key; rules
//! between keys follow ([`checks`]).

mod checks;
mod client_id_metadata;
mod database;
pub mod email;
mod identity;
mod issuer;
mod operations;
mod parse;
mod registration;
mod throttle;

pub use client_id_metadata::ClientIdMetadataSettings;
pub use database::{redact_url, Backend, DatabaseSettings};
pub use identity::{AdminSettings, ClaimsSettings, LoginSettings, MfaSettings};
pub use issuer::Issuer;
pub use operations::{
    AuditSettings, LogFormat, LogSettings, MetricsSettings, TelemetrySettings, TlsSettings,
};
pub use parse::AccentColor;
pub use registration::RegistrationSettings;
pub use throttle::LoginThrottleSettings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The longest lifetime any setting may give a token, session or key: 10 years. Keeps every
/// `now + lifetime` far from overflow.
pub const MAX_LIFETIME_SECS: i64 = 10 * 365 * 86_400;

/// The documented defaults, compiled into the binary.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Everything Latchkey can be configured with. See `config/default.toml` for each key.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(deserialize_with = "parse::issuer")]
    pub issuer: Issuer,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub passwords: PasswordSettings,
    pub sessions: SessionSettings,
    pub branding: BrandingSettings,
    pub registration: RegistrationSettings,
    pub client_id_metadata: ClientIdMetadataSettings,
    pub login_throttle: LoginThrottleSettings,
    pub mfa: MfaSettings,
    pub admin: AdminSettings,
    pub login: LoginSettings,
    pub claims: ClaimsSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub audit: AuditSettings,
    pub telemetry: TelemetrySettings,
    pub email: email::EmailSettings,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    #[serde(deserialize_with = "parse::bind")]
    pub bind: SocketAddr,
    pub workers: usize,
    #[serde(deserialize_with = "parse::body_limit")]
    pub max_body_bytes: usize,
    #[serde(deserialize_with = "parse::body_timeout")]
    pub body_timeout_secs: u64,
    pub max_connections_per_worker: usize,
    // Operations: proxies, shutdown, TLS.
    /// Peers whose `Forwarded`/`X-Forwarded-For` name the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Accept a plain-http issuer whose host is not loopback (development only).
    pub allow_http_issuer: bool,
    pub tls: TlsSettings,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub master_key_file: PathBuf,
    #[serde(deserialize_with = "parse::rsa_bits")]
    pub rsa_bits: usize,
    /// One chain of signing keys per algorithm; RS256 always among them.
    pub algorithms: Vec<crate::domain::signing_alg::SigningAlg>,
    #[serde(deserialize_with = "parse::at_most_a_day")]
    pub jwks_max_age_secs: u64,
    #[serde(deserialize_with = "parse::lifetime")]
    pub rotation_period_secs: i64,
    #[serde(deserialize_with = "parse::lifetime")]
    pub publication_lead_secs: i64,
    #[serde(deserialize_with = "parse::positive_at_most_a_day")]
    pub refresh_interval_secs: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    #[serde(deserialize_with = "parse::lifetime")]
    pub access_token_ttl_secs: i64,
    #[serde(deserialize_with = "parse::lifetime")]
    pub id_token_ttl_secs: i64,
    pub access_token_audience: String,
    /// `alg` of access tokens for clients without their own choice; one of `keys.algorithms`.
    pub access_token_alg: crate::domain::signing_alg::SigningAlg,
    #[serde(deserialize_with = "parse::lifetime")]
    pub authorization_code_ttl_secs: i64,
    #[serde(deserialize_with = "parse::lifetime")]
    pub refresh_token_ttl_secs: i64,
    #[serde(deserialize_with = "parse::lifetime")]
    pub refresh_token_absolute_ttl_secs: i64,
    #[serde(deserialize_with = "parse::grace")]
    pub refresh_token_reuse_grace_secs: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    #[serde(deserialize_with = "parse::lifetime")]
    pub idle_timeout_secs: i64,
    #[serde(deserialize_with = "parse::lifetime")]
    pub absolute_timeout_secs: i64,
    #[serde(deserialize_with = "parse::lifetime")]
    pub login_timeout_secs: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingSettings {
    #[serde(deserialize_with = "parse::not_blank")]
    pub product_name: String,
    #[serde(deserialize_with = "parse::optional_web_url")]
    pub logo_url: String,
    pub accent_color: AccentColor,
    pub extra_css_file: PathBuf,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub max_concurrent: usize,
    pub max_queued: usize,
    #[serde(deserialize_with = "parse::min_length")]
    pub min_length: usize,
    #[serde(deserialize_with = "parse::strength")]
    pub min_strength: u8,
}

/// Why a configuration was refused; the message names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("{0}")]
    Parse(String),
    #[error("invalid value for `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

impl From<figment::Error> for ConfigError {
    /// A value refused by its parser names its key; anything else (an unknown key, a TOML
    /// syntax error) keeps figment's own message, which says where.
    fn from(e: figment::Error) -> Self {
        match &e.kind {
            figment::error::Kind::Message(reason) if !e.path.is_empty() => Self::Invalid {
                key: e.path.join("."),
                reason: reason.clone(),
            },
            _ => Self::Parse(e.to_string()),
        }
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
        let settings: Settings = figment.extract()?;
        settings.validate()?;
        Ok(settings)
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
            self.issuer.as_str()
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
        if self.issuer.url().scheme() == "http" {
            warnings.push(format!(
                "issuer {} uses plain http: tokens and passwords travel unencrypted; use https in production",
                self.issuer
            ));
        }
        if self.database.url.starts_with("sqlite:") {
            warnings.push(
                "embedded SQLite database in use: fine for one instance, use PostgreSQL to run replicas"
                    .to_owned(),
            );
        }
        if !self.client_id_metadata.allow_private_hosts.is_empty() {
            warnings.push(format!(
                "client_id_metadata.allow_private_hosts = {:?}: metadata documents from these hosts may be fetched over plain http from private addresses; for development only",
                self.client_id_metadata.allow_private_hosts
            ));
        }
        warnings
    }

    /// A loopback issuer whose port is not the one the server binds: discovery would advertise
    /// endpoints nobody answers on (say `server.bind` was moved to another port and `issuer` was
    /// left at its default). A non-loopback issuer is left alone: a proxy may sit in between.
    pub fn issuer_port_mismatch(&self) -> Option<String> {
        let issuer = self.issuer.url();
        let loopback = match issuer.host()? {
            url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        };
        let bind = self.server.bind;
        let issuer_port = issuer.port_or_known_default()?;
        (loopback && bind.port() != 0 && bind.port() != issuer_port).then(|| {
            format!(
                "issuer {} is on port {issuer_port} but server.bind is {}: discovery advertises \
                 endpoints on the issuer's port; set issuer (LATCHKEY__ISSUER) to match",
                self.issuer, self.server.bind
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_in_the_query_is_redacted_too() {
        assert_eq!(
            redact_url("postgres://app@db/latchkey?sslmode=require&password=hunter2&PASSWORD=x"),
            "postgres://app@db/latchkey?sslmode=require&password=REDACTED&PASSWORD=REDACTED"
        );
        let backend = Backend::from_url("postgres://app@db/l?password=hunter2").unwrap();
        assert!(!backend.describe().contains("hunter2"));
        let mut settings = Settings::defaults().unwrap();
        settings.database.url = "postgres://app@db/latchkey?password=hunter2".into();
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert!(!settings.redacted().database.url.contains("hunter2"));
    }

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::defaults().is_ok());
    }

    #[test]
    fn a_loopback_issuer_on_another_port_than_the_bind_is_reported() {
        let mut settings = Settings::defaults().unwrap();
        assert_eq!(settings.issuer_port_mismatch(), None);
        settings.server.bind = "127.0.0.1:9090".parse().unwrap();
        assert_eq!(
            settings.issuer_port_mismatch().as_deref(),
            Some(
                "issuer http://127.0.0.1:8080 is on port 8080 but server.bind is 127.0.0.1:9090: \
                 discovery advertises endpoints on the issuer's port; set issuer \
                 (LATCHKEY__ISSUER) to match"
            )
        );
        settings.issuer = "http://localhost:9090".parse().unwrap();
        assert_eq!(settings.issuer_port_mismatch(), None);
        settings.issuer = "https://id.example.com".parse().unwrap();
        assert_eq!(
            settings.issuer_port_mismatch(),
            None,
            "a proxy may sit in between"
        );
        settings.issuer = "http://[::1]".parse().unwrap();
        assert!(
            settings.issuer_port_mismatch().is_some(),
            "port 80 is not 9090"
        );
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

    /// The defaults with `toml` layered over them.
    fn with(toml: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(toml)))
    }

    fn refusal(toml: &str) -> String {
        with(toml).unwrap_err().to_string()
    }

    #[test]
    fn invalid_values_are_refused_while_parsing_and_name_their_key() {
        let cases = [
            ("issuer = \"latchkey.example\"", "invalid value for `issuer`: not an absolute URL (relative URL without a base)"),
            ("issuer = \"ftp://id.example\"", "invalid value for `issuer`: must use https (or http for development)"),
            ("[server]\nbind = \"localhost\"", "invalid value for `server.bind`: expected IP:PORT, for example 127.0.0.1:8080"),
            ("[server]\nmax_body_bytes = 10", "invalid value for `server.max_body_bytes`: must be at least 1024"),
            ("[database]\nurl = \"mysql://db\"", "invalid value for `database.url`: expected a URL starting with postgres:// or sqlite://"),
            ("[database]\npool_size = 0", "invalid value for `database.pool_size`: must be positive"),
            ("[keys]\nrsa_bits = 1024", "invalid value for `keys.rsa_bits`: must be a multiple of 8 from 2048 to 8192"),
            ("[tokens]\naccess_token_ttl_secs = -5", "invalid value for `tokens.access_token_ttl_secs`: must be positive"),
            ("[tokens]\nid_token_ttl_secs = 400000000", "invalid value for `tokens.id_token_ttl_secs`: must be at most 10 years (315360000 s)"),
            ("[tokens]\nrefresh_token_reuse_grace_secs = -1", "invalid value for `tokens.refresh_token_reuse_grace_secs`: must not be negative"),
            ("[registration]\nopen_per_hour = 0", "invalid value for `registration.open_per_hour`: must be positive"),
            ("[registration]\nallowed_grant_types = [\"implicit\"]", "invalid value for `registration.allowed_grant_types.0`: unknown grant type `implicit`"),
            ("[registration]\nallowed_scopes = [\"openid\", \"latchkey:admin\"]", "invalid value for `registration.allowed_scopes`: `latchkey:admin`: Latchkey's own scopes can only be registered with an admin token"),
            ("[registration]\nallowed_scopes = [\"a b\"]", "invalid value for `registration.allowed_scopes`: `a b`: one scope token per entry"),
            ("[branding]\naccent_color = \"red\"", "invalid value for `branding.accent_color`: expected #rgb or #rrggbb"),
            ("[branding]\nproduct_name = \" \"", "invalid value for `branding.product_name`: must not be empty"),
            ("[branding]\nlogo_url = \"javascript:alert(1)\"", "invalid value for `branding.logo_url`: must be an http(s) URL"),
            ("[passwords]\nmin_length = 4", "invalid value for `passwords.min_length`: must be from 8 to 128"),
            ("[keys]\npublication_lead_secs = 1", "invalid value for `keys.publication_lead_secs`: must be at least keys.jwks_max_age_secs + keys.refresh_interval_secs"),
        ];
        for (toml, message) in cases {
            assert_eq!(refusal(toml), message, "{toml}");
        }
        let settings =
            with("[server]\nbind = \"0.0.0.0:9000\"\n[branding]\naccent_color = \"#0a0\"").unwrap();
        assert_eq!(settings.server.bind.port(), 9000);
        assert_eq!(settings.branding.accent_color.to_string(), "#0a0");
    }
}
