//! What every hosted page shares: HTML responses with the page security headers (DESIGN.md §7),
//! cookies (`HttpOnly`, `SameSite=Lax`, `Secure` and `__Host-` on https), and error pages.

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::oauth::authorize::AuthorizeError;
use crate::oauth::interaction::InteractionError;
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::views::ErrorPage;

/// Pages load only their own style sheets and images; no script at all.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https:; \
                        frame-ancestors 'none'; base-uri 'none'";

/// The browser-session cookie.
pub const SESSION: &str = "latchkey_session";
/// Binds pending login and consent requests to the browser that started them.
pub const INTERACTION: &str = "latchkey_interaction";
/// Double-submit CSRF token for the logout confirmation.
pub const LOGOUT_CSRF: &str = "latchkey_logout";

/// The cookie's real name: `__Host-` prefixed when the issuer is https.
pub fn cookie_name(state: &AppState, base: &str) -> String {
    if state.settings.secure_cookies() {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of cookie `base` on this request.
pub fn read_cookie(req: &HttpRequest, state: &AppState, base: &str) -> Option<String> {
    req.cookie(&cookie_name(state, base))
        .map(|c| c.value().to_owned())
}

/// A cookie as every Latchkey cookie is: host-only, `Path=/`, `HttpOnly`, `SameSite=Lax`.
pub fn cookie(
    state: &AppState,
    base: &str,
    value: String,
    max_age_secs: Option<i64>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(state, base), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .finish();
    if let Some(age) = max_age_secs {
        cookie.set_max_age(Duration::seconds(age));
    }
    cookie
}

/// A cookie that deletes `base`.
pub fn removal(state: &AppState, base: &str) -> Cookie<'static> {
    let mut c = cookie(state, base, String::new(), Some(0));
    c.make_removal();
    c
}

/// An HTML response with the page security headers.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Renders a template, or a plain error if rendering itself fails.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// An error page.
pub fn error_page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
    code: Option<&str>,
) -> HttpResponse {
    let mut response = render(
        status,
        &ErrorPage {
            brand: &state.brand,
            title,
            message,
            code,
        },
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(crate::oauth::error::RETRY_AFTER_SECS),
        );
    }
    response
}

/// A protocol error shown as a page (never a redirect).
pub fn oauth_error_page(state: &AppState, error: &OAuthError) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let title = if status.is_server_error() {
        "Something went wrong"
    } else {
        "This request cannot be completed"
    };
    error_page(
        state,
        status,
        title,
        &error.description,
        Some(error.code.as_str()),
    )
}

/// A redirect with `303 See Other` (after a form POST) or `302 Found`.
pub fn redirect(to: &str, after_post: bool) -> HttpResponse {
    let mut response = if after_post {
        HttpResponse::SeeOther()
    } else {
        HttpResponse::Found()
    };
    response
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub fn authorize_error(state: &AppState, error: AuthorizeError, after_post: bool) -> HttpResponse {
    match error {
        AuthorizeError::Page(e) => oauth_error_page(state, &e),
        AuthorizeError::Redirect(to) => redirect(&to, after_post),
    }
}

pub fn interaction_error(state: &AppState, error: InteractionError) -> HttpResponse {
    match error {
        InteractionError::Expired => error_page(
            state,
            StatusCode::BAD_REQUEST,
            "This sign-in link has expired",
            "Go back to the application and start again.",
            None,
        ),
        InteractionError::Forbidden => error_page(
            state,
            StatusCode::FORBIDDEN,
            "This form cannot be accepted",
            "It was sent from another browser, submitted twice, or is out of date. Go back to the application and start again.",
            None,
        ),
        InteractionError::Failed(e) => authorize_error(state, e, true),
    }
}
