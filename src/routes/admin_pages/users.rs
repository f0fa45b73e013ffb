//! The admin pages' user actions, one route each: create, disable, enable, set a password, grant
//! and revoke the admin role, reset second factors. An administrator cannot disable or demote their own account.

use actix_web::{web, HttpRequest};
use secrecy::SecretString;

use super::{by, form, outcome, PageResult};
use crate::admin::users::NewUser;
use crate::admin::{self, AdminError};
use crate::audit::By;
use crate::db::{self, DbConnection};
use crate::oauth::params::Params;
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
        email_verified: params.get("email_verified") == Some("yes"),
        name: optional("name"),
        password: optional("password").map(SecretString::from),
    };
    let (now, random) = (state.clock.now(), state.random.clone());
    let result = match admin::with_passwords(&state.passwords, move |p| {
        admin::users::prepare(p, &*random, new, now)
    })
    .await
    {
        Ok(user) => {
            let by = by(&state, &session);
            db::run(&state.pool, move |conn| {
                admin::users::add(conn, &by, user).map(drop)
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

/// A role or status change of the user named in the path.
struct Change {
    /// The verb of the refusal when the change would lock the administrator out of their own
    /// account (`disable`, `demote`); `None` when it is harmless on oneself.
    never_on_oneself: Option<&'static str>,
    apply: fn(&mut DbConnection, &By, &str) -> Result<(), AdminError>,
    /// The notice shown after it.
    done: &'static str,
}

/// Checks the form, applies `change` (refusing it on the administrator's own account when it
/// would lock them out) and goes back to the list.
async fn change(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
    change: Change,
) -> PageResult {
    let (session, _) = form(&req, payload, &state).await?;
    let (by, me, username) = (
        by(&state, &session),
        session.user.id.clone(),
        path.into_inner(),
    );
    let result = db::run(&state.pool, move |conn| {
        if let Some(verb) = change.never_on_oneself {
            if admin::users::show(conn, &username)?.id == me {
                return Err(AdminError::Invalid(format!(
                    "you cannot {verb} your own account; another administrator can"
                )));
            }
        }
        (change.apply)(conn, &by, &username)
    })
    .await;
    let forms = AdminForms::default();
    outcome(&req, &state, &session, result, change.done, forms).await
}

/// Every route of a role or status change: the same checked form, one [`Change`] each.
macro_rules! change_route {
    ($(#[$doc:meta])* $name:ident => $change:expr) => {
        $(#[$doc])*
        pub async fn $name(
            req: HttpRequest,
            path: web::Path<String>,
            payload: web::Payload,
            state: web::Data<AppState>,
        ) -> PageResult {
            change(req, path, payload, state, $change).await
        }
    };
}

change_route!(
    /// `POST /admin/users/{username}/disable`: also ends their sessions and refresh tokens.
    disable => Change {
        never_on_oneself: Some("disable"),
        apply: |conn, by, name| admin::users::set_disabled(conn, by, name, true),
        done: "user-disabled",
    }
);

change_route!(
    /// `POST /admin/users/{username}/enable`.
    enable => Change {
        never_on_oneself: None,
        apply: |conn, by, name| admin::users::set_disabled(conn, by, name, false),
        done: "user-enabled",
    }
);

change_route!(
    /// `POST /admin/users/{username}/unlock`: forgets the user's failed logins (lockout and
    /// per-address back-offs).
    unlock => Change {
        never_on_oneself: None,
        apply: |conn, by, name| admin::users::unlock(conn, by, name).map(drop),
        done: "user-unlocked",
    }
);

change_route!(
    /// `POST /admin/users/{username}/grant-admin`.
    grant_admin => Change {
        never_on_oneself: None,
        apply: |conn, by, name| admin::users::set_admin(conn, by, name, true),
        done: "admin-granted",
    }
);

change_route!(
    /// `POST /admin/users/{username}/revoke-admin`: never one's own role.
    revoke_admin => Change {
        never_on_oneself: Some("demote"),
        apply: |conn, by, name| admin::users::set_admin(conn, by, name, false),
        done: "admin-revoked",
    }
);

/// `POST /admin/users/{username}/password`.
pub async fn set_password(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let (session, params) = form(&req, payload, &state).await?;
    let (by, username) = (by(&state, &session), path.into_inner());
    let password = SecretString::from(params.get("password").unwrap_or("").to_owned());
    let result = match admin::with_passwords(&state.passwords, move |p| {
        admin::users::hash_password(p, &password)
    })
    .await
    {
        Ok(hash) => {
            db::run(&state.pool, move |conn| {
                admin::users::set_password_hash(conn, &by, &username, &hash)
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

/// `POST /admin/users/{username}/mfa/reset`: removes every second factor and recovery code of
/// the user (the admin API's and the CLI's reset); back to the user's page.
pub async fn reset_mfa(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> PageResult {
    let username = path.into_inner();
    let to = format!("/admin/users/{username}?notice=mfa-reset");
    super::groups::apply(&req, payload, &state, to, move |conn, _, by| {
        admin::factors::reset(conn, by, &username).map(drop)
    })
    .await
}
