//! Signing keys (DESIGN.md §5): one chain of keys per configured algorithm (RS256, ES256, EdDSA),
//! `kid` = RFC 7638 thumbprint, private parts encrypted under the master key, and the [`KeySet`]
//! snapshot that serves the JWKS (RFC 7517) from pre-serialised bytes and signs without parsing a
//! key per request.

pub mod material;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jws::{JwsSigner, JwsVerifier};
use sha2::{Digest, Sha256};

pub use self::material::thumbprint;
use super::master_key::{MasterKey, MasterKeyError};
use crate::db::models::SigningKeyRow;
use crate::domain::signing_alg::SigningAlg;
use crate::random::Random;

/// The lifecycle states of a signing key.
pub mod state {
    /// Published in the JWKS, not yet signing.
    pub const NEXT: &str = "next";
    /// Signing new tokens.
    pub const ACTIVE: &str = "active";
    /// No longer signing; published until every token it signed has expired.
    pub const RETIRED: &str = "retired";
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error("stored signing key {kid} is unusable: {reason}")]
    Unusable { kid: String, reason: String },
}

/// Generates a new key for `alg` and returns the row to store, private part encrypted with the
/// `kid` as associated data.
pub fn generate(
    alg: SigningAlg,
    rsa_bits: usize,
    master: &MasterKey,
    random: &dyn Random,
    state: &str,
    now: i64,
) -> Result<SigningKeyRow, KeyError> {
    let key = material::generate(alg, rsa_bits, random)?;
    let private_key = master.encrypt(random, key.der.as_slice(), key.kid.as_bytes())?;
    Ok(SigningKeyRow {
        kid: key.kid,
        alg: alg.as_str().into(),
        state: state.into(),
        public_n: key.public_n,
        public_e: key.public_e,
        private_key,
        created_at: now,
        activated_at: (state == state::ACTIVE).then_some(now),
        retired_at: None,
        activate_after: None,
        public_jwk: key.public_jwk,
    })
}

/// A key that signs new tokens of its algorithm, with its signer built once.
pub struct ActiveKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// When it began to sign (its creation time for keys stored without one), Unix seconds.
    pub activated_at: i64,
    signer: Box<dyn JwsSigner>,
}

impl ActiveKey {
    pub fn signer(&self) -> &dyn JwsSigner {
        self.signer.as_ref()
    }
}

/// A published key's verifier, bound to the key's own algorithm.
struct Published {
    kid: String,
    alg: SigningAlg,
    verifier: Box<dyn JwsVerifier>,
}

/// An immutable snapshot of the published and signing keys. Swapped whole when the stored set
/// changes; every request reads it without locking.
pub struct KeySet {
    /// At most one signing key per algorithm.
    active: Vec<ActiveKey>,
    published: Vec<Published>,
    /// Shared bytes: each response clones a reference, not the document.
    jwks: bytes::Bytes,
    etag: String,
    fingerprint: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field(
                "active",
                &self
                    .active
                    .iter()
                    .map(|k| (k.alg, &k.kid))
                    .collect::<Vec<_>>(),
            )
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// A string that changes whenever a key is added, removed or changes state.
pub fn fingerprint(rows: &[SigningKeyRow]) -> String {
    let mut parts: Vec<String> = rows
        .iter()
        .map(|r| format!("{}:{}", r.kid, r.state))
        .collect();
    parts.sort();
    parts.join(",")
}

impl KeySet {
    /// An empty set: nothing published, nothing signs. Used before the database is reachable.
    pub fn empty() -> Self {
        Self::build(&[], &MasterKey::from_bytes([0; 32])).unwrap_or(Self {
            active: Vec::new(),
            published: Vec::new(),
            jwks: bytes::Bytes::from_static(br#"{"keys":[]}"#),
            etag: "\"empty\"".into(),
            fingerprint: String::new(),
        })
    }

    /// Builds the snapshot: decrypts each active key once and pre-serialises the JWKS.
    pub fn build(rows: &[SigningKeyRow], master: &MasterKey) -> Result<Self, KeyError> {
        let mut keys = Vec::with_capacity(rows.len());
        let mut published = Vec::with_capacity(rows.len());
        let mut active: Vec<ActiveKey> = Vec::new();
        for row in rows {
            let unusable = |reason: String| KeyError::Unusable {
                kid: row.kid.clone(),
                reason,
            };
            let alg = material::row_alg(row)?;
            let jwk = material::public_jwk(row, alg)?;
            let verifier = material::verifier(&jwk, alg).map_err(|e| unusable(e.to_string()))?;
            published.push(Published {
                kid: row.kid.clone(),
                alg,
                verifier,
            });
            keys.push(serde_json::Value::Object(jwk));
            if row.state == state::ACTIVE && !active.iter().any(|k| k.alg == alg) {
                let der =
                    zeroize::Zeroizing::new(master.decrypt(&row.private_key, row.kid.as_bytes())?);
                let signer = material::signer(der.as_slice(), alg, &row.kid)
                    .map_err(|e| unusable(e.to_string()))?;
                active.push(ActiveKey {
                    kid: row.kid.clone(),
                    alg,
                    activated_at: row.activated_at.unwrap_or(row.created_at),
                    signer,
                });
            }
        }
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": keys }))
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let etag = format!(
            "\"{}\"",
            &URL_SAFE_NO_PAD.encode(Sha256::digest(&jwks))[..22]
        );
        Ok(Self {
            active,
            published,
            jwks: jwks.into(),
            etag,
            fingerprint: fingerprint(rows),
        })
    }

    /// The RS256 key that signs: the one every deployment has.
    pub fn active(&self) -> Option<&ActiveKey> {
        self.active_for(SigningAlg::RS256)
    }

    /// The key that signs tokens of `alg`, if one is active.
    pub fn active_for(&self, alg: SigningAlg) -> Option<&ActiveKey> {
        self.active.iter().find(|k| k.alg == alg)
    }

    /// The signing keys, one per algorithm.
    pub fn active_keys(&self) -> &[ActiveKey] {
        &self.active
    }

    /// The algorithm and verifier of the published key `kid`.
    pub fn verifier(&self, kid: &str) -> Option<(SigningAlg, &dyn JwsVerifier)> {
        self.published
            .iter()
            .find(|p| p.kid == kid)
            .map(|p| (p.alg, p.verifier.as_ref()))
    }

    /// The serialised JWKS document.
    pub fn jwks(&self) -> &bytes::Bytes {
        &self.jwks
    }

    /// A strong ETag for the JWKS document.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

#[cfg(test)]
mod tests;
