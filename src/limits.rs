//! Operating-system limits the server lives within (DESIGN.md §5b): open file descriptors. Every
//! connection holds one; the per-worker connection cap is derived from the limit, and a warning
//! is logged when the process comes near it.

use std::time::Duration;

/// Descriptors kept for everything but client connections: the listener, database connections,
/// log files, the key and CSS files, libraries.
const RESERVED: u64 = 128;

/// The soft limit on open file descriptors (`ulimit -n`), when the platform tells.
pub fn descriptor_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Descriptors open now, when the platform tells.
pub fn open_descriptors() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

/// Connections each HTTP worker accepts: `configured`, or when 0 an equal share of the descriptor
/// limit less a reserve, so that a flood of connections slows the accept loop instead of
/// leaving the process without descriptors for its database or its answers.
pub fn connections_per_worker(configured: usize, workers: usize, limit: Option<u64>) -> usize {
    if configured > 0 {
        return configured;
    }
    let workers = workers.max(1) as u64;
    let share = limit.map_or(1024, |limit| limit.saturating_sub(RESERVED) / workers);
    usize::try_from(share.clamp(16, 25_000)).unwrap_or(25_000)
}

/// True when `open` descriptors are at 80% of `limit` or more.
fn near(open: u64, limit: u64) -> bool {
    open.saturating_mul(5) >= limit.saturating_mul(4)
}

/// Logs the descriptor budget once, then every `period` checks how many are open and warns
/// while 80% of the limit or more is in use.
pub async fn watch_descriptors(period: Duration, per_worker: usize, workers: usize) {
    let Some(limit) = descriptor_limit() else {
        return;
    };
    tracing::info!(
        limit,
        workers,
        connections_per_worker = per_worker,
        "file descriptor limit (ulimit -n); each connection holds one"
    );
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        if let Some(open) = open_descriptors().filter(|open| near(*open, limit)) {
            tracing::warn!(
                open,
                limit,
                "open file descriptors near the limit: raise `ulimit -n` (LimitNOFILE) or lower \
                 server.max_connections_per_worker"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_is_a_share_of_the_descriptor_limit() {
        assert_eq!(connections_per_worker(0, 2, Some(1024)), 448);
        assert_eq!(connections_per_worker(0, 4, Some(65_536)), 16_352);
        assert_eq!(connections_per_worker(0, 64, Some(256)), 16);
        assert_eq!(connections_per_worker(0, 1, None), 1024);
        assert_eq!(connections_per_worker(300, 2, Some(1024)), 300);
    }

    #[test]
    fn near_means_four_fifths() {
        assert!(!near(818, 1024));
        assert!(near(820, 1024));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_tells_the_limit_and_the_open_count() {
        let limit = descriptor_limit().unwrap();
        let open = open_descriptors().unwrap();
        assert!(open > 0 && open < limit);
    }
}
