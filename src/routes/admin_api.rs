//! The admin API for users (JSON over HTTP), authorised by a Latchkey access token with
//! `latchkey:admin`. It calls the same `admin::users` operations as the CLI. Errors have one
//! shape, `{"error", "error_description"}`: 401 for a missing or bad token, 403 for a token
//! without the admin scope or role, 404, 409, and 400 for invalid input.

pub mod groups;
pub mod password_link;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::admin::users::{self, NewUser, ProfileUpdate};
use crate::admin::{self, clients::ADMIN_SCOPE, AdminError};
use crate::audit::By;
use crate::db;
use crate::oauth::{access_token, bearer, ErrorCode, OAuthError};
use crate::state::AppState;

/// An admin API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Auth(#[from] OAuthError),
    #[error("{0}")]
    Admin(#[from] AdminError),
}

impl From<db::DbError> for ApiError {
    fn from(e: db::DbError) -> Self {
        Self::Auth(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Auth(e) => e.status_code(),
            Self::Admin(AdminError::NotFound(_)) => StatusCode::NOT_FOUND,
            Self::Admin(AdminError::Conflict(_)) => StatusCode::CONFLICT,
            Self::Admin(AdminError::Invalid(_)) => StatusCode::BAD_REQUEST,
            Self::Admin(AdminError::Db(e)) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Admin(AdminError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Admin(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (code, description) = match self {
            Self::Auth(e) => return e.error_response(),
            Self::Admin(AdminError::NotFound(what)) => ("not_found", format!("{what} not found")),
            Self::Admin(AdminError::Conflict(what)) => {
                ("conflict", format!("{what} already exists"))
            }
            Self::Admin(AdminError::Invalid(reason)) => ("invalid_request", reason.clone()),
            Self::Admin(AdminError::Db(e)) if e.is_unavailable() => {
                return OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "The service is temporarily unavailable; retry later",
                )
                .error_response()
            }
            Self::Admin(AdminError::Busy) => {
                return OAuthError::from(crate::crypto::password::PasswordError::Busy)
                    .error_response()
            }
            Self::Admin(other) => {
                let _ = OAuthError::internal("admin API", other);
                (
                    "server_error",
                    "The server encountered an unexpected error".to_owned(),
                )
            }
        };
        HttpResponse::build(self.status_code())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({ "error": code, "error_description": description }))
    }
}

/// Checks the bearer token: valid, not revoked, with `latchkey:admin` (and, for a person's
/// token, the admin role). Returns who acts, for the audit trail.
pub(super) async fn authorize(req: &HttpRequest, state: &AppState) -> Result<By, ApiError> {
    let token = super::bearer_token(req)?.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidToken,
            "An access token with scope latchkey:admin is required",
        )
    })?;
    let claims = access_token::verify(
        &state.settings,
        &state.keys.load(),
        state.clock.now(),
        &token,
    )?;
    let principal = db::run(&state.pool, move |conn| {
        bearer::authorize(conn, &claims, &[ADMIN_SCOPE])
    })
    .await?;
    principal.require_multi_factor(state.settings.admin.require_mfa)?;
    let store = state.settings.audit.store;
    Ok(By::new(principal.actor(), store, state.clock.now()))
}

pub(super) async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Value, ApiError> {
    if super::media_type(req) != "application/json" {
        return Err(AdminError::Invalid("the request body must be application/json".into()).into());
    }
    let body = super::read_body(req, payload, state.settings.server.max_body_bytes).await?;
    serde_json::from_slice(&body)
        .map_err(|_| AdminError::Invalid("the request body is not valid JSON".into()).into())
}

/// Runs an admin operation with a pooled connection (`db::run`), as the API's error.
pub(super) async fn run<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut db::DbConnection) -> Result<T, AdminError> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(db::run(&state.pool, f).await?)
}

pub(super) fn ok(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

#[derive(Deserialize)]
pub struct ListQuery {
    filter: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

pub async fn list(
    req: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let offset = query.offset.unwrap_or(0);
    let limit = query.limit.unwrap_or(50);
    if offset < 0 || !(1..=200).contains(&limit) {
        return Err(
            AdminError::Invalid("offset must be >= 0 and limit from 1 to 200".into()).into(),
        );
    }
    let filter = query.filter.clone().filter(|f| !f.is_empty());
    let (page, total) = run(&state, move |conn| {
        users::page(conn, filter.as_deref(), offset, limit)
    })
    .await?;
    Ok(ok(
        StatusCode::OK,
        json!({ "users": page, "total": total, "offset": offset, "limit": limit }),
    ))
}

pub(super) fn string_field(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AdminError::Invalid(format!("`{name}` must be a string")).into()),
    }
}

/// `Some(None)` for an explicit null (clear), `Some(Some(v))` to set, `None` to keep.
fn patch_field(body: &Map<String, Value>, name: &str) -> Result<Option<Option<String>>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(AdminError::Invalid(format!("`{name}` must be a string or null")).into()),
    }
}

fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(AdminError::Invalid(format!("`{name}` must be a boolean")).into()),
    }
}

pub(super) fn object(value: Value) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(AdminError::Invalid("the request body must be a JSON object".into()).into()),
    }
}

pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let body = object(json_body(&req, payload, &state).await?)?;
    let username = string_field(&body, "username")?
        .ok_or_else(|| AdminError::Invalid("`username` is required".into()))?;
    let new = NewUser {
        username,
        email: string_field(&body, "email")?,
        email_verified: bool_field(&body, "email_verified")?.unwrap_or(false),
        name: string_field(&body, "name")?,
        password: string_field(&body, "password")?.map(SecretString::from),
    };
    let (now, random) = (state.clock.now(), state.random.clone());
    let prepared = admin::with_passwords(&state.passwords, move |p| {
        users::prepare(p, &*random, new, now)
    })
    .await?;
    let user = run(&state, move |conn| users::add(conn, &by, prepared)).await?;
    Ok(ok(StatusCode::CREATED, json!(user)))
}

pub async fn show(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let user = run(&state, move |conn| users::show(conn, &path)).await?;
    Ok(ok(StatusCode::OK, json!(user)))
}

pub async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let body = object(json_body(&req, payload, &state).await?)?;
    if let Some(unknown) = body
        .keys()
        .find(|k| !matches!(k.as_str(), "email" | "email_verified" | "name"))
    {
        return Err(AdminError::Invalid(format!("`{unknown}` cannot be changed here")).into());
    }
    let email_verified = bool_field(&body, "email_verified")?;
    let update = ProfileUpdate {
        email: patch_field(&body, "email")?,
        email_verified,
        name: patch_field(&body, "name")?,
    };
    let user = run(&state, move |conn| {
        users::update_profile(conn, &by, &path, update)
    })
    .await?;
    Ok(ok(StatusCode::OK, json!(user)))
}

pub async fn set_password(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let body = object(json_body(&req, payload, &state).await?)?;
    let password = string_field(&body, "password")?
        .map(SecretString::from)
        .ok_or_else(|| AdminError::Invalid("`password` is required".into()))?;
    let hash = admin::with_passwords(&state.passwords, move |p| {
        users::hash_password(p, &password)
    })
    .await?;
    run(&state, move |conn| {
        users::set_password_hash(conn, &by, &path, &hash)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn disable(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(req, path, state, true).await
}

pub async fn enable(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(req, path, state, false).await
}

async fn set_disabled(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    disabled: bool,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    run(&state, move |conn| {
        users::set_disabled(conn, &by, &path, disabled)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/api/users/{username}/unlock`: clears a lockout after failed logins.
pub async fn unlock(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let cleared = run(&state, move |conn| users::unlock(conn, &by, &path)).await?;
    Ok(ok(StatusCode::OK, json!({ "counters_cleared": cleared })))
}

/// `GET /admin/api/users/{username}/mfa`: the user's second factors, never their secrets.
pub async fn mfa(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let listed = run(&state, move |conn| crate::admin::factors::list(conn, &path)).await?;
    Ok(ok(StatusCode::OK, json!(listed)))
}

/// `DELETE /admin/api/users/{username}/mfa`: removes every second factor and recovery code.
pub async fn mfa_reset(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let removed = run(&state, move |conn| {
        crate::admin::factors::reset(conn, &by, &path)
    })
    .await?;
    Ok(ok(StatusCode::OK, json!({ "removed": removed })))
}

pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    run(&state, move |conn| users::remove(conn, &by, &path)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn revoke_sessions(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let (sessions, tokens) =
        run(&state, move |conn| users::revoke_sessions(conn, &by, &path)).await?;
    Ok(ok(
        StatusCode::OK,
        json!({ "sessions_ended": sessions, "refresh_tokens_revoked": tokens }),
    ))
}
