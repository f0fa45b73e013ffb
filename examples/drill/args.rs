//! Command-line options of the drill: `--name value…` pairs, repeatable, no external parser.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

/// Every `--name` with the values that followed it (flags have none).
pub struct Args(HashMap<String, Vec<String>>);

impl Args {
    pub fn parse(raw: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let mut current: Option<String> = None;
        for word in raw {
            if let Some(name) = word.strip_prefix("--") {
                map.entry(name.to_owned()).or_default();
                current = Some(name.to_owned());
            } else if let Some(name) = &current {
                map.entry(name.clone()).or_default().push(word);
            } else {
                bail!("unexpected argument {word}");
            }
        }
        Ok(Self(map))
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.get(name).cloned().unwrap_or_default()
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).and_then(|values| values.last().cloned())
    }

    pub fn one(&self, name: &str) -> anyhow::Result<String> {
        self.opt(name)
            .ok_or_else(|| anyhow!("--{name} is required"))
    }

    pub fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        self.one(name).map(PathBuf::from)
    }

    pub fn number(&self, name: &str, default: u64) -> anyhow::Result<u64> {
        match self.opt(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .with_context(|| format!("--{name} must be a whole number")),
        }
    }

    pub fn seconds(&self, name: &str, default: u64) -> anyhow::Result<Duration> {
        self.number(name, default).map(Duration::from_secs)
    }

    /// The servers to drive: `--target` URLs, each on 127.0.0.1 (the drills never leave it).
    pub fn targets(&self) -> anyhow::Result<Vec<String>> {
        let targets = self.all("target");
        if targets.is_empty() {
            bail!("--target URL is required");
        }
        for target in &targets {
            if !target.starts_with("http://127.0.0.1:") {
                bail!("--target {target}: the drills only target http://127.0.0.1:PORT");
            }
        }
        Ok(targets)
    }
}
