//! The authorization endpoint's checks, one small function each, in the order the endpoint runs
//! them (RFC 6749 §4.1.1 and §4.1.2.1, RFC 7636 §4.4.1, OIDC Core §3.1.2.1–§3.1.2.2). The first
//! two decide whether the client may be redirected to at all, so they fail with an error page
//! ([`OAuthError`]); every later one fails with a [`Refusal`] that goes back to the client.

use super::super::error::{ErrorCode, OAuthError};
use super::super::params::Params;
use super::super::request::{load_client, Prompt};
use super::super::resource;
use crate::db::DbConnection;
use crate::domain::client::{Client, GrantType};
use crate::domain::pkce::CodeChallenge;
use crate::domain::resource::ResourceUri;
use crate::domain::scope::Scope;
use std::borrow::Cow;

/// A check's refusal once the redirect URI is trusted: an error code and its description.
pub type Refusal = (ErrorCode, &'static str);

/// Longest `nonce` kept (it is echoed into the ID token).
const MAX_NONCE: usize = 512;
/// Longest `login_hint` kept (it pre-fills the login form); longer ones are cut.
const MAX_LOGIN_HINT: usize = 256;

/// Check 1: `client_id`: known and enabled.
pub fn client(conn: &mut DbConnection, params: &Params) -> Result<Client, OAuthError> {
    let client_id = params.require("client_id")?;
    load_client(conn, client_id)?
        .filter(|c| !c.disabled)
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "The client is unknown or disabled",
            )
        })
}

/// Check 2: `redirect_uri`: registered, compared as exact strings (RFC 9700 §2.1). Required, as OIDC
/// Core §3.1.2.1 says, even when only one is registered: the token request must then repeat it
/// (RFC 6749 §4.1.3).
pub fn redirect_uri(client: &Client, params: &Params) -> Result<String, OAuthError> {
    match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => Ok(uri.to_owned()),
        Some(_) => Err(OAuthError::invalid_request(
            "The redirect_uri is not registered for this client",
        )),
        None => Err(OAuthError::invalid_request(
            "Missing required parameter `redirect_uri`",
        )),
    }
}

/// Check 3: No request objects (OIDC Core §6): refused with their own error codes.
pub fn no_request_object(params: &Params) -> Result<(), Refusal> {
    if params.get("request").is_some() {
        return Err((
            ErrorCode::RequestNotSupported,
            "Request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err((
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    Ok(())
}

/// Check 4: `response_type=code`, the only flow (RFC 6749 §4.1.1).
pub fn response_type(params: &Params) -> Result<(), Refusal> {
    match params.get("response_type") {
        None => Err((
            ErrorCode::InvalidRequest,
            "Missing required parameter `response_type`",
        )),
        Some("code") => Ok(()),
        Some(_) => Err((
            ErrorCode::UnsupportedResponseType,
            "Only response_type=code is supported",
        )),
    }
}

/// Check 5: The client is allowed the `authorization_code` grant.
pub fn grant_allowed(client: &Client) -> Result<(), Refusal> {
    if client.allows(GrantType::AuthorizationCode) {
        Ok(())
    } else {
        Err((
            ErrorCode::UnauthorizedClient,
            "The client is not allowed the authorization_code grant",
        ))
    }
}

/// Check 6: `response_mode`: query only.
pub fn response_mode(params: &Params) -> Result<(), Refusal> {
    match params.get("response_mode") {
        None | Some("query") => Ok(()),
        Some(_) => Err((
            ErrorCode::InvalidRequest,
            "Only response_mode=query is supported",
        )),
    }
}

/// Check 7: `resource` (RFC 8707 §2): absolute URIs the client is allowed; its default resource
/// (or none: the issuer audience) when absent.
pub fn resource(params: &Params, client: &Client) -> Result<Vec<ResourceUri>, Refusal> {
    resource::requested(params)
        .and_then(|requested| resource::resolve(client, &requested))
        .map_err(|e| match e.description {
            Cow::Borrowed(text) => (ErrorCode::InvalidTarget, text),
            Cow::Owned(_) => (ErrorCode::InvalidTarget, "The resource is not allowed"),
        })
}

/// Check 8: `scope`: well-formed and within the client's registration and the scopes of its
/// resources; the registered scope when absent. Limited to what the resources define.
pub fn scope(
    params: &Params,
    client: &Client,
    resources: &[ResourceUri],
) -> Result<Scope, Refusal> {
    let requested = params
        .get("scope")
        .map(Scope::parse)
        .transpose()
        .map_err(|_| (ErrorCode::InvalidScope, "The scope is malformed"))?;
    resource::scope(client, resources, requested).map_err(|e| {
        let text = match e.description {
            Cow::Borrowed(resource::OUTSIDE_RESOURCE) => resource::OUTSIDE_RESOURCE,
            _ => "The requested scope exceeds the scope registered for the client",
        };
        (ErrorCode::InvalidScope, text)
    })
}

/// Check 9: PKCE (RFC 7636 §4.4.1): S256 only; required for public clients.
pub fn pkce(params: &Params, client: &Client) -> Result<Option<CodeChallenge>, Refusal> {
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Some(challenge), method) => CodeChallenge::parse(challenge, method)
            .map(Some)
            .map_err(|reason| (ErrorCode::InvalidRequest, reason)),
        (None, Some(_)) => Err((
            ErrorCode::InvalidRequest,
            "code_challenge_method without code_challenge",
        )),
        (None, None) if client.is_public() => Err((
            ErrorCode::InvalidRequest,
            "Public clients must use PKCE (code_challenge with S256)",
        )),
        (None, None) => Ok(None),
    }
}

/// Check 10: `prompt` (OIDC Core §3.1.2.1).
pub fn prompt(params: &Params) -> Result<Prompt, Refusal> {
    Prompt::parse(params.get("prompt")).map_err(|reason| (ErrorCode::InvalidRequest, reason))
}

/// Check 11: `max_age`: a non-negative number of seconds.
pub fn max_age(params: &Params) -> Result<Option<i64>, Refusal> {
    match params.get("max_age").map(str::parse::<i64>) {
        None => Ok(None),
        Some(Ok(age)) if age >= 0 => Ok(Some(age)),
        Some(_) => Err((
            ErrorCode::InvalidRequest,
            "max_age must be a non-negative integer",
        )),
    }
}

/// Check 12: `nonce`: kept as sent, within a bound.
pub fn nonce(params: &Params) -> Result<Option<String>, Refusal> {
    match params.get("nonce") {
        Some(n) if n.len() > MAX_NONCE => Err((ErrorCode::InvalidRequest, "nonce is too long")),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Check 13: `login_hint`: a pre-filled username, cut to a bound; never refused.
pub fn login_hint(params: &Params) -> Option<String> {
    params
        .get("login_hint")
        .map(|h| h.chars().take(MAX_LOGIN_HINT).collect())
}

/// `acr_values` (OIDC Core §3.1.2.1): kept as sent, within a bound; values Latchkey does not
/// know are ignored later (a voluntary claim).
pub fn acr_values(params: &Params) -> Result<Option<String>, Refusal> {
    match params.get("acr_values") {
        Some(v) if v.len() > MAX_NONCE => {
            Err((ErrorCode::InvalidRequest, "acr_values is too long"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// Whether a session authenticated at `auth_time` may answer this request at `now`: not when
/// `prompt=login` asks for a fresh login, nor when it is older than `max_age` (OIDC Core
/// §3.1.2.1).
pub fn session_is_fresh(auth_time: i64, prompt: Prompt, max_age: Option<i64>, now: i64) -> bool {
    !prompt.login && max_age.is_none_or(|age| now - auth_time <= age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn params(query: &str) -> Params {
        Params::parse(query.as_bytes()).unwrap()
    }

    fn client(public: bool) -> Client {
        Client {
            secret_hash: (!public).then(|| crate::domain::secret::SecretHash::of_str("s")),
            grant_types: vec![GrantType::AuthorizationCode],
            redirect_uris: vec!["https://app.example/cb".into()],
            scope: Scope::parse("openid profile").unwrap(),
            ..Client::fixture("c")
        }
    }

    #[test]
    fn the_redirect_uri_must_be_registered_exactly() {
        let app = client(false);
        let ok = redirect_uri(&app, &params("redirect_uri=https%3A%2F%2Fapp.example%2Fcb"));
        assert_eq!(ok.unwrap(), "https://app.example/cb");
        let near = redirect_uri(
            &app,
            &params("redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F"),
        );
        assert_eq!(
            near.unwrap_err().description,
            "The redirect_uri is not registered for this client"
        );
        let missing = redirect_uri(&app, &params("")).unwrap_err();
        assert_eq!(
            missing.description,
            "Missing required parameter `redirect_uri`"
        );
    }

    #[test]
    fn request_objects_are_refused_with_their_own_codes() {
        assert_eq!(no_request_object(&params("")), Ok(()));
        assert_eq!(
            no_request_object(&params("request=x")).unwrap_err().0,
            ErrorCode::RequestNotSupported
        );
        assert_eq!(
            no_request_object(&params("request_uri=x")).unwrap_err().0,
            ErrorCode::RequestUriNotSupported
        );
    }

    #[test]
    fn only_the_code_response_type_in_query_mode() {
        assert_eq!(response_type(&params("response_type=code")), Ok(()));
        assert_eq!(
            response_type(&params("")).unwrap_err().1,
            "Missing required parameter `response_type`"
        );
        assert_eq!(
            response_type(&params("response_type=token")).unwrap_err().0,
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(response_mode(&params("response_mode=query")), Ok(()));
        assert!(response_mode(&params("response_mode=fragment")).is_err());
    }

    #[test]
    fn the_client_needs_the_code_grant() {
        let mut app = client(false);
        assert_eq!(grant_allowed(&app), Ok(()));
        app.grant_types = vec![GrantType::ClientCredentials];
        assert_eq!(
            grant_allowed(&app).unwrap_err().0,
            ErrorCode::UnauthorizedClient
        );
    }

    #[test]
    fn the_scope_stays_within_the_registration() {
        let app = client(false);
        assert_eq!(
            scope(&params(""), &app, &[]).unwrap().to_string(),
            "openid profile"
        );
        assert_eq!(
            scope(&params("scope=openid"), &app, &[])
                .unwrap()
                .to_string(),
            "openid"
        );
        assert_eq!(
            scope(&params("scope=openid+email"), &app, &[])
                .unwrap_err()
                .1,
            "The requested scope exceeds the scope registered for the client"
        );
    }

    #[test]
    fn pkce_is_s256_and_required_for_public_clients() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let s256 = params(&format!(
            "code_challenge={challenge}&code_challenge_method=S256"
        ));
        assert!(pkce(&s256, &client(true)).unwrap().is_some());
        let plain = params(&format!(
            "code_challenge={challenge}&code_challenge_method=plain"
        ));
        assert!(pkce(&plain, &client(true)).is_err());
        assert_eq!(
            pkce(&params(""), &client(true)).unwrap_err().1,
            "Public clients must use PKCE (code_challenge with S256)"
        );
        assert_eq!(pkce(&params(""), &client(false)), Ok(None));
        assert_eq!(
            pkce(&params("code_challenge_method=S256"), &client(false))
                .unwrap_err()
                .1,
            "code_challenge_method without code_challenge"
        );
    }

    #[test]
    fn prompt_max_age_nonce_and_login_hint_are_bounded() {
        assert!(prompt(&params("prompt=none+login")).is_err());
        assert_eq!(max_age(&params("max_age=0")), Ok(Some(0)));
        assert!(max_age(&params("max_age=-1")).is_err());
        assert!(max_age(&params("max_age=soon")).is_err());
        let long = "n".repeat(MAX_NONCE + 1);
        assert!(nonce(&params(&format!("nonce={long}"))).is_err());
        assert_eq!(nonce(&params("nonce=n1")), Ok(Some("n1".into())));
        let hint = "h".repeat(MAX_LOGIN_HINT + 10);
        assert_eq!(
            login_hint(&params(&format!("login_hint={hint}")))
                .unwrap()
                .len(),
            MAX_LOGIN_HINT
        );
    }

    #[test]
    fn a_session_older_than_max_age_is_not_fresh() {
        let clock = ManualClock::new(1_000_000);
        let auth_time = clock.now();
        let none = Prompt::default();
        assert!(session_is_fresh(auth_time, none, None, clock.now()));
        clock.advance(300);
        assert!(session_is_fresh(auth_time, none, Some(300), clock.now()));
        clock.advance(1);
        assert!(!session_is_fresh(auth_time, none, Some(300), clock.now()));
        assert!(session_is_fresh(auth_time, none, None, clock.now()));
        let login = Prompt::parse(Some("login")).unwrap();
        assert!(!session_is_fresh(clock.now(), login, None, clock.now()));
    }
}
