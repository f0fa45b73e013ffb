//! User management: add, list, show, set password, disable/enable, remove.

use secrecy::SecretString;
use serde::Serialize;

use super::AdminError;
use crate::crypto::password::Passwords;
use crate::db::models::UserRow;
use crate::db::{self, Pool};
use crate::domain::user::Username;

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
    pub name: Option<String>,
    pub password: Option<SecretString>,
}

fn check_email(email: &str) -> Result<(), AdminError> {
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "`{email}` is not an email address"
        )))
    }
}

fn find(conn: &mut db::DbConnection, username: &str) -> Result<UserRow, AdminError> {
    db::users::find_by_username(conn, username)?
        .ok_or_else(|| AdminError::NotFound(format!("user `{username}`")))
}

/// Creates a user. The password is hashed before a connection is taken.
pub fn add(
    pool: &Pool,
    passwords: &Passwords,
    new: NewUser,
    now: i64,
) -> Result<UserView, AdminError> {
    let username = Username::parse(&new.username).map_err(AdminError::Invalid)?;
    if let Some(email) = &new.email {
        check_email(email)?;
    }
    let password_hash = match &new.password {
        Some(pw) => Some(hash(passwords, pw)?),
        None => None,
    };
    let row = UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username: username.as_str().to_owned(),
        email: new.email,
        email_verified: false,
        name: new.name,
        password_hash,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    db::transaction(pool, |conn| {
        if db::users::find_by_username(conn, &row.username)?.is_some() {
            return Err(AdminError::Conflict(format!("user `{}`", row.username)));
        }
        db::users::insert(conn, &row)?;
        Ok(())
    })?;
    Ok(row.into())
}

fn hash(passwords: &Passwords, password: &SecretString) -> Result<String, AdminError> {
    use secrecy::ExposeSecret;
    if password.expose_secret().chars().count() < 8 {
        return Err(AdminError::Invalid(
            "a password needs at least 8 characters".into(),
        ));
    }
    passwords
        .hash_blocking(password)
        .map_err(|e| AdminError::Internal(e.to_string()))
}

pub fn list(pool: &Pool) -> Result<Vec<UserView>, AdminError> {
    let mut conn = pool.get().map_err(db::DbError::from)?;
    Ok(db::users::list(&mut conn)?
        .into_iter()
        .map(UserView::from)
        .collect())
}

pub fn show(pool: &Pool, username: &str) -> Result<UserView, AdminError> {
    let mut conn = pool.get().map_err(db::DbError::from)?;
    find(&mut conn, username).map(UserView::from)
}

pub fn set_password(
    pool: &Pool,
    passwords: &Passwords,
    username: &str,
    password: &SecretString,
    now: i64,
) -> Result<(), AdminError> {
    let hash = hash(passwords, password)?;
    db::transaction(pool, |conn| {
        let user = find(conn, username)?;
        db::users::set_password_hash(conn, &user.id, &hash, now)?;
        Ok(())
    })
}

/// Disables or enables a user. Disabling also ends their sessions and revokes their refresh
/// tokens, so nothing they hold keeps working.
pub fn set_disabled(
    pool: &Pool,
    username: &str,
    disabled: bool,
    now: i64,
) -> Result<(), AdminError> {
    db::transaction(pool, |conn| {
        let mut user = find(conn, username)?;
        user.disabled = disabled;
        user.updated_at = now;
        db::users::update(conn, &user)?;
        if disabled {
            db::sessions::delete_for_user(conn, &user.id)?;
            db::refresh_tokens::revoke_for_user(conn, &user.id, now)?;
        }
        Ok(())
    })
}

/// Forgets the consents a user gave: to one client, or to all.
pub fn revoke_consent(
    pool: &Pool,
    username: &str,
    client_id: Option<&str>,
) -> Result<usize, AdminError> {
    db::transaction(pool, |conn| {
        let user = find(conn, username)?;
        Ok(db::consents::delete(conn, &user.id, client_id)?)
    })
}

pub fn remove(pool: &Pool, username: &str) -> Result<(), AdminError> {
    db::transaction(pool, |conn| {
        let user = find(conn, username)?;
        db::users::delete(conn, &user.id)?;
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
}
