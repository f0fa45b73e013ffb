//! Access tokens verified the way a backend does (RFC 9068, RFC 7517): by `kid` against the JWKS
//! a replica serves, with an independent JWT library (jsonwebtoken), refetching the set when a
//! `kid` is unknown. One cached key set per replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

struct Key {
    key: DecodingKey,
    alg: Algorithm,
}

/// The key sets last fetched from each replica.
pub struct Verifier {
    sets: Vec<Mutex<HashMap<String, Arc<Key>>>>,
    issuer: String,
    http: reqwest::Client,
}

/// Why a token did not verify.
pub enum Unverified {
    /// The replica's JWKS could not be fetched (it is down): nothing was checked.
    Unreachable,
    /// The signature, `iss` or `exp` is wrong, or the replica does not serve the `kid`.
    Invalid(String),
}

/// A token that verified.
pub struct Verified {
    /// How long the replica's JWKS took to serve the `kid` after a first refetch lacked it
    /// (zero when the cached set or the first refetch had it).
    pub waited: Duration,
}

impl Verifier {
    pub fn new(replicas: usize, issuer: &str) -> Self {
        Self {
            sets: (0..replicas).map(|_| Mutex::default()).collect(),
            issuer: issuer.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Verifies `token` (signature, `iss`, `exp`) against the JWKS of the replica at `base`.
    /// An unknown `kid` refetches the set, again every 100 ms until `wait` has passed.
    pub async fn verify(
        &self,
        base: &str,
        replica: usize,
        token: &str,
        wait: Duration,
    ) -> Result<Verified, Unverified> {
        let invalid = Unverified::Invalid;
        let header = decode_header(token).map_err(|e| invalid(format!("header: {e}")))?;
        let kid = header.kid.ok_or(invalid("no kid".into()))?;
        let started = Instant::now();
        let deadline = started + wait;
        let mut fetches = 0;
        loop {
            if let Some(key) = self.lookup(replica, &kid) {
                let mut validation = Validation::new(key.alg);
                validation.set_issuer(&[&self.issuer]);
                validation.validate_aud = false;
                decode::<Value>(token, &key.key, &validation)
                    .map_err(|e| invalid(format!("kid {kid}: {e}")))?;
                let waited = if fetches > 1 {
                    started.elapsed()
                } else {
                    Duration::ZERO
                };
                return Ok(Verified { waited });
            }
            if fetches > 0 && Instant::now() >= deadline {
                return Err(invalid(format!(
                    "kid {kid} is not in replica {replica}'s JWKS"
                )));
            }
            if fetches > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            self.fetch(base, replica)
                .await
                .map_err(|_| Unverified::Unreachable)?;
            fetches += 1;
        }
    }

    fn lookup(&self, replica: usize, kid: &str) -> Option<Arc<Key>> {
        let set = self.sets.get(replica)?;
        let set = set.lock().unwrap_or_else(|e| e.into_inner());
        set.get(kid).cloned()
    }

    async fn fetch(&self, base: &str, replica: usize) -> Result<(), reqwest::Error> {
        let jwks: Value = self
            .http
            .get(format!("{base}/jwks"))
            .send()
            .await?
            .json()
            .await?;
        let mut keys = HashMap::new();
        for jwk in jwks["keys"].as_array().into_iter().flatten() {
            if let (Some(kid), Some(key)) = (jwk["kid"].as_str(), key(jwk)) {
                keys.insert(kid.to_owned(), Arc::new(key));
            }
        }
        if let Some(set) = self.sets.get(replica) {
            *set.lock().unwrap_or_else(|e| e.into_inner()) = keys;
        }
        Ok(())
    }
}

/// The verification key of one JWK; the algorithm comes from the JWK, never from a token.
fn key(jwk: &Value) -> Option<Key> {
    let part = |name: &str| jwk[name].as_str().unwrap_or_default();
    let (key, alg) = match jwk["alg"].as_str()? {
        "RS256" => (
            DecodingKey::from_rsa_components(part("n"), part("e")).ok()?,
            Algorithm::RS256,
        ),
        "ES256" => (
            DecodingKey::from_ec_components(part("x"), part("y")).ok()?,
            Algorithm::ES256,
        ),
        "EdDSA" => (
            DecodingKey::from_ed_components(part("x")).ok()?,
            Algorithm::EdDSA,
        ),
        _ => return None,
    };
    Some(Key { key, alg })
}
