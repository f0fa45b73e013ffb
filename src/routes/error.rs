//! How protocol errors become HTTP responses on JSON endpoints (RFC 6749 §5.2, DESIGN.md §6):
//! the right status, `Cache-Control: no-store`, `WWW-Authenticate` on 401, `Retry-After` on 503
//! and 429.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::oauth::{ErrorCode, OAuthError};

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        match self.code {
            ErrorCode::InvalidClient => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="latchkey""#));
            }
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        r#"Bearer realm="latchkey", error="{}", error_description="{}""#,
                        self.code.as_str(),
                        self.description.replace('"', "'")
                    ),
                ));
            }
            ErrorCode::InsufficientUserAuthentication => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        r#"Bearer realm="latchkey", error="{}", error_description="{}", acr_values="{}""#,
                        self.code.as_str(),
                        self.description.replace('"', "'"),
                        crate::domain::factor::ACR_MFA
                    ),
                ));
            }
            _ => {}
        }
        match self.retry_after_secs {
            Some(secs) => {
                response.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            None if self.code == ErrorCode::TemporarilyUnavailable => {
                response
                    .insert_header((header::RETRY_AFTER, crate::oauth::error::RETRY_AFTER_SECS));
            }
            None => {}
        }
        response.json(self)
    }
}
