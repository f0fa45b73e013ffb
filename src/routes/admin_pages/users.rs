//! The admin pages' user actions, one route each: create, disable, enable, set a password, grant
//! and revoke the admin role. An administrator cannot disable or demote their own account.

use actix_web::{web, HttpRequest};
use secrecy::SecretString;

use super::{form, outcome, PageResult};
use crate::admin::users::NewUser;
use crate::admin::{self, AdminError};
use crate::db::{self, DbConnection};
use crate::oauth::params::Params;
use crate::oauth::session::Session;
use crate::state::AppState;
use crate::views::AdminForms;

/// What the create-user form held, for showing it again after a refusal (never the password).
fn typed(params: &Params) -> AdminForms {
    let field = |name: &str| params.get(name).unwrap_or("").to_owned();
    AdminForms {
        username: field("username"),
        email: field("email"),
        name: field("name"),
        ..AdminForms::default()
    }
}

/// `POST /admin/users`.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, params) = form(&req, payload, &state).await?;
    let optional = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let new = NewUser {
        username: params.get("username").unwrap_or("").to_owned(),
        email: optional("email"),
        name: optional("name"),
        password: optional("password").map(SecretString::from),
    };
    let now = state.clock.now();
    let result = match admin::with_passwords(&state.passwords, move |p| {
        admin::users::prepare(p, new, now)
    })
    .await
    {
        Ok(user) => {
            db::run(&state.pool, move |conn| {
                admin::users::add(conn, user).map(drop)
            })
            .await
        }
        Err(e) => Err(e),
    };
    outcome(
        &req,
        &state,
        &session,
        result,
        "user-created",
        typed(&params),
    )
    .await
}

/// Runs a role or status change on `username`, refusing it on the administrator's own account
/// when `locks_out` (they would lose access with no one to undo it from this session).
async fn change(
    state: &web::Data<AppState>,
    session: &Session,
    username: String,
    what: &'static str,
    apply: fn(&mut DbConnection, &str, i64) -> Result<(), AdminError>,
) -> Result<(), AdminError> {
    let (now, me) = (state.clock.now(), session.user.id.clone());
    db::run(&state.pool, move |conn| {
        if admin::users::show(conn, &username)?.id == me {
            return Err(AdminError::Invalid(format!(
                "you cannot {what} your own account; another administrator can"
            )));
        }
        apply(conn, &username, now)
    })
    .await
}

/// `POST /admin/users/{username}/disable`: also ends their sessions and refresh tokens.
pub async fn disable(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let result = change(
        &state,
        &session,
        path.into_inner(),
        "disable",
        |conn, name, now| admin::users::set_disabled(conn, name, true, now),
    )
    .await;
    outcome(
        &req,
        &state,
        &session,
        result,
        "user-disabled",
        AdminForms::default(),
    )
    .await
}

/// `POST /admin/users/{username}/enable`.
pub async fn enable(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let (pool, now, username) = (state.pool.clone(), state.clock.now(), path.into_inner());
    let result = db::run(&pool, move |conn| {
        admin::users::set_disabled(conn, &username, false, now)
    })
    .await;
    outcome(
        &req,
        &state,
        &session,
        result,
        "user-enabled",
        AdminForms::default(),
    )
    .await
}

/// `POST /admin/users/{username}/unlock`: forgets the user's failed logins (lockout and
/// per-address back-offs).
pub async fn unlock(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let (pool, username) = (state.pool.clone(), path.into_inner());
    let result = db::run(&pool, move |conn| {
        admin::users::unlock(conn, &username, "admin_pages").map(drop)
    })
    .await;
    outcome(
        &req,
        &state,
        &session,
        result,
        "user-unlocked",
        AdminForms::default(),
    )
    .await
}

/// `POST /admin/users/{username}/grant-admin`.
pub async fn grant_admin(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let (pool, now, username) = (state.pool.clone(), state.clock.now(), path.into_inner());
    let result = db::run(&pool, move |conn| {
        admin::users::set_admin(conn, &username, true, now)
    })
    .await;
    outcome(
        &req,
        &state,
        &session,
        result,
        "admin-granted",
        AdminForms::default(),
    )
    .await
}

/// `POST /admin/users/{username}/revoke-admin`: never one's own role.
pub async fn revoke_admin(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let result = change(
        &state,
        &session,
        path.into_inner(),
        "demote",
        |conn, name, now| admin::users::set_admin(conn, name, false, now),
    )
    .await;
    outcome(
        &req,
        &state,
        &session,
        result,
        "admin-revoked",
        AdminForms::default(),
    )
    .await
}

/// `POST /admin/users/{username}/password`.
pub async fn set_password(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, params) = form(&req, payload, &state).await?;
    let (now, username) = (state.clock.now(), path.into_inner());
    let password = SecretString::from(params.get("password").unwrap_or("").to_owned());
    let result = match admin::with_passwords(&state.passwords, move |p| {
        admin::users::hash_password(p, &password)
    })
    .await
    {
        Ok(hash) => {
            db::run(&state.pool, move |conn| {
                admin::users::set_password_hash(conn, &username, &hash, now)
            })
            .await
        }
        Err(e) => Err(e),
    };
    outcome(
        &req,
        &state,
        &session,
        result,
        "password-set",
        AdminForms::default(),
    )
    .await
}
