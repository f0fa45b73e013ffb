//! Set-password links made by an administrator (CLI `user password-link`, the admin API and the
//! admin user page): a one-time link (`email::links`, purpose `set_password`) that lets the person
//! choose their own password, for when Latchkey sends no email or an administrator hands the
//! link over themselves. The link is shown once; only its hash is stored.

use secrecy::ExposeSecret;
use serde::Serialize;

use super::AdminError;
use crate::audit::{By, Kind};
use crate::db::{self, DbConnection};
use crate::email::links::{self, NewLink, Purpose};
use crate::random::Random;

/// The shortest and longest lifetime an administrator may give a link: a minute to 30 days.
pub const TTL_RANGE: std::ops::RangeInclusive<i64> = 60..=2_592_000;

/// A link just made, to show once.
#[derive(Serialize)]
pub struct PasswordLink {
    pub username: String,
    pub url: String,
    pub expires_at: i64,
    pub expires_in: i64,
}

impl std::fmt::Debug for PasswordLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordLink")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Makes a set-password link for `username`, valid `ttl_secs`, below `base_url` (the issuer).
pub fn create(
    conn: &mut DbConnection,
    by: &By,
    random: &dyn Random,
    base_url: &str,
    username: &str,
    ttl_secs: i64,
) -> Result<PasswordLink, AdminError> {
    if !TTL_RANGE.contains(&ttl_secs) {
        return Err(AdminError::Invalid(format!(
            "the link's lifetime must be from {} seconds to 30 days ({} seconds)",
            TTL_RANGE.start(),
            TTL_RANGE.end()
        )));
    }
    db::write_tx(conn, |conn| {
        let user = super::users::find(conn, username)?;
        if user.disabled {
            return Err(AdminError::Invalid(format!(
                "user `{}` is disabled; enable them first",
                user.username
            )));
        }
        let new = NewLink {
            user_id: &user.id,
            purpose: Purpose::SetPassword,
            email: None,
            requested_from: None,
            ttl_secs,
        };
        let issued = links::issue(conn, random, base_url, new, by.now)?;
        by.record(conn, &by.event(Kind::PasswordLinkCreated).subject(&user.id))?;
        Ok(PasswordLink {
            username: user.username,
            url: issued.url.expose_secret().to_owned(),
            expires_at: issued.expires_at,
            expires_in: ttl_secs,
        })
    })
}
