//! `[login]`, `[claims]`, `[mfa]` and `[admin]`: how people sign in (by username, or by a unique
//! email address, with or without a second factor; administrators perhaps always with one) and
//! which claims about them tokens may carry.

use serde::{Deserialize, Serialize};

/// How the login page and the password grant find the account a person names.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// Accept an email address where a username is asked for, when exactly one user has it.
    pub by_email: bool,
    /// Days a browser stays a known device for the person who signed in there (its password
    /// checks wait in the priority lane); 0 turns known devices off.
    pub known_device_days: u32,
}

/// Claims beyond the OpenID Connect standard ones.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsSettings {
    /// Offer the `groups` scope, which releases the `groups` claim.
    pub groups: bool,
}

/// `[mfa]`: when a second factor is asked for at sign-in.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MfaSettings {
    pub policy: crate::domain::factor::MfaPolicy,
}

/// `[admin]`: how administrators sign in to the admin pages.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// The admin console's sign-in always asks for a second factor (a person without one enrols),
    /// whatever `[mfa] policy` and the console client's own policy say.
    pub require_mfa: bool,
}
