//! Routes of the one-time links — password reset, email verification, an administrator's
//! set-password link — configured into [`super::routes`], the one route table.

use actix_web::web;

use crate::routes;

/// The pages: forgot, reset, verify, the account's "Verify your email", the admin button.
pub(super) fn pages(cfg: &mut web::ServiceConfig) {
    use routes::{email_verify, password_reset};
    cfg.service(
        web::resource("/password/forgot")
            .route(web::get().to(password_reset::forgot))
            .route(web::post().to(password_reset::request)),
    )
    .service(
        web::resource("/password/reset")
            .route(web::get().to(password_reset::open))
            .route(web::post().to(password_reset::save)),
    )
    .service(
        web::resource("/email/verify")
            .route(web::get().to(email_verify::open))
            .route(web::post().to(email_verify::confirm)),
    )
    .service(web::resource("/account/email/verify").route(web::post().to(email_verify::send)))
    .service(
        web::resource("/admin/users/{username}/password-link")
            .route(web::post().to(routes::admin_pages::password_link::create)),
    );
}

/// The admin API's set-password link, inside `/admin/api`.
pub(super) fn api(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/{username}/password-link")
            .route(web::post().to(routes::admin_api::password_link::post)),
    );
}
