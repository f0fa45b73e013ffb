//! Prometheus metrics: requests and latencies per endpoint, tokens issued per grant, login
//! attempts by outcome, the password queue, the database pool (size, in use, waiting, wait and
//! query latency, statements), signing-key age per algorithm and the process (`/proc`). Kept in
//! `AppState`, never in a global registry; figures owned elsewhere (pool, password queue) are
//! read or registered at build and scrape time.

pub mod access;
pub mod process;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::crypto::keys::KeySet;
use crate::crypto::password::Passwords;
use crate::db::Pool;

pub use crate::gauge::Holding;

/// Outcomes of a login attempt (the `outcome` label of `latchkey_login_attempts_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    Failure,
    /// Refused by throttling before any password check.
    Throttled,
    /// Refused because the account is locked.
    Locked,
}

impl LoginOutcome {
    /// The outcome of an attempt refused before its password was checked: `locked` when the
    /// account itself is locked.
    pub fn refused(locked: bool) -> Self {
        if locked {
            Self::Locked
        } else {
            Self::Throttled
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Throttled => "throttled",
            Self::Locked => "locked",
        }
    }
}

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Standard `process_*` names, without the `latchkey_` prefix.
    process_registry: Registry,
    process: process::Process,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub tokens_issued: IntCounterVec,
    login_attempts: IntCounterVec,
    db_statements: IntCounter,
    db_connections: IntGauge,
    db_idle: IntGauge,
    db_in_use: IntGauge,
    db_max: IntGauge,
    password_slots: IntGauge,
    key_age: GaugeVec,
    /// Serialises [`Metrics::observe_pool`], which moves a counter up to a value read elsewhere.
    observing: std::sync::Arc<std::sync::Mutex<()>>,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let gauge = IntGauge::new(name, help)?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

impl Metrics {
    /// The instruments, with those of `pool` and `passwords` registered beside them.
    pub fn new(pool: &Pool, passwords: &Passwords) -> Result<Self, prometheus::Error> {
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
        let login_attempts = IntCounterVec::new(
            Opts::new(
                "login_attempts_total",
                "Password logins (login page and password grant) by outcome",
            ),
            &["outcome"],
        )?;
        let db_statements = IntCounter::new(
            "db_statements_total",
            "SQL statements run on pooled database connections",
        )?;
        let key_age = GaugeVec::new(
            Opts::new(
                "signing_key_age_seconds",
                "Seconds since the signing key of each algorithm began to sign",
            ),
            &["alg"],
        )?;
        registry.register(Box::new(db_statements.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(tokens_issued.clone()))?;
        registry.register(Box::new(login_attempts.clone()))?;
        registry.register(Box::new(key_age.clone()))?;
        let instruments = pool.instruments();
        registry.register(Box::new(instruments.waiting))?;
        registry.register(Box::new(instruments.wait_seconds))?;
        registry.register(Box::new(instruments.query_seconds))?;
        let queue = passwords.queue();
        registry.register(Box::new(queue.waiting.clone()))?;
        registry.register(Box::new(queue.wait_seconds.clone()))?;
        registry.register(Box::new(queue.busy.clone()))?;
        let process_registry = Registry::new();
        let process = process::Process::new(&process_registry)?;
        // Every outcome is exported from the start, so that rate() and alerts see zeros.
        for outcome in [
            LoginOutcome::Success,
            LoginOutcome::Failure,
            LoginOutcome::Throttled,
            LoginOutcome::Locked,
        ] {
            login_attempts.with_label_values(&[outcome.as_str()]);
        }
        Ok(Self {
            db_connections: gauge(&registry, "db_pool_connections", "Pooled connections open")?,
            db_idle: gauge(
                &registry,
                "db_pool_idle_connections",
                "Pooled connections idle",
            )?,
            db_in_use: gauge(&registry, "db_pool_in_use", "Pooled connections in use")?,
            db_max: gauge(&registry, "db_pool_max_connections", "Pool size")?,
            password_slots: gauge(
                &registry,
                "password_slots",
                "Password checks and hashes allowed at once",
            )?,
            registry,
            process_registry,
            process,
            http_requests,
            http_duration,
            tokens_issued,
            login_attempts,
            db_statements,
            key_age,
            observing: Default::default(),
        })
    }

    /// Counts one login attempt.
    pub fn login(&self, outcome: LoginOutcome) {
        self.login_attempts
            .with_label_values(&[outcome.as_str()])
            .inc();
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
        self.db_in_use.set(i64::from(
            state.connections.saturating_sub(state.idle_connections),
        ));
        self.db_max.set(i64::from(pool.max_size()));
    }

    /// Reads everything owned elsewhere, just before a scrape: pool, password slots, the age of
    /// each signing key at `now` (Unix seconds), the process.
    pub fn observe(&self, pool: &Pool, passwords: &Passwords, keys: &KeySet, now: i64) {
        self.observe_pool(pool);
        self.password_slots.set(passwords.queue().slots as i64);
        self.key_age.reset();
        for key in keys.active_keys() {
            self.key_age
                .with_label_values(&[key.alg.as_str()])
                .set(now.saturating_sub(key.activated_at) as f64);
        }
        self.process.observe();
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8192);
        let mut families = self.registry.gather();
        families.extend(self.process_registry.gather());
        // Encoding into a Vec cannot fail on I/O; a metric family error leaves a partial page.
        let _ = TextEncoder::new().encode(&families, &mut out);
        out
    }
}
