//! Prometheus metrics: request counts and latencies per endpoint, tokens issued per grant, and
//! the database pool (statements run, connections open and idle). Kept in `AppState`, never in
//! a global registry.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::db::Pool;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub tokens_issued: IntCounterVec,
    db_statements: IntCounter,
    db_connections: IntGauge,
    db_idle: IntGauge,
    /// Serialises [`Metrics::observe_pool`], which moves a counter up to a value read elsewhere.
    observing: std::sync::Arc<std::sync::Mutex<()>>,
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
        let db_statements = IntCounter::new(
            "db_statements_total",
            "SQL statements run on pooled database connections",
        )?;
        let db_connections = IntGauge::new("db_pool_connections", "Pooled connections open")?;
        let db_idle = IntGauge::new("db_pool_idle_connections", "Pooled connections idle")?;
        registry.register(Box::new(db_statements.clone()))?;
        registry.register(Box::new(db_connections.clone()))?;
        registry.register(Box::new(db_idle.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(tokens_issued.clone()))?;
        Ok(Self {
            registry,
            http_requests,
            http_duration,
            tokens_issued,
            db_statements,
            db_connections,
            db_idle,
            observing: Default::default(),
        })
    }

    /// Reads the pool's figures, just before a scrape.
    pub fn observe_pool(&self, pool: &Pool) {
        let _serialised = self.observing.lock();
        let statements = pool.queries();
        self.db_statements
            .inc_by(statements.saturating_sub(self.db_statements.get()));
        let state = pool.state();
        self.db_connections.set(i64::from(state.connections));
        self.db_idle.set(i64::from(state.idle_connections));
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        // Encoding into a Vec cannot fail on I/O; a metric family error leaves a partial page.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}
