//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2) as an ordered list of
//! small checks. Until `client_id` and `redirect_uri` are validated, errors render an error page
//! and never redirect; after, they redirect to the client with `error`, `state` and `iss`
//! (RFC 9207). Then the request either gets a code at once (live session, consent given) or is
//! stored server-side while the browser visits the login or consent page.

use secrecy::ExposeSecret;
use url::Url;

use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::pending;
use super::session::Session;
use crate::config::Settings;
use crate::db::models::AuthorizationCodeRow;
use crate::db::{self, DbConnection};
use crate::domain::client::{Client, GrantType};
use crate::domain::pkce::CodeChallenge;
use crate::domain::scope::Scope;
use crate::domain::secret::{self, SecretHash};

/// How an authorization error reaches the user.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI is not trusted: show an error page, never redirect.
    Page(OAuthError),
    /// Redirect the browser to this URL, which carries the error for the client.
    Redirect(String),
}

impl From<OAuthError> for AuthorizeError {
    fn from(e: OAuthError) -> Self {
        Self::Page(e)
    }
}

impl From<db::DbError> for AuthorizeError {
    fn from(e: db::DbError) -> Self {
        Self::Page(e.into())
    }
}

impl From<diesel::result::Error> for AuthorizeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Page(e.into())
    }
}

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    pub fn parse(raw: Option<&str>) -> Result<Self, &'static str> {
        let mut prompt = Self::default();
        for value in raw.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err("prompt has an unsupported value"),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("prompt=none cannot be combined with other values");
        }
        Ok(prompt)
    }

    pub fn to_stored(self) -> Option<String> {
        let values: Vec<&str> = [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, v)| *v)
        .collect();
        (!values.is_empty()).then(|| values.join(" "))
    }
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

/// Where the browser goes next.
pub enum Next {
    /// Back to the client, with a code.
    Redirect(String),
    /// To the login page for the stored request with this id.
    Login(String),
    /// To the consent page for the stored request with this id.
    Consent(String),
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The redirect carries a live authorization code: never print it.
        match self {
            Self::Redirect(_) => f.write_str("Redirect(..)"),
            Self::Login(_) => f.write_str("Login(..)"),
            Self::Consent(_) => f.write_str("Consent(..)"),
        }
    }
}

/// `redirect_uri` with `params` appended to its query.
pub fn redirect_with(redirect_uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let present: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|(name, value)| value.map(|v| (*name, v)))
        .collect();
    if present.is_empty() {
        return redirect_uri.to_owned();
    }
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(present);
            url.to_string()
        }
        // Registered URIs always parse; keep the original rather than fail.
        Err(_) => redirect_uri.to_owned(),
    }
}

/// The error redirect (RFC 6749 §4.1.2.1, RFC 9207).
pub fn error_redirect(
    settings: &Settings,
    redirect_uri: &str,
    state: Option<&str>,
    error: &OAuthError,
) -> String {
    redirect_with(
        redirect_uri,
        &[
            ("error", Some(error.code.as_str())),
            ("error_description", Some(&error.description)),
            ("state", state),
            ("iss", Some(&settings.issuer)),
        ],
    )
}

pub fn load_client(conn: &mut DbConnection, client_id: &str) -> Result<Option<Client>, OAuthError> {
    let row = db::clients::find(conn, client_id)?;
    row.map(Client::try_from)
        .transpose()
        .map_err(|e| OAuthError::internal("client lookup", &e))
}

/// Runs the checks, in order.
pub fn validate(
    conn: &mut DbConnection,
    settings: &Settings,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizeError> {
    // 1. client_id: known and enabled. Errors are pages from here…
    let client_id = params.require("client_id")?;
    let client = load_client(conn, client_id)?
        .filter(|c| !c.disabled)
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "The client is unknown or disabled",
            )
        })?;
    // 2. redirect_uri: registered, compared as exact strings (RFC 9700 §2.1).
    // Required, as OIDC Core §3.1.2.1 says, even when only one is registered: the token request
    // must then repeat it (RFC 6749 §4.1.3).
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "The redirect_uri is not registered for this client",
            )
            .into())
        }
        None => {
            return Err(
                OAuthError::invalid_request("Missing required parameter `redirect_uri`").into(),
            )
        }
    };
    // …and redirects to the client from here on.
    let state = params.get("state").map(str::to_owned);
    let fail = |code: ErrorCode, description: &'static str| {
        AuthorizeError::Redirect(error_redirect(
            settings,
            &redirect_uri,
            state.as_deref(),
            &OAuthError::new(code, description),
        ))
    };
    // 3. Request objects are not supported (OIDC Core §6).
    if params.get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "Request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    // 4. response_type=code only.
    match params.get("response_type") {
        None => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "Missing required parameter `response_type`",
            ))
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "Only response_type=code is supported",
            ))
        }
    }
    // 5. The client must be allowed the authorization_code grant.
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "The client is not allowed the authorization_code grant",
        ));
    }
    // 6. response_mode: query only.
    if !matches!(params.get("response_mode"), None | Some("query")) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "Only response_mode=query is supported",
        ));
    }
    // 7. scope: well-formed and within the client's registration.
    let scope = match params.get("scope").map(Scope::parse) {
        None => client.scope.clone(),
        Some(Err(_)) => return Err(fail(ErrorCode::InvalidScope, "The scope is malformed")),
        Some(Ok(scope)) if scope.is_subset_of(&client.scope) => scope,
        Some(Ok(_)) => {
            return Err(fail(
                ErrorCode::InvalidScope,
                "The requested scope exceeds the scope registered for the client",
            ))
        }
    };
    // 8. PKCE: S256 only; required for public clients.
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Some(challenge), method) => match CodeChallenge::parse(challenge, method) {
            Ok(c) => Some(c),
            Err(reason) => return Err(fail(ErrorCode::InvalidRequest, reason)),
        },
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ))
        }
        (None, None) if client.is_public() => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "Public clients must use PKCE (code_challenge with S256)",
            ))
        }
        (None, None) => None,
    };
    // 9. prompt, max_age, nonce, login_hint.
    let prompt = Prompt::parse(params.get("prompt"))
        .map_err(|reason| fail(ErrorCode::InvalidRequest, reason))?;
    let max_age = match params.get("max_age").map(str::parse::<i64>) {
        None => None,
        Some(Ok(age)) if age >= 0 => Some(age),
        Some(_) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            ))
        }
    };
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return Err(fail(ErrorCode::InvalidRequest, "nonce is too long"));
    }
    let login_hint = params
        .get("login_hint")
        .map(|h| h.chars().take(256).collect());
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scope,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
    })
}

/// Decides what happens to a validated request for a browser with `session` (if any).
pub fn decide(
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
    request: AuthorizationRequest,
    session: Option<&Session>,
    browser_hash: &[u8],
) -> Result<Next, AuthorizeError> {
    let fresh_enough = |s: &Session| request.max_age.is_none_or(|age| now - s.auth_time <= age);
    let session = session.filter(|s| !request.prompt.login && fresh_enough(s));
    let Some(session) = session else {
        if request.prompt.none {
            return Err(redirect_error(
                settings,
                &request,
                ErrorCode::LoginRequired,
                "The user is not logged in",
            ));
        }
        let id = pending::store(conn, settings, now, &request, browser_hash, None)?;
        return Ok(Next::Login(id));
    };
    continue_as(conn, settings, now, request, session, browser_hash)
}

/// After authentication: ask for consent when needed, else issue the code.
pub fn continue_as(
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
    request: AuthorizationRequest,
    session: &Session,
    browser_hash: &[u8],
) -> Result<Next, AuthorizeError> {
    if !has_consent(conn, &request, &session.user.id)? {
        if request.prompt.none {
            return Err(redirect_error(
                settings,
                &request,
                ErrorCode::ConsentRequired,
                "The user has not consented",
            ));
        }
        let id = pending::store(conn, settings, now, &request, browser_hash, Some(session))?;
        return Ok(Next::Consent(id));
    }
    issue_code(conn, settings, now, &request, session).map(Next::Redirect)
}

fn has_consent(
    conn: &mut DbConnection,
    request: &AuthorizationRequest,
    user_id: &str,
) -> Result<bool, AuthorizeError> {
    if request.client.first_party {
        return Ok(true);
    }
    if request.prompt.consent {
        return Ok(false);
    }
    let Some(consent) = db::consents::find(conn, user_id, &request.client.id)? else {
        return Ok(false);
    };
    Ok(Scope::parse(&consent.scope).is_ok_and(|granted| request.scope.is_subset_of(&granted)))
}

pub fn redirect_error(
    settings: &Settings,
    request: &AuthorizationRequest,
    code: ErrorCode,
    description: &'static str,
) -> AuthorizeError {
    AuthorizeError::Redirect(error_redirect(
        settings,
        &request.redirect_uri,
        request.state.as_deref(),
        &OAuthError::new(code, description),
    ))
}

/// Issues a single-use code bound to everything the token request must repeat or prove, and
/// returns the redirect that carries it (RFC 6749 §4.1.2).
pub fn issue_code(
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<String, AuthorizeError> {
    let code = secret::generate();
    db::codes::delete_expired(conn, now - 86_400)?;
    db::codes::insert(
        conn,
        &AuthorizationCodeRow {
            code_hash: SecretHash::of(&code).as_bytes().to_vec(),
            family_id: uuid::Uuid::new_v4().to_string(),
            client_id: request.client.id.clone(),
            user_id: session.user.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.to_string(),
            nonce: request.nonce.clone(),
            code_challenge: request
                .code_challenge
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            auth_time: session.auth_time,
            sid: Some(session.sid.clone()),
            created_at: now,
            expires_at: now + settings.tokens.authorization_code_ttl_secs,
            consumed_at: None,
            access_token_jti: None,
            access_token_expires_at: None,
        },
    )?;
    tracing::info!(target: "audit", event = "code_issued", client_id = %request.client.id, sub = %session.user.id);
    Ok(redirect_with(
        &request.redirect_uri,
        &[
            ("code", Some(code.expose_secret())),
            ("state", request.state.as_deref()),
            ("iss", Some(&settings.issuer)),
        ],
    ))
}
