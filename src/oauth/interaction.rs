//! The login and consent interactions (DESIGN.md §2): a stored authorization request, bound to the
//! browser that started it by a cookie, with a fresh CSRF token per rendered form. Outside any
//! spec; what matters is that a form cannot be replayed from another browser or another request.

use secrecy::SecretString;

use super::authorize::{self, AuthorizationRequest, AuthorizeError, Next};
use super::error::{ErrorCode, OAuthError};
use super::session::{self, Session};
use crate::config::Settings;
use crate::db::models::{AuthorizationRequestRow, ConsentRow};
use crate::db::{self, DbConnection};
use crate::domain::factor::Amr;
use crate::domain::scope::Scope;
use crate::domain::secret::{self, SecretHash};
use crate::domain::user::User;
use crate::random::Random;

/// Why a login or consent form cannot go on; shown as an error page.
#[derive(Debug)]
pub enum InteractionError {
    /// No request named at all: the page was opened directly, not by an application.
    NoRequest,
    /// Unknown or expired request: start again from the application.
    Expired,
    /// Wrong browser or a missing or stale CSRF token.
    Forbidden,
    Failed(AuthorizeError),
}

impl From<OAuthError> for InteractionError {
    fn from(e: OAuthError) -> Self {
        Self::Failed(AuthorizeError::Page(e))
    }
}

impl From<AuthorizeError> for InteractionError {
    fn from(e: AuthorizeError) -> Self {
        Self::Failed(e)
    }
}

impl From<db::DbError> for InteractionError {
    fn from(e: db::DbError) -> Self {
        OAuthError::from(e).into()
    }
}

impl From<diesel::result::Error> for InteractionError {
    fn from(e: diesel::result::Error) -> Self {
        OAuthError::from(e).into()
    }
}

/// A stored request, checked to belong to this browser.
#[derive(Debug)]
pub struct Pending {
    pub row: AuthorizationRequestRow,
    pub request: AuthorizationRequest,
}

/// Constant-time check of a presented value against a stored SHA-256.
fn same_hash(stored: &[u8], presented: &str) -> bool {
    SecretHash::from_bytes(stored).is_some_and(|h| h.matches(presented))
}

/// Loads the stored request `id` for the browser holding `browser` (the interaction cookie).
pub fn load(
    conn: &mut DbConnection,
    id: Option<&str>,
    browser: Option<&str>,
    now: i64,
) -> Result<Pending, InteractionError> {
    let id = id.ok_or(InteractionError::NoRequest)?;
    let row = db::requests::find(conn, id)?.ok_or(InteractionError::Expired)?;
    if !browser.is_some_and(|b| same_hash(&row.browser_hash, b)) {
        return Err(InteractionError::Forbidden);
    }
    let request = super::pending::restore(conn, &row, now)?.ok_or(InteractionError::Expired)?;
    Ok(Pending { row, request })
}

/// A fresh CSRF token for the form about to be rendered; older ones stop working.
pub fn new_csrf(
    conn: &mut DbConnection,
    random: &dyn Random,
    pending: &Pending,
) -> Result<SecretString, InteractionError> {
    let token = secret::generate(random);
    db::requests::set_csrf(conn, &pending.row.id, SecretHash::of(&token).as_bytes())?;
    Ok(token)
}

/// Checks the CSRF token of a form of this request.
pub fn check_csrf(
    row: &AuthorizationRequestRow,
    presented: Option<&str>,
) -> Result<(), InteractionError> {
    match (&row.csrf_hash, presented) {
        (Some(stored), Some(token)) if same_hash(stored, token) => Ok(()),
        _ => Err(InteractionError::Forbidden),
    }
}

/// First half of a login POST: the request, its CSRF token, and the user (if the name exists).
pub fn login_prepare(
    conn: &mut DbConnection,
    id: Option<&str>,
    browser: Option<&str>,
    csrf: Option<&str>,
    username: &str,
    by_email: bool,
    now: i64,
) -> Result<(Pending, Option<User>), InteractionError> {
    let pending = load(conn, id, browser, now)?;
    check_csrf(&pending.row, csrf)?;
    let user = super::credentials::find_user(conn, username, by_email)?;
    Ok((pending, user))
}

/// Second half of a successful login (by `amr`): a new session, then consent or the code.
pub fn login_complete(
    conn: &mut DbConnection,
    settings: &Settings,
    random: &dyn Random,
    now: i64,
    pending: Pending,
    signed_in: (&User, &Amr),
) -> Result<(SecretString, Next), InteractionError> {
    let (user, amr) = signed_in;
    let (cookie, session) = session::create(conn, settings, random, user, amr, now)?;
    // Single use: of two submissions of one form, only the first gets past this line.
    if db::requests::delete(conn, &pending.row.id)? != 1 {
        return Err(InteractionError::Expired);
    }
    tracing::info!(target: "audit", event = "login", sub = %user.id, client_id = %pending.request.client.id, amr = %amr.to_stored());
    let next = authorize::continue_as(
        conn,
        settings,
        random,
        now,
        pending.request,
        &session,
        &pending.row.browser_hash,
    )?;
    Ok((cookie, next))
}

/// Loads a request waiting for consent; it must belong to the current session.
pub fn consent_load(
    conn: &mut DbConnection,
    id: Option<&str>,
    browser: Option<&str>,
    session: Option<&Session>,
    now: i64,
) -> Result<Pending, InteractionError> {
    let pending = load(conn, id, browser, now)?;
    let owned = session.is_some_and(|s| {
        pending.row.user_id.as_deref() == Some(s.user.id.as_str())
            && pending.row.sid.as_deref() == Some(s.sid.as_str())
    });
    if !owned {
        return Err(InteractionError::Forbidden);
    }
    Ok(pending)
}

/// What the consent form sent back: its CSRF token and the person's choice.
pub struct ConsentAnswer<'a> {
    pub csrf: Option<&'a str>,
    pub approve: bool,
}

/// The consent answer: approval is remembered and the code issued; denial is `access_denied`.
pub fn consent_decide(
    conn: &mut DbConnection,
    settings: &Settings,
    random: &dyn Random,
    now: i64,
    pending: Pending,
    session: &Session,
    answer: ConsentAnswer<'_>,
) -> Result<String, InteractionError> {
    check_csrf(&pending.row, answer.csrf)?;
    // Single use: of two submissions of one form, only the first gets past this line.
    if db::requests::delete(conn, &pending.row.id)? != 1 {
        return Err(InteractionError::Expired);
    }
    let request = pending.request;
    if !answer.approve {
        tracing::info!(target: "audit", event = "consent_denied", sub = %session.user.id, client_id = %request.client.id);
        let denied = OAuthError::new(ErrorCode::AccessDenied, "The user denied the request");
        return Ok(authorize::error_redirect(
            settings,
            &request.redirect_uri,
            request.state.as_deref(),
            &denied,
        ));
    }
    let mut granted: Vec<String> = db::consents::find(conn, &session.user.id, &request.client.id)?
        .and_then(|c| Scope::parse(&c.scope).ok())
        .map(|s| s.iter().map(str::to_owned).collect())
        .unwrap_or_default();
    granted.extend(request.scope.iter().map(str::to_owned));
    let granted = Scope::parse(&granted.join(" ")).unwrap_or_else(|_| request.scope.clone());
    db::consents::upsert(
        conn,
        &ConsentRow {
            user_id: session.user.id.clone(),
            client_id: request.client.id.clone(),
            scope: granted.to_string(),
            created_at: now,
        },
    )?;
    tracing::info!(target: "audit", event = "consent_given", sub = %session.user.id, client_id = %request.client.id);
    Ok(authorize::issue_code(
        conn, settings, random, now, &request, session,
    )?)
}

/// Plain-language lines for the consent page.
pub fn describe_scope(scope: &Scope) -> Vec<String> {
    scope
        .iter()
        .map(|token| match token {
            "openid" => "Know who you are (a stable identifier for your account)".to_owned(),
            "profile" => "See your name and username".to_owned(),
            "email" => "See your email address".to_owned(),
            "offline_access" => "Keep access while you are not using it".to_owned(),
            "groups" => "See which groups you belong to".to_owned(),
            other => format!("Use the permission “{other}”"),
        })
        .collect()
}

/// Hashes the interaction cookie value for storage on a request.
pub fn browser_hash(token: &SecretString) -> Vec<u8> {
    SecretHash::of(token).as_bytes().to_vec()
}
