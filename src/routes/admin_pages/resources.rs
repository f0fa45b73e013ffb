//! The admin pages' API resources (RFC 8707): `/admin/resources` lists them and takes the forms
//! that add or remove one and that set which resources a client may ask for (and its
//! access-token lifetime). Same guard, CSRF and operations as the other admin pages.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use super::groups::apply;
use super::{administrator, render_with_csrf, PageError, PageResult};
use crate::admin::resources::{self, ClientAccess, NewResource};
use crate::admin::AdminError;
use crate::db;
use crate::oauth::params::Params;
use crate::routes::pages;
use crate::state::AppState;
use crate::views::ResourcesPage;

const PAGE: &str = "/admin/resources";

/// The routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PAGE)
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(web::resource("/admin/resources/remove").route(web::post().to(remove)))
    .service(web::resource("/admin/resources/client").route(web::post().to(set_client)));
}

fn field(params: &Params, name: &str) -> String {
    params.get(name).unwrap_or("").trim().to_owned()
}

/// An optional lifetime field: empty is none; anything else must be a number.
fn ttl(params: &Params, name: &str) -> Result<Option<i64>, AdminError> {
    match params.get(name).map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| AdminError::Invalid("a lifetime is a number of seconds".into())),
    }
}

/// `GET /admin/resources`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> PageResult {
    administrator(&req, &state).await?;
    let list = db::run(&state.pool, resources::list)
        .await
        .map_err(|e| PageError::failed(&state, e))?;
    Ok(render_with_csrf(&req, &state, |csrf| {
        pages::render(
            StatusCode::OK,
            &ResourcesPage {
                brand: &state.brand,
                resources: &list,
                csrf,
                error: None,
            },
        )
    }))
}

/// `POST /admin/resources`: registers a resource.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    apply(&req, payload, &state, PAGE.into(), |conn, params, by| {
        let new = NewResource {
            identifier: field(params, "resource"),
            scope: field(params, "scope"),
            access_token_ttl_secs: ttl(params, "access_token_ttl")?,
            ..NewResource::default()
        };
        resources::add(conn, by, &new).map(drop)
    })
    .await
}

/// `POST /admin/resources/remove` (`resource`).
pub async fn remove(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    apply(&req, payload, &state, PAGE.into(), |conn, params, by| {
        resources::remove(conn, by, &field(params, "resource"))
    })
    .await
}

/// `POST /admin/resources/client` (`client_id`, `resources`, `default_resource`,
/// `access_token_ttl`): replaces what the client may ask for.
pub async fn set_client(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    apply(&req, payload, &state, PAGE.into(), |conn, params, by| {
        let access = ClientAccess {
            resources: Some(
                field(params, "resources")
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            ),
            default_resource: Some(
                Some(field(params, "default_resource")).filter(|d| !d.is_empty()),
            ),
            access_token_ttl_secs: Some(ttl(params, "access_token_ttl")?),
        };
        let id = field(params, "client_id");
        db::write_tx(conn, |conn| {
            resources::set_client_access(conn, by, &id, &access, false)
        })
    })
    .await
}
