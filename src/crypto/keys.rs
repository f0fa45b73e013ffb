//! Signing keys (DESIGN.md §5): RSA generation with the `rsa` crate, `kid` = RFC 7638 thumbprint,
//! private parts encrypted under the master key, and the [`KeySet`] snapshot that serves the JWKS
//! (RFC 7517) from pre-serialised bytes and signs without parsing a key per request.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::RS256;
use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeySet};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};

use super::master_key::{MasterKey, MasterKeyError};
use crate::db::models::SigningKeyRow;

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
    #[error("RSA key generation failed: {0}")]
    Generate(String),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error("stored signing key {kid} is unusable: {reason}")]
    Unusable { kid: String, reason: String },
}

/// RFC 7638 thumbprint of an RSA public key: SHA-256 over `{"e":…,"kty":"RSA","n":…}`.
pub fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Generates a new RSA key and returns the row to store, private part encrypted.
pub fn generate(
    bits: usize,
    master: &MasterKey,
    state: &str,
    now: i64,
) -> Result<SigningKeyRow, KeyError> {
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let n = key.n().to_bytes_be();
    let e = key.e().to_bytes_be();
    let kid = thumbprint(&n, &e);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let private_key = master.encrypt(der.as_bytes(), kid.as_bytes())?;
    Ok(SigningKeyRow {
        kid,
        alg: "RS256".into(),
        state: state.into(),
        public_n: n,
        public_e: e,
        private_key,
        created_at: now,
        activated_at: (state == state::ACTIVE).then_some(now),
        retired_at: None,
        activate_after: None,
    })
}

/// The key that signs new tokens, with its signer built once.
pub struct ActiveKey {
    pub kid: String,
    signer: RsassaJwsSigner,
}

impl ActiveKey {
    pub fn signer(&self) -> &RsassaJwsSigner {
        &self.signer
    }
}

/// An immutable snapshot of the published and signing keys. Swapped whole when the stored set
/// changes; every request reads it without locking.
pub struct KeySet {
    active: Option<ActiveKey>,
    /// A verifier for every published key, by `kid`.
    verifiers: Vec<(String, RsassaJwsVerifier)>,
    /// Shared bytes: each response clones a reference, not the document.
    jwks: bytes::Bytes,
    etag: String,
    fingerprint: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("active", &self.active.as_ref().map(|k| &k.kid))
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
            active: None,
            verifiers: Vec::new(),
            jwks: bytes::Bytes::from_static(br#"{"keys":[]}"#),
            etag: "\"empty\"".into(),
            fingerprint: String::new(),
        })
    }

    /// Builds the snapshot: decrypts the active key once and pre-serialises the JWKS.
    pub fn build(rows: &[SigningKeyRow], master: &MasterKey) -> Result<Self, KeyError> {
        let mut published = Vec::with_capacity(rows.len());
        let mut verifiers = Vec::with_capacity(rows.len());
        let mut active = None;
        for row in rows {
            let unusable = |reason: String| KeyError::Unusable {
                kid: row.kid.clone(),
                reason,
            };
            let public = serde_json::json!({
                "kty": "RSA",
                "use": "sig",
                "alg": row.alg,
                "kid": row.kid,
                "n": URL_SAFE_NO_PAD.encode(&row.public_n),
                "e": URL_SAFE_NO_PAD.encode(&row.public_e),
            });
            let verifier = Jwk::from_bytes(public.to_string())
                .and_then(|jwk| RS256.verifier_from_jwk(&jwk))
                .map_err(|e| unusable(e.to_string()))?;
            verifiers.push((row.kid.clone(), verifier));
            let jwk: CoreJsonWebKey =
                serde_json::from_value(public).map_err(|e| unusable(e.to_string()))?;
            published.push(jwk);
            if row.state == state::ACTIVE {
                let der =
                    zeroize::Zeroizing::new(master.decrypt(&row.private_key, row.kid.as_bytes())?);
                let mut signer = RS256
                    .signer_from_der(der.as_slice())
                    .map_err(|e| unusable(e.to_string()))?;
                signer.set_key_id(row.kid.clone());
                active = Some(ActiveKey {
                    kid: row.kid.clone(),
                    signer,
                });
            }
        }
        let jwks = serde_json::to_vec(&CoreJsonWebKeySet::new(published))
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        let etag = format!(
            "\"{}\"",
            &URL_SAFE_NO_PAD.encode(Sha256::digest(&jwks))[..22]
        );
        Ok(Self {
            active,
            verifiers,
            jwks: jwks.into(),
            etag,
            fingerprint: fingerprint(rows),
        })
    }

    pub fn active(&self) -> Option<&ActiveKey> {
        self.active.as_ref()
    }

    /// The verifier of the published key `kid`.
    pub fn verifier(&self, kid: &str) -> Option<&RsassaJwsVerifier> {
        self.verifiers
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, v)| v)
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
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let n = URL_SAFE_NO_PAD.decode("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw").unwrap();
        let e = URL_SAFE_NO_PAD.decode("AQAB").unwrap();
        assert_eq!(
            thumbprint(&n, &e),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn key_set_publishes_public_parts_only_and_signs() {
        let master = MasterKey::from_bytes([3; 32]);
        let row = generate(2048, &master, state::ACTIVE, 1_700_000_000).unwrap();
        let set = KeySet::build(std::slice::from_ref(&row), &master).unwrap();
        let jwks: serde_json::Value = serde_json::from_slice(set.jwks()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kid"], row.kid.as_str());
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} leaked");
        }
        assert_eq!(set.active().unwrap().kid, row.kid);
        assert!(KeySet::build(&[row], &MasterKey::from_bytes([4; 32])).is_err());
    }
}
