//! The admin pages' groups: `/admin/groups` lists them with their members and restricted scopes
//! and takes the forms that change them; `/admin/users/{username}` shows a user's profile (with
//! `email_verified`), second factors and groups. Every change is a checked form (`form`), then
//! back to its page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{administrator, by, form, render_with_csrf, PageError, PageResult};
use crate::admin::factors::UserFactors;
use crate::admin::groups::GroupView;
use crate::admin::users::{ProfileUpdate, UserView};
use crate::admin::{self, AdminError};
use crate::audit::By;
use crate::db::{self, DbConnection};
use crate::oauth::params::Params;
use crate::routes::pages;
use crate::state::AppState;
use crate::views::{self, GroupsPage, UserPage};

/// Back to `to` after a change; a refused change is shown on an error page with its reason.
fn back(state: &AppState, result: Result<(), AdminError>, to: &str) -> PageResult {
    match result {
        Ok(()) => Ok(pages::redirect(to, true)),
        Err(e @ (AdminError::Invalid(_) | AdminError::NotFound(_) | AdminError::Conflict(_))) => {
            Err(PageError::page(
                state,
                StatusCode::BAD_REQUEST,
                "This change was refused",
                &e.to_string(),
            ))
        }
        Err(e) => Err(PageError::failed(state, e)),
    }
}

/// Runs a change from a checked form and goes back to `to`.
pub(super) async fn apply(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    to: String,
    change: impl FnOnce(&mut DbConnection, &crate::oauth::params::Params, &By) -> Result<(), AdminError>
        + Send
        + 'static,
) -> PageResult {
    let (session, params) = form(req, payload, state).await?;
    let by = by(state, &session);
    let result = db::run(&state.pool, move |conn| change(conn, &params, &by)).await;
    back(state, result, &to)
}

fn field(params: &crate::oauth::params::Params, name: &str) -> String {
    params.get(name).unwrap_or("").trim().to_owned()
}

/// `GET /admin/groups`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> PageResult {
    administrator(&req, &state).await?;
    let groups: Vec<GroupView> = db::run(&state.pool, admin::groups::list)
        .await
        .map_err(|e| PageError::failed(&state, e))?;
    Ok(render_with_csrf(&req, &state, |csrf| {
        pages::render(
            StatusCode::OK,
            &GroupsPage {
                brand: &state.brand,
                groups: &groups,
                csrf,
                error: None,
            },
        )
    }))
}

/// `POST /admin/groups`: creates a group.
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let random = state.random.clone();
    apply(
        &req,
        payload,
        &state,
        "/admin/groups".into(),
        move |conn, params, by| {
            let description = Some(field(params, "description")).filter(|d| !d.is_empty());
            let name = field(params, "name");
            admin::groups::add(conn, &*random, by, &name, description.as_deref()).map(drop)
        },
    )
    .await
}

/// `POST /admin/groups/{name}/delete`.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let name = path.into_inner();
    apply(
        &req,
        payload,
        &state,
        "/admin/groups".into(),
        move |conn, _, by| admin::groups::remove(conn, by, &name),
    )
    .await
}

/// `POST /admin/groups/{name}/members` (`username`).
pub async fn add_member(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let group = path.into_inner();
    apply(
        &req,
        payload,
        &state,
        "/admin/groups".into(),
        move |conn, params, by| {
            admin::groups::join(conn, by, &field(params, "username"), &group).map(drop)
        },
    )
    .await
}

/// `POST /admin/groups/{name}/members/{username}/remove`; `back=user` returns to the user page.
pub async fn remove_member(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (group, username) = path.into_inner();
    let (session, params) = form(&req, payload, &state).await?;
    let by = by(&state, &session);
    let to = match params.get("back") {
        Some("user") => format!("/admin/users/{username}"),
        _ => "/admin/groups".into(),
    };
    let result = db::run(&state.pool, move |conn| {
        admin::groups::leave(conn, &by, &username, &group).map(drop)
    })
    .await;
    back(&state, result, &to)
}

/// `POST /admin/groups/{name}/scopes` (`scope`): restricts the scope to the group.
pub async fn allow_scope(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let group = path.into_inner();
    apply(
        &req,
        payload,
        &state,
        "/admin/groups".into(),
        move |conn, params, by| {
            admin::groups::allow_scope(conn, by, &group, &field(params, "scope")).map(drop)
        },
    )
    .await
}

/// `POST /admin/groups/{name}/scopes/remove` (`scope`).
pub async fn disallow_scope(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let group = path.into_inner();
    apply(
        &req,
        payload,
        &state,
        "/admin/groups".into(),
        move |conn, params, by| {
            admin::groups::disallow_scope(conn, by, &group, &field(params, "scope")).map(drop)
        },
    )
    .await
}

/// `GET /admin/users/{username}[?notice=…]`: profile, second factors (never their secrets) and
/// groups.
pub async fn user(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> PageResult {
    administrator(&req, &state).await?;
    let username = path.into_inner();
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let loaded = db::run(&state.pool, move |conn| {
        let user = admin::users::show(conn, &username)?;
        let factors = admin::factors::list(conn, &username)?;
        let groups = admin::groups::of_user(conn, &username)?;
        let joinable = admin::groups::list(conn)?
            .into_iter()
            .map(|g| g.name)
            .filter(|name| !groups.contains(name))
            .collect::<Vec<_>>();
        Ok::<_, AdminError>((user, factors, groups, joinable))
    })
    .await;
    let (user, factors, groups, joinable): (UserView, UserFactors, Vec<String>, Vec<String>) =
        match loaded {
            Ok(found) => found,
            Err(AdminError::NotFound(_)) => return Err(PageError::not_found(&state, "user")),
            Err(e) => return Err(PageError::failed(&state, e)),
        };
    Ok(render_with_csrf(&req, &state, |csrf| -> HttpResponse {
        pages::render(
            StatusCode::OK,
            &UserPage {
                brand: &state.brand,
                user: &user,
                factors: &factors.factors,
                recovery_codes_left: factors.recovery_codes_left,
                notice: super::notice(params.get("notice")),
                groups: &groups,
                joinable: &joinable,
                csrf,
                error: None::<Vec<views::Span<'_>>>,
            },
        )
    }))
}

/// `POST /admin/users/{username}/profile` (`email`, `email_verified`, `name`).
pub async fn profile(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let username = path.into_inner();
    let to = format!("/admin/users/{username}");
    apply(&req, payload, &state, to, move |conn, params, by| {
        let optional = |name: &str| Some(field(params, name)).filter(|v| !v.is_empty());
        let update = ProfileUpdate {
            email: Some(optional("email")),
            email_verified: Some(params.get("email_verified") == Some("yes")),
            name: Some(optional("name")),
        };
        admin::users::update_profile(conn, by, &username, update)?;
        Ok(())
    })
    .await
}

/// `POST /admin/users/{username}/groups` (`group`): adds the user to a group.
pub async fn join(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let username = path.into_inner();
    let to = format!("/admin/users/{username}");
    apply(&req, payload, &state, to, move |conn, params, by| {
        admin::groups::join(conn, by, &username, &field(params, "group")).map(drop)
    })
    .await
}
