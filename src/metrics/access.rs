//! Who may read `/metrics`: anyone who reaches its listener, or only holders of the bearer token
//! read from `metrics.bearer_token_file` (RFC 6750 §2.1), compared in constant time.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::MetricsSettings;

pub struct MetricsAccess {
    /// SHA-256 of the token: compared digests have one length whatever was presented.
    token_digest: Option<[u8; 32]>,
}

impl MetricsAccess {
    /// Reads the token file when one is configured; its content, trimmed, is the token.
    pub fn load(settings: &MetricsSettings) -> anyhow::Result<Self> {
        let path = &settings.bearer_token_file;
        if path.as_os_str().is_empty() {
            return Ok(Self { token_digest: None });
        }
        let raw = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "invalid value for `metrics.bearer_token_file`: cannot read {} ({e})",
                path.display()
            )
        })?;
        let token = SecretString::from(raw.trim().to_owned());
        if token.expose_secret().len() < 16 {
            anyhow::bail!(
                "invalid value for `metrics.bearer_token_file`: the token in {} is shorter than 16 characters",
                path.display()
            );
        }
        Ok(Self::with_token(Some(&token)))
    }

    /// Access guarded by `token`, or open with `None`.
    pub fn with_token(token: Option<&SecretString>) -> Self {
        Self {
            token_digest: token.map(|t| Sha256::digest(t.expose_secret().as_bytes()).into()),
        }
    }

    /// Whether a request presenting `bearer` (the `Authorization: Bearer` value) may read.
    pub fn allows(&self, bearer: Option<&str>) -> bool {
        let Some(expected) = &self.token_digest else {
            return true;
        };
        let Some(presented) = bearer else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(expected).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_opens_a_guarded_endpoint() {
        let token = SecretString::from("s3cret-metrics-token".to_owned());
        let guarded = MetricsAccess::with_token(Some(&token));
        assert!(guarded.allows(Some("s3cret-metrics-token")));
        assert!(!guarded.allows(Some("s3cret-metrics-tokeN")));
        assert!(!guarded.allows(Some("")));
        assert!(!guarded.allows(None));
        let open = MetricsAccess::with_token(None);
        assert!(open.allows(None));
    }

    #[test]
    fn a_short_or_missing_token_file_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "short\n").unwrap();
        let settings = MetricsSettings {
            bind: String::new(),
            bearer_token_file: path,
        };
        let err = MetricsAccess::load(&settings).err().unwrap().to_string();
        assert!(err.contains("shorter than 16"), "{err}");
        let missing = MetricsSettings {
            bind: String::new(),
            bearer_token_file: dir.path().join("absent"),
        };
        assert!(MetricsAccess::load(&missing).is_err());
    }
}
