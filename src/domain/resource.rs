//! API resources (RFC 8707): the identifier an access token's `aud` names, the scopes the API
//! defines, and the access-token lifetime it wants.

use std::fmt;

use url::Url;

use super::scope::Scope;

/// The longest resource identifier accepted.
const MAX_LEN: usize = 512;

/// A resource identifier: an absolute URI without a fragment (RFC 8707 §2). Kept as the exact
/// string registered, since `aud` is compared as a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceUri(String);

impl ResourceUri {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > MAX_LEN {
            return Err(format!(
                "a resource identifier has 1 to {MAX_LEN} characters"
            ));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("resource `{raw}` contains whitespace"));
        }
        let url =
            Url::parse(raw).map_err(|_| format!("resource `{raw}` is not an absolute URI"))?;
        if url.fragment().is_some() || raw.contains('#') {
            return Err(format!("resource `{raw}` must not contain a fragment"));
        }
        if url.cannot_be_a_base() && url.scheme() != "urn" {
            return Err(format!("resource `{raw}` is not an absolute URI"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A scope an API defines, with the words the consent page shows for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceScope {
    pub name: String,
    pub description: Option<String>,
}

/// A registered API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub identifier: ResourceUri,
    pub scopes: Vec<ResourceScope>,
    /// Overrides the client's and the global access-token lifetime.
    pub access_token_ttl_secs: Option<i64>,
    /// Clients registered over HTTP (registrar or open registration) may ask for it.
    pub public: bool,
}

impl Resource {
    pub fn defines(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s.name == scope)
    }

    /// The scopes it defines, as a [`Scope`].
    pub fn scope(&self) -> Scope {
        let joined: Vec<&str> = self.scopes.iter().map(|s| s.name.as_str()).collect();
        Scope::parse(&joined.join(" ")).unwrap_or_default()
    }
}

/// The resources a client may ask for, and the one it gets when it names none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientResources {
    pub allowed: Vec<Resource>,
    /// `None`: a request without `resource` gets the issuer audience.
    pub default: Option<ResourceUri>,
}

impl ClientResources {
    pub fn find(&self, identifier: &str) -> Option<&Resource> {
        self.allowed
            .iter()
            .find(|r| r.identifier.as_str() == identifier)
    }
}

/// The resources one token is bound to: empty for the issuer audience.
pub fn join(resources: &[ResourceUri]) -> String {
    resources
        .iter()
        .map(ResourceUri::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads a stored, space-separated list written by [`join`]; what no longer parses is dropped
/// (it can only narrow what a token gets).
pub fn split(stored: &str) -> Vec<ResourceUri> {
    stored
        .split(' ')
        .filter_map(|r| ResourceUri::parse(r).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_absolute_uris_without_fragment() {
        assert!(ResourceUri::parse("https://api.example/").is_ok());
        assert!(ResourceUri::parse("urn:example:api").is_ok());
        assert!(ResourceUri::parse("https://api.example/#x").is_err());
        assert!(ResourceUri::parse("/relative").is_err());
        assert!(ResourceUri::parse("api").is_err());
        assert!(ResourceUri::parse("https://a b/").is_err());
        assert!(ResourceUri::parse("").is_err());
    }

    #[test]
    fn stored_lists_round_trip() {
        let list = vec![
            ResourceUri::parse("https://a.example/").unwrap(),
            ResourceUri::parse("urn:b").unwrap(),
        ];
        assert_eq!(split(&join(&list)), list);
        assert!(split("").is_empty());
    }
}
