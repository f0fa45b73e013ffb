//! The pool's Prometheus instruments (waiting tasks, wait and hold latency), created with the pool
//! and registered by the metrics registry (`Metrics`).

/// The pool's own instruments, for `/metrics`.
pub struct PoolInstruments {
    pub waiting: prometheus::IntGauge,
    pub wait_seconds: prometheus::Histogram,
    pub query_seconds: prometheus::Histogram,
}

pub(super) fn new() -> Result<PoolInstruments, prometheus::Error> {
    let buckets = vec![
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ];
    Ok(PoolInstruments {
        waiting: prometheus::IntGauge::new(
            "db_pool_waiting",
            "Database tasks waiting for a pooled connection",
        )?,
        wait_seconds: prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "db_pool_wait_seconds",
                "Time database tasks waited for a pooled connection",
            )
            .buckets(buckets.clone()),
        )?,
        query_seconds: prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new(
                "db_query_duration_seconds",
                "Time database tasks held a pooled connection (their queries and transaction)",
            )
            .buckets(buckets),
        )?,
    })
}
