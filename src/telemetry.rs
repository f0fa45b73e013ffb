//! Structured logs through `tracing`: human-readable or JSON lines on stderr, and optionally the
//! same spans exported as OpenTelemetry traces (OTLP over HTTP/protobuf, `telemetry.otlp_endpoint`).
//! Audit events (`crate::audit`) use the `audit` target and never carry secrets.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, LogSettings, TelemetrySettings};

/// The trace export in use, if any: flushed and stopped by [`Tracing::shutdown`].
#[derive(Debug, Default)]
pub struct Tracing {
    provider: Option<SdkTracerProvider>,
}

impl Tracing {
    /// Sends the spans not exported yet and stops the exporter; call it once serving has ended,
    /// outside the async runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "flushing the trace export failed");
            }
        }
    }
}

/// Installs the global subscriber once; later calls are ignored (tests build many servers). With
/// `telemetry.otlp_endpoint` set, spans are exported too.
pub fn init(settings: &LogSettings, telemetry: &TelemetrySettings) -> anyhow::Result<Tracing> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = tracer_provider(telemetry)?;
    let export = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("latchkey")));
    let _ = Registry::default()
        .with(format(settings))
        .with(export)
        .with(filter)
        .try_init();
    if provider.is_some() {
        tracing::info!(endpoint = %telemetry.otlp_endpoint, "exporting traces with OTLP");
    }
    Ok(Tracing { provider })
}

/// The CLI's logging: warnings, and the audit events of what the command changed, on stderr in
/// the configured format (stdout carries the command's results).
pub fn init_cli(settings: &LogSettings) {
    let _ = Registry::default()
        .with(format(settings))
        .with(EnvFilter::new("warn,audit=info"))
        .try_init();
}

/// The log lines on stderr, in the configured format.
fn format(settings: &LogSettings) -> Box<dyn Layer<Registry> + Send + Sync> {
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match settings.format {
        LogFormat::Json => layer.json().flatten_event(true).boxed(),
        LogFormat::Pretty => layer.compact().boxed(),
    }
}

/// The OTLP/HTTP exporter (protobuf, spans POSTed to `{endpoint}/v1/traces`) behind a batch
/// processor on a thread of its own; `None` when no endpoint is set. Build it before any async
/// runtime starts: its HTTP client is a blocking one.
fn tracer_provider(settings: &TelemetrySettings) -> anyhow::Result<Option<SdkTracerProvider>> {
    if settings.otlp_endpoint.is_empty() {
        return Ok(None);
    }
    // The exporter's rustls is Latchkey's own, with the ring provider (no second TLS stack).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let endpoint = format!("{}/v1/traces", settings.otlp_endpoint.trim_end_matches('/'));
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .build()?;
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}
