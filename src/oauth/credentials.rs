//! Checking a person's username and password, the same way on the login page and in the password
//! grant: one lookup rule, the dummy hash for unknown, disabled or password-less users (same time,
//! same answer), one failure message, and a rehash when the stored parameters are out of date.

use secrecy::SecretString;

use super::error::OAuthError;
use crate::crypto::password::Passwords;
use crate::db::{self, DbConnection, Pool};
use crate::domain::user::User;

/// The one answer to every failed login, whatever was wrong.
pub const INVALID_CREDENTIALS: &str = "Invalid username or password";

/// The longest email address accepted in place of a username (RFC 5321 §4.5.3.1.3 path limit).
const MAX_EMAIL_LEN: usize = 254;

/// The user a login names: the username (exact, else its normalised form), else — with
/// `by_email` (`login.by_email`) — the one user with that email address. An address shared by
/// several users names nobody. A name no user can have is looked up nowhere; the caller still
/// runs the (dummy) password check, so every kind of miss costs the same.
pub fn find_user(
    conn: &mut DbConnection,
    username: &str,
    by_email: bool,
) -> Result<Option<User>, OAuthError> {
    if let Some(key) = crate::domain::user::login_key(username) {
        if let Some(row) = db::users::find_for_login(conn, username, &key)? {
            return Ok(Some(User::from(row)));
        }
    }
    if by_email && username.contains('@') && username.len() <= MAX_EMAIL_LEN {
        return Ok(db::users::find_by_unique_email(conn, username)?.map(User::from));
    }
    Ok(None)
}

/// The audit reason class of a failed login by `user` (as [`find_user`] found it): what the person
/// is never told, the operator needs.
pub fn failure_reason(user: Option<&User>) -> &'static str {
    match user {
        None => "unknown_account",
        Some(u) if u.disabled => "account_disabled",
        Some(u) if u.password_hash.is_none() => "no_password",
        Some(_) => "wrong_password",
    }
}

/// Checks `password` for `user` (looked up with [`find_user`]) without holding a database
/// connection; `Ok(None)` for every kind of failure. An outdated hash is upgraded through `pool`,
/// stamped `now`.
pub async fn check_password(
    passwords: &Passwords,
    pool: &Pool,
    now: i64,
    user: Option<User>,
    password: SecretString,
) -> Result<Option<User>, OAuthError> {
    let stored = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    let verified = passwords.verify(stored, password.clone()).await?;
    let Some(user) = user.filter(|u| verified.valid && !u.disabled) else {
        return Ok(None);
    };
    if verified.needs_rehash {
        upgrade_hash(passwords, pool, now, &user.id, password).await;
    }
    Ok(Some(user))
}

/// Re-hashes a password whose stored hash used outdated parameters. A failure is logged and the
/// login still succeeds: the old hash remains valid.
async fn upgrade_hash(
    passwords: &Passwords,
    pool: &Pool,
    now: i64,
    user_id: &str,
    password: SecretString,
) {
    let hash = match passwords.hash(password).await {
        Ok(hash) => hash,
        Err(e) => return tracing::warn!(error = %e, "password rehash failed"),
    };
    let id = user_id.to_owned();
    let result = db::run(pool, move |conn| {
        db::users::set_password_hash(conn, &id, &hash, now).map_err(db::DbError::from)
    })
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "storing an upgraded password hash failed");
    }
}
