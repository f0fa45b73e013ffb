//! Browser sessions (single sign-on): created at login, found by the SHA-256 of the cookie value,
//! ended by idle or absolute timeout, logout, or the user being disabled or removed.

use secrecy::SecretString;

use super::error::OAuthError;
use crate::config::Settings;
use crate::db::models::SessionRow;
use crate::db::{self, DbConnection};
use crate::domain::factor::Amr;
use crate::domain::secret::{self, SecretHash};
use crate::domain::user::User;
use crate::random::Random;

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: Vec<u8>,
    /// The public session id (`sid` claim); not a secret.
    pub sid: String,
    pub auth_time: i64,
    /// How the person authenticated (RFC 8176).
    pub amr: Amr,
    pub user: User,
}

/// Finds the live session for a cookie value and refreshes its idle timer.
pub fn current(
    conn: &mut DbConnection,
    settings: &Settings,
    cookie: Option<&str>,
    now: i64,
) -> Result<Option<Session>, OAuthError> {
    let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Ok(None);
    };
    let id_hash = SecretHash::of_str(cookie).as_bytes().to_vec();
    let Some(row) = db::sessions::find(conn, &id_hash)? else {
        return Ok(None);
    };
    let idle_deadline = row.last_seen_at + settings.sessions.idle_timeout_secs;
    if row.expires_at <= now || idle_deadline <= now {
        db::sessions::delete(conn, &id_hash)?;
        return Ok(None);
    }
    let Some(user) = db::users::find_by_id(conn, &row.user_id)?.map(User::from) else {
        return Ok(None);
    };
    if user.disabled {
        db::sessions::delete(conn, &id_hash)?;
        return Ok(None);
    }
    // Write at most once a minute, so page views do not each cost a write.
    if now - row.last_seen_at >= 60 {
        db::sessions::touch(conn, &id_hash, now)?;
    }
    Ok(Some(Session {
        id_hash,
        sid: row.sid,
        auth_time: row.auth_time,
        amr: Amr::from_stored(Some(&row.amr)),
        user,
    }))
}

/// Where a browser signed in from, kept with its session for its owner to recognise.
#[derive(Debug, Clone, Default)]
pub struct StartedFrom {
    /// A short summary of the browser (`domain::device::summary`).
    pub device: Option<String>,
    /// The client address (behind trusted proxies, the one they vouch for).
    pub address: Option<String>,
}

/// Starts a session for a user authenticated at `now` by `amr`, from where they signed in;
/// returns the cookie value (shown once).
pub fn create(
    conn: &mut DbConnection,
    settings: &Settings,
    random: &dyn Random,
    signed_in: (&User, &Amr, &StartedFrom),
    now: i64,
) -> Result<(SecretString, Session), OAuthError> {
    let (user, amr, from) = signed_in;
    let cookie = secret::generate(random);
    let id_hash = SecretHash::of(&cookie).as_bytes().to_vec();
    let sid = random.uuid();
    db::sessions::insert(
        conn,
        &SessionRow {
            id_hash: id_hash.clone(),
            sid: sid.clone(),
            user_id: user.id.clone(),
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now + settings.sessions.absolute_timeout_secs,
            amr: amr.to_stored(),
            device: from.device.clone(),
            address: from.address.clone(),
        },
    )?;
    Ok((
        cookie,
        Session {
            id_hash,
            sid,
            auth_time: now,
            amr: amr.clone(),
            user: user.clone(),
        },
    ))
}

/// Ends the session a cookie names, if any.
pub fn end(conn: &mut DbConnection, cookie: Option<&str>) -> Result<(), OAuthError> {
    if let Some(cookie) = cookie {
        db::sessions::delete(conn, SecretHash::of_str(cookie).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel::{Connection, RunQueryDsl};
    use secrecy::ExposeSecret;

    use super::*;
    use crate::random::SeededRandom;

    fn alice() -> User {
        User {
            id: "user-1".into(),
            username: "alice".into(),
            email: None,
            email_verified: false,
            name: None,
            password_hash: None,
            disabled: false,
            updated_at: 0,
            is_admin: false,
        }
    }

    #[test]
    fn an_injected_seeded_source_makes_the_session_cookie_and_sid_reproducible() {
        let settings = Settings::defaults().unwrap();
        let made: Vec<(String, String)> = (0..2)
            .map(|_| {
                let mut lite = diesel::SqliteConnection::establish(":memory:").unwrap();
                // Only the session row matters here, not the user it points to.
                diesel::sql_query("PRAGMA foreign_keys = OFF")
                    .execute(&mut lite)
                    .unwrap();
                let mut conn = DbConnection::Sqlite(lite);
                db::migrate(&mut conn).unwrap();
                let (cookie, session) = create(
                    &mut conn,
                    &settings,
                    &SeededRandom::new(3),
                    (&alice(), &Amr::password(), &StartedFrom::default()),
                    1_000,
                )
                .unwrap();
                (cookie.expose_secret().to_owned(), session.sid)
            })
            .collect();
        assert_eq!(made[0], made[1]);
        let sid = uuid::Uuid::parse_str(&made[0].1).unwrap();
        assert_eq!(sid.get_version_num(), 4);
    }
}
