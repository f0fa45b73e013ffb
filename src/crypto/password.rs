//! Human passwords: argon2id PHC strings (DESIGN.md §5). Checks run on a fixed set of workers
//! that reuse their argon2 memory, behind a bounded queue (DESIGN.md §5b), so a flood of logins
//! can exhaust neither memory nor latency; an unknown user is checked against a dummy hash so that
//! it costs the same as a wrong password.

mod queue;
mod workers;

pub use queue::Queue;

use std::sync::Arc;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use workers::Lane;
use workers::{with_memory, Workers};

use crate::config::PasswordSettings;

/// zxcvbn is quadratic in the length: judge a long password by its first characters (as
/// zxcvbn-ts does); a password this long that starts strongly is strong.
const STRENGTH_PREFIX: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("password worker failed: {0}")]
    Worker(String),
    /// Every worker is busy and the queue is full: answer 503 at once.
    #[error("too many password checks waiting")]
    Busy,
}

/// Outcome of a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub valid: bool,
    /// The stored hash used other parameters than the configured ones.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with the configured argon2id parameters.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    min_length: usize,
    min_strength: u8,
    workers: Arc<Workers>,
    /// The queue this handle's checks wait in.
    lane: Lane,
    dummy_hash: Arc<str>,
    queue: Queue,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish()
    }
}

impl Passwords {
    pub fn new(settings: &PasswordSettings) -> Result<Self, PasswordError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Argon2(e.to_string()))?;
        let workers = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let queue = Queue::new(workers).map_err(|e| PasswordError::Worker(e.to_string()))?;
        let workers = Workers::start(workers, settings.max_queued, params.block_count())
            .map_err(|e| PasswordError::Worker(e.to_string()))?;
        let mut hasher = Self {
            params,
            min_length: settings.min_length,
            min_strength: settings.min_strength,
            workers: Arc::new(workers),
            lane: Lane::Ordinary,
            dummy_hash: Arc::from(""),
            queue,
        };
        hasher.dummy_hash = Arc::from(hasher.hash_blocking(&SecretString::from("latchkey-dummy"))?);
        Ok(hasher)
    }

    /// The password policy for newly set passwords (CLI, admin API, admin pages): a minimum
    /// length, and a zxcvbn strength score of at least `passwords.min_strength` (common
    /// passwords, names, words, keyboard patterns, dates and repeats all score low). The message
    /// is fit to show the person choosing it.
    pub fn check_policy(&self, password: &SecretString) -> Result<(), String> {
        let password = password.expose_secret();
        if password.chars().count() < self.min_length {
            return Err(format!(
                "a password needs at least {} characters",
                self.min_length
            ));
        }
        let judged: String = password.chars().take(STRENGTH_PREFIX).collect();
        let estimate = zxcvbn::zxcvbn(&judged, &[]);
        if u8::from(estimate.score()) >= self.min_strength {
            return Ok(());
        }
        let warning = estimate.feedback().and_then(|f| f.warning());
        let warning = warning.map(|w| format!(" {w}")).unwrap_or_default();
        Err(format!(
            "this password is too easy to guess.{warning} Choose a longer, less predictable one."
        ))
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a password on the current thread (CLI, or inside [`Passwords::run`]).
    pub fn hash_blocking(&self, password: &SecretString) -> Result<String, PasswordError> {
        let argon2 = |e: argon2::password_hash::Error| PasswordError::Argon2(e.to_string());
        // Salts stay on the OS CSPRNG rather than the injected `Random`: a PHC string is only
        // ever verified, never compared with a fixed value, so a reproducible salt would make
        // nothing testable, and this runs in the password slots, which carry no `AppState`.
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(argon2)?;
        let hasher = self.argon2();
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            with_memory(self.params.block_count(), |blocks| {
                hasher.hash_password_into_with_memory(
                    password.expose_secret().as_bytes(),
                    salt_bytes,
                    out,
                    blocks,
                )
            })
            .map_err(argon2::password_hash::Error::from)
        })
        .map_err(argon2)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(argon2)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// Verifies on the current thread. `stored = None` (unknown user, no password set) is checked
    /// against the dummy hash and always fails.
    pub fn verify_blocking(&self, stored: Option<&str>, password: &SecretString) -> Verified {
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (&*self.dummy_hash, false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            // A corrupt stored hash: still spend the time, then fail.
            let _ = self.verify_blocking(None, password);
            return Verified {
                valid: false,
                needs_rehash: false,
            };
        };
        let valid = matches(&parsed, password) && real;
        Verified {
            valid,
            needs_rehash: valid && !self.is_current(&parsed),
        }
    }

    fn is_current(&self, parsed: &PasswordHash<'_>) -> bool {
        let Ok(stored) = Params::try_from(parsed) else {
            return false;
        };
        parsed.algorithm == Algorithm::Argon2id.ident()
            && parsed.version == Some(Version::V0x13.into())
            && stored.m_cost() == self.params.m_cost()
            && stored.t_cost() == self.params.t_cost()
            && stored.p_cost() == self.params.p_cost()
    }

    /// Runs `f` on one of the `max_concurrent` password workers, or refuses at once with
    /// [`PasswordError::Busy`] when `max_queued` jobs already wait in this handle's lane: memory and latency stay
    /// bounded however many logins or password changes arrive.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Passwords) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let this = self.clone();
        let (queue, submitted) = (self.queue.clone(), std::time::Instant::now());
        queue.waiting.inc();
        let submitted_job = self.workers.submit(
            self.lane,
            Box::new(move || {
                queue.waiting.dec();
                queue
                    .wait_seconds
                    .observe(submitted.elapsed().as_secs_f64());
                // The slot is free again before the caller hears the result, so a scrape after a
                // request never counts it as busy.
                let value = {
                    let _running = crate::gauge::Holding::new(&queue.busy);
                    f(&this)
                };
                let _ = done.send(value);
            }),
        );
        if submitted_job.is_err() {
            self.queue.waiting.dec();
        }
        submitted_job?;
        result
            .await
            .map_err(|e| PasswordError::Worker(e.to_string()))
    }

    /// The same hasher, its checks waiting in `lane`.
    pub fn in_lane(&self, lane: Lane) -> Self {
        Self {
            lane,
            ..self.clone()
        }
    }

    /// The queue's instruments.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Verifies on a password worker.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: SecretString,
    ) -> Result<Verified, PasswordError> {
        self.run(move |p| p.verify_blocking(stored.as_deref(), &password))
            .await
    }

    /// Hashes on a password worker.
    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        self.run(move |p| p.hash_blocking(&password)).await?
    }
}

/// Checks `password` against a parsed PHC string (any argon2 variant and version it names),
/// hashing into the worker's reused memory; the comparison is constant-time.
fn matches(parsed: &PasswordHash<'_>, password: &SecretString) -> bool {
    let Some(expected) = parsed.hash else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt = [0u8; 64];
    let Some(salt) = parsed.salt.and_then(|s| s.decode_b64(&mut salt).ok()) else {
        return false;
    };
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let hasher = Argon2::new(algorithm, version, params.clone());
    let hashed = with_memory(params.block_count(), |blocks| {
        hasher.hash_password_into_with_memory(
            password.expose_secret().as_bytes(),
            salt,
            &mut out,
            blocks,
        )
    });
    hashed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests;
