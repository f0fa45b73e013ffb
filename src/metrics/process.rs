//! Process metrics read from `/proc` on Linux (CPU seconds, resident memory, open and maximum
//! descriptors, start time), with the standard `process_*` names of Prometheus client libraries.
//! Elsewhere the figures are simply absent.

use prometheus::{Counter, Gauge, IntGauge, Registry};

/// Linux reports CPU times in clock ticks of `USER_HZ`, 100 on every architecture's ABI.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Clone)]
pub struct Process {
    cpu_seconds: Counter,
    resident_bytes: IntGauge,
    open_fds: IntGauge,
    max_fds: IntGauge,
    start_time: Gauge,
}

impl Process {
    /// The instruments, registered in `registry` (which must not add a prefix).
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let process = Self {
            cpu_seconds: Counter::new(
                "process_cpu_seconds_total",
                "User and system CPU time spent in seconds",
            )?,
            resident_bytes: IntGauge::new(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
            )?,
            open_fds: IntGauge::new("process_open_fds", "Open file descriptors")?,
            max_fds: IntGauge::new("process_max_fds", "Maximum open file descriptors")?,
            start_time: Gauge::new(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
            )?,
        };
        registry.register(Box::new(process.cpu_seconds.clone()))?;
        registry.register(Box::new(process.resident_bytes.clone()))?;
        registry.register(Box::new(process.open_fds.clone()))?;
        registry.register(Box::new(process.max_fds.clone()))?;
        registry.register(Box::new(process.start_time.clone()))?;
        Ok(process)
    }

    /// Reads `/proc/self` again; a figure that cannot be read keeps its last value.
    pub fn observe(&self) {
        if let Some(stat) = read("/proc/self/stat").as_deref().and_then(Stat::parse) {
            let cpu = (stat.utime + stat.stime) as f64 / TICKS_PER_SECOND;
            let delta = cpu - self.cpu_seconds.get();
            if delta > 0.0 {
                self.cpu_seconds.inc_by(delta);
            }
            if let Some(boot) = read("/proc/stat").as_deref().and_then(boot_time) {
                self.start_time
                    .set(boot as f64 + stat.start_ticks as f64 / TICKS_PER_SECOND);
            }
        }
        if let Some(kib) = read("/proc/self/status").as_deref().and_then(resident_kib) {
            self.resident_bytes.set(kib.saturating_mul(1024));
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(entries.count() as i64);
        }
        if let Some(max) = read("/proc/self/limits")
            .as_deref()
            .and_then(max_open_files)
        {
            self.max_fds.set(max);
        }
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The fields of `/proc/self/stat` used here (proc(5): utime 14, stime 15, starttime 22).
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    start_ticks: u64,
}

impl Stat {
    fn parse(text: &str) -> Option<Self> {
        // The command name (field 2) is in parentheses and may contain spaces or parentheses.
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3.
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(Self {
            utime: field(14)?,
            stime: field(15)?,
            start_ticks: field(22)?,
        })
    }
}

/// `btime` of `/proc/stat`: boot time, Unix seconds.
fn boot_time(text: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// `VmRSS` of `/proc/self/status`, in KiB.
fn resident_kib(text: &str) -> Option<i64> {
    let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The soft limit of "Max open files" in `/proc/self/limits`.
fn max_open_files(text: &str) -> Option<i64> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_past_a_command_name_with_spaces_and_parentheses() {
        let line =
            "4242 (latch key (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 \
                    123456 987654321 2048 18446744073709551615";
        assert_eq!(
            Stat::parse(line),
            Some(Stat {
                utime: 250,
                stime: 75,
                start_ticks: 123456
            })
        );
        assert_eq!(Stat::parse("garbage"), None);
    }

    #[test]
    fn status_limits_and_boot_time_are_read() {
        assert_eq!(resident_kib("Name:\tx\nVmRSS:\t  51200 kB\n"), Some(51200));
        assert_eq!(
            max_open_files(
                "Limit Soft Limit Hard Limit Units\nMax open files            1024                 524288               files\n"
            ),
            Some(1024)
        );
        assert_eq!(boot_time("cpu 1 2 3\nbtime 1764547200\n"), Some(1764547200));
    }

    #[test]
    fn observing_this_process_reports_it() {
        let registry = Registry::new();
        let process = Process::new(&registry).unwrap();
        process.observe();
        assert!(process.resident_bytes.get() > 0);
        assert!(process.open_fds.get() > 0);
        assert!(process.max_fds.get() > 0);
        assert!(process.start_time.get() > 1_600_000_000.0);
    }
}
