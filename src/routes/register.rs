//! `POST /register` (RFC 7591) and `GET|PUT|DELETE /register/{client_id}` (RFC 7592).
//! Registration needs an initial access token (a Latchkey access token with `latchkey:admin` or
//! `latchkey:register`), unless open registration of public clients is switched on.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::admin::{self, AdminError};
use crate::audit::{Actor, By, Event, Kind};
use crate::db;
use crate::oauth::access_token;
use crate::oauth::bearer;
use crate::oauth::registration::open::{self, Room};
use crate::oauth::registration::{
    self, invalid_metadata, Bounds, Metadata, Registrar, RegistrationError,
};
use crate::oauth::{ErrorCode, OAuthError};
use crate::state::AppState;

/// Either error shape this endpoint answers with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error("{}", .0.error_description)]
    Metadata(RegistrationError),
}

impl From<crate::db::DbError> for Error {
    fn from(e: crate::db::DbError) -> Self {
        Self::OAuth(e.into())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Self::OAuth(e.into())
    }
}

impl From<RegistrationError> for Error {
    fn from(e: RegistrationError) -> Self {
        Self::Metadata(e)
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::OAuth(e) => e.status_code(),
            Self::Metadata(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::OAuth(e) => e.error_response(),
            Self::Metadata(e) => HttpResponse::BadRequest()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(e),
        }
    }
}

fn admin_error(e: AdminError) -> Error {
    match e {
        AdminError::Invalid(reason) => invalid_metadata(reason).into(),
        AdminError::NotFound(_) => OAuthError::new(
            ErrorCode::InvalidToken,
            "The registration access token is invalid",
        )
        .into(),
        AdminError::Db(db) => OAuthError::from(db).into(),
        other => OAuthError::internal("client registration", &other).into(),
    }
}

async fn read_metadata(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Metadata, Error> {
    if super::media_type(req) != "application/json" {
        return Err(
            OAuthError::invalid_request("The request body must be application/json").into(),
        );
    }
    let body = super::read_body(req, payload, state.settings.server.max_body_bytes).await?;
    serde_json::from_slice(&body).map_err(|_| {
        invalid_metadata("The request body is not a JSON object of client metadata").into()
    })
}

/// Who may register: an initial access token's holder, or anyone when open registration is on;
/// and who that is, for the audit trail.
async fn registrar(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<(Registrar, Actor), Error> {
    let Some(token) = super::bearer_token(req)? else {
        if !state.settings.registration.open {
            return Err(OAuthError::new(
                ErrorCode::InvalidToken,
                "An initial access token is required",
            )
            .into());
        }
        let address = super::ClientAddr::of(req).0;
        if state.open_registrations.check_key(&address).is_err() {
            Event::new(Kind::OpenRegistrationLimited, Actor::Anonymous).log();
            return Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "Too many registrations from this address; retry later",
            )
            .with_status(429)
            .into());
        }
        return Ok((Registrar::Open, Actor::Anonymous));
    };
    let claims = access_token::verify(
        &state.settings,
        &state.keys.load(),
        state.clock.now(),
        &token,
    )?;
    let principal = db::run(&state.pool, move |conn| {
        bearer::authorize(
            conn,
            &claims,
            &[admin::clients::ADMIN_SCOPE, "latchkey:register"],
        )
    })
    .await?;
    // A person's admin token registers as an administrator only after the sign-in the admin
    // API asks for.
    if principal.scope.contains(admin::clients::ADMIN_SCOPE) {
        principal.require_multi_factor(state.settings.admin.require_mfa)?;
    }
    let registrar = if principal.scope.contains(admin::clients::ADMIN_SCOPE) {
        Registrar::Admin
    } else {
        Registrar::Registrar
    };
    Ok((registrar, principal.actor()))
}

/// `actor` as the author of a registration change, now.
fn by(state: &AppState, actor: Actor) -> By {
    By::new(actor, state.settings.audit.store, state.clock.now())
}

fn json(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// The metadata checked against the bounds of whoever registers; a refusal is audited.
fn validate(
    state: &AppState,
    metadata: &Metadata,
    registrar: Registrar,
    held: Option<&crate::domain::client::Client>,
    actor: &Actor,
) -> Result<(admin::clients::NewClient, String), Error> {
    let bounds = Bounds {
        registrar,
        policy: &state.settings.registration,
        algorithms: &state.settings.keys.algorithms,
        held,
    };
    registration::validate(metadata, &bounds).map_err(|e| {
        let mut refused = Event::new(Kind::ClientRegistrationRefused, actor.clone());
        refused.subject = held.map(|c| c.id.clone());
        refused.client = held.map(|c| c.id.clone());
        refused.reason(e.error).log();
        e.into()
    })
}

/// Inside the registration's transaction: room under open registration's global cap.
fn open_room(
    conn: &mut db::DbConnection,
    policy: &crate::config::RegistrationSettings,
) -> Result<(), Error> {
    db::lock_for_open_registration(conn)?;
    match open::room(conn, policy)? {
        Room::Free => Ok(()),
        Room::Full { retry_after_secs } => {
            Event::new(Kind::ClientRegistrationRefused, Actor::Anonymous)
                .reason("open_max_clients")
                .log();
            Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "Open registration is at capacity; retry later",
            )
            .with_retry_after(retry_after_secs)
            .into())
        }
    }
}

pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let (registrar, actor) = registrar(&req, &state).await?;
    let metadata = read_metadata(&req, payload, &state).await?;
    let (new, method) = validate(&state, &metadata, registrar, None, &actor)?;
    let access = metadata.access();
    let shared = state.clone();
    let by = by(&state, actor);
    let (registered, token) = db::run_tx(&state.pool, move |conn| {
        if registrar == Registrar::Open {
            open_room(conn, &shared.settings.registration)?;
        }
        let (mut registered, token) = admin::clients::add_with(
            conn,
            &by,
            &*shared.random,
            new,
            Some(&method),
            Some(registrar.as_str()),
        )
        .map_err(admin_error)?;
        if !access.is_empty() {
            let id = registered.client.client_id.clone();
            let public_only = registrar != Registrar::Admin;
            admin::resources::set_client_access(conn, &by, &id, &access, public_only)
                .and_then(|()| admin::clients::show(conn, &id))
                .map(|client| registered.client = client)
                .map_err(admin_error)?;
        }
        Ok::<_, Error>((registered, token))
    })
    .await?;
    let secret = registered
        .client_secret
        .as_ref()
        .map(secrecy::ExposeSecret::expose_secret);
    let body = registration::response(
        state.settings.base_url(),
        &registered.client,
        secret,
        Some(secrecy::ExposeSecret::expose_secret(&token)),
    );
    Ok(json(StatusCode::CREATED, body))
}

/// The client `id` if the request carries its registration access token.
async fn registered(
    req: &HttpRequest,
    state: &AppState,
    id: String,
) -> Result<crate::domain::client::Client, Error> {
    let token = super::bearer_token(req)?.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidToken,
            "A registration access token is required",
        )
    })?;
    // No client id holds a NUL (PostgreSQL cannot even compare one): no such client.
    let client = if id.contains('\0') {
        None
    } else {
        db::run(&state.pool, move |conn| {
            admin::clients::find_by_registration_token(conn, &id, &token).map_err(admin_error)
        })
        .await?
    };
    client.ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidToken,
            "The registration access token is invalid",
        )
        .into()
    })
}

pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let client = registered(&req, &state, path.into_inner()).await?;
    let view = admin::clients::ClientView::from(client);
    Ok(json(
        StatusCode::OK,
        registration::response(state.settings.base_url(), &view, None, None),
    ))
}

pub async fn put(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let id = path.into_inner();
    let client = registered(&req, &state, id.clone()).await?;
    let metadata = read_metadata(&req, payload, &state).await?;
    if metadata.client_id.as_deref() != Some(client.id.as_str()) {
        return Err(invalid_metadata(
            "client_id must name the client being updated (RFC 7592 §2.2)",
        )
        .into());
    }
    // The client's own token is never an admin's: whoever registered the client, the update
    // stays within the registration policy (open registration's rules for open clients), and
    // may only keep what the client already holds beyond it.
    let registrar = match Registrar::from_stored(client.registered_by.as_deref()) {
        Registrar::Open => Registrar::Open,
        Registrar::Admin | Registrar::Registrar => Registrar::Registrar,
    };
    let actor = Actor::Client(client.id.clone());
    let (mut new, method) = validate(&state, &metadata, registrar, Some(&client), &actor)?;
    // The access-token algorithm is not client metadata: only an administrator sets it.
    new.access_token_alg = client.access_token_alg;
    // Resources are a Latchkey extension: an update that names none keeps the client's own, so
    // a client library that drops unknown fields cannot lose what an administrator gave.
    let access = metadata.access();
    let pool = state.pool.clone();
    let (by, random) = (by(&state, actor), state.random.clone());
    let (view, token) = db::run_tx(&pool, move |conn| {
        let (mut view, token) =
            admin::clients::update(conn, &by, &*random, &id, new, Some(&method), true)?;
        if !access.is_empty() {
            admin::resources::set_client_access(conn, &by, &id, &access, true)?;
            view = admin::clients::show(conn, &id)?;
        }
        Ok::<_, admin::AdminError>((view, token))
    })
    .await
    .map_err(admin_error)?;
    let body = registration::response(
        state.settings.base_url(),
        &view,
        None,
        token.as_ref().map(secrecy::ExposeSecret::expose_secret),
    );
    Ok(json(StatusCode::OK, body))
}

pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let client = registered(&req, &state, path.into_inner()).await?;
    let pool = state.pool.clone();
    let (id, by) = (
        client.id.clone(),
        by(&state, Actor::Client(client.id.clone())),
    );
    db::run(&pool, move |conn| admin::clients::remove(conn, &by, &id))
        .await
        .map_err(admin_error)?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
