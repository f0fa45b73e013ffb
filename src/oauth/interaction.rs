//! The login and consent interactions (DESIGN.md §2): a sealed authorization request
//! (`oauth::pending`), bound to the browser that started it by a cookie, its forms carrying a
//! CSRF token bound to both. Outside any spec; what matters is that a form cannot be replayed
//! from another browser, for another request, or after it was used.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::authorize::{self, AuthorizationRequest, AuthorizeError, Context, Next};
use super::error::{ErrorCode, OAuthError};
use super::pending::{self, Opened};
use super::session::{self, Session, StartedFrom};
use crate::audit::{self, Actor, Event, Kind};
use crate::db::models::ConsentRow;
use crate::db::{self, DbConnection};
use crate::domain::factor::Amr;
use crate::domain::scope::Scope;
use crate::domain::secret::SecretHash;
use crate::domain::user::User;

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

/// A sealed request, checked to belong to this browser, unexpired and not used up, with the CSRF
/// token its forms carry.
#[derive(Debug)]
pub struct Pending {
    pub opened: Opened,
    pub request: AuthorizationRequest,
    pub csrf: SecretString,
}

/// The CSRF token of the forms of one pending request in one browser: a hash of the browser's
/// binding cookie (a secret only that browser holds) and the request's random id, so a token
/// works for no other request and can be made by no one else.
fn csrf_token(browser: &str, id: &str) -> SecretString {
    let hash = SecretHash::of_str(&format!("latchkey form csrf\0{browser}\0{id}"));
    SecretString::from(URL_SAFE_NO_PAD.encode(hash.as_bytes()))
}

/// Opens the sealed request `token` for the browser holding `browser` (the interaction cookie).
pub fn load(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    token: Option<&str>,
    browser: Option<&str>,
) -> Result<Pending, InteractionError> {
    let token = token.ok_or(InteractionError::NoRequest)?;
    let opened = pending::open(ctx.master_key, token).ok_or(InteractionError::Expired)?;
    let browser = browser
        .filter(|b| opened.belongs_to(b))
        .ok_or(InteractionError::Forbidden)?;
    if opened.expires_at() <= ctx.now || opened.is_used(conn)? {
        return Err(InteractionError::Expired);
    }
    let request = pending::restore(conn, &opened, ctx.now)?.ok_or(InteractionError::Expired)?;
    let csrf = csrf_token(browser, &opened.id);
    Ok(Pending {
        opened,
        request,
        csrf,
    })
}

/// Checks the CSRF token of a form of this request.
pub fn check_csrf(pending: &Pending, presented: Option<&str>) -> Result<(), InteractionError> {
    let expected = pending.csrf.expose_secret().as_bytes();
    match presented {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected)) => Ok(()),
        _ => Err(InteractionError::Forbidden),
    }
}

/// Marks the request used up: of two submissions of one form, only the first gets past this.
fn use_up(conn: &mut DbConnection, pending: &Pending) -> Result<(), InteractionError> {
    if pending.opened.mark_used(conn)? {
        Ok(())
    } else {
        Err(InteractionError::Expired)
    }
}

/// Ends a pending login that had its share of failed tries: the person starts again.
pub fn exhausted(conn: &mut DbConnection, pending: &Pending) -> Result<(), db::DbError> {
    pending.opened.mark_used(conn).map(drop)
}

/// First half of a login POST: the request, its CSRF token, and the user (if the name exists).
pub fn login_prepare(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    token: Option<&str>,
    browser: Option<&str>,
    csrf: Option<&str>,
    username: &str,
    by_email: bool,
) -> Result<(Pending, Option<User>), InteractionError> {
    let pending = load(conn, ctx, token, browser)?;
    check_csrf(&pending, csrf)?;
    let user = super::credentials::find_user(conn, username, by_email)?;
    Ok((pending, user))
}

/// Second half of a successful login (by `amr`, from a browser): a new session, then consent
/// or the code.
pub fn login_complete(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    pending: Pending,
    signed_in: (&User, &Amr, &StartedFrom),
) -> Result<(SecretString, Next), InteractionError> {
    let user = signed_in.0;
    use_up(conn, &pending)?;
    let (cookie, session) = session::create(conn, ctx.settings, ctx.random, signed_in, ctx.now)?;
    let login = Event::new(Kind::LoginSucceeded, Actor::User(user.id.clone()))
        .subject(&user.id)
        .client(&pending.request.client.id)
        .account(&user.username);
    audit::record(conn, ctx.settings.audit.store, ctx.now, &login)?;
    let browser_hash = pending.opened.browser_hash();
    let next = authorize::continue_as(conn, ctx, pending.request, &session, &browser_hash)?;
    Ok((cookie, next))
}

/// Loads a request waiting for consent; it must belong to the current session.
pub fn consent_load(
    conn: &mut DbConnection,
    ctx: &Context<'_>,
    token: Option<&str>,
    browser: Option<&str>,
    session: Option<&Session>,
) -> Result<Pending, InteractionError> {
    let pending = load(conn, ctx, token, browser)?;
    if !session.is_some_and(|s| pending.opened.belongs_to_session(s)) {
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
    ctx: &Context<'_>,
    pending: Pending,
    session: &Session,
    answer: ConsentAnswer<'_>,
) -> Result<String, InteractionError> {
    check_csrf(&pending, answer.csrf)?;
    use_up(conn, &pending)?;
    let request = pending.request;
    if !answer.approve {
        let denied = Event::new(Kind::ConsentDenied, Actor::User(session.user.id.clone()))
            .subject(&session.user.id)
            .client(&request.client.id);
        audit::record(conn, ctx.settings.audit.store, ctx.now, &denied)?;
        let denied = OAuthError::new(ErrorCode::AccessDenied, "The user denied the request");
        return Ok(authorize::error_redirect(
            ctx.settings,
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
            created_at: ctx.now,
        },
    )?;
    let given = Event::new(Kind::ConsentGiven, Actor::User(session.user.id.clone()))
        .subject(&session.user.id)
        .client(&request.client.id);
    audit::record(conn, ctx.settings.audit.store, ctx.now, &given)?;
    Ok(authorize::issue_code(conn, ctx, &request, session)?)
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
