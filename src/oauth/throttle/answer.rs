//! How a refused login attempt is answered (`oauth::throttle`): the password grant's error, and
//! the login page's wait message.

use super::{Refusal, CROWDED_RETRY_SECS};
use crate::oauth::error::{ErrorCode, OAuthError};

/// The password grant's answer to a throttled attempt: 429, `Retry-After`, nothing about why.
pub fn refusal_error(refusal: Refusal) -> OAuthError {
    let retry_after = match refusal {
        Refusal::Throttled {
            retry_after_secs, ..
        } => retry_after_secs,
        Refusal::RequestExhausted => 1,
        Refusal::Crowded => return crowded_error(),
    };
    OAuthError::invalid_grant("Too many failed attempts; retry later")
        .with_status(429)
        .with_retry_after(retry_after)
}

/// The password grant's answer to a crowded attempt: the same as when the password workers are
/// busy (503 `temporarily_unavailable`, retry in a moment).
fn crowded_error() -> OAuthError {
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "The service is busy; retry in a moment",
    )
    .with_retry_after(CROWDED_RETRY_SECS)
}

/// The login page's message for a throttled attempt, in whole minutes (rounded up).
pub fn wait_message(retry_after_secs: i64) -> String {
    match (retry_after_secs.max(1) + 59) / 60 {
        1 => "Too many attempts. Try again in 1 minute.".to_owned(),
        n => format!("Too many attempts. Try again in {n} minutes."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_shown_in_whole_minutes() {
        assert_eq!(wait_message(1), "Too many attempts. Try again in 1 minute.");
        assert_eq!(
            wait_message(60),
            "Too many attempts. Try again in 1 minute."
        );
        assert_eq!(
            wait_message(61),
            "Too many attempts. Try again in 2 minutes."
        );
    }
}
