//! What guards the admin forms against cross-site request forgery: a token derived from the
//! browser's session, a check that the request comes from the issuer's own origin, and the
//! referrer policy that lets browsers say so.

use actix_web::{HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::routes::pages::{self, SESSION};
use crate::state::AppState;

/// The admin pages post forms to their own origin, and the origin check needs the browser to say
/// so: under the site-wide `Referrer-Policy: no-referrer` a browser sends `Origin: null` even to
/// the same origin. `same-origin` (here and in the admin templates' `<meta name="referrer">`)
/// still tells other sites nothing.
pub(crate) fn with_form_referrer_policy(mut response: HttpResponse) -> HttpResponse {
    use actix_web::http::header::{HeaderValue, REFERRER_POLICY};
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// The CSRF token of this browser's admin forms: derived from its session secret, which no other
/// site can read or set (an `HttpOnly` cookie, replaced at every login), so a token is valid only
/// with the session it was rendered for and only until that session ends.
pub(super) fn csrf_token(req: &HttpRequest, state: &AppState) -> SecretString {
    session_form_token(req, state, b"latchkey admin form\0")
}

/// A CSRF token derived from the browser's session under `label` (one label per set of pages,
/// so a token of one never works on another).
pub(crate) fn session_form_token(
    req: &HttpRequest,
    state: &AppState,
    label: &[u8],
) -> SecretString {
    let session = pages::read_cookie(req, state, SESSION).unwrap_or_default();
    let digest = Sha256::new()
        .chain_update(label)
        .chain_update(session.as_bytes())
        .finalize();
    SecretString::from(URL_SAFE_NO_PAD.encode(digest))
}

/// Whether a state-changing request comes from Latchkey's own pages: its `Origin` (or, when a
/// browser sends none, its `Referer`) must be the issuer's origin. A request with neither is
/// left to the CSRF token alone.
pub(crate) fn same_origin(req: &HttpRequest, state: &AppState) -> bool {
    use actix_web::http::header;
    let origin_of = |raw: &str| url::Url::parse(raw).map(|u| u.origin().ascii_serialization());
    let Ok(expected) = origin_of(&state.settings.issuer) else {
        return false;
    };
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(|o| o == expected);
    }
    match headers.get(header::REFERER) {
        Some(referer) => referer
            .to_str()
            .ok()
            .and_then(|r| origin_of(r).ok())
            .is_some_and(|o| o == expected),
        None => true,
    }
}
