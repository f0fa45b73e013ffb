//! `POST /admin/users/{username}/password-link`: the "Make a set-password link" button of the
//! admin user page. The link (`admin::password_links`, lifetime `email.password_link_ttl_secs`)
//! is shown once, on a page of its own.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use super::{by, form, outcome, PageResult};
use crate::admin;
use crate::db;
use crate::routes::pages;
use crate::state::AppState;
use crate::views::{self, AdminForms, AdminPasswordLinkPage};

pub async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let (by, username) = (by(&state, &session), path.into_inner());
    let (random, base) = (state.random.clone(), state.settings.base_url().to_owned());
    let ttl = state.settings.email.password_link_ttl_secs;
    let made = db::run(&state.pool, move |conn| {
        admin::password_links::create(conn, &by, &*random, &base, &username, ttl)
    })
    .await;
    match made {
        Ok(link) => Ok(pages::render(
            StatusCode::OK,
            &AdminPasswordLinkPage {
                brand: &state.brand,
                username: &link.username,
                url: &link.url,
                expires: views::date(Some(link.expires_at)),
            },
        )),
        Err(e) => outcome(&req, &state, &session, Err(e), "", AdminForms::default()).await,
    }
}
