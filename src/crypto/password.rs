//! Human passwords: argon2id PHC strings (DESIGN.md §5). Checks run on the blocking pool behind a
//! semaphore so a flood of logins cannot exhaust memory, and an unknown user is checked against a
//! dummy hash so that it costs the same as a wrong password.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::config::PasswordSettings;

/// The bundled list of common passwords.
const COMMON_PASSWORDS: &str = include_str!("../../config/common-passwords.txt");

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("password worker failed: {0}")]
    Worker(String),
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
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
    queue: Queue,
}

/// The password queue's instruments, registered by [`crate::metrics::Metrics`]: checks waiting
/// for a slot, and how long they waited.
#[derive(Clone)]
pub struct Queue {
    pub waiting: prometheus::IntGauge,
    pub wait_seconds: prometheus::Histogram,
    /// Slots in total, for the busy count.
    pub slots: usize,
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
        let permits = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let metric = |e: prometheus::Error| PasswordError::Worker(e.to_string());
        let queue = Queue {
            waiting: prometheus::IntGauge::new(
                "password_queue_waiting",
                "Password checks and hashes waiting for a slot",
            )
            .map_err(metric)?,
            wait_seconds: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "password_queue_wait_seconds",
                    "Time password checks and hashes waited for a slot",
                )
                .buckets(vec![0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            )
            .map_err(metric)?,
            slots: permits,
        };
        let mut hasher = Self {
            params,
            min_length: settings.min_length,
            permits: Arc::new(Semaphore::new(permits)),
            dummy_hash: Arc::from(""),
            queue,
        };
        hasher.dummy_hash = Arc::from(hasher.hash_blocking(&SecretString::from("latchkey-dummy"))?);
        Ok(hasher)
    }

    /// The password policy for newly set passwords: a minimum length, and not one of the bundled
    /// common passwords. The message is fit to show the person choosing it.
    pub fn check_policy(&self, password: &SecretString) -> Result<(), String> {
        let password = password.expose_secret();
        if password.chars().count() < self.min_length {
            return Err(format!(
                "a password needs at least {} characters",
                self.min_length
            ));
        }
        let lowered = password.to_lowercase();
        let common = COMMON_PASSWORDS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l.trim() == lowered);
        if common {
            return Err("this password is too common; choose another".into());
        }
        Ok(())
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a password on the current thread (CLI and admin operations).
    pub fn hash_blocking(&self, password: &SecretString) -> Result<String, PasswordError> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        self.argon2()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Argon2(e.to_string()))
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
        let valid = self
            .argon2()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
            && real;
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

    /// Runs `f` on the blocking pool while holding one of the `max_concurrent` password slots,
    /// so that memory and latency stay bounded however many logins or password changes arrive.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Passwords) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let started = std::time::Instant::now();
        let waiting = crate::metrics::Holding::new(&self.queue.waiting);
        let permit = self.permits.acquire().await;
        drop(waiting);
        let _permit = permit.map_err(|e| PasswordError::Worker(e.to_string()))?;
        self.queue
            .wait_seconds
            .observe(started.elapsed().as_secs_f64());
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .map_err(|e| PasswordError::Worker(e.to_string()))
    }

    /// The queue's instruments.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    /// Slots in use now.
    pub fn busy(&self) -> usize {
        self.queue
            .slots
            .saturating_sub(self.permits.available_permits())
    }

    /// Verifies on the blocking pool, at most `max_concurrent` at once.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: SecretString,
    ) -> Result<Verified, PasswordError> {
        self.run(move |p| p.verify_blocking(stored.as_deref(), &password))
            .await
    }

    /// Hashes on the blocking pool, at most `max_concurrent` at once.
    pub async fn hash(&self, password: SecretString) -> Result<String, PasswordError> {
        self.run(move |p| p.hash_blocking(&password)).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(memory_kib: u32) -> PasswordSettings {
        PasswordSettings {
            memory_kib,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 1,
            min_length: 10,
        }
    }

    #[test]
    fn verifies_and_flags_old_parameters() {
        let old = Passwords::new(&settings(1024)).unwrap();
        let new = Passwords::new(&settings(2048)).unwrap();
        let pw = SecretString::from("correct horse");
        let hash = old.hash_blocking(&pw).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let ok = old.verify_blocking(Some(&hash), &pw);
        assert_eq!(
            ok,
            Verified {
                valid: true,
                needs_rehash: false
            }
        );
        let upgraded = new.verify_blocking(Some(&hash), &pw);
        assert_eq!(
            upgraded,
            Verified {
                valid: true,
                needs_rehash: true
            }
        );
        assert!(
            !old.verify_blocking(Some(&hash), &SecretString::from("wrong"))
                .valid
        );
    }

    #[test]
    fn policy_refuses_short_and_common_passwords() {
        let passwords = Passwords::new(&settings(1024)).unwrap();
        let check = |p: &str| passwords.check_policy(&SecretString::from(p.to_owned()));
        assert_eq!(
            check("short"),
            Err("a password needs at least 10 characters".into())
        );
        assert_eq!(
            check("Password123"),
            Err("this password is too common; choose another".into())
        );
        assert!(check("a long and unusual phrase").is_ok());
    }

    #[test]
    fn unknown_user_never_verifies_even_with_the_dummy_password() {
        let passwords = Passwords::new(&settings(1024)).unwrap();
        let dummy = SecretString::from("latchkey-dummy");
        assert!(!passwords.verify_blocking(None, &dummy).valid);
        assert!(
            !passwords
                .verify_blocking(Some("not a phc string"), &dummy)
                .valid
        );
    }
}
