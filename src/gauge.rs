//! A gauge held up while something is in progress ([`Holding`]): shared by the parts that count
//! their waiters (the password queue, the database pool) and the metrics that export them.

use prometheus::IntGauge;

/// Keeps a gauge one higher for as long as it lives: the count of waiters stays right even when a
/// waiting request is dropped.
pub struct Holding<'a>(&'a IntGauge);

impl<'a> Holding<'a> {
    pub fn new(gauge: &'a IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}
