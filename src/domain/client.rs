//! Client applications (RFC 6749 §2): identifiers, grant types, redirect URIs, and the parsed
//! [`Client`] the protocol core works with.

use std::fmt;
use std::str::FromStr;

use url::Url;

use super::scope::Scope;
use super::secret::SecretHash;
use crate::domain::resource::ClientResources;
use crate::domain::signing_alg::SigningAlg;

/// The grant types Latchkey implements, named by their `grant_type` value (RFC 6749 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| format!("unknown grant type `{s}`"))
    }
}

/// Read by name from configuration (`registration.allowed_grant_types`).
impl<'de> serde::Deserialize<'de> for GrantType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for GrantType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The scope a client gets when none is asked for: the OpenID scopes for clients that act for a
/// person (`offline_access` with refresh tokens), nothing for the others.
pub fn default_scope(grants: &[GrantType]) -> &'static str {
    let for_a_person = grants
        .iter()
        .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Password));
    match (for_a_person, grants.contains(&GrantType::RefreshToken)) {
        (false, _) => "",
        (true, false) => "openid profile email",
        (true, true) => "openid profile email offline_access",
    }
}

/// A redirect URI as registered: absolute, without fragment (RFC 6749 §3.1.2), https or a
/// loopback http address (RFC 8252 §7.3), or a private-use scheme for native apps (§7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url =
            Url::parse(raw).map_err(|e| format!("redirect URI `{raw}` is not absolute: {e}"))?;
        if url.fragment().is_some() {
            return Err(format!("redirect URI `{raw}` must not contain a fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" => {
                let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                if !loopback {
                    return Err(format!(
                        "redirect URI `{raw}` uses http on a non-loopback host; use https"
                    ));
                }
            }
            "javascript" | "data" | "file" | "vbscript" => {
                return Err(format!("redirect URI `{raw}` uses a forbidden scheme"));
            }
            _ if url.scheme().contains('.') => {} // private-use scheme, e.g. com.example.app
            _ => return Err(format!("redirect URI `{raw}` must use https")),
        }
        // Registered and compared as the exact string given (RFC 9700 §2.1).
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `registered_by` of clients registered through open registration.
pub const REGISTERED_OPENLY: &str = "open";
/// `registered_by` of a client described by a client ID metadata document.
pub const REGISTERED_BY_DOCUMENT: &str = "metadata_document";

/// A client as the protocol core sees it.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// `None` for public clients, which cannot keep a secret.
    pub secret_hash: Option<SecretHash>,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: Scope,
    pub first_party: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// Overrides of `tokens.refresh_token_ttl_secs` and `…_absolute_ttl_secs`.
    pub refresh_token_ttl_secs: Option<i64>,
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    pub token_endpoint_auth_method: String,
    /// Who registered the client over HTTP (`admin`, `registrar`, `open`), if it was.
    pub registered_by: Option<String>,
    /// `alg` of its access tokens; `None` follows `tokens.access_token_alg`.
    pub access_token_alg: Option<SigningAlg>,
    /// `alg` of its ID tokens (`id_token_signed_response_alg`); `None` means RS256.
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// Access-token lifetime; `None` follows `tokens.access_token_ttl_secs`.
    pub access_token_ttl_secs: Option<i64>,
    /// The API resources (RFC 8707) it may ask for, loaded and cached with it.
    pub resources: ClientResources,
    /// Whether its ID tokens carry the profile, email and groups claims of the granted scopes.
    pub id_token_claims: bool,
    /// Origins (`scheme://host[:port]`) whose browser code may call the token, userinfo and
    /// revocation endpoints for this client (CORS).
    pub web_origins: Vec<String>,
}

impl Client {
    /// A public client `id` with nothing registered, for unit tests to fill in.
    #[cfg(test)]
    pub(crate) fn fixture(id: &str) -> Self {
        Self::blank(id)
    }

    /// A public client `id` with nothing registered or allowed, to be filled in.
    pub fn blank(id: &str) -> Self {
        Self {
            id: id.into(),
            name: "App".into(),
            secret_hash: None,
            grant_types: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scope: Scope::empty(),
            first_party: false,
            disabled: false,
            created_at: 0,
            refresh_token_ttl_secs: None,
            refresh_token_absolute_ttl_secs: None,
            token_endpoint_auth_method: "none".into(),
            registered_by: None,
            access_token_alg: None,
            id_token_signed_response_alg: None,
            access_token_ttl_secs: None,
            resources: ClientResources::default(),
            id_token_claims: true,
            web_origins: vec![],
        }
    }

    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Registered by anyone through open registration: nobody vouches for its name.
    pub fn is_openly_registered(&self) -> bool {
        self.registered_by.as_deref() == Some(REGISTERED_OPENLY)
    }

    /// Deleted when nobody signs in to it for a while (see `registration::open`): an openly
    /// registered client, or one described by a metadata document.
    pub fn expires_when_unused(&self) -> bool {
        matches!(
            self.registered_by.as_deref(),
            Some(REGISTERED_OPENLY | REGISTERED_BY_DOCUMENT)
        )
    }

    /// For an openly registered client or one described by a metadata document, the host `uri`
    /// leads to, which the consent and logout pages show so that a person can spot an
    /// impostor's name (RFC 9700 §4.11); `None` for the others.
    pub fn unvouched_host(&self, uri: &str) -> Option<String> {
        let unvouched = self.is_openly_registered()
            || self.registered_by.as_deref() == Some(REGISTERED_BY_DOCUMENT);
        if !unvouched {
            return None;
        }
        Url::parse(uri).ok()?.host_str().map(str::to_owned)
    }

    /// Whether browser code on `origin` (an `Origin` header) may read this client's responses.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.web_origins.iter().any(|o| o == origin)
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The algorithms its tokens are signed with, `default_access` being
    /// `tokens.access_token_alg`.
    pub fn token_algs(&self, default_access: SigningAlg) -> TokenAlgs {
        TokenAlgs {
            access_token: self.access_token_alg.unwrap_or(default_access),
            id_token: self
                .id_token_signed_response_alg
                .unwrap_or(SigningAlg::RS256),
        }
    }
}

/// The algorithms one client's tokens are signed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenAlgs {
    pub access_token: SigningAlg,
    pub id_token: SigningAlg,
}

/// Stored client data that no longer parses: an operator edited the table by hand.
#[derive(Debug, thiserror::Error)]
#[error("client {client_id} has corrupt stored data: {reason}")]
pub struct CorruptClient {
    pub client_id: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_safe() {
        assert!(RedirectUri::parse("https://app.example/cb").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:9000/cb").is_ok());
        assert!(RedirectUri::parse("http://localhost/cb").is_ok());
        assert!(RedirectUri::parse("com.example.app:/cb").is_ok());
        assert!(RedirectUri::parse("http://app.example/cb").is_err());
        assert!(RedirectUri::parse("https://app.example/cb#x").is_err());
        assert!(RedirectUri::parse("/cb").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
    }

    #[test]
    fn grant_types_round_trip() {
        for grant in GrantType::ALL {
            assert_eq!(grant.as_str().parse::<GrantType>(), Ok(grant));
        }
        assert!("implicit".parse::<GrantType>().is_err());
    }
}
