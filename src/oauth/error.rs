//! RFC 6749 §5.2 (and OIDC Core §3.1.2.6, RFC 6750 §3.1) error codes, serialised as
//! `{"error","error_description"}`. Internal failures are logged with their cause chain and
//! answered with a generic `server_error`; library error text never reaches a response.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use crate::db::DbError;

/// The error codes Latchkey answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    LoginRequired,
    ConsentRequired,
    InvalidToken,
    ServerError,
    TemporarilyUnavailable,
    RequestNotSupported,
    RequestUriNotSupported,
    InsufficientScope,
    /// RFC 8707 §2: the `resource` is unknown, malformed or not allowed.
    InvalidTarget,
    /// RFC 9470 §3: the token's sign-in was not strong enough (a second factor is required).
    InsufficientUserAuthentication,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidToken => "invalid_token",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidTarget => "invalid_target",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
        }
    }

    /// The HTTP status a JSON endpoint answers this code with.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken | Self::InsufficientUserAuthentication => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// An error answer: a code, a human-readable description, and optionally a status that differs
/// from the code's usual one (413 for an oversized body, 429 for a throttled login) and a
/// `Retry-After`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    #[serde(rename = "error")]
    pub code: ErrorCode,
    #[serde(rename = "error_description")]
    pub description: Cow<'static, str>,
    #[serde(skip)]
    pub status: Option<u16>,
    /// Seconds for `Retry-After` (429 and 503 answers).
    #[serde(skip)]
    pub retry_after_secs: Option<i64>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            status: None,
            retry_after_secs: None,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "Client authentication failed")
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    pub fn status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.code.status())
    }

    /// Logs `error` with its whole cause chain and returns a generic `server_error`.
    pub fn internal(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %chain, "{context}");
        Self::new(
            ErrorCode::ServerError,
            "The server encountered an unexpected error",
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// `Retry-After` of every 503: shorter than the default refresh-token reuse grace window
/// (`tokens.refresh_token_reuse_grace_secs`, 5 s), so a client that retries a refresh after a
/// lost response, as told, lands inside the window and gets the same successor back.
pub const RETRY_AFTER_SECS: &str = "2";

impl From<DbError> for OAuthError {
    fn from(error: DbError) -> Self {
        match error {
            ref e if e.is_unavailable() => {
                let cause = e.to_string();
                tracing::warn!(error = %cause, "database unavailable");
                Self::new(
                    ErrorCode::TemporarilyUnavailable,
                    "The service is temporarily unavailable; retry later",
                )
            }
            other => Self::internal("storage failure", &other),
        }
    }
}

impl From<crate::crypto::password::PasswordError> for OAuthError {
    fn from(error: crate::crypto::password::PasswordError) -> Self {
        match error {
            crate::crypto::password::PasswordError::Busy => {
                tracing::debug!("password workers busy: login refused");
                Self::new(
                    ErrorCode::TemporarilyUnavailable,
                    "The service is busy; retry in a moment",
                )
                .with_retry_after(1)
            }
            other => Self::internal("password check", &other),
        }
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(error: diesel::result::Error) -> Self {
        Self::from(DbError::Query(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_rfc6749() {
        let body = serde_json::to_string(&OAuthError::invalid_client()).unwrap();
        assert_eq!(
            body,
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#
        );
        assert_eq!(OAuthError::invalid_client().status(), 401);
        assert_eq!(OAuthError::invalid_grant("x").status(), 400);
    }
}
