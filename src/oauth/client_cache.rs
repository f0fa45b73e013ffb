//! The per-process client cache that keeps the database off the token endpoint's hot path.
//!
//! Correctness comes before hits. An entry is served only while the cache is *confirmed*: the
//! change poller read the database's `clients` generation (bumped by a trigger on every write, by
//! any process) within `stale_after`, and this process has recorded no client write of its own
//! since the entry was read. When the generation moves, or this process writes a client, the
//! whole cache is dropped; a lookup that started before the drop does not fill it. When polls
//! fail (the database is unreachable), nothing is served from memory and every lookup goes to
//! the database, as without a cache: a lost signal never extends a permission. A poll that fails
//! withdraws the confirmation at once; `stale_after` bounds a poll that hangs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::client::Client;

/// Most clients held at once; past it the cache starts over (a cache, not a copy of the table).
const CAPACITY: usize = 10_000;

pub struct ClientCache {
    entries: RwLock<HashMap<String, Arc<Client>>>,
    /// Bumped on every drop; a fill carries the epoch it started in and is discarded if stale.
    epoch: AtomicU64,
    /// The `clients` generation the entries were read under.
    generation: AtomicI64,
    /// The process's own client-write count the entries were read under.
    local_writes: AtomicU64,
    /// Milliseconds since `origin` when a poll last confirmed the generation; 0 = never.
    confirmed_ms: AtomicU64,
    origin: Instant,
    stale_after: Duration,
}

/// Where a lookup stood when it missed: pass it back to [`ClientCache::fill`].
#[derive(Clone, Copy, Debug)]
pub struct Miss {
    epoch: u64,
}

impl std::fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCache")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .field("stale_after", &self.stale_after)
            .finish_non_exhaustive()
    }
}

impl ClientCache {
    /// An empty, unconfirmed cache; entries are trusted for `stale_after` after each poll.
    pub fn new(stale_after: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            generation: AtomicI64::new(i64::MIN),
            local_writes: AtomicU64::new(0),
            confirmed_ms: AtomicU64::new(0),
            origin: Instant::now(),
            stale_after,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn confirmed(&self) -> bool {
        let at = self.confirmed_ms.load(Ordering::Acquire);
        at != 0
            && self.elapsed_ms().saturating_sub(at)
                <= u64::try_from(self.stale_after.as_millis()).unwrap_or(u64::MAX)
    }

    /// Drops every entry; lookups in flight will not fill.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// The cached client `id`, or where the lookup stood for a later [`fill`](Self::fill).
    /// `local_writes` is the pool's count of this process's client writes.
    pub fn get(&self, id: &str, local_writes: u64) -> Result<Arc<Client>, Miss> {
        if self.local_writes.load(Ordering::Acquire) != local_writes {
            self.clear();
            self.local_writes.store(local_writes, Ordering::Release);
        }
        let miss = Miss {
            epoch: self.epoch.load(Ordering::Acquire),
        };
        if !self.confirmed() {
            return Err(miss);
        }
        let entries = self.entries.read().map_err(|_| miss)?;
        entries.get(id).cloned().ok_or(miss)
    }

    /// Where a lookup that bypasses the cache stands, for a [`fill`](Self::fill) that replaces
    /// an entry with what the database says now.
    pub fn begin_lookup(&self) -> Miss {
        Miss {
            epoch: self.epoch.load(Ordering::Acquire),
        }
    }

    /// Keeps `client`, read from the database after `miss`, unless the cache was dropped since.
    pub fn fill(&self, miss: Miss, client: Arc<Client>) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        // Checked under the write lock: `clear` bumps the epoch before it takes the lock.
        if self.epoch.load(Ordering::Acquire) != miss.epoch {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(client.id.clone(), client);
    }

    /// Records a failed poll: nothing is served from memory until a poll succeeds again.
    pub fn unconfirm(&self) {
        self.confirmed_ms.store(0, Ordering::Release);
    }

    /// Records a successful poll of the `clients` generation: drops everything when it moved.
    pub fn confirm(&self, generation: i64) {
        if self.generation.swap(generation, Ordering::AcqRel) != generation {
            self.clear();
        }
        self.confirmed_ms
            .store(self.elapsed_ms(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str) -> Arc<Client> {
        Arc::new(Client::fixture(id))
    }

    #[test]
    fn nothing_is_served_before_a_poll_confirms_the_generation() {
        let cache = ClientCache::new(Duration::from_secs(60));
        let miss = cache.get("a", 0).unwrap_err();
        cache.fill(miss, client("a"));
        assert!(cache.get("a", 0).is_err());
        cache.confirm(7);
        // The generation moved from "unknown" to 7: what was filled before is dropped.
        let miss = cache.get("a", 0).unwrap_err();
        cache.fill(miss, client("a"));
        assert_eq!(cache.get("a", 0).unwrap().id, "a");
    }

    #[test]
    fn a_moved_generation_drops_every_entry() {
        let cache = ClientCache::new(Duration::from_secs(60));
        cache.confirm(1);
        let miss = cache.get("a", 0).unwrap_err();
        cache.fill(miss, client("a"));
        cache.confirm(1);
        assert!(cache.get("a", 0).is_ok());
        cache.confirm(2);
        assert!(cache.get("a", 0).is_err());
    }

    #[test]
    fn a_local_write_drops_every_entry_at_once() {
        let cache = ClientCache::new(Duration::from_secs(60));
        cache.confirm(1);
        let miss = cache.get("a", 0).unwrap_err();
        cache.fill(miss, client("a"));
        assert!(cache.get("a", 0).is_ok());
        assert!(cache.get("a", 1).is_err());
    }

    #[test]
    fn a_lookup_that_started_before_a_drop_does_not_fill() {
        let cache = ClientCache::new(Duration::from_secs(60));
        cache.confirm(1);
        let miss = cache.get("a", 0).unwrap_err();
        cache.confirm(2);
        cache.fill(miss, client("a"));
        assert!(cache.get("a", 0).is_err());
    }

    #[test]
    fn a_failed_poll_withdraws_the_confirmation_at_once() {
        let cache = ClientCache::new(Duration::from_secs(60));
        cache.confirm(1);
        let miss = cache.get("a", 0).unwrap_err();
        cache.fill(miss, client("a"));
        cache.unconfirm();
        assert!(cache.get("a", 0).is_err());
        cache.confirm(1);
        assert!(cache.get("a", 0).is_ok());
    }

    #[test]
    fn entries_are_not_served_once_polls_stop_confirming() {
        let cache = ClientCache::new(Duration::from_millis(0));
        cache.confirm(1);
        let miss = cache.get("a", 0).unwrap_err();
        cache.fill(miss, client("a"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.get("a", 0).is_err());
    }
}
