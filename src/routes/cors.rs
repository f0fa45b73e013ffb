//! CORS (Fetch Standard §3.2) for browser apps on their own origin: `/token`, `/userinfo` and
//! `/revoke` let a page read their answers only when its `Origin` is one the client of the
//! request registered (`web_origins`): `Access-Control-Allow-Origin` names that exact origin,
//! never `*`, and no credentials (cookies) are ever allowed. A refused origin gets no CORS
//! header at all, so the browser withholds the answer. Discovery and JWKS, public documents,
//! keep `Access-Control-Allow-Origin: *`.
//!
//! A preflight (`OPTIONS`) names no client, so it is allowed for an origin that any enabled
//! client registered; the answer to the request itself then decides for its own client.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::db;
use crate::domain::origin::WebOrigin;
use crate::oauth::OAuthError;
use crate::state::AppState;

/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE_SECS: u32 = 600;
/// The request headers a page may send: client authentication, bearer tokens, form bodies.
const ALLOW_HEADERS: &str = "Authorization, Content-Type";
/// Response headers a page may read besides the CORS-safelisted ones.
const EXPOSE_HEADERS: &str = "WWW-Authenticate, Retry-After";

/// The request's `Origin`, when it is a well-formed origin in the form browsers send.
pub fn origin(req: &HttpRequest) -> Option<String> {
    let raw = req.headers().get(header::ORIGIN)?.to_str().ok()?;
    WebOrigin::parse(raw)
        .ok()
        .filter(|o| o.as_str() == raw)
        .map(|o| o.as_str().to_owned())
}

fn vary_origin(response: &mut HttpResponse) {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
}

/// `result` as the answer to a request made for `client_id`, readable by the page when that
/// client registered the request's origin.
pub async fn respond(
    req: &HttpRequest,
    state: &AppState,
    client_id: Option<&str>,
    result: Result<HttpResponse, OAuthError>,
) -> HttpResponse {
    let mut response = result.unwrap_or_else(HttpResponse::from_error);
    if !req.headers().contains_key(header::ORIGIN) {
        return response;
    }
    vary_origin(&mut response);
    let (Some(origin), Some(id)) = (origin(req), client_id) else {
        return response;
    };
    let allowed = match state.client(id).await {
        Ok(client) => client.is_some_and(|c| !c.disabled && c.allows_origin(&origin)),
        Err(e) => {
            tracing::warn!(error = %e, "client lookup for CORS failed");
            false
        }
    };
    if allowed {
        allow(&mut response, &origin);
        let expose = HeaderValue::from_static(EXPOSE_HEADERS);
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
    } else {
        tracing::debug!(%origin, "CORS origin not registered for this client");
    }
    response
}

fn allow(response: &mut HttpResponse, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}

/// `OPTIONS` on an endpoint that answers `methods`: 204, with the CORS preflight headers when
/// some enabled client registered the origin.
async fn preflight(
    req: HttpRequest,
    state: web::Data<AppState>,
    methods: &'static str,
) -> HttpResponse {
    let mut response = HttpResponse::NoContent()
        .insert_header((header::ALLOW, methods))
        .finish();
    let Some(origin) = origin(&req) else {
        if req.headers().contains_key(header::ORIGIN) {
            vary_origin(&mut response);
        }
        return response;
    };
    vary_origin(&mut response);
    let probe = origin.clone();
    let known = db::run(&state.pool, move |conn| {
        db::clients::any_allows_origin(conn, &probe).map_err(db::DbError::from)
    })
    .await;
    match known {
        Ok(true) => {
            allow(&mut response, &origin);
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(methods),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(MAX_AGE_SECS),
            );
        }
        Ok(false) => tracing::debug!(%origin, "CORS preflight from an unregistered origin"),
        Err(e) => tracing::warn!(error = %e, "CORS preflight lookup failed"),
    }
    response
}

/// `OPTIONS /token` and `OPTIONS /revoke`.
pub async fn options_post(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    preflight(req, state, "POST, OPTIONS").await
}

/// `OPTIONS /userinfo`.
pub async fn options_userinfo(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    preflight(req, state, "GET, POST, OPTIONS").await
}
