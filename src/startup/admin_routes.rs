//! Route groups of the admin pages (groups, users, API resources) and of the admin API (groups),
//! configured into [`super::routes`], the one route table.

use actix_web::web;

use crate::routes;

/// The admin pages' groups and user pages (`routes::admin_pages::groups`).
pub(super) fn admin_page_groups(cfg: &mut web::ServiceConfig) {
    use routes::admin_pages::groups;
    cfg.service(
        web::resource("/admin/groups")
            .route(web::get().to(groups::list))
            .route(web::post().to(groups::create)),
    )
    .service(web::resource("/admin/groups/{name}/delete").route(web::post().to(groups::delete)))
    .service(
        web::resource("/admin/groups/{name}/members").route(web::post().to(groups::add_member)),
    )
    .service(
        web::resource("/admin/groups/{name}/members/{username}/remove")
            .route(web::post().to(groups::remove_member)),
    )
    .service(
        web::resource("/admin/groups/{name}/scopes").route(web::post().to(groups::allow_scope)),
    )
    .service(
        web::resource("/admin/groups/{name}/scopes/remove")
            .route(web::post().to(groups::disallow_scope)),
    )
    .service(web::resource("/admin/users/{username}").route(web::get().to(groups::user)))
    .service(
        web::resource("/admin/users/{username}/profile").route(web::post().to(groups::profile)),
    )
    .service(web::resource("/admin/users/{username}/groups").route(web::post().to(groups::join)))
    .service(
        web::resource("/admin/users/{username}/mfa/reset")
            .route(web::post().to(routes::admin_pages::users::reset_mfa)),
    );
    routes::admin_pages::resources::configure(cfg);
}

/// The admin API's group endpoints (`routes::admin_api::groups`), inside `/admin/api`.
pub(super) fn admin_api_groups(cfg: &mut web::ServiceConfig) {
    use routes::admin_api::groups;
    cfg.service(
        web::resource("/groups")
            .route(web::get().to(groups::list))
            .route(web::post().to(groups::create)),
    )
    .service(
        web::resource("/groups/{name}")
            .route(web::get().to(groups::show))
            .route(web::delete().to(groups::delete)),
    )
    .service(
        web::resource("/groups/{name}/members/{username}")
            .route(web::put().to(groups::add_member))
            .route(web::delete().to(groups::remove_member)),
    )
    .service(
        web::resource("/groups/{name}/scopes/{scope}")
            .route(web::put().to(groups::allow_scope))
            .route(web::delete().to(groups::disallow_scope)),
    )
    .service(web::resource("/users/{username}/groups").route(web::get().to(groups::of_user)));
}
