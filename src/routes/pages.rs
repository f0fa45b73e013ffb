//! What every hosted page shares: HTML responses with the page security headers (DESIGN.md §7),
//! cookies (`HttpOnly`, `SameSite=Lax`, `Secure` and `__Host-` on https), and error pages.

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::domain::client::Client;
use crate::oauth::authorize::{self, AuthorizeError};
use crate::oauth::interaction::InteractionError;
use crate::oauth::OAuthError;
use crate::state::AppState;
use crate::views::{self, Brand, ErrorPage, Onward};

/// Pages load only their own style sheets and images; no script at all.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https:; \
                        frame-ancestors 'none'; base-uri 'none'";

/// The pages that offer a passkey also run Latchkey's own script (`/assets/passkey.js`): no
/// inline script, no eval, nothing from elsewhere.
const SCRIPT_PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                               img-src 'self' https:; frame-ancestors 'none'; base-uri 'none'";

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

/// Lets a page run Latchkey's own script (a page that offers a passkey).
pub fn with_script(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(SCRIPT_PAGE_CSP),
    );
    response
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
    error_page_onward(&state.brand, status, title, message, code, None)
}

/// An error page with a link onward (back to the application, or to the admin pages).
pub fn error_page_onward(
    brand: &Brand,
    status: StatusCode,
    title: &str,
    message: &str,
    code: Option<&str>,
    onward: Option<Onward>,
) -> HttpResponse {
    let mut response = render(
        status,
        &ErrorPage {
            brand,
            title,
            message: views::spans(message),
            code,
            onward,
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
        AuthorizeError::Redirect {
            redirect_uri,
            state: client_state,
            error,
        } => {
            let to = authorize::error_redirect(
                &state.settings,
                &redirect_uri,
                client_state.as_deref(),
                &error,
            );
            redirect(&to, after_post)
        }
    }
}

/// A link to `client`'s web site: the origin of a registered (post-logout) redirect URI, for
/// web applications only (a native app's custom scheme is no page to link to).
pub fn application_link(client: &Client) -> Option<Onward> {
    let uri = client
        .post_logout_redirect_uris
        .iter()
        .chain(&client.redirect_uris)
        .filter_map(|u| url::Url::parse(u).ok())
        .find(|u| matches!(u.scheme(), "https" | "http"))?;
    Some(Onward {
        href: format!("{}/", uri.origin().ascii_serialization()),
        label: format!("Back to {}", client.name),
    })
}

pub fn interaction_error(state: &AppState, error: InteractionError) -> HttpResponse {
    match error {
        InteractionError::NoRequest => error_page(
            state,
            StatusCode::BAD_REQUEST,
            "No sign-in in progress",
            "This page is opened by an application when you sign in to it. Open the application you want to use and sign in from there.",
            None,
        ),
        InteractionError::Expired => error_page(
            state,
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "It was started too long ago or has already been finished. Go back to the application and sign in again.",
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
