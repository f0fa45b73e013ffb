//! Operations settings: logs, direct TLS, the metrics listener and its token, the stored
//! audit trail, trace export, and the rules that tie them to the issuer (an https issuer outside
//! loopback unless overridden).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::invalid;
use super::{ConfigError, Settings};

/// Direct TLS: PEM files, reloaded on SIGHUP and when they change; both empty for plain HTTP.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Seconds between checks of the files' modification times; 0 reloads on SIGHUP only.
    pub watch_secs: u64,
}

/// The audit trail's table (`audit_events`): whether events are stored, and for how long.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    pub store: bool,
    /// Stored events older than this many days are purged by the background job.
    pub retention_days: u64,
}

/// OpenTelemetry trace export.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The OTLP/HTTP collector base URL (spans are POSTed to `{endpoint}/v1/traces`); empty: off.
    pub otlp_endpoint: String,
    /// The `service.name` resource attribute of exported spans.
    pub service_name: String,
}

impl TlsSettings {
    pub fn enabled(&self) -> bool {
        !self.cert_file.as_os_str().is_empty()
    }
}

/// The metrics listener and its access.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A separate IP:PORT for `/metrics`; empty serves it on the main listener.
    pub bind: String,
    /// A file holding the bearer token `/metrics` requires; empty requires none.
    pub bearer_token_file: PathBuf,
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

impl Settings {
    /// The operations rules: https issuer outside loopback, TLS files, metrics listener, grace.
    pub(super) fn check_operations(&self) -> Result<(), ConfigError> {
        let issuer = Url::parse(&self.issuer)
            .map_err(|e| invalid("issuer", format!("not an absolute URL ({e})")))?;
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
        if !(1..=36_500).contains(&self.audit.retention_days) {
            return Err(invalid("audit.retention_days", "must be from 1 to 36500"));
        }
        if !self.telemetry.otlp_endpoint.is_empty() {
            let url = Url::parse(&self.telemetry.otlp_endpoint).map_err(|e| {
                invalid(
                    "telemetry.otlp_endpoint",
                    format!("not an absolute URL ({e})"),
                )
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(invalid("telemetry.otlp_endpoint", "must be an http(s) URL"));
            }
        }
        if !self.metrics.bind.is_empty() && self.metrics.bind.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "metrics.bind",
                "expected IP:PORT, for example 127.0.0.1:9090, or empty",
            ));
        }
        Ok(())
    }
}

/// `[log]`: the format and filter of the logs.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    #[serde(deserialize_with = "super::parse::not_blank")]
    pub level: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}
