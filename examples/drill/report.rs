//! What a drill prints: the outcome table, server resources, the events the script recorded, and
//! the goals, each met or missed.

use std::path::PathBuf;

use crate::net::Tally;

/// A server process's resident memory (MiB) and open descriptors, read from /proc.
pub struct Resources {
    pub pid: u32,
    pub rss_mib: u64,
    pub descriptors: usize,
}

/// Reads the process named by a pid file (written by the script; a restarted replica's new pid
/// replaces the old one).
pub fn resources(pid_file: &PathBuf) -> Option<Resources> {
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())?;
    let descriptors = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some(Resources {
        pid,
        rss_mib: rss_kib / 1024,
        descriptors,
    })
}

pub fn snapshot(pid_files: &[PathBuf]) -> Vec<Option<Resources>> {
    pid_files.iter().map(resources).collect()
}

pub fn print_resources(before: &[Option<Resources>], after: &[Option<Resources>]) {
    let show = |r: &Option<Resources>| match r {
        Some(r) => format!(
            "pid {} RSS {} MiB, {} descriptors",
            r.pid, r.rss_mib, r.descriptors
        ),
        None => "not running".to_owned(),
    };
    for (n, (b, a)) in before.iter().zip(after).enumerate() {
        println!(
            "  server {}: before {}; after {}",
            name(n),
            show(b),
            show(a)
        );
    }
}

/// Replicas are named A, B, C… in every report.
pub fn name(replica: usize) -> char {
    char::from(b'A' + u8::try_from(replica % 26).unwrap_or(0))
}

/// Events the script appended while the load ran: `NAME UNIX_MS` lines.
pub fn events(file: Option<PathBuf>) -> Vec<(String, u64)> {
    let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let (name, at) = line.split_once(' ')?;
            Some((name.to_owned(), at.trim().parse().ok()?))
        })
        .collect()
}

pub fn event(events: &[(String, u64)], name: &str) -> Option<u64> {
    events.iter().find(|(n, _)| n == name).map(|(_, at)| *at)
}

pub fn print_outcomes(tally: &Tally) {
    println!("  {:<16} {:<28} {:>8}", "endpoint", "status error", "count");
    for (key, count) in &tally.outcomes {
        let (kind, outcome) = key.split_once(' ').unwrap_or((key.as_str(), ""));
        println!("  {kind:<16} {outcome:<28} {count:>8}");
    }
    println!(
        "  tokens verified against the JWKS: {}, unverifiable: {}, not checked (JWKS unreachable: replica down): {}",
        tally.verified,
        tally.unverifiable.len(),
        tally.unreachable
    );
    for why in tally.unverifiable.iter().take(5) {
        println!("    unverifiable: {why}");
    }
    println!("  unexpected answers: {}", tally.unexpected);
    for sample in &tally.samples {
        println!("    e.g. {sample}");
    }
}

/// Goals, printed as a list; true when all were met.
#[derive(Default)]
pub struct Goals(Vec<(String, bool)>);

impl Goals {
    pub fn check(&mut self, what: impl Into<String>, met: bool) {
        self.0.push((what.into(), met));
    }

    pub fn print(&self) -> bool {
        for (what, met) in &self.0 {
            println!("  [{}] {what}", if *met { "met" } else { "MISSED" });
        }
        self.0.iter().all(|(_, met)| *met)
    }
}
