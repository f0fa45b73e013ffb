//! The admin pages (`/admin`): server-rendered, no script, same security headers as the login
//! page. People sign in through Latchkey's own login page (the built-in `latchkey-admin-console`
//! client) and need the admin role. Every form carries a double-submit CSRF token. The pages call
//! the same `admin::` operations as the CLI and the admin API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::pages::{self, SESSION};
use crate::admin::clients::{ClientView, NewClient, CONSOLE_ID};
use crate::admin::users::{NewUser, UserView};
use crate::admin::{self, AdminError};
use crate::db::{self, DbError};
use crate::domain::client::GrantType;
use crate::domain::secret::{self, SecretHash};
use crate::oauth::params::Params;
use crate::oauth::session::{self, Session};
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::views::{AdminPage, ClientEditPage, ClientSecretPage};

const CSRF: &str = "latchkey_admin";

/// Fixed notices, chosen by key, so no text from the URL is ever shown.
fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "user-created" => "User created.",
        "user-disabled" => "User disabled; their sessions and refresh tokens were revoked.",
        "user-enabled" => "User enabled.",
        "password-set" => "Password changed.",
        "user-unlocked" => "User unlocked; failed login attempts forgotten.",
        "client-deleted" => "Client deleted.",
        "client-saved" => "Client saved.",
        _ => return None,
    })
}

/// Sends the browser through the login page of the built-in console client.
fn to_login(state: &AppState) -> HttpResponse {
    let verifier = secret::generate();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret().as_bytes()));
    let callback: String = url::form_urlencoded::byte_serialize(
        format!("{}/admin/callback", state.settings.base_url()).as_bytes(),
    )
    .collect();
    pages::redirect(
        &format!(
            "/authorize?response_type=code&client_id={CONSOLE_ID}&redirect_uri={callback}&scope=openid&code_challenge={challenge}&code_challenge_method=S256"
        ),
        false,
    )
}

/// The signed-in administrator, or the response that stands in for the page.
async fn administrator(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<Session, HttpResponse> {
    let cookie = pages::read_cookie(req, state, SESSION);
    let now = state.clock.now();
    let shared = state.clone();
    let session = db::run(&state.pool, move |conn| {
        session::current(conn, &shared.settings, cookie.as_deref(), now)
    })
    .await
    .map_err(|e: OAuthError| pages::oauth_error_page(state, &e))?;
    match session {
        None => Err(to_login(state)),
        Some(s) if !s.user.is_admin => Err(pages::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Administrators only",
            "Your account does not have the admin role.",
            None,
        )),
        Some(s) => Ok(s),
    }
}

/// `GET /admin/callback`: the code proves the login finished; it is consumed and not exchanged.
pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    if let Some(code) = params.get("code") {
        let hash = SecretHash::of_str(code).as_bytes().to_vec();
        let now = state.clock.now();
        let _ = db::run(&state.pool, move |conn| {
            if db::codes::find(conn, &hash)?.is_some_and(|c| c.client_id == CONSOLE_ID) {
                db::codes::consume(conn, &hash, now)?;
            }
            Ok::<_, DbError>(())
        })
        .await;
    }
    pages::redirect("/admin", false)
}

async fn load(state: &AppState) -> Result<(Vec<UserView>, Vec<ClientView>), AdminError> {
    let pool = state.pool.clone();
    admin::blocking(move || {
        let (users, _) = admin::users::page(&pool, None, 0, 200)?;
        let clients = admin::clients::list(&pool)?
            .into_iter()
            .filter(|c| c.client_id != CONSOLE_ID)
            .collect();
        Ok((users, clients))
    })
    .await
}

async fn render(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &Session,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    let (users, clients) = match load(state).await {
        Ok(found) => found,
        Err(e) => return pages::oauth_error_page(state, &OAuthError::internal("admin page", &e)),
    };
    let (csrf, fresh) = csrf_token(req, state);
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let response = pages::render(
        status,
        &AdminPage {
            brand: &state.brand,
            admin_name: &session.user.username,
            csrf: csrf.expose_secret(),
            users: &users,
            clients: &clients,
            notice: if error.is_none() {
                notice(params.get("notice"))
            } else {
                None
            },
            error,
        },
    );
    with_csrf_cookie(state, response, &csrf, fresh)
}

/// This browser's CSRF token, and whether it is new (and needs its cookie set).
fn csrf_token(req: &HttpRequest, state: &AppState) -> (SecretString, bool) {
    match pages::read_cookie(req, state, CSRF).filter(|c| c.len() == 43) {
        Some(existing) => (SecretString::from(existing), false),
        None => (secret::generate(), true),
    }
}

fn with_csrf_cookie(
    state: &AppState,
    mut response: HttpResponse,
    csrf: &SecretString,
    fresh: bool,
) -> HttpResponse {
    if fresh {
        let cookie = pages::cookie(state, CSRF, csrf.expose_secret().to_owned(), None);
        if let Err(e) = response.add_cookie(&cookie) {
            tracing::error!(error = %e, "cannot set the admin CSRF cookie");
        }
    }
    response
}

fn edit_page(
    req: &HttpRequest,
    state: &AppState,
    client: &ClientView,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, fresh) = csrf_token(req, state);
    let page = ClientEditPage {
        brand: &state.brand,
        client,
        csrf: csrf.expose_secret(),
        error,
    };
    with_csrf_cookie(state, pages::render(status, &page), &csrf, fresh)
}

async fn find_client(state: &AppState, id: String) -> Result<ClientView, AdminError> {
    let pool = state.pool.clone();
    admin::blocking(move || admin::clients::show(&pool, &id)).await
}

fn no_such_client(state: &AppState) -> HttpResponse {
    pages::error_page(
        state,
        StatusCode::NOT_FOUND,
        "Not found",
        "No such client.",
        None,
    )
}

/// The client described by the register and edit forms (space-separated lists).
fn client_from_form(params: &Params, public: bool) -> Result<NewClient, String> {
    let list = |name: &str| -> Vec<String> {
        params
            .get(name)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    Ok(NewClient {
        name: params.get("name").unwrap_or("").to_owned(),
        grant_types: list("grant_types")
            .iter()
            .map(|g| g.parse())
            .collect::<Result<Vec<GrantType>, String>>()?,
        redirect_uris: list("redirect_uris"),
        post_logout_redirect_uris: list("post_logout_redirect_uris"),
        scope: params.get("scope").map(str::to_owned),
        public,
        first_party: params.get("first_party") == Some("yes"),
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
    })
}

/// `GET /admin/clients/{id}`: the edit form.
pub async fn edit_client(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Err(response) = administrator(&req, &state).await {
        return response;
    }
    let id = path.into_inner();
    if id == CONSOLE_ID {
        return no_such_client(&state);
    }
    match find_client(&state, id).await {
        Ok(client) => edit_page(&req, &state, &client, StatusCode::OK, None),
        Err(_) => no_such_client(&state),
    }
}

/// `POST /admin/clients/{id}`: saves the edit form.
pub async fn save_client(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (session, params) = match form(&req, payload, &state).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let id = path.into_inner();
    let Ok(existing) = find_client(&state, id.clone()).await else {
        return no_such_client(&state);
    };
    let new = client_from_form(&params, existing.public).map(|new| NewClient {
        refresh_token_ttl_secs: existing.refresh_token_ttl_secs,
        refresh_token_absolute_ttl_secs: existing.refresh_token_absolute_ttl_secs,
        ..new
    });
    let result = match new {
        Ok(new) => {
            let (pool, now) = (state.pool.clone(), state.clock.now());
            admin::blocking(move || admin::clients::update(&pool, &id, new, None, false, now)).await
        }
        Err(e) => Err(AdminError::Invalid(e)),
    };
    match result {
        Ok((client, _)) => {
            tracing::info!(target: "audit", event = "client_updated", client_id = %client.client_id, via = "admin_pages", by = %session.user.id);
            pages::redirect("/admin?notice=client-saved", true)
        }
        Err(AdminError::Invalid(m)) => {
            edit_page(&req, &state, &existing, StatusCode::BAD_REQUEST, Some(&m))
        }
        Err(e) => pages::oauth_error_page(&state, &OAuthError::internal("admin page", &e)),
    }
}

pub async fn index(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match administrator(&req, &state).await {
        Ok(session) => render(&req, &state, &session, StatusCode::OK, None).await,
        Err(response) => response,
    }
}

/// A checked admin form: the administrator and the form's fields.
async fn form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
) -> Result<(Session, Params), HttpResponse> {
    let session = administrator(req, state).await?;
    let params = super::read_form(req, payload, state.settings.server.max_body_bytes)
        .await
        .map_err(|e| pages::oauth_error_page(state, &e))?;
    let valid = match (params.get("csrf"), pages::read_cookie(req, state, CSRF)) {
        (Some(form), Some(cookie)) => bool::from(form.as_bytes().ct_eq(cookie.as_bytes())),
        _ => false,
    };
    if !valid {
        return Err(pages::error_page(
            state,
            StatusCode::FORBIDDEN,
            "This form cannot be accepted",
            "It was sent from another page or is out of date. Reload the admin page and try again.",
            None,
        ));
    }
    Ok((session, params))
}

async fn outcome(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &Session,
    result: Result<(), AdminError>,
    done: &str,
) -> HttpResponse {
    match result {
        Ok(()) => pages::redirect(&format!("/admin?notice={done}"), true),
        Err(AdminError::Invalid(m)) => {
            render(req, state, session, StatusCode::BAD_REQUEST, Some(&m)).await
        }
        Err(e @ (AdminError::NotFound(_) | AdminError::Conflict(_))) => {
            render(
                req,
                state,
                session,
                StatusCode::BAD_REQUEST,
                Some(&e.to_string()),
            )
            .await
        }
        Err(e) => pages::oauth_error_page(state, &OAuthError::internal("admin page", &e)),
    }
}

pub async fn create_user(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (session, params) = match form(&req, payload, &state).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let new = NewUser {
        username: params.get("username").unwrap_or("").to_owned(),
        email: params.get("email").map(str::to_owned),
        name: params.get("name").map(str::to_owned),
        password: params
            .get("password")
            .map(|p| SecretString::from(p.to_owned())),
    };
    let (pool, now) = (state.pool.clone(), state.clock.now());
    let result = admin::with_passwords(&state.passwords, move |p| {
        admin::users::add(&pool, p, new, now).map(drop)
    })
    .await;
    outcome(&req, &state, &session, result, "user-created").await
}

pub async fn user_action(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (session, params) = match form(&req, payload, &state).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (username, action) = path.into_inner();
    let (pool, now) = (state.pool.clone(), state.clock.now());
    let (result, done) = match action.as_str() {
        "disable" => (
            admin::blocking(move || admin::users::set_disabled(&pool, &username, true, now)).await,
            "user-disabled",
        ),
        "enable" => (
            admin::blocking(move || admin::users::set_disabled(&pool, &username, false, now)).await,
            "user-enabled",
        ),
        "unlock" => (
            admin::blocking(move || {
                admin::users::unlock(&pool, &username, "admin_pages").map(drop)
            })
            .await,
            "user-unlocked",
        ),
        "password" => {
            let password = SecretString::from(params.get("password").unwrap_or("").to_owned());
            let result = admin::with_passwords(&state.passwords, move |p| {
                admin::users::set_password(&pool, p, &username, &password, now)
            })
            .await;
            (result, "password-set")
        }
        _ => {
            return pages::error_page(
                &state,
                StatusCode::NOT_FOUND,
                "Not found",
                "No such action.",
                None,
            )
        }
    };
    outcome(&req, &state, &session, result, done).await
}

pub async fn create_client(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (session, params) = match form(&req, payload, &state).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let new = match client_from_form(&params, params.get("public") == Some("yes")) {
        Ok(new) => new,
        Err(e) => return render(&req, &state, &session, StatusCode::BAD_REQUEST, Some(&e)).await,
    };
    let (pool, now) = (state.pool.clone(), state.clock.now());
    let result = admin::blocking(move || admin::clients::add(&pool, new, now)).await;
    match result {
        Ok(registered) => {
            tracing::info!(target: "audit", event = "client_registered", client_id = %registered.client.client_id, via = "admin_pages", by = %session.user.id);
            pages::render(
                StatusCode::OK,
                &ClientSecretPage {
                    brand: &state.brand,
                    name: &registered.client.name,
                    client_id: &registered.client.client_id,
                    client_secret: registered.client_secret.as_ref().map(|s| s.expose_secret()),
                },
            )
        }
        Err(e) => outcome(&req, &state, &session, Err(e), "").await,
    }
}

pub async fn delete_client(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (session, _) = match form(&req, payload, &state).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (pool, id) = (state.pool.clone(), path.into_inner());
    let result = admin::blocking(move || admin::clients::remove(&pool, &id)).await;
    outcome(&req, &state, &session, result, "client-deleted").await
}
