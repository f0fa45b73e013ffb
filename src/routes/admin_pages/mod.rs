//! The admin pages (`/admin`): server-rendered, no script, same security headers as the login
//! page. People sign in through Latchkey's own login page (the built-in `latchkey-admin-console`
//! client) and need the admin role. Every form carries a CSRF token derived from the browser's
//! session (so a token planted by another site is worth nothing), every state-changing request
//! must come from Latchkey's own origin (`Origin`, else `Referer`), and every action has its own
//! route. The pages call the same `admin::` operations as the CLI and the admin API.
//! Handlers return [`PageError`] for whatever stands in for the page, so they use `?`.

pub mod audit;
pub mod clients;
pub mod groups;
pub(crate) mod guard;
pub mod password_link;
pub mod resources;
pub mod users;

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use self::guard::{csrf_token, same_origin, with_form_referrer_policy};
use super::pages::{self, SESSION};
use crate::admin::clients::{is_built_in, ClientView, CONSOLE_ID};
use crate::admin::users::UserView;
use crate::admin::{self, AdminError};
use crate::audit::{Actor, By};
use crate::db::{self, DbError};
use crate::domain::secret::{self, SecretHash};
use crate::oauth::params::Params;
use crate::oauth::session::{self, Session};
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::views::{self, AdminForms, AdminPage, Brand, Onward};

/// What an admin page shows instead of itself: the way to the login page, or an error page with
/// a link back to the administration.
#[derive(Debug)]
pub enum PageError {
    /// No signed-in browser: off to the login page of the console client.
    SignIn(String),
    /// An error page.
    Page(Box<ErrorShown>),
}

/// What an admin error page shows.
#[derive(Debug)]
pub struct ErrorShown {
    brand: Brand,
    status: StatusCode,
    title: &'static str,
    message: String,
    onward: Option<Onward>,
}

impl PageError {
    /// An error page that leads back to the administration.
    fn page(state: &AppState, status: StatusCode, title: &'static str, message: &str) -> Self {
        Self::Page(Box::new(ErrorShown {
            brand: state.brand.clone(),
            status,
            title,
            message: message.to_owned(),
            onward: Some(Onward {
                href: "/admin".into(),
                label: "Back to administration".into(),
            }),
        }))
    }

    fn not_found(state: &AppState, what: &str) -> Self {
        Self::page(
            state,
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("No such {what}."),
        )
    }

    /// An operation failed for a reason the admin cannot fix on the page: logged with its cause
    /// chain, shown without library text.
    fn failed(state: &AppState, error: AdminError) -> Self {
        match error {
            AdminError::NotFound(what) => Self::not_found(state, &what),
            AdminError::Db(e) if e.is_unavailable() => Self::page(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy, retry",
                "The database is not reachable right now. Try again in a few seconds.",
            ),
            other => {
                tracing::error!(
                    error = &other as &dyn std::error::Error,
                    "admin page failed"
                );
                Self::page(
                    state,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The change could not be made. Try again; the server log has the details.",
                )
            }
        }
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignIn(_) => f.write_str("sign-in required"),
            Self::Page(shown) => f.write_str(shown.title),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(_) => StatusCode::FOUND,
            Self::Page(shown) => shown.status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn(to) => pages::redirect(to, false),
            Self::Page(shown) => pages::error_page_onward(
                &shown.brand,
                shown.status,
                shown.title,
                &shown.message,
                None,
                shown.onward.clone(),
            ),
        }
    }
}

/// What a handler answers: the page, or what stands in for it.
pub type PageResult = Result<HttpResponse, PageError>;

/// Fixed notices, chosen by key, so no text from the URL is ever shown.
fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "user-created" => "User created.",
        "user-disabled" => "User disabled; their sessions and refresh tokens were revoked.",
        "user-enabled" => "User enabled.",
        "admin-granted" => "The user is now an administrator.",
        "admin-revoked" => "The user is no longer an administrator.",
        "password-set" => "Password changed.",
        "user-unlocked" => "User unlocked; failed login attempts forgotten.",
        "client-deleted" => "Client deleted.",
        "client-saved" => "Client saved.",
        "mfa-reset" => "Second factors reset: every factor and recovery code was removed.",
        _ => return None,
    })
}

/// The login page of the built-in console client, with a fresh PKCE challenge.
fn sign_in(state: &AppState) -> PageError {
    PageError::SignIn(sign_in_url(state, CONSOLE_ID, "/admin/callback"))
}

/// The authorization URL of the built-in client `client_id`, coming back to `callback` (a path).
pub(crate) fn sign_in_url(state: &AppState, client_id: &str, callback: &str) -> String {
    let verifier = secret::generate(&*state.random);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()));
    let callback: String = url::form_urlencoded::byte_serialize(
        format!("{}{callback}", state.settings.base_url()).as_bytes(),
    )
    .collect();
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={callback}&scope=openid&code_challenge={challenge}&code_challenge_method=S256"
    )
}

/// The signed-in administrator.
async fn administrator(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Session, PageError> {
    let cookie = pages::read_cookie(req, state, SESSION);
    let now = state.clock.now();
    let shared = state.clone();
    let session = db::run(&state.pool, move |conn| {
        session::current(conn, &shared.settings, cookie.as_deref(), now)
    })
    .await
    .map_err(|e: OAuthError| {
        PageError::page(
            state,
            e.status_code(),
            "Something went wrong",
            &e.description,
        )
    })?;
    match session {
        None => Err(sign_in(state)),
        Some(s) if !s.user.is_admin => Err(PageError::Page(Box::new(ErrorShown {
            brand: state.brand.clone(),
            status: StatusCode::FORBIDDEN,
            title: "Administrators only",
            message: "Your account does not have the admin role.".into(),
            onward: None,
        }))),
        // `[admin] require_mfa`: a session without a second factor signs in again through the
        // console client, whose policy then asks for one (or its enrolment).
        Some(s) if state.settings.admin.require_mfa && !s.amr.is_multi_factor() => {
            Err(sign_in(state))
        }
        Some(s) => Ok(s),
    }
}

/// `GET /admin/callback`: the code proves the login finished; it is consumed and not exchanged.
pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    consume_code(&req, &state, CONSOLE_ID).await;
    pages::redirect("/admin", false)
}

/// Consumes (never exchanges) the code of the built-in client `client_id` a sign-in came back
/// with.
pub(crate) async fn consume_code(req: &HttpRequest, state: &AppState, client_id: &'static str) {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    if let Some(code) = params.get("code") {
        let hash = SecretHash::of_str(code).as_bytes().to_vec();
        let now = state.clock.now();
        let _ = db::run(&state.pool, move |conn| {
            if db::codes::find(conn, &hash)?.is_some_and(|c| c.client_id == client_id) {
                db::codes::consume(conn, &hash, now)?;
            }
            Ok::<_, DbError>(())
        })
        .await;
    }
}

/// `GET /admin[?q=…][&notice=…]`: users and clients, filtered by `q` (a piece of a username,
/// email, client name or client id).
pub async fn index(req: HttpRequest, state: web::Data<AppState>) -> PageResult {
    let session = administrator(&req, &state).await?;
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let view = View {
        status: StatusCode::OK,
        notice: notice(params.get("notice")),
        error: None,
        forms: AdminForms::default(),
        query: params.get("q").map(str::trim).unwrap_or("").to_owned(),
    };
    render(&req, &state, &session, view).await
}

/// How the main admin page is shown this time.
struct View {
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
    /// What the create forms hold (kept after a refused create).
    forms: AdminForms,
    query: String,
}

impl View {
    /// The page again, with `error` and the forms as they were sent.
    fn refused(error: String, forms: AdminForms) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            notice: None,
            error: Some(error),
            forms,
            query: String::new(),
        }
    }
}

async fn load(
    state: &AppState,
    query: String,
) -> Result<(Vec<UserView>, Vec<ClientView>), AdminError> {
    db::run(&state.pool, move |conn| {
        let filter = Some(query.as_str()).filter(|q| !q.is_empty());
        let (users, _) = admin::users::page(conn, filter, 0, 200)?;
        let wanted = query.to_lowercase();
        let clients = admin::clients::list(conn)?
            .into_iter()
            .filter(|c| !is_built_in(&c.client_id))
            .filter(|c| c.name.to_lowercase().contains(&wanted) || c.client_id.contains(&wanted))
            .collect();
        Ok((users, clients))
    })
    .await
}

async fn render(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &Session,
    view: View,
) -> PageResult {
    let (users, clients) = load(state, view.query.clone())
        .await
        .map_err(|e| PageError::failed(state, e))?;
    let csrf = csrf_token(req, state);
    let error = view.error.as_deref().map(views::spans);
    let response = pages::render(
        view.status,
        &AdminPage {
            brand: &state.brand,
            admin_id: &session.user.id,
            admin_name: &session.user.username,
            csrf: csrf.expose_secret(),
            users: &users,
            clients: &clients,
            notice: view.notice,
            error,
            forms: &view.forms,
            query: &view.query,
        },
    );
    Ok(with_form_referrer_policy(response))
}

/// A page of its own (client edit, delete confirmation) with this browser's CSRF token.
fn render_with_csrf(
    req: &HttpRequest,
    state: &AppState,
    render: impl FnOnce(&str) -> HttpResponse,
) -> HttpResponse {
    with_form_referrer_policy(render(csrf_token(req, state).expose_secret()))
}

/// The signed-in administrator as the actor of an admin operation, now.
fn by(state: &AppState, session: &Session) -> By {
    let actor = Actor::User(session.user.id.clone());
    By::new(actor, state.settings.audit.store, state.clock.now())
}

/// A checked admin form: the administrator and the form's fields.
async fn form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
) -> Result<(Session, Params), PageError> {
    let session = administrator(req, state).await?;
    let params = super::read_form(req, payload, state.settings.server.max_body_bytes)
        .await
        .map_err(|e| {
            PageError::page(
                state,
                e.status_code(),
                "This form cannot be accepted",
                &e.description,
            )
        })?;
    let expected = csrf_token(req, state);
    let valid = same_origin(req, state)
        && params.get("csrf").is_some_and(|form| {
            bool::from(form.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
        });
    if !valid {
        return Err(PageError::page(
            state,
            StatusCode::FORBIDDEN,
            "This form cannot be accepted",
            "It was sent from another page or is out of date. Reload the admin page and try again.",
        ));
    }
    Ok((session, params))
}

/// After an action: back to the list with a notice, or the list again with the reason the action
/// was refused and the forms as they were sent.
async fn outcome(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &Session,
    result: Result<(), AdminError>,
    done: &str,
    forms: AdminForms,
) -> PageResult {
    match result {
        Ok(()) => Ok(pages::redirect(&format!("/admin?notice={done}"), true)),
        Err(e @ (AdminError::Invalid(_) | AdminError::NotFound(_) | AdminError::Conflict(_))) => {
            render(req, state, session, View::refused(e.to_string(), forms)).await
        }
        Err(e) => Err(PageError::failed(state, e)),
    }
}
