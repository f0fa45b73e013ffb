//! The admin API's group endpoints under `/admin/api`: groups, their members, and the scopes
//! restricted to them (`admin::groups`), with the same bearer-token check and JSON errors as the
//! user endpoints.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::{authorize, json_body, object, ok, run, string_field, ApiError};
use crate::admin::{groups, AdminError};
use crate::state::AppState;

/// `GET /admin/api/groups`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let all = run(&state, groups::list).await?;
    Ok(ok(StatusCode::OK, json!({ "groups": all })))
}

/// `POST /admin/api/groups` with `{"name", "description"?}`.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let body = object(json_body(&req, payload, &state).await?)?;
    let name = string_field(&body, "name")?
        .ok_or_else(|| AdminError::Invalid("`name` is required".into()))?;
    let description = string_field(&body, "description")?;
    let random = state.random.clone();
    let group = run(&state, move |conn| {
        groups::add(conn, &*random, &by, &name, description.as_deref())
    })
    .await?;
    Ok(ok(StatusCode::CREATED, json!(group)))
}

/// `GET /admin/api/groups/{name}`.
pub async fn show(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let group = run(&state, move |conn| groups::show(conn, &path)).await?;
    Ok(ok(StatusCode::OK, json!(group)))
}

/// `DELETE /admin/api/groups/{name}`.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    run(&state, move |conn| groups::remove(conn, &by, &path)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /admin/api/groups/{name}/members/{username}`.
pub async fn add_member(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let (group, username) = path.into_inner();
    let added = run(&state, move |conn| {
        groups::join(conn, &by, &username, &group)
    })
    .await?;
    Ok(ok(StatusCode::OK, json!({ "added": added })))
}

/// `DELETE /admin/api/groups/{name}/members/{username}`.
pub async fn remove_member(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let (group, username) = path.into_inner();
    let removed = run(&state, move |conn| {
        groups::leave(conn, &by, &username, &group)
    })
    .await?;
    Ok(ok(StatusCode::OK, json!({ "removed": removed })))
}

/// `PUT /admin/api/groups/{name}/scopes/{scope}`: restricts the scope to the group's members.
pub async fn allow_scope(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let (group, scope) = path.into_inner();
    let view = run(&state, move |conn| {
        groups::allow_scope(conn, &by, &group, &scope)
    })
    .await?;
    Ok(ok(StatusCode::OK, json!(view)))
}

/// `DELETE /admin/api/groups/{name}/scopes/{scope}`.
pub async fn disallow_scope(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let (group, scope) = path.into_inner();
    let view = run(&state, move |conn| {
        groups::disallow_scope(conn, &by, &group, &scope)
    })
    .await?;
    Ok(ok(StatusCode::OK, json!(view)))
}

/// `GET /admin/api/users/{username}/groups`: the names of the user's groups.
pub async fn of_user(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let names = run(&state, move |conn| groups::of_user(conn, &path)).await?;
    Ok(ok(StatusCode::OK, json!({ "groups": names })))
}
