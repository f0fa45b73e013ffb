//! User management: add, list, show, set password, disable/enable, remove.

use secrecy::SecretString;
use serde::Serialize;

use super::AdminError;
use crate::audit::{By, Kind};
use crate::crypto::password::Passwords;
use crate::db::models::UserRow;
use crate::db::{self, DbConnection};
use crate::domain::user::{is_display_name, is_email, login_key, Username};
use crate::random::Random;

/// What an admin sees of a user; never the password hash.
#[derive(Debug, Serialize)]
pub struct UserView {
    /// The stable, opaque `sub` of this user's tokens.
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub disabled: bool,
    pub is_admin: bool,
    pub has_password: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<UserRow> for UserView {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            email_verified: row.email_verified,
            name: row.name,
            disabled: row.disabled,
            is_admin: row.is_admin,
            has_password: row.password_hash.is_some(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A user to create.
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    /// The address was verified by the admin (the `email_verified` claim); needs `email`.
    pub email_verified: bool,
    pub name: Option<String>,
    pub password: Option<SecretString>,
}

fn check_email(email: &str) -> Result<(), AdminError> {
    if is_email(email) {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "`{email}` is not an email address"
        )))
    }
}

/// A display name (the `name` claim, shown on pages): [`is_display_name`].
fn check_name(name: &str) -> Result<(), AdminError> {
    if !is_display_name(name) {
        return Err(AdminError::Invalid(
            "a name has at most 200 printable characters".into(),
        ));
    }
    Ok(())
}

pub(super) fn find(conn: &mut DbConnection, username: &str) -> Result<UserRow, AdminError> {
    let key = login_key(username).unwrap_or_default();
    db::users::find_for_login(conn, username, &key)?
        .ok_or_else(|| AdminError::NotFound(format!("user `{username}`")))
}

/// A user checked and with their password hashed, ready to be stored: made before a connection
/// is taken, since hashing takes a while.
pub struct PreparedUser {
    row: UserRow,
}

/// Checks a new user and hashes their password (in a password slot; no connection).
pub fn prepare(
    passwords: &Passwords,
    random: &dyn Random,
    new: NewUser,
    now: i64,
) -> Result<PreparedUser, AdminError> {
    let username = Username::parse(&new.username).map_err(AdminError::Invalid)?;
    if let Some(email) = &new.email {
        check_email(email)?;
    }
    if let Some(name) = &new.name {
        check_name(name)?;
    }
    let password_hash = match &new.password {
        Some(pw) => Some(hash_password(passwords, pw)?),
        None => None,
    };
    Ok(PreparedUser {
        row: UserRow {
            id: random.uuid(),
            username: username.as_str().to_owned(),
            email_verified: new.email_verified && new.email.is_some(),
            email: new.email,
            name: new.name,
            password_hash,
            disabled: false,
            created_at: now,
            updated_at: now,
            is_admin: false,
            username_normalized: login_key(username.as_str()),
        },
    })
}

/// Stores a prepared user; a taken username is a conflict.
pub fn add(conn: &mut DbConnection, by: &By, user: PreparedUser) -> Result<UserView, AdminError> {
    let row = user.row;
    db::write_tx(conn, |conn| {
        let key = row.username_normalized.as_deref().unwrap_or_default();
        if db::users::find_for_login(conn, &row.username, key)?.is_some() {
            return Err(AdminError::Conflict(format!("user `{}`", row.username)));
        }
        match db::users::insert(conn, &row) {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Err(AdminError::Conflict(format!("user `{}`", row.username))),
            other => other?,
        };
        let created = by.event(Kind::UserCreated).subject(&row.id);
        by.record(conn, &created.account(&row.username))?;
        Ok::<_, AdminError>(())
    })?;
    Ok(row.into())
}

/// Checks a new password against the policy and hashes it (in a password slot; no connection).
pub fn hash_password(passwords: &Passwords, password: &SecretString) -> Result<String, AdminError> {
    passwords
        .check_policy(password)
        .map_err(AdminError::Invalid)?;
    passwords
        .hash_blocking(password)
        .map_err(|e| AdminError::internal("password hashing", e))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<UserView>, AdminError> {
    Ok(db::users::list(conn)?
        .into_iter()
        .map(UserView::from)
        .collect())
}

pub fn show(conn: &mut DbConnection, username: &str) -> Result<UserView, AdminError> {
    find(conn, username).map(UserView::from)
}

/// Replaces a user's password hash (made by [`hash_password`]).
pub fn set_password_hash(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
    hash: &str,
) -> Result<(), AdminError> {
    db::write_tx(conn, |conn| {
        let user = find(conn, username)?;
        db::users::set_password_hash(conn, &user.id, hash, by.now)?;
        // Whoever knew the old password may hold a session or a refresh token: end them.
        db::sessions::delete_for_user(conn, &user.id)?;
        db::refresh_tokens::revoke_for(conn, db::refresh_tokens::Owner::User(&user.id), by.now)?;
        by.record(conn, &by.event(Kind::PasswordChanged).subject(&user.id))?;
        Ok(())
    })
}

/// Disables or enables a user. Disabling also ends their sessions and revokes their refresh
/// tokens, so nothing they hold keeps working.
pub fn set_disabled(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
    disabled: bool,
) -> Result<(), AdminError> {
    db::write_tx(conn, |conn| {
        let mut user = find(conn, username)?;
        user.disabled = disabled;
        user.updated_at = by.now;
        db::users::update(conn, &user)?;
        if disabled {
            db::sessions::delete_for_user(conn, &user.id)?;
            db::refresh_tokens::revoke_for(
                conn,
                db::refresh_tokens::Owner::User(&user.id),
                by.now,
            )?;
        }
        let kind = if disabled {
            Kind::UserDisabled
        } else {
            Kind::UserEnabled
        };
        by.record(conn, &by.event(kind).subject(&user.id))?;
        Ok(())
    })
}

/// Gives or takes the admin role (admin pages; user tokens with `latchkey:admin`).
pub fn set_admin(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
    admin: bool,
) -> Result<(), AdminError> {
    db::write_tx(conn, |conn| {
        let mut user = find(conn, username)?;
        user.is_admin = admin;
        user.updated_at = by.now;
        db::users::update(conn, &user)?;
        let kind = if admin {
            Kind::AdminGranted
        } else {
            Kind::AdminRevoked
        };
        by.record(conn, &by.event(kind).subject(&user.id))?;
        Ok(())
    })
}

/// Ends every session of a user and revokes their refresh tokens.
pub fn revoke_sessions(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
) -> Result<(usize, usize), AdminError> {
    db::write_tx(conn, |conn| {
        let user = find(conn, username)?;
        let sessions = db::sessions::delete_for_user(conn, &user.id)?;
        let tokens = db::refresh_tokens::revoke_for(
            conn,
            db::refresh_tokens::Owner::User(&user.id),
            by.now,
        )?;
        let ended = by.event(Kind::SessionEnded).subject(&user.id);
        by.record(conn, &ended.reason("revoked").count(sessions))?;
        let revoked = by.event(Kind::TokenRevoked).subject(&user.id);
        by.record(conn, &revoked.token_type("refresh_token").count(tokens))?;
        Ok((sessions, tokens))
    })
}

/// Profile fields an admin may change; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfileUpdate {
    pub email: Option<Option<String>>,
    pub email_verified: Option<bool>,
    pub name: Option<Option<String>>,
}

pub fn update_profile(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
    update: ProfileUpdate,
) -> Result<UserView, AdminError> {
    if let Some(Some(email)) = &update.email {
        check_email(email)?;
    }
    if let Some(Some(name)) = &update.name {
        check_name(name)?;
    }
    db::write_tx(conn, |conn| {
        let mut user = find(conn, username)?;
        if let Some(email) = update.email {
            if email != user.email {
                user.email_verified = false;
            }
            user.email = email;
        }
        if let Some(verified) = update.email_verified {
            user.email_verified = verified;
        }
        if let Some(name) = update.name {
            user.name = name;
        }
        user.updated_at = by.now;
        db::users::update(conn, &user)?;
        by.record(conn, &by.event(Kind::UserUpdated).subject(&user.id))?;
        Ok(user.into())
    })
}

/// One page of users, by username, optionally filtered by a substring of username or email.
pub fn page(
    conn: &mut DbConnection,
    filter: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<UserView>, i64), AdminError> {
    let (rows, total) = db::users::page(conn, filter, offset, limit)?;
    Ok((rows.into_iter().map(UserView::from).collect(), total))
}

/// Forgets the consents a user gave: to one client, or to all.
pub fn revoke_consent(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
    client_id: Option<&str>,
) -> Result<usize, AdminError> {
    db::write_tx(conn, |conn| {
        let user = find(conn, username)?;
        let removed = db::consents::delete(conn, &user.id, client_id)?;
        let mut revoked = by.event(Kind::ConsentRevoked).subject(&user.id);
        revoked.client = client_id.map(str::to_owned);
        by.record(conn, &revoked.count(removed))?;
        Ok(removed)
    })
}

/// Clears a user's login lockout and per-address back-offs (`oauth::throttle`); returns how
/// many counters were cleared.
pub fn unlock(conn: &mut DbConnection, by: &By, username: &str) -> Result<usize, AdminError> {
    db::write_tx(conn, |conn| {
        let user = find(conn, username)?;
        // Every counter of the account: its lockout and its per-address back-offs.
        let cleared = match login_key(&user.username) {
            Some(key) => db::login_throttle::delete_for_account(
                conn,
                &crate::domain::user::throttle_account_hash(&key),
            )?,
            None => 0,
        };
        let unlocked = by.event(Kind::AccountUnlocked).subject(&user.id);
        by.record(conn, &unlocked.count(cleared))?;
        Ok(cleared)
    })
}

pub fn remove(conn: &mut DbConnection, by: &By, username: &str) -> Result<(), AdminError> {
    db::write_tx(conn, |conn| {
        let user = find(conn, username)?;
        db::users::delete(conn, &user.id)?;
        let removed = by.event(Kind::UserRemoved).subject(&user.id);
        by.record(conn, &removed.account(&user.username))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(check_email("a@example.com").is_ok());
        assert!(check_email("a@b").is_err());
        assert!(check_email("@example.com").is_err());
        assert!(check_email("a b@example.com").is_err());
    }

    #[test]
    fn names_with_controls_or_bidi_overrides_are_refused() {
        assert!(check_name("Zoë Ångström").is_ok());
        assert!(check_name("admin\u{202E}nimda").is_err());
        assert!(check_name("line\nbreak").is_err());
        assert!(check_name(&"x".repeat(201)).is_err());
    }
}
