//! The `issuer` setting (OIDC Discovery 1.0 §3, RFC 8414 §2): an absolute `https` (or, for
//! development, `http`) URL with a host and no user information, query or fragment, parsed once
//! while the configuration is read.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use url::Url;

/// The issuer identifier. It keeps the text exactly as configured, since `iss` in every token
/// and the discovery document must be that string (OIDC Core §2), and the parsed URL beside it.
#[derive(Clone, PartialEq, Eq)]
pub struct Issuer {
    text: String,
    url: Url,
}

impl Issuer {
    /// Parses an issuer; the message says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("not an absolute URL ({e})"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err("must use https (or http for development)".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment".into());
        }
        if url.host_str().is_none() || !url.username().is_empty() {
            return Err("must have a host and no user information".into());
        }
        Ok(Self {
            text: raw.to_owned(),
            url,
        })
    }

    /// The issuer as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed URL (scheme, host, port).
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl Deref for Issuer {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl FromStr for Issuer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl Serialize for Issuer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_text_is_kept_exactly() {
        let issuer: Issuer = "http://localhost:8080".parse().unwrap();
        assert_eq!(issuer.as_str(), "http://localhost:8080");
        assert_eq!(&*issuer, "http://localhost:8080");
        assert_eq!(issuer.url().port(), Some(8080));
        assert_eq!(
            serde_json::to_string(&issuer).unwrap(),
            r#""http://localhost:8080""#
        );
    }

    #[test]
    fn what_an_issuer_cannot_be_is_refused_with_a_reason() {
        for (raw, reason) in [
            ("id.example.com", "not an absolute URL"),
            ("ftp://id.example.com", "must use https"),
            ("https://id.example.com/?tenant=1", "must not have a query"),
            ("https://id.example.com/#top", "must not have a query"),
            (
                "https://admin@id.example.com",
                "must have a host and no user information",
            ),
        ] {
            let error = Issuer::parse(raw).unwrap_err();
            assert!(error.starts_with(reason), "{raw}: {error}");
        }
    }
}
