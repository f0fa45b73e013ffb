//! Knowing that the database is down (DESIGN.md §5b, §6): once a connection attempt fails, tasks
//! get [`DbError::Down`] (503) at once instead of each waiting out the connection timeout, except
//! one probe per timeout; the change poller probes too and ends the outage when it connects. Each
//! outage (or a failed poll, which may be a restart the poller never saw as down) starts a new
//! epoch: pooled connections opened before it are pinged once at their next checkout, and a dead
//! one is replaced, so a restarted PostgreSQL never leaves dead connections in the pool.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::r2d2::{PooledConnection, R2D2Connection};

use super::super::DbError;
use super::{open, Manager};

pub(super) struct Outage {
    down: AtomicBool,
    /// When a task last probed the database while it was down, in milliseconds since `start`.
    last_probe_ms: AtomicU64,
    start: Instant,
    /// Outages and failed polls so far: connections checked in an earlier epoch are pinged.
    epoch: AtomicU64,
    /// How often a task may probe while the database is down: the connection timeout.
    probe_every: Duration,
}

/// The epoch a pooled connection was last known good in (an r2d2 connection extension).
#[derive(Clone, Copy)]
pub(super) struct CheckedIn(pub u64);

impl Outage {
    pub fn new(probe_every: Duration) -> Self {
        Self {
            down: AtomicBool::new(false),
            last_probe_ms: AtomicU64::new(0),
            start: Instant::now(),
            epoch: AtomicU64::new(0),
            probe_every,
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// `Err(Down)` while the database is down, except for one probe per `probe_every`.
    pub fn admit(&self) -> Result<(), DbError> {
        if !self.down.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = self.now_ms();
        let last = self.last_probe_ms.load(Ordering::Acquire);
        if now.saturating_sub(last) < self.probe_every.as_millis() as u64 {
            return Err(DbError::Down);
        }
        self.last_probe_ms
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(|_| DbError::Down)
    }

    /// Something failed that may have killed pooled connections: check them at next checkout.
    pub fn suspect(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// A connection attempt failed. True when this starts an outage.
    pub fn mark_down(&self) -> bool {
        self.last_probe_ms.store(self.now_ms(), Ordering::Release);
        let started = !self.down.swap(true, Ordering::AcqRel);
        if started {
            self.suspect();
        }
        started
    }

    /// A connection succeeded. True when this ends an outage.
    pub fn mark_up(&self) -> bool {
        self.down.swap(false, Ordering::AcqRel)
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
}

impl super::Pool {
    /// Records that the database could not be reached (a pooled or dedicated connection failed):
    /// from now on requests fail fast with 503, one probe at a time, until a connection succeeds.
    pub fn mark_down(&self) {
        if self.shared.outage.mark_down() {
            tracing::warn!("database unreachable; answering 503 at once until it is back");
        }
    }

    /// Records that a connection succeeded: requests wait for the pool again.
    pub fn mark_up(&self) {
        if self.shared.outage.mark_up() {
            tracing::info!("database reachable again");
        }
    }

    /// Whether the database is known to be down.
    pub fn is_down(&self) -> bool {
        self.shared.outage.is_down()
    }

    /// Records a failure that may have killed pooled connections (a failed change poll): each is
    /// pinged at its next checkout, and replaced when dead.
    pub fn suspect(&self) {
        self.shared.outage.suspect();
    }

    /// Pings `conn` once per outage epoch and replaces it when it is dead.
    pub(super) fn revalidate(&self, conn: &mut PooledConnection<Manager>) -> Result<(), DbError> {
        let epoch = self.shared.outage.epoch();
        let checked = PooledConnection::extensions(conn)
            .get::<CheckedIn>()
            .map_or(0, |c| c.0);
        if checked != epoch {
            if conn.ping().is_err() {
                **conn = open(&self.shared.backend, Some(&self.shared.counters))
                    .map_err(|e| DbError::Connect(e.to_string()))?;
            }
            PooledConnection::extensions_mut(conn).insert(CheckedIn(epoch));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn while_down_only_one_probe_per_period_is_admitted() {
        let outage = Outage::new(Duration::from_secs(60));
        assert!(outage.admit().is_ok());
        assert!(outage.mark_down());
        assert!(!outage.mark_down());
        assert_eq!(outage.epoch(), 1);
        // The failure itself was the probe: nobody else for a period.
        assert!(matches!(outage.admit(), Err(DbError::Down)));
        assert!(outage.mark_up());
        assert!(outage.admit().is_ok());
        let quick = Outage::new(Duration::ZERO);
        quick.mark_down();
        assert!(quick.admit().is_ok());
    }
}
