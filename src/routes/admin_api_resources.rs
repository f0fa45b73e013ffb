//! The admin API for API resources (RFC 8707) and the resources each client may ask for:
//! `/admin/api/resources[/{resource}]` (the identifier percent-encoded as one path segment) and
//! `PUT /admin/api/clients/{client_id}/resources`. Same token, errors and operations as
//! `routes::admin_api` and the CLI.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use super::admin_api::{authorize, json_body, object, ok, run, string_field, ApiError};
use crate::admin::resources::{self, ClientAccess, NewResource};
use crate::admin::AdminError;
use crate::state::AppState;

/// The routes, inside `/admin/api`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/resources")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/resources/{resource}")
            .route(web::get().to(show))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/clients/{client_id}/resources").route(web::put().to(set_client)));
}

fn invalid(text: &str) -> ApiError {
    AdminError::Invalid(text.to_owned()).into()
}

/// The `{resource}` path segment, percent-decoded.
fn identifier(req: &HttpRequest) -> Result<String, ApiError> {
    let raw = req.match_info().get("resource").unwrap_or_default();
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| invalid("the resource identifier is not valid UTF-8"))
}

/// `null`/absent: keep; a number: set; anything else refused.
fn ttl_field(body: &Map<String, Value>, name: &str) -> Result<Option<Option<i64>>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => v
            .as_i64()
            .map(|t| Some(Some(t)))
            .ok_or_else(|| invalid(&format!("`{name}` must be a number of seconds or null"))),
    }
}

fn descriptions(body: &Map<String, Value>) -> Result<Vec<(String, String)>, ApiError> {
    match body.get("scope_descriptions") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(text) => Ok((k.clone(), text.clone())),
                _ => Err(invalid("`scope_descriptions` maps scopes to strings")),
            })
            .collect(),
        Some(_) => Err(invalid("`scope_descriptions` must be an object")),
    }
}

pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let list = run(&state, resources::list).await?;
    Ok(ok(StatusCode::OK, json!({ "resources": list })))
}

pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let body = object(json_body(&req, payload, &state).await?)?;
    let new = NewResource {
        identifier: string_field(&body, "resource")?
            .ok_or_else(|| invalid("`resource` is required"))?,
        scope: string_field(&body, "scope")?.ok_or_else(|| invalid("`scope` is required"))?,
        descriptions: descriptions(&body)?,
        access_token_ttl_secs: ttl_field(&body, "access_token_ttl_secs")?.flatten(),
        public: matches!(body.get("public"), Some(Value::Bool(true))),
    };
    let view = run(&state, move |conn| resources::add(conn, &by, &new)).await?;
    Ok(ok(StatusCode::CREATED, json!(view)))
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state).await?;
    let id = identifier(&req)?;
    let view = run(&state, move |conn| resources::show(conn, &id)).await?;
    Ok(ok(StatusCode::OK, json!(view)))
}

pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let id = identifier(&req)?;
    run(&state, move |conn| resources::remove(conn, &by, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /admin/api/clients/{client_id}/resources`: `{"resources": [URI…], "default_resource":
/// URI|null, "access_token_ttl_secs": N|null}`; absent members are kept.
pub async fn set_client(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let by = authorize(&req, &state).await?;
    let body = object(json_body(&req, payload, &state).await?)?;
    let list = match body.get("resources") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("`resources` must be an array of strings"))?,
        ),
        Some(_) => return Err(invalid("`resources` must be an array of strings")),
    };
    let default_resource = match body.get("default_resource") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => return Err(invalid("`default_resource` must be a string or null")),
    };
    let access = ClientAccess {
        resources: list,
        default_resource,
        access_token_ttl_secs: ttl_field(&body, "access_token_ttl_secs")?,
    };
    let client = run(&state, move |conn| {
        crate::db::write_tx(conn, |conn| {
            resources::set_client_access(conn, &by, &path, &access, false)?;
            crate::admin::clients::show(conn, &path)
        })
    })
    .await?;
    Ok(ok(StatusCode::OK, json!(client)))
}
