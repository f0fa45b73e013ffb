//! What every response shares at the HTTP level: `HEAD` answered wherever `GET` is (RFC 9110
//! §9.3.2: the same headers, no body) and HSTS on an https issuer (RFC 6797).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web;

use crate::state::AppState;

/// One year, the value HSTS preload lists ask for.
const HSTS: &str = "max-age=31536000";

/// Routes a `HEAD` request as the `GET` it mirrors (the HTTP/1 encoder still sends no body for
/// it), and adds `Strict-Transport-Security` when the issuer is https.
pub async fn head_and_hsts(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.settings.secure_cookies());
    let mut response = next.call(req).await?;
    if https {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            header::HeaderValue::from_static(HSTS),
        );
    }
    Ok(response)
}
