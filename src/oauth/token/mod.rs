//! The token endpoint's grants (RFC 6749 §3.2): a closed [`TokenRequest`] parsed from the form and
//! dispatched with `match`, one module per grant named after its `grant_type` value.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;

use serde::Serialize;

use super::client_auth::Presented;
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use crate::domain::client::Client;
use crate::domain::scope::Scope;
use crate::state::AppState;

/// A parsed token request, one variant per supported grant.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode(authorization_code::Request),
    ClientCredentials(client_credentials::Request),
    Password(password::Request),
    RefreshToken(refresh_token::Request),
}

impl TokenRequest {
    /// The `grant_type` value, for metrics and logs.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Self::AuthorizationCode(_) => "authorization_code",
            Self::ClientCredentials(_) => "client_credentials",
            Self::Password(_) => "password",
            Self::RefreshToken(_) => "refresh_token",
        }
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

/// Runs the grant.
pub async fn exchange(
    state: &std::sync::Arc<AppState>,
    presented: Presented,
    request: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    match request {
        TokenRequest::AuthorizationCode(r) => authorization_code::grant(state, presented, r).await,
        TokenRequest::ClientCredentials(r) => client_credentials::grant(state, presented, r).await,
        TokenRequest::Password(r) => password::grant(state, presented, r).await,
        TokenRequest::RefreshToken(r) => refresh_token::grant(state, presented, r).await,
    }
}

/// Parses the optional `scope` parameter.
pub fn parse_scope(params: &Params) -> Result<Option<Scope>, OAuthError> {
    params
        .get("scope")
        .map(Scope::parse)
        .transpose()
        .map_err(|e| OAuthError::invalid_scope(format!("The scope is malformed: {e}")))
}

/// The scope granted: the requested one when the client is allowed all of it, else
/// `invalid_scope`; the client's registered scope when none was requested (RFC 6749 §3.3).
pub fn resolve_scope(client: &Client, requested: Option<Scope>) -> Result<Scope, OAuthError> {
    match requested {
        None => Ok(client.scope.clone()),
        Some(scope) if scope.is_subset_of(&client.scope) => Ok(scope),
        Some(_) => Err(OAuthError::invalid_scope(
            "The requested scope exceeds the scope registered for the client",
        )),
    }
}
