//! Prometheus metrics: request counts and latencies per endpoint, tokens issued per grant.
//! Kept in `AppState`, never in a global registry.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub tokens_issued: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("latchkey".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by endpoint and status",
            ),
            &["endpoint", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            ),
            &["endpoint"],
        )?;
        let tokens_issued = IntCounterVec::new(
            Opts::new("tokens_issued_total", "Token responses by grant type"),
            &["grant_type"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(tokens_issued.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            tokens_issued,
        })
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        // Encoding into a Vec cannot fail on I/O; a metric family error leaves a partial page.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}
