//! Structured logs through `tracing`: human-readable or JSON lines. Audit events (logins, token
//! issuance, client authentication failures) use the `audit` target and never carry secrets.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber once; later calls are ignored (tests build many servers).
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    install(settings, filter);
}

/// The CLI's logging: warnings, and the audit events of what the command changed, on stderr in
/// the configured format (stdout carries the command's results).
pub fn init_cli(settings: &LogSettings) {
    install(settings, EnvFilter::new("warn,audit=info"));
}

fn install(settings: &LogSettings, filter: EnvFilter) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
