//! Strict `application/x-www-form-urlencoded` parsing for protocol endpoints. Unlike a lenient
//! form decoder it refuses repeated parameters (RFC 6749 §3.1, §3.2), invalid UTF-8 and absurd
//! sizes, and treats a parameter without a value as omitted (RFC 6749 §3.1).

use percent_encoding::percent_decode;

use super::error::OAuthError;

/// The longest parameter value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
/// The longest `request` value of the login and consent pages: a sealed pending authorization
/// request (`oauth::pending`), which carries the client's parameters, each within
/// [`MAX_VALUE_LEN`]; it leaves room for the rest of a login form within the default
/// `server.max_body_bytes` (16 KiB).
pub const MAX_SEALED_LEN: usize = 12 * 1024;
/// The most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;
const MAX_NAME_LEN: usize = 64;

/// Decoded parameters, in the order sent.
#[derive(Default)]
pub struct Params(Vec<(String, String)>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be passwords or secrets: show names only.
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

fn decode(raw: &[u8]) -> Result<String, OAuthError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    let text = String::from_utf8(bytes)
        .map_err(|_| OAuthError::invalid_request("The request contains invalid UTF-8"))?;
    if text.contains('\0') {
        // No protocol value contains NUL, and PostgreSQL cannot store it in TEXT.
        return Err(OAuthError::invalid_request(
            "The request contains a NUL character",
        ));
    }
    Ok(text)
}

impl Params {
    /// Parses a form body or a query string.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        Self::parse_limited(body, None)
    }

    /// Parses the query or form of a login or consent page, whose `request` is a sealed pending
    /// request and may be up to [`MAX_SEALED_LEN`] long.
    pub fn parse_interaction(body: &[u8]) -> Result<Self, OAuthError> {
        Self::parse_limited(body, Some(("request", MAX_SEALED_LEN)))
    }

    fn parse_limited(body: &[u8], long: Option<(&str, usize)>) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for segment in body.split(|&b| b == b'&').filter(|s| !s.is_empty()) {
            let (raw_name, raw_value) = match segment.iter().position(|&b| b == b'=') {
                Some(i) => (&segment[..i], &segment[i + 1..]),
                None => (segment, &[][..]),
            };
            let name = decode(raw_name)?;
            if name.is_empty() || name.len() > MAX_NAME_LEN {
                return Err(OAuthError::invalid_request(
                    "The request has a malformed parameter name",
                ));
            }
            let value = decode(raw_value)?;
            let limit = match long {
                Some((long_name, limit)) if long_name == name => limit,
                _ => MAX_VALUE_LEN,
            };
            if value.len() > limit {
                return Err(OAuthError::invalid_request(format!(
                    "Parameter `{name}` is too long"
                )));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::invalid_request(format!(
                    "Parameter `{name}` is repeated"
                )));
            }
            if pairs.len() == MAX_PARAMS {
                return Err(OAuthError::invalid_request(
                    "The request has too many parameters",
                ));
            }
            pairs.push((name, value));
        }
        Ok(Self(pairs))
    }

    /// The value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("Missing required parameter `{name}`"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::parse(b"a=b+c%20d&e=%C3%A9&empty=&flag").unwrap();
        assert_eq!(p.get("a"), Some("b c d"));
        assert_eq!(p.get("e"), Some("é"));
        assert_eq!(p.get("empty"), None);
        assert_eq!(p.get("flag"), None);
    }

    #[test]
    fn refuses_repeats_bad_utf8_and_long_values() {
        let repeated = Params::parse(b"scope=a&scope=b").unwrap_err();
        assert_eq!(repeated.description, "Parameter `scope` is repeated");
        let utf8 = Params::parse(b"a=%FF").unwrap_err();
        assert_eq!(utf8.description, "The request contains invalid UTF-8");
        let nul = Params::parse(b"a=x%00y").unwrap_err();
        assert_eq!(nul.description, "The request contains a NUL character");
        let long = format!("a={}", "x".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(
            Params::parse(long.as_bytes()).unwrap_err().description,
            "Parameter `a` is too long"
        );
    }

    #[test]
    fn debug_hides_values() {
        let p = Params::parse(b"password=hunter2").unwrap();
        assert_eq!(format!("{p:?}"), "[\"password\"]");
    }
}
