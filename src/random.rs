//! Injected randomness (DESIGN.md §2): every random value — secrets, codes, session ids, token
//! `jti`s, row ids, salts, master-key nonces and generated keys — comes from a [`Random`], so tests
//! can make it reproducible. Production always uses [`OsRandom`], the operating system's CSPRNG.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// A source of random bytes. Implementations used outside tests must be cryptographically secure.
pub trait Random: Send + Sync + 'static {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

impl dyn Random {
    /// A 256-bit random value, base64url without padding (43 characters): client secrets, codes,
    /// refresh tokens, session cookies, CSRF tokens (DESIGN.md §5).
    pub fn secret(&self) -> SecretString {
        let mut bytes = [0u8; 32];
        self.fill(&mut bytes);
        let value = URL_SAFE_NO_PAD.encode(bytes);
        bytes.zeroize();
        SecretString::from(value)
    }

    /// A version-4 UUID (RFC 9562 §5.4) built from 122 random bits, hyphenated: row ids, session
    /// ids, refresh-token family ids.
    pub fn uuid(&self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A JWT ID (RFC 7519 §4.1.7): 128 random bits, base64url.
    pub fn jti(&self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// This source as a `rand` generator, for libraries that take one (key generation, salts).
    pub fn rng(&self) -> RandomRng<'_> {
        RandomRng(self)
    }
}

/// The operating system's CSPRNG (`getrandom`); the only source used outside tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(dest);
    }
}

/// A deterministic source for tests: SHA-256 of the seed and a block counter. Two sources with
/// the same seed produce the same sequence. Predictable by design; never use it in production.
#[derive(Debug)]
pub struct SeededRandom {
    seed: u64,
    counter: AtomicU64,
}

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl Random for SeededRandom {
    fn fill(&self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let block = self.counter.fetch_add(1, Ordering::SeqCst);
            let digest = Sha256::new()
                .chain_update(self.seed.to_be_bytes())
                .chain_update(block.to_be_bytes())
                .finalize();
            chunk.copy_from_slice(&digest[..chunk.len()]);
        }
    }
}

/// A [`Random`] seen as a `rand` generator. It is marked [`rand::CryptoRng`] because the
/// production source behind it, [`OsRandom`], is one; a [`SeededRandom`] behind it is for tests.
pub struct RandomRng<'a>(&'a dyn Random);

impl RngCore for RandomRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.0.fill(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.0.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl rand::CryptoRng for RandomRng<'_> {}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_seeded_source_repeats_its_sequence_and_seeds_differ() {
        let (a, b, c): (&dyn Random, &dyn Random, &dyn Random) = (
            &SeededRandom::new(7),
            &SeededRandom::new(7),
            &SeededRandom::new(8),
        );
        assert_eq!(a.secret().expose_secret(), b.secret().expose_secret());
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.jti(), b.jti());
        assert_ne!(a.secret().expose_secret(), c.secret().expose_secret());
        // Successive values from one source differ.
        assert_ne!(a.jti(), a.jti());
    }

    #[test]
    fn uuids_are_version_4_and_secrets_256_bit() {
        let random: &dyn Random = &OsRandom;
        let id = uuid::Uuid::parse_str(&random.uuid()).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        let secret = random.secret();
        assert_eq!(secret.expose_secret().len(), 43);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(secret.expose_secret())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(random.jti()).unwrap().len(), 16);
    }

    #[test]
    fn the_os_source_gives_distinct_values() {
        let random: &dyn Random = &OsRandom;
        assert_ne!(
            random.secret().expose_secret(),
            random.secret().expose_secret()
        );
        assert_ne!(random.uuid(), random.uuid());
    }

    #[test]
    fn the_rand_adapter_draws_from_the_source() {
        let (a, b): (&dyn Random, &dyn Random) = (&SeededRandom::new(1), &SeededRandom::new(1));
        assert_eq!(a.rng().next_u64(), b.rng().next_u64());
        let mut bytes = [0u8; 70];
        a.rng().fill_bytes(&mut bytes);
        assert!(bytes.iter().any(|&b| b != 0));
    }
}
