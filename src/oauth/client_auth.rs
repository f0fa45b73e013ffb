//! Client authentication at the token endpoint (RFC 6749 §2.3): `client_secret_basic` (with the
//! §2.3.1 form-encoding of id and secret), `client_secret_post`, and `none` for public clients.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use super::error::OAuthError;
use super::params::Params;
use crate::audit::{Actor, Event, Kind};
use crate::db::{self, DbConnection};
use crate::domain::client::{Client, GrantType};
use crate::oauth::ErrorCode;

/// How the client presented itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

/// Credentials as presented, before they are checked.
#[derive(Debug)]
pub struct Presented {
    pub client_id: String,
    pub secret: Option<SecretString>,
    pub method: Method,
}

/// `invalid_client` for a failed Basic authentication; the HTTP layer adds `WWW-Authenticate`.
fn basic_failure(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

fn form_decode(raw: &str) -> Option<String> {
    let plus_as_space = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Reads the credentials from the `Authorization` header or the form body. Using both at once is
/// refused (RFC 6749 §2.3: "MUST NOT use more than one authentication method").
pub fn extract(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    let post_id = params.get("client_id");
    let post_secret = params.get("client_secret");
    if let Some(header) = authorization {
        let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(basic_failure(
                "Only the Basic authentication scheme is supported",
            ));
        }
        if post_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "Client credentials were sent both in the Authorization header and in the body",
            ));
        }
        let decoded = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| basic_failure("The Basic credentials are not valid base64"))?;
        let decoded = SecretString::from(decoded);
        let (raw_id, raw_secret) = decoded
            .expose_secret()
            .split_once(':')
            .ok_or_else(|| basic_failure("The Basic credentials lack a colon"))?;
        let client_id = form_decode(raw_id)
            .ok_or_else(|| basic_failure("The Basic credentials are malformed"))?;
        let secret = form_decode(raw_secret)
            .ok_or_else(|| basic_failure("The Basic credentials are malformed"))?;
        if client_id.contains('\0') || secret.contains('\0') {
            return Err(OAuthError::invalid_request(
                "The request contains a NUL character",
            ));
        }
        if post_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the authenticated client",
            ));
        }
        if client_id.is_empty() {
            return Err(basic_failure("Client authentication failed"));
        }
        return Ok(Presented {
            client_id,
            secret: Some(SecretString::from(secret)),
            method: Method::ClientSecretBasic,
        });
    }
    let client_id = post_id
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidClient, "Client authentication failed"))?;
    Ok(Presented {
        client_id: client_id.to_owned(),
        secret: post_secret.map(|s| SecretString::from(s.to_owned())),
        method: if post_secret.is_some() {
            Method::ClientSecretPost
        } else {
            Method::None
        },
    })
}

impl Method {
    /// The RFC 7591 `token_endpoint_auth_method` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// The stored client `id`, parsed; `None` when there is no such client.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Client>, OAuthError> {
    match db::clients::find(conn, id)?
        .map(Client::try_from)
        .transpose()
    {
        Ok(client) => Ok(client),
        Err(corrupt) => Err(OAuthError::internal("client lookup", &corrupt)),
    }
}

/// Checks presented credentials against the stored client (`None`: no such client). Every
/// failure is the same `invalid_client`, so a caller cannot tell an unknown client from a wrong
/// secret; the secret is compared in constant time. A client that authenticates correctly but
/// with another method than the `token_endpoint_auth_method` it registered is refused too
/// (RFC 7591 §2), and only then is the description specific.
pub fn verify(client: Option<&Client>, presented: &Presented) -> Result<(), OAuthError> {
    let Some(client) = client.filter(|c| !c.disabled) else {
        return Err(OAuthError::invalid_client());
    };
    let authenticated = match (&client.secret_hash, &presented.secret) {
        (Some(hash), Some(secret)) => hash.matches(secret.expose_secret()),
        // A public client authenticates with its id alone (`none`), and may not send a secret.
        (None, None) => true,
        _ => false,
    };
    if !authenticated {
        failed(client, "wrong_secret");
        return Err(OAuthError::invalid_client());
    }
    if client.token_endpoint_auth_method != presented.method.as_str() {
        failed(client, "auth_method");
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            format!(
                "The client is registered for token_endpoint_auth_method {}",
                client.token_endpoint_auth_method
            ),
        ));
    }
    Ok(())
}

/// The audit event of a failed client authentication (logged only: it costs no database write).
fn failed(client: &Client, reason: &'static str) {
    Event::new(Kind::ClientAuthFailed, Actor::Anonymous)
        .subject(&client.id)
        .client(&client.id)
        .reason(reason)
        .log();
}

/// Looks the client up and checks the presented credentials ([`find`], then [`verify`]).
pub fn authenticate(conn: &mut DbConnection, presented: &Presented) -> Result<Client, OAuthError> {
    let client = find(conn, &presented.client_id)?;
    verify(client.as_ref(), presented)?;
    client.ok_or_else(OAuthError::invalid_client)
}

/// `unauthorized_client` unless the client is registered for `grant`.
pub fn require_grant(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    if client.allows(grant) {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("The client is not allowed the {grant} grant"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let params = Params::default();
        let p = extract(Some(&basic("my%20client:s%3Acret+x")), &params).unwrap();
        assert_eq!(p.client_id, "my client");
        assert_eq!(p.secret.unwrap().expose_secret(), "s:cret x");
        assert_eq!(p.method, Method::ClientSecretBasic);
    }

    #[test]
    fn malformed_basic_headers_are_invalid_client() {
        let params = Params::default();
        let e = extract(Some("Basic !!!"), &params).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient);
        assert_eq!(e.description, "The Basic credentials are not valid base64");
        let e = extract(Some(&basic("nocolon")), &params).unwrap_err();
        assert_eq!(e.description, "The Basic credentials lack a colon");
        let e = extract(Some("Bearer abc"), &params).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidClient);
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let params = Params::parse(b"client_secret=x").unwrap();
        let e = extract(Some(&basic("a:b")), &params).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }
}
