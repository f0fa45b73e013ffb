//! The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2) as an ordered list of
//! small checks ([`checks`]). Until `client_id` and `redirect_uri` are validated, errors render an
//! error page and never redirect; after, they redirect to the client with `error`, `state` and
//! `iss` (RFC 9207). Then the request either gets a code at once (live session, consent given) or
//! is sealed (`oauth::pending`) while the browser visits the login or consent page.

pub mod checks;

use secrecy::ExposeSecret;
use url::Url;

use super::claims::Entitlement;
use super::error::{ErrorCode, OAuthError};
use super::params::Params;
use super::pending;
pub use super::request::{AuthorizationRequest, Context, Prompt};
use super::session::Session;
use crate::audit::{self, Actor, Event, Kind};
use crate::config::Settings;
use crate::db::models::AuthorizationCodeRow;
use crate::db::{self, DbConnection};
use crate::domain::scope::Scope;
use crate::domain::secret::{self, SecretHash};
use checks::Refusal;

/// How an authorization error reaches the user: the two channels of RFC 6749 §4.1.2.1.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or redirect URI is not trusted: show an error page, never redirect.
    Page(OAuthError),
    /// Redirect the browser back to the client's trusted `redirect_uri` with `error` and `state`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

impl AuthorizeError {
    /// A refusal sent back to the client of `request`.
    pub fn back_to(
        request: &AuthorizationRequest,
        code: ErrorCode,
        description: &'static str,
    ) -> Self {
        Self::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            error: OAuthError::new(code, description),
        }
    }
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

/// Where the browser goes next.
pub enum Next {
    /// Back to the client, with a code.
    Redirect(String),
    /// To the login page, carrying this sealed request.
    Login(String),
    /// To the consent page, carrying this sealed request.
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
            ("iss", Some(settings.issuer.as_str())),
        ],
    )
}

/// Runs the checks in order: the two that make the redirect URI trustworthy, then those whose
/// refusal goes back to the client.
pub fn validate(
    conn: &mut DbConnection,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let client = checks::client(conn, params)?;
    let redirect_uri = checks::redirect_uri(&client, params)?;
    let state = params.get("state").map(str::to_owned);
    let checked = (|| -> Result<AuthorizationRequest, Refusal> {
        checks::no_request_object(params)?;
        checks::response_type(params)?;
        checks::grant_allowed(&client)?;
        checks::response_mode(params)?;
        let resources = checks::resource(params, &client)?;
        Ok(AuthorizationRequest {
            scope: checks::scope(params, &client, &resources)?,
            resources,
            code_challenge: checks::pkce(params, &client)?,
            prompt: checks::prompt(params)?,
            max_age: checks::max_age(params)?,
            nonce: checks::nonce(params)?,
            acr_values: checks::acr_values(params)?,
            login_hint: checks::login_hint(params),
            client: client.clone(),
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
        })
    })();
    checked.map_err(|(code, description)| AuthorizeError::Redirect {
        redirect_uri,
        state,
        error: OAuthError::new(code, description),
    })
}

/// Decides what happens to a validated request for a browser with `session` (if any).
pub fn decide(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    request: AuthorizationRequest,
    session: Option<&Session>,
    browser_hash: &[u8],
) -> Result<Next, AuthorizeError> {
    let now = ctx.now;
    let strong_enough = match session {
        Some(s) if !s.amr.is_multi_factor() => {
            !super::mfa::policy::wants_second_factor(conn, ctx.settings, &request)?
        }
        _ => true,
    };
    // A session too old for max_age, or weaker than the client or acr_values want, signs in
    // again (step-up).
    let session = session.filter(|s| {
        strong_enough && checks::session_is_fresh(s.auth_time, request.prompt, request.max_age, now)
    });
    let Some(session) = session else {
        if request.prompt.none {
            return Err(AuthorizeError::back_to(
                &request,
                ErrorCode::LoginRequired,
                "The user is not logged in",
            ));
        }
        // No session: nothing is written, the request travels sealed.
        let sealed = seal_or_refuse(ctx, &request, browser_hash, None)?;
        return Ok(Next::Login(sealed));
    };
    continue_as(conn, ctx, request, session, browser_hash)
}

/// After authentication: ask for consent when needed, else issue the code.
pub fn continue_as(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    mut request: AuthorizationRequest,
    session: &Session,
    browser_hash: &[u8],
) -> Result<Next, AuthorizeError> {
    // A scope restricted to groups the person is not in is not granted, nor asked on consent.
    let entitlement = Entitlement::load(conn, &session.user.id, &request.scope)?;
    request.scope = entitlement.narrow(&request.scope);
    if !has_consent(conn, &request, &session.user.id)? {
        if request.prompt.none {
            return Err(AuthorizeError::back_to(
                &request,
                ErrorCode::ConsentRequired,
                "The user has not consented",
            ));
        }
        let sealed = seal_or_refuse(ctx, &request, browser_hash, Some(session))?;
        return Ok(Next::Consent(sealed));
    }
    issue_code(conn, ctx, &request, session).map(Next::Redirect)
}

/// Seals `request` for the next page; a request too large to seal goes back to the client.
fn seal_or_refuse(
    ctx: &Context<'_>,
    request: &AuthorizationRequest,
    browser_hash: &[u8],
    session: Option<&Session>,
) -> Result<String, AuthorizeError> {
    pending::seal(ctx, request, browser_hash, session).map_err(|e| match e.code {
        ErrorCode::InvalidRequest => AuthorizeError::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            error: e,
        },
        _ => AuthorizeError::Page(e),
    })
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

/// Issues a single-use code bound to everything the token request must repeat or prove, and
/// returns the redirect that carries it (RFC 6749 §4.1.2).
pub fn issue_code(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<String, AuthorizeError> {
    let (settings, random, now) = (ctx.settings, ctx.random, ctx.now);
    let code = secret::generate(random);
    db::codes::insert(
        conn,
        &AuthorizationCodeRow {
            code_hash: SecretHash::of(&code).as_bytes().to_vec(),
            family_id: random.uuid(),
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
            resources: crate::domain::resource::join(&request.resources),
            amr: Some(session.amr.to_stored()),
        },
    )?;
    if request.client.expires_when_unused() {
        // A person signed in to it: the client is kept (see `registration::open`).
        db::clients::mark_used(conn, &request.client.id, now)?;
    }
    let issued = Event::new(Kind::CodeIssued, Actor::User(session.user.id.clone()))
        .subject(&session.user.id)
        .client(&request.client.id);
    audit::record(conn, settings.audit.store, now, &issued)?;
    Ok(redirect_with(
        &request.redirect_uri,
        &[
            ("code", Some(code.expose_secret())),
            ("state", request.state.as_deref()),
            ("iss", Some(settings.issuer.as_str())),
        ],
    ))
}
