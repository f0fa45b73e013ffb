//! The admin pages' client actions, one route each: register, edit, rotate the secret, and
//! delete after a confirmation page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;

use super::{by, form, outcome, render_with_csrf, PageError, PageResult};
use crate::admin::client_algs;
use crate::admin::clients::{is_built_in, ClaimsAndOrigins, ClientView, NewClient};
use crate::admin::{self, AdminError};
use crate::db;
use crate::domain::client::GrantType;
use crate::domain::signing_alg::SigningAlg;
use crate::oauth::params::Params;
use crate::routes::pages;
use crate::state::AppState;
use crate::views::{self, AdminForms, ClientDeletePage, ClientEditPage, ClientSecretPage};

/// The client described by the register and edit forms (space-separated lists).
fn from_form(
    params: &Params,
    public: bool,
    configured: &[SigningAlg],
) -> Result<NewClient, AdminError> {
    let alg = |name: &str| {
        client_algs::from_form(params.get(name), configured).map_err(AdminError::Invalid)
    };
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
            .collect::<Result<Vec<GrantType>, String>>()
            .map_err(AdminError::Invalid)?,
        redirect_uris: list("redirect_uris"),
        post_logout_redirect_uris: list("post_logout_redirect_uris"),
        scope: params.get("scope").map(str::to_owned),
        public,
        first_party: params.get("first_party") == Some("yes"),
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        access_token_alg: alg("access_token_alg")?,
        id_token_signed_response_alg: alg("id_token_signed_response_alg")?,
        claims_and_origins: ClaimsAndOrigins {
            id_token_claims: params.get("id_token_claims") != Some("off"),
            web_origins: list("web_origins"),
        },
    })
}

/// What the register form held, for showing it again after a refusal.
fn typed(params: &Params) -> AdminForms {
    let field = |name: &str| params.get(name).unwrap_or("").to_owned();
    AdminForms {
        client_name: field("name"),
        grant_types: field("grant_types"),
        redirect_uris: field("redirect_uris"),
        scope: field("scope"),
        access_token_alg: field("access_token_alg"),
        id_token_signed_response_alg: field("id_token_signed_response_alg"),
        public: params.get("public") == Some("yes"),
        first_party: params.get("first_party") == Some("yes"),
        web_origins: field("web_origins"),
        id_token_claims_off: params.get("id_token_claims") == Some("off"),
        ..AdminForms::default()
    }
}

/// The client `id` as the pages show it; the built-in clients are not among them.
async fn find(state: &AppState, id: String) -> Result<ClientView, PageError> {
    if is_built_in(&id) {
        return Err(PageError::not_found(state, "client"));
    }
    let pool = state.pool.clone();
    db::run(&pool, move |conn| admin::clients::show(conn, &id))
        .await
        .map_err(|e| match e {
            AdminError::NotFound(_) => PageError::not_found(state, "client"),
            other => PageError::failed(state, other),
        })
}

/// `POST /admin/clients`: registers a client and shows its secret once.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, params) = form(&req, payload, &state).await?;
    let (pool, by) = (state.pool.clone(), by(&state, &session));
    let new = from_form(
        &params,
        params.get("public") == Some("yes"),
        &state.settings.keys.algorithms,
    );
    let result = match new {
        Ok(new) => {
            let random = state.random.clone();
            db::run(&pool, move |conn| {
                admin::clients::add(conn, &by, &*random, new)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(registered) => Ok(secret_page(
            &state,
            "Client registered",
            &registered.client,
            registered.client_secret.as_ref().map(|s| s.expose_secret()),
        )),
        Err(e) => outcome(&req, &state, &session, Err(e), "", typed(&params)).await,
    }
}

fn secret_page(
    state: &AppState,
    title: &str,
    client: &ClientView,
    secret: Option<&str>,
) -> HttpResponse {
    pages::render(
        StatusCode::OK,
        &ClientSecretPage {
            brand: &state.brand,
            title,
            name: &client.name,
            client_id: &client.client_id,
            client_secret: secret,
        },
    )
}

fn edit_page(
    req: &HttpRequest,
    state: &AppState,
    client: &ClientView,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    render_with_csrf(req, state, |csrf| {
        let page = ClientEditPage {
            brand: &state.brand,
            client,
            csrf,
            error: error.map(views::spans),
            algorithms: SigningAlg::names(&state.settings.keys.algorithms),
        };
        pages::render(status, &page)
    })
}

/// The edit form again with the reason a change was refused, or the error page when the
/// reason is not the form's.
fn refused(req: &HttpRequest, state: &AppState, client: &ClientView, e: AdminError) -> PageResult {
    match e {
        AdminError::Invalid(m) => Ok(edit_page(
            req,
            state,
            client,
            StatusCode::BAD_REQUEST,
            Some(&m),
        )),
        other => Err(PageError::failed(state, other)),
    }
}

/// `GET /admin/clients/{id}`: the edit form.
pub async fn edit(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> PageResult {
    super::administrator(&req, &state).await?;
    let client = find(&state, path.into_inner()).await?;
    Ok(edit_page(&req, &state, &client, StatusCode::OK, None))
}

/// `POST /admin/clients/{id}`: saves the edit form; a refused edit shows the form again.
pub async fn save(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, params) = form(&req, payload, &state).await?;
    let existing = find(&state, path.into_inner()).await?;
    let new =
        from_form(&params, existing.public, &state.settings.keys.algorithms).map(|new| NewClient {
            refresh_token_ttl_secs: existing.refresh_token_ttl_secs,
            refresh_token_absolute_ttl_secs: existing.refresh_token_absolute_ttl_secs,
            ..new
        });
    let (pool, by, id) = (
        state.pool.clone(),
        by(&state, &session),
        existing.client_id.clone(),
    );
    let random = state.random.clone();
    let result = match new {
        Ok(new) => {
            db::run(&pool, move |conn| {
                admin::clients::update(conn, &by, &*random, &id, new, None, false)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(pages::redirect("/admin?notice=client-saved", true)),
        Err(e) => refused(&req, &state, &existing, e),
    }
}

/// `POST /admin/clients/{id}/secret`: a new secret, shown once; the old one stops working at
/// once, and with `revoke_tokens=yes` so do the refresh tokens issued to the client.
pub async fn rotate_secret(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, params) = form(&req, payload, &state).await?;
    let client = find(&state, path.into_inner()).await?;
    let revoke = params.get("revoke_tokens") == Some("yes");
    let (pool, by, id) = (
        state.pool.clone(),
        by(&state, &session),
        client.client_id.clone(),
    );
    let random = state.random.clone();
    let result = db::run(&pool, move |conn| {
        admin::clients::rotate_secret(conn, &by, &*random, &id, revoke)
    })
    .await;
    match result {
        Ok(secret) => Ok(secret_page(
            &state,
            "New client secret",
            &client,
            Some(secret.expose_secret()),
        )),
        Err(e) => refused(&req, &state, &client, e),
    }
}

/// `GET /admin/clients/{id}/delete`: asks before deleting.
pub async fn confirm_delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> PageResult {
    super::administrator(&req, &state).await?;
    let client = find(&state, path.into_inner()).await?;
    Ok(render_with_csrf(&req, &state, |csrf| {
        let page = ClientDeletePage {
            brand: &state.brand,
            client: &client,
            csrf,
        };
        pages::render(StatusCode::OK, &page)
    }))
}

/// `POST /admin/clients/{id}/delete`: the confirmation page's form.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let client = find(&state, path.into_inner()).await?;
    let (pool, id, by) = (
        state.pool.clone(),
        client.client_id.clone(),
        by(&state, &session),
    );
    let result = db::run(&pool, move |conn| admin::clients::remove(conn, &by, &id)).await;
    outcome(
        &req,
        &state,
        &session,
        result,
        "client-deleted",
        AdminForms::default(),
    )
    .await
}
