//! RFC 6238 time-based one-time passwords (HMAC-SHA-1, 6 digits, 30-second steps, the values
//! every authenticator app accepts) through `totp-rs`, and the `otpauth://` URI and its QR code
//! (an SVG rendered on the server, so the enrolment page needs no script).

use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

use crate::random::Random;

const DIGITS: usize = 6;
/// Seconds per time step (RFC 6238 §4.1 `X`).
pub const STEP_SECS: i64 = 30;
/// 160 bits, the HMAC-SHA-1 block output RFC 4226 §4 recommends.
const SECRET_BYTES: usize = 20;
/// Steps of clock skew accepted on either side.
const SKEW_STEPS: i64 = 1;

/// A fresh secret.
pub fn new_secret(random: &dyn Random) -> Zeroizing<Vec<u8>> {
    let mut secret = Zeroizing::new(vec![0u8; SECRET_BYTES]);
    random.fill(&mut secret);
    secret
}

fn totp(secret: &[u8]) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECS as u64,
        secret.to_vec(),
    )
}

/// The secret as people type it into an authenticator (RFC 4648 base32, no padding).
pub fn base32(secret: &[u8]) -> String {
    totp(secret).get_secret_base32()
}

/// The time step of `now` (RFC 6238 §4.2 `T`).
pub fn step_of(now: i64) -> i64 {
    now.max(0) / STEP_SECS
}

/// The code of time step `step`.
pub fn code_at(secret: &[u8], step: i64) -> String {
    totp(secret).generate(u64::try_from(step.max(0)).unwrap_or(0) * STEP_SECS as u64)
}

/// The time step `code` belongs to, within one step of `now`, and later than `last_step` (a
/// code is accepted once). Compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, now: i64, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    let mut found = None;
    for step in current - SKEW_STEPS..=current + SKEW_STEPS {
        let same: bool =
            subtle::ConstantTimeEq::ct_eq(code_at(secret, step).as_bytes(), code.as_bytes()).into();
        if same && last_step.is_none_or(|last| step > last) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The Key URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer_name: &str, account: &str, secret: &[u8]) -> String {
    let (issuer, account) = (encode(issuer_name), encode(account));
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32(secret)
    )
}

/// The QR code of `uri` as an SVG document; `None` if the URI is too long for a QR code.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, at 59 s and 1111111109 s (last six digits).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, step_of(59)), "287082");
        assert_eq!(code_at(secret, step_of(1_111_111_109)), "081804");
    }

    #[test]
    fn a_code_is_accepted_within_one_step_and_only_after_the_last_one() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_109;
        let step = step_of(now);
        assert_eq!(
            matching_step(secret, &code_at(secret, step - 1), now, None),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(secret, &code_at(secret, step + 1), now, None),
            Some(step + 1)
        );
        assert_eq!(
            matching_step(secret, &code_at(secret, step - 2), now, None),
            None
        );
        assert_eq!(
            matching_step(secret, &code_at(secret, step), now, Some(step)),
            None
        );
        assert_eq!(matching_step(secret, "12345", now, None), None);
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg(&otpauth_uri("Latchkey", "alice", b"12345678901234567890")).unwrap();
        assert!(svg.contains("<svg"));
    }
}
