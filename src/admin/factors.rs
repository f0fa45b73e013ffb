//! Second factors as admins manage them: list a user's factors (never their secrets) and reset
//! them (every factor and recovery code goes; the user enrols again at the next sign-in that
//! needs one). The same operations serve the CLI, the admin API and the admin pages.

use serde::Serialize;

use super::AdminError;
use crate::audit::{By, Kind};
use crate::db::{self, DbConnection};
use crate::domain::factor::{FactorView, MfaPolicy};

/// A user's second factors and how many recovery codes they have left.
#[derive(Debug, Serialize)]
pub struct UserFactors {
    pub username: String,
    pub factors: Vec<FactorView>,
    pub recovery_codes_left: i64,
}

pub fn list(conn: &mut DbConnection, username: &str) -> Result<UserFactors, AdminError> {
    let user = super::users::find(conn, username)?;
    Ok(UserFactors {
        factors: db::user_factors::views(conn, &user.id)?,
        recovery_codes_left: db::user_factors::recovery_codes_left(conn, &user.id)?,
        username: user.username,
    })
}

/// Removes every factor and recovery code of a user; returns how many rows went.
pub fn reset(conn: &mut DbConnection, by: &By, username: &str) -> Result<usize, AdminError> {
    db::write_tx(conn, |conn| {
        let user = super::users::find(conn, username)?;
        let removed = db::user_factors::delete_all(conn, &user.id)?;
        let event = by
            .event(Kind::MfaRemoved)
            .subject(&user.id)
            .reason("all")
            .count(removed);
        by.record(conn, &event)?;
        Ok(removed)
    })
}

/// Sets a client's own second-factor policy; `None` follows the global `[mfa] policy`.
pub fn set_client_policy(
    conn: &mut DbConnection,
    by: &By,
    client_id: &str,
    policy: Option<MfaPolicy>,
) -> Result<(), AdminError> {
    let changed = db::clients::set_mfa_policy(conn, client_id, policy.map(MfaPolicy::as_str))?;
    if changed == 0 {
        return Err(AdminError::NotFound(format!("client `{client_id}`")));
    }
    let policy = policy.map_or("default", MfaPolicy::as_str);
    let event = by
        .event(Kind::ClientMfaPolicySet)
        .subject(client_id)
        .client(client_id)
        .scope(policy);
    by.record(conn, &event)?;
    Ok(())
}
