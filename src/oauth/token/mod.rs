//! The token endpoint's grants (RFC 6749 §3.2): a closed [`TokenRequest`] parsed from the form and
//! dispatched with `match`, one module per grant named after its `grant_type` value. The grants are
//! synchronous and know nothing of HTTP: each takes a [`Context`], the client already
//! authenticated, and a database connection where it needs one; `routes/token.rs` owns the async
//! bridge.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;

use serde::Serialize;

use super::error::{ErrorCode, OAuthError};
use super::issue::{self, Grant, Issued};
use super::params::Params;
use crate::config::Settings;
use crate::crypto::keys::KeySet;
use crate::crypto::master_key::MasterKey;
use crate::domain::client::{Client, GrantType};
use crate::domain::resource::ResourceUri;
use crate::domain::scope::Scope;
use crate::random::Random;

/// What every grant may need besides its request: settings, the key snapshot, the master key
/// (which seals rotated refresh tokens for the reuse grace window), the source of random values
/// and the current time.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub keys: &'a KeySet,
    pub master_key: &'a MasterKey,
    pub random: &'a dyn Random,
    pub now: i64,
}

impl Context<'_> {
    /// Signs the tokens of `grant` with the active key.
    pub fn issue(&self, grant: &Grant<'_>) -> Result<Issued, OAuthError> {
        issue::issue(self.settings, self.keys, self.random, self.now, grant)
    }
}

/// A parsed token request, one variant per supported grant.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode(authorization_code::Request),
    ClientCredentials(client_credentials::Request),
    Password(password::Request),
    RefreshToken(refresh_token::Request),
}

impl TokenRequest {
    /// The grant requested, which the client must be registered for.
    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode(_) => GrantType::AuthorizationCode,
            Self::ClientCredentials(_) => GrantType::ClientCredentials,
            Self::Password(_) => GrantType::Password,
            Self::RefreshToken(_) => GrantType::RefreshToken,
        }
    }

    /// Whether the authenticated `client` may make this request at all: confidential clients only
    /// for `client_credentials` (RFC 6749 §4.4) and `password`, and only grants the client is
    /// registered for. Checked once, before dispatch.
    pub fn admit(&self, client: &Client) -> Result<(), OAuthError> {
        let grant = self.grant_type();
        if client.is_public() && matches!(grant, GrantType::ClientCredentials | GrantType::Password)
        {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("Public clients cannot use the {grant} grant"),
            ));
        }
        super::client_auth::require_grant(client, grant)
    }

    /// Reads `grant_type` and the grant's own parameters.
    pub fn parse(params: &Params) -> Result<Self, OAuthError> {
        match params.require("grant_type")? {
            "client_credentials" => {
                client_credentials::Request::parse(params).map(Self::ClientCredentials)
            }
            "password" => password::Request::parse(params).map(Self::Password),
            "refresh_token" => refresh_token::Request::parse(params).map(Self::RefreshToken),
            "authorization_code" => {
                authorization_code::Request::parse(params).map(Self::AuthorizationCode)
            }
            other => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "The grant type `{}` is not supported",
                    other.chars().take(64).collect::<String>()
                ),
            )),
        }
    }
}

/// The successful response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl TokenResponse {
    /// The response for `issued`, granting `scope`, with the refresh token if one was issued.
    pub fn new(issued: Issued, scope: &Scope, refresh_token: Option<String>) -> Self {
        Self {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: (!scope.is_empty()).then(|| scope.to_string()),
            id_token: issued.id_token,
            refresh_token,
        }
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| "REDACTED"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "REDACTED"),
            )
            .finish_non_exhaustive()
    }
}

/// Parses the `resource` parameters (RFC 8707 §2), which may repeat.
pub fn parse_resources(params: &Params) -> Result<Vec<ResourceUri>, OAuthError> {
    super::resource::requested(params)
}

/// Parses the optional `scope` parameter.
pub fn parse_scope(params: &Params) -> Result<Option<Scope>, OAuthError> {
    params
        .get("scope")
        .map(Scope::parse)
        .transpose()
        .map_err(|e| OAuthError::invalid_scope(format!("The scope is malformed: {e}")))
}
