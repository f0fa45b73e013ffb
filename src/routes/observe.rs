//! The request middleware: gives every request an id (a sane incoming `X-Request-Id`, else a new
//! one, returned on every response), resolves the client address behind trusted proxies, runs the
//! handler inside a `request` span carrying both (and with both as the audit events' `Origin`),
//! records the HTTP metrics and logs one line per
//! request with plain values.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use tracing::Instrument;

use super::client_addr::{self, ClientAddr};
use crate::state::AppState;

/// `X-Request-Id`, read from requests and set on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of a request, as logged and returned in `X-Request-Id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The client a handler authenticated or was addressed by, for the request log.
#[derive(Clone, Debug)]
struct KnownClient(String);

/// Names the client a request is about, so the request log carries its id.
pub fn note_client(req: &HttpRequest, client_id: &str) {
    req.extensions_mut()
        .insert(KnownClient(client_id.to_owned()));
}

/// An incoming id is kept when it is 1 to 128 characters of `A-Z a-z 0-9 - _ . : / + = @`; anything
/// else (empty, long, spaces, control characters, non-ASCII) is replaced, so a log line can never
/// be forged or bloated through it.
pub fn sane_request_id(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:/+=@".contains(c);
    (!text.is_empty() && text.len() <= 128 && text.chars().all(allowed)).then_some(text)
}

/// Logs each request once and records its metrics; see the module documentation.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane_request_id)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let peer = client_addr::peer(req.peer_addr());
    let address = match &state {
        Some(state) => {
            client_addr::resolve(peer, req.headers(), &state.settings.server.trusted_proxies)
        }
        None => peer,
    };
    req.extensions_mut().insert(ClientAddr(address));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().clone();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("request", request_id = %request_id, address = %address);
    // Handlers answer errors as responses; an `Err` here comes from a middleware and is turned into
    // a response by actix after this one, without the header.
    let origin = crate::origin::Origin {
        address,
        request_id: request_id.clone(),
    };
    let handled = next.call(req).instrument(span);
    let mut response = crate::origin::in_scope(Some(origin), handled).await?;
    let elapsed = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    if let Some(state) = state {
        state
            .metrics
            .http_requests
            .with_label_values(&[route.as_str(), status_class(status)])
            .inc();
        state
            .metrics
            .http_duration
            .with_label_values(&[route.as_str()])
            .observe(elapsed.as_secs_f64());
    }
    let client = response
        .request()
        .extensions()
        .get::<KnownClient>()
        .cloned();
    tracing::info!(
        target: "http",
        request_id = %request_id,
        address = %address,
        method = %method,
        route = %route,
        status,
        latency_ms = (elapsed.as_micros() as f64) / 1000.0,
        client_id = client.as_ref().map(|c| c.0.as_str()),
        "request"
    );
    Ok(response)
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_request_ids_are_kept_and_others_refused() {
        let ok = HeaderValue::from_static("abc-123_X.y:z/+=@");
        assert_eq!(sane_request_id(&ok), Some("abc-123_X.y:z/+=@"));
        for bad in ["", "has space", "a\"quote", "new\tline"] {
            assert_eq!(
                sane_request_id(&HeaderValue::from_static(bad)),
                None,
                "{bad}"
            );
        }
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        assert_eq!(sane_request_id(&long), None);
        let max = HeaderValue::from_str(&"a".repeat(128)).unwrap();
        assert!(sane_request_id(&max).is_some());
        let utf8 = HeaderValue::from_bytes("é".as_bytes()).unwrap();
        assert_eq!(sane_request_id(&utf8), None);
    }
}
