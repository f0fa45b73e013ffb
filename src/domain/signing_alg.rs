//! The JWS algorithms Latchkey signs with (RFC 7518 §3.3 RS256, §3.4 ES256; RFC 8037 §3.1 EdDSA
//! over Ed25519), as one closed enum used by the configuration, client metadata and the key set,
//! with the rules that tie them to the configuration. Names and rules only: no cryptography, so
//! that `config` and `db` can use it without depending on `crypto`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A signing algorithm, named by its JWS `alg` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256: the default, and the one OpenID Connect requires.
    RS256,
    /// ECDSA over P-256 with SHA-256.
    ES256,
    /// EdDSA over Ed25519.
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [Self::RS256, Self::ES256, Self::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// `kty` of its keys (RFC 7518 §6.1, RFC 8037 §2).
    pub fn key_type(self) -> &'static str {
        match self {
            Self::RS256 => "RSA",
            Self::ES256 => "EC",
            Self::EdDSA => "OKP",
        }
    }

    /// The names of all supported algorithms, for messages.
    pub fn supported() -> String {
        Self::names(&Self::ALL)
    }

    /// `algs` by name, comma-separated, for pages and messages.
    pub fn names(algs: &[SigningAlg]) -> String {
        algs.iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = String;

    /// Exact, case-sensitive names, as JWS `alg` values are (RFC 7515 §4.1.1).
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "signing algorithm `{}` is not supported (supported: {})",
                    s.chars().take(32).collect::<String>(),
                    Self::supported()
                )
            })
    }
}

/// Checks that `alg` is one of the configured `keys.algorithms`; the message names both.
pub fn require_configured(configured: &[SigningAlg], alg: SigningAlg) -> Result<(), String> {
    if configured.contains(&alg) {
        Ok(())
    } else {
        Err(format!(
            "signing algorithm `{alg}` is not configured (keys.algorithms: {})",
            SigningAlg::names(configured)
        ))
    }
}

/// Checks `keys.algorithms` and `tokens.access_token_alg`; on refusal, the key and the reason.
pub fn check_settings(
    algorithms: &[SigningAlg],
    access_token_alg: SigningAlg,
) -> Result<(), (&'static str, String)> {
    if let Some((i, alg)) = algorithms
        .iter()
        .enumerate()
        .find(|(i, a)| algorithms[..*i].contains(a))
    {
        return Err((
            "keys.algorithms",
            format!("`{alg}` is listed twice (entry {})", i + 1),
        ));
    }
    if !algorithms.contains(&SigningAlg::RS256) {
        return Err((
            "keys.algorithms",
            "must include RS256, which OpenID Connect requires for ID tokens (Discovery 1.0 §3)"
                .into(),
        ));
    }
    require_configured(algorithms, access_token_alg).map_err(|e| ("tokens.access_token_alg", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in SigningAlg::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlg>(), Ok(alg));
        }
        assert_eq!(
            "es256".parse::<SigningAlg>().unwrap_err(),
            "signing algorithm `es256` is not supported (supported: RS256, ES256, EdDSA)"
        );
        assert!("none".parse::<SigningAlg>().is_err());
        assert!("HS256".parse::<SigningAlg>().is_err());
    }

    #[test]
    fn an_unconfigured_algorithm_is_named_in_the_refusal() {
        assert_eq!(
            require_configured(&[SigningAlg::RS256], SigningAlg::EdDSA).unwrap_err(),
            "signing algorithm `EdDSA` is not configured (keys.algorithms: RS256)"
        );
        assert!(require_configured(&SigningAlg::ALL, SigningAlg::ES256).is_ok());
    }

    #[test]
    fn settings_need_rs256_no_duplicates_and_a_configured_access_token_alg() {
        use SigningAlg::*;
        assert_eq!(check_settings(&[RS256], RS256), Ok(()));
        assert_eq!(check_settings(&[RS256, ES256, EdDSA], EdDSA), Ok(()));
        assert_eq!(
            check_settings(&[RS256], ES256).unwrap_err(),
            (
                "tokens.access_token_alg",
                "signing algorithm `ES256` is not configured (keys.algorithms: RS256)".into()
            )
        );
        assert_eq!(
            check_settings(&[ES256], ES256).unwrap_err().0,
            "keys.algorithms"
        );
        assert_eq!(check_settings(&[], RS256).unwrap_err().0, "keys.algorithms");
        assert_eq!(
            check_settings(&[RS256, ES256, ES256], RS256).unwrap_err(),
            (
                "keys.algorithms",
                "`ES256` is listed twice (entry 3)".into()
            )
        );
    }
}
