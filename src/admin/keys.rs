//! Signing-key lifecycle (DESIGN.md §5): *next* (published, not signing) → *active* (signing) →
//! *retired* (published until every token it signed has expired) → deleted. The server runs
//! [`rotate_if_due`] on a timer in every replica; a database lock makes one of them do the work.
//! `latchkey keys rotate` calls [`force_rotation`].

use serde::Serialize;

use super::AdminError;
use crate::config::Settings;
use crate::crypto::keys::{self, state};
use crate::crypto::master_key::MasterKey;
use crate::db::models::SigningKeyRow;
use crate::db::{self, DbConnection, Pool};

/// A key's public facts and lifecycle dates.
#[derive(Debug, Serialize)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub bits: usize,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    /// For a `next` key: when it starts signing.
    pub activate_after: Option<i64>,
    pub retired_at: Option<i64>,
    /// For a retired key: when it leaves the JWKS.
    pub delete_after: Option<i64>,
}

pub fn list(pool: &Pool, settings: &Settings) -> Result<Vec<KeyView>, AdminError> {
    let mut conn = pool.get().map_err(db::DbError::from)?;
    let retention = settings.retired_key_retention_secs();
    Ok(db::keys::list(&mut conn)?
        .into_iter()
        .map(|row| KeyView {
            bits: row.public_n.len() * 8,
            delete_after: row.retired_at.map(|at| at + retention),
            kid: row.kid,
            alg: row.alg,
            state: row.state,
            created_at: row.created_at,
            activated_at: row.activated_at,
            activate_after: row.activate_after,
            retired_at: row.retired_at,
        })
        .collect())
}

/// What a rotation pass changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub published: Option<String>,
    pub activated: Option<String>,
    pub retired: Option<String>,
    pub deleted: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn find(rows: &[SigningKeyRow], wanted: &str) -> Option<SigningKeyRow> {
    rows.iter().find(|r| r.state == wanted).cloned()
}

/// When the active key's successor should start signing.
fn successor_due(settings: &Settings, active: &SigningKeyRow) -> i64 {
    active.activated_at.unwrap_or(active.created_at) + settings.keys.rotation_period_secs
}

/// Whether a pass at `now` would publish a new key (so it can be generated before locking).
fn needs_new_key(settings: &Settings, rows: &[SigningKeyRow], now: i64) -> bool {
    find(rows, state::NEXT).is_none()
        && find(rows, state::ACTIVE).is_none_or(|a| {
            now >= successor_due(settings, &a) - settings.keys.publication_lead_secs
        })
}

/// Publishes, activates, retires and deletes keys as their dates come. Safe to call from every
/// replica at once.
pub fn rotate_if_due(
    pool: &Pool,
    settings: &Settings,
    master: &MasterKey,
    now: i64,
) -> Result<Changes, AdminError> {
    let rows = {
        let mut conn = pool.get().map_err(db::DbError::from)?;
        db::keys::list(&mut conn)?
    };
    // RSA generation is slow: do it before taking the lock, and only when it will be needed.
    let candidate = if needs_new_key(settings, &rows, now) {
        Some(generate(settings, master, now)?)
    } else {
        None
    };
    db::transaction(pool, |conn| {
        db::lock_for_key_change(conn)?;
        apply(conn, settings, now, candidate)
    })
}

fn generate(
    settings: &Settings,
    master: &MasterKey,
    now: i64,
) -> Result<SigningKeyRow, AdminError> {
    keys::generate(settings.keys.rsa_bits, master, state::NEXT, now)
        .map_err(|e| AdminError::internal("signing key generation", e))
}

fn apply(
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
    candidate: Option<SigningKeyRow>,
) -> Result<Changes, AdminError> {
    let mut changes = Changes::default();
    let rows = db::keys::list(conn)?;
    let mut next = find(&rows, state::NEXT);
    let active = find(&rows, state::ACTIVE);
    if next.is_none() && needs_new_key(settings, &rows, now) {
        if let Some(mut row) = candidate {
            let due = active.as_ref().map_or(now, |a| successor_due(settings, a));
            row.activate_after = Some(due.max(now + settings.keys.publication_lead_secs));
            if active.is_none() {
                row.activate_after = Some(now);
            }
            db::keys::insert(conn, &row)?;
            changes.published = Some(row.kid.clone());
            next = Some(row);
        }
    }
    if let Some(next) = next.filter(|n| n.activate_after.is_none_or(|at| now >= at)) {
        if let Some(active) = &active {
            db::keys::set_state(conn, &active.kid, state::RETIRED, now)?;
            changes.retired = Some(active.kid.clone());
        }
        db::keys::set_state(conn, &next.kid, state::ACTIVE, now)?;
        changes.activated = Some(next.kid.clone());
    }
    let retention = settings.retired_key_retention_secs();
    for row in rows.iter().filter(|r| r.state == state::RETIRED) {
        if row.retired_at.is_some_and(|at| at + retention <= now) {
            db::keys::delete(conn, &row.kid)?;
            changes.deleted.push(row.kid.clone());
        }
    }
    if !changes.is_empty() {
        tracing::info!(target: "audit", event = "key_rotation", published = changes.published.as_deref(), activated = changes.activated.as_deref(), retired = changes.retired.as_deref(), deleted = %changes.deleted.join(" "));
    }
    Ok(changes)
}

/// `latchkey keys rotate`: publish a new key now and let it sign after the publication lead (so
/// caches see it first). With `immediately`, it signs at once and the old key is retired — for a
/// suspected compromise, accepting that verifiers with a cached JWKS fail until they refetch.
pub fn force_rotation(
    pool: &Pool,
    settings: &Settings,
    master: &MasterKey,
    immediately: bool,
    now: i64,
) -> Result<Changes, AdminError> {
    let candidate = generate(settings, master, now)?;
    db::transaction(pool, |conn| {
        db::lock_for_key_change(conn)?;
        let rows = db::keys::list(conn)?;
        let activate_at = if immediately {
            now
        } else {
            now + settings.keys.publication_lead_secs
        };
        let mut changes = Changes::default();
        match find(&rows, state::NEXT) {
            Some(next) => {
                let at = next
                    .activate_after
                    .map_or(activate_at, |at| at.min(activate_at));
                db::keys::set_activate_after(conn, &next.kid, at)?;
            }
            None => {
                let mut row = candidate;
                row.activate_after = Some(activate_at);
                db::keys::insert(conn, &row)?;
                changes.published = Some(row.kid);
            }
        }
        let rest = apply(conn, settings, now, None)?;
        changes.activated = rest.activated;
        changes.retired = rest.retired;
        changes.deleted = rest.deleted;
        Ok(changes)
    })
}
