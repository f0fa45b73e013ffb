//! The master key: 32 bytes that encrypt signing keys at rest with AES-256-GCM (DESIGN.md §5).
//! Read from `LATCHKEY_MASTER_KEY` (base64 or hex) or from `keys.master_key_file`, which is created
//! with mode 0600 when neither exists.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::random::Random;

/// The environment variable that carries the master key.
pub const ENV_VAR: &str = "LATCHKEY_MASTER_KEY";

const NONCE_LEN: usize = 12;

/// The key itself; zeroed on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(REDACTED)")
    }
}

/// Where the master key came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Environment,
    File(PathBuf),
    /// Created just now: a development convenience worth a loud warning.
    Generated(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("{ENV_VAR} must hold 32 bytes as base64 or 64 hex digits")]
    BadEnvironment,
    #[error("master key file {0} must hold 32 bytes as base64 or 64 hex digits")]
    BadFile(PathBuf),
    #[error("cannot read master key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create master key file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a signing key could not be decrypted: wrong master key or corrupt data")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

fn decode(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
            .collect::<Option<Vec<u8>>>()?
    } else {
        STANDARD.decode(text).ok()?
    };
    <[u8; 32]>::try_from(bytes.as_slice()).ok()
}

impl MasterKey {
    /// Builds a key from raw bytes (tests, tooling).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Loads the key from the environment, else the file; creates the file (a new key from
    /// `random`) when missing and `create` is true.
    pub fn load(
        file: &Path,
        create: bool,
        random: &dyn Random,
    ) -> Result<(Self, Source), MasterKeyError> {
        if let Ok(value) = std::env::var(ENV_VAR) {
            let key = decode(&value).ok_or(MasterKeyError::BadEnvironment)?;
            return Ok((Self(key), Source::Environment));
        }
        match std::fs::read_to_string(file) {
            Ok(text) => {
                let key = decode(&text).ok_or_else(|| MasterKeyError::BadFile(file.into()))?;
                Ok((Self(key), Source::File(file.into())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key = Self::create_file(file, random)?;
                Ok((key, Source::Generated(file.into())))
            }
            Err(source) => Err(MasterKeyError::Read {
                path: file.into(),
                source,
            }),
        }
    }

    fn create_file(path: &Path, random: &dyn Random) -> Result<Self, MasterKeyError> {
        let err = |source| MasterKeyError::Create {
            path: path.into(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut encoded = STANDARD.encode(bytes);
        let written = options.open(path).and_then(|mut f| {
            f.write_all(format!("{encoded}\n").as_bytes())
                .and(f.sync_all())
        });
        encoded.zeroize();
        written.map_err(err)?;
        Ok(Self(bytes))
    }

    /// A key for one purpose, derived with HKDF-SHA256 (RFC 5869): `label` separates the purposes
    /// (signing keys at rest use the master key itself), `salt` may make each derived key
    /// single-use, so that a value an attacker can have sealed at will never repeats a
    /// (key, nonce) pair.
    pub fn derive(&self, label: &[u8], salt: &[u8]) -> Self {
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's output limit (255 × 32): this cannot fail.
        let _ = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), &self.0).expand(label, &mut okm);
        Self(okm)
    }

    /// A MAC of `message` (HMAC-SHA256) under a key for one purpose, `label`.
    pub fn mac(&self, label: &[u8], message: &[u8]) -> [u8; 32] {
        use hmac::Mac as _;
        // HMAC pads a key shorter than SHA-256's 64-byte block with zeros: the same MAC as
        // keying it with the 32 bytes, with no fallible constructor.
        let mut block = zeroize::Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(&self.derive(label, b"").0);
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Encrypts `plaintext`, binding it to `context` (the key id) as associated data, under a
    /// fresh 96-bit nonce from `random`. Output: nonce (12 bytes) ‖ ciphertext ‖ tag.
    pub fn encrypt(
        &self,
        random: &dyn Random,
        plaintext: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, MasterKeyError> {
        let cipher = Aes256Gcm::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| MasterKeyError::Encrypt)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Reverses [`MasterKey::encrypt`]; fails on a wrong key, wrong context or tampering.
    pub fn decrypt(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(MasterKeyError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        Aes256Gcm::new((&self.0).into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| MasterKeyError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = MasterKey::from_bytes([7; 32]);
        let sealed = key.encrypt(&OsRandom, b"private key", b"kid-1").unwrap();
        assert_eq!(key.decrypt(&sealed, b"kid-1").unwrap(), b"private key");
        assert!(key.decrypt(&sealed, b"kid-2").is_err());
        assert!(MasterKey::from_bytes([8; 32])
            .decrypt(&sealed, b"kid-1")
            .is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(REDACTED)");
    }

    #[test]
    fn an_injected_seeded_source_makes_the_nonce_and_the_sealed_bytes_reproducible() {
        use crate::random::SeededRandom;
        let key = MasterKey::from_bytes([7; 32]);
        let seal = |seed| {
            key.encrypt(&SeededRandom::new(seed), b"secret", b"kid")
                .unwrap()
        };
        assert_eq!(seal(1), seal(1));
        assert_ne!(seal(1)[..NONCE_LEN], seal(2)[..NONCE_LEN]);
    }

    #[test]
    fn derived_keys_differ_by_label_and_salt_and_do_not_open_each_others_values() {
        let key = MasterKey::from_bytes([7; 32]);
        let a = key.derive(b"purpose a", b"salt");
        assert_eq!(a.0, key.derive(b"purpose a", b"salt").0);
        assert_ne!(a.0, key.derive(b"purpose b", b"salt").0);
        assert_ne!(a.0, key.derive(b"purpose a", b"other").0);
        assert_ne!(a.0, key.0);
        let sealed = a.encrypt(&OsRandom, b"value", b"").unwrap();
        assert!(key.decrypt(&sealed, b"").is_err());
        assert_eq!(a.decrypt(&sealed, b"").unwrap(), b"value");
    }

    #[test]
    fn created_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let (first, source) = MasterKey::load(&path, true, &OsRandom).unwrap();
        assert_eq!(source, Source::Generated(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, source) = MasterKey::load(&path, true, &OsRandom).unwrap();
        assert_eq!(source, Source::File(path));
        assert_eq!(first.0, second.0);
    }

    #[test]
    fn macs_match_hmac_sha256_keyed_with_the_derived_key() {
        use hmac::Mac as _;
        let key = MasterKey::from_bytes([7; 32]);
        let derived = key.derive(b"label", b"");
        let mut reference =
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&derived.0).unwrap();
        reference.update(b"message");
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(key.mac(b"label", b"message"), expected);
        assert_ne!(key.mac(b"other", b"message"), expected);
    }

    #[test]
    fn hex_and_base64_both_decode() {
        assert_eq!(decode(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(decode(&STANDARD.encode([1u8; 32])), Some([1; 32]));
        assert_eq!(decode("short"), None);
    }
}
