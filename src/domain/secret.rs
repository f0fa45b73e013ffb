//! High-entropy secrets (client secrets, codes, refresh tokens, session ids) and their hashes.
//! The value is shown once; only its SHA-256 is stored and compared in constant time (DESIGN.md §5).

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::random::Random;

/// A freshly generated 256-bit value from `random`, base64url without padding (43 characters).
pub fn generate(random: &dyn Random) -> SecretString {
    random.secret()
}

/// The stored form of a secret: its SHA-256 digest.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn of(secret: &SecretString) -> Self {
        Self::of_str(secret.expose_secret())
    }

    pub fn of_str(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Reads a stored hash; `None` when the bytes are not a SHA-256 digest.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time check of a presented secret against this hash.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{OsRandom, SeededRandom};

    #[test]
    fn generated_values_are_256_bit_and_distinct() {
        let a = generate(&OsRandom);
        let b = generate(&OsRandom);
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn an_injected_seeded_source_makes_generated_secrets_reproducible() {
        let (first, second) = (SeededRandom::new(42), SeededRandom::new(42));
        let a = [generate(&first), generate(&first)];
        let b = [generate(&second), generate(&second)];
        assert_eq!(a[0].expose_secret(), b[0].expose_secret());
        assert_eq!(a[1].expose_secret(), b[1].expose_secret());
        assert_ne!(a[0].expose_secret(), a[1].expose_secret());
    }

    #[test]
    fn hash_matches_only_its_secret() {
        let secret = generate(&OsRandom);
        let hash = SecretHash::of(&secret);
        assert!(hash.matches(secret.expose_secret()));
        assert!(!hash.matches("something else"));
        assert_eq!(format!("{hash:?}"), "SecretHash(..)");
    }
}
