//! The password queue's Prometheus instruments: jobs waiting for a worker, how long they waited,
//! and jobs running; registered by the metrics registry (`Metrics`).

/// The password queue's instruments, registered by the metrics registry (`Metrics`): checks waiting
/// for a slot, and how long they waited.
#[derive(Clone)]
pub struct Queue {
    pub waiting: prometheus::IntGauge,
    pub wait_seconds: prometheus::Histogram,
    /// Checks and hashes running on a worker.
    pub busy: prometheus::IntGauge,
    /// Workers in total.
    pub slots: usize,
}

impl Queue {
    pub(super) fn new(slots: usize) -> Result<Self, prometheus::Error> {
        Ok(Self {
            waiting: prometheus::IntGauge::new(
                "password_queue_waiting",
                "Password checks and hashes waiting for a slot",
            )?,
            wait_seconds: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "password_queue_wait_seconds",
                    "Time password checks and hashes waited for a slot",
                )
                .buckets(vec![0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            )?,
            busy: prometheus::IntGauge::new(
                "password_slots_busy",
                "Password checks and hashes running",
            )?,
            slots,
        })
    }
}
