//! Signing-key lifecycle (DESIGN.md §5), one chain per configured algorithm: *next* (published,
//! not signing) → *active* (signing) → *retired* (published until every token it signed has
//! expired) → deleted. Keys of an algorithm removed from `keys.algorithms` are retired. The
//! server runs [`rotate_if_due`] on a timer in every replica; a database lock makes one of them do
//! the work. `latchkey keys rotate [--alg ALG]` calls [`force_rotation`].

use serde::Serialize;

use super::AdminError;
use crate::audit::{Actor, By, Kind};
use crate::config::Settings;
use crate::crypto::keys::{self, state};
use crate::crypto::master_key::MasterKey;
use crate::db::models::SigningKeyRow;
use crate::db::{self, DbConnection, Pool};
use crate::domain::signing_alg::{self as alg, SigningAlg};
use crate::random::Random;

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
            bits: match row.alg.as_str() {
                "RS256" => row.public_n.len() * 8,
                _ => 256,
            },
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

/// What a rotation pass changed, by `kid`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub published: Vec<String>,
    pub activated: Vec<String>,
    pub retired: Vec<String>,
    pub deleted: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The stored keys of one algorithm.
fn of_alg(rows: &[SigningKeyRow], alg: SigningAlg) -> Vec<SigningKeyRow> {
    rows.iter()
        .filter(|r| r.alg == alg.as_str())
        .cloned()
        .collect()
}

fn find(rows: &[SigningKeyRow], wanted: &str) -> Option<SigningKeyRow> {
    rows.iter().find(|r| r.state == wanted).cloned()
}

/// When the active key's successor should start signing.
fn successor_due(settings: &Settings, active: &SigningKeyRow) -> i64 {
    active.activated_at.unwrap_or(active.created_at) + settings.keys.rotation_period_secs
}

/// Whether a pass at `now` would publish a new key in this chain (so it can be generated before
/// locking).
fn needs_new_key(settings: &Settings, chain: &[SigningKeyRow], now: i64) -> bool {
    find(chain, state::NEXT).is_none()
        && find(chain, state::ACTIVE).is_none_or(|a| {
            now >= successor_due(settings, &a) - settings.keys.publication_lead_secs
        })
}

/// Publishes, activates, retires and deletes keys as their dates come, for every configured
/// algorithm. Safe to call from every replica at once.
pub fn rotate_if_due(
    pool: &Pool,
    settings: &Settings,
    master: &MasterKey,
    random: &dyn Random,
    now: i64,
) -> Result<Changes, AdminError> {
    let rows = {
        let mut conn = pool.get().map_err(db::DbError::from)?;
        db::keys::list(&mut conn)?
    };
    // Generation (RSA above all) is slow: do it before taking the lock, and only when needed.
    let mut candidates = Vec::new();
    for &alg in &settings.keys.algorithms {
        if needs_new_key(settings, &of_alg(&rows, alg), now) {
            candidates.push(generate(settings, master, random, alg, now)?);
        }
    }
    let by = By::new(Actor::System, settings.audit.store, now);
    db::transaction(pool, |conn| {
        db::lock_for_key_change(conn)?;
        let changes = apply(conn, settings, now, candidates)?;
        record(conn, &by, &changes)?;
        Ok(changes)
    })
}

/// One audit event per key whose state changed, in the rotation's transaction.
fn record(conn: &mut DbConnection, by: &By, changes: &Changes) -> Result<(), AdminError> {
    for (kind, kids) in [
        (Kind::KeyPublished, &changes.published),
        (Kind::KeyActivated, &changes.activated),
        (Kind::KeyRetired, &changes.retired),
        (Kind::KeyDeleted, &changes.deleted),
    ] {
        for kid in kids {
            by.record(conn, &by.event(kind).subject(kid))?;
        }
    }
    Ok(())
}

fn generate(
    settings: &Settings,
    master: &MasterKey,
    random: &dyn Random,
    alg: SigningAlg,
    now: i64,
) -> Result<SigningKeyRow, AdminError> {
    keys::generate(
        alg,
        settings.keys.rsa_bits,
        master,
        random,
        state::NEXT,
        now,
    )
    .map_err(|e| AdminError::internal("signing key generation", e))
}

fn apply(
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
    mut candidates: Vec<SigningKeyRow>,
) -> Result<Changes, AdminError> {
    let mut changes = Changes::default();
    let rows = db::keys::list(conn)?;
    for &alg in &settings.keys.algorithms {
        let candidate = candidates
            .iter()
            .position(|c| c.alg == alg.as_str())
            .map(|i| candidates.swap_remove(i));
        apply_chain(
            conn,
            settings,
            now,
            &of_alg(&rows, alg),
            candidate,
            &mut changes,
        )?;
    }
    // Keys of an algorithm no longer configured stop signing; published until their tokens expire.
    let configured =
        |r: &SigningKeyRow| settings.keys.algorithms.iter().any(|a| a.as_str() == r.alg);
    for row in rows
        .iter()
        .filter(|r| !configured(r) && r.state != state::RETIRED)
    {
        db::keys::set_state(conn, &row.kid, state::RETIRED, now)?;
        changes.retired.push(row.kid.clone());
    }
    let retention = settings.retired_key_retention_secs();
    for row in rows.iter().filter(|r| r.state == state::RETIRED) {
        if row.retired_at.is_some_and(|at| at + retention <= now) {
            db::keys::delete(conn, &row.kid)?;
            changes.deleted.push(row.kid.clone());
        }
    }
    Ok(changes)
}

/// One algorithm's chain: publish the successor when due, then let it take over when its time
/// comes.
fn apply_chain(
    conn: &mut DbConnection,
    settings: &Settings,
    now: i64,
    chain: &[SigningKeyRow],
    candidate: Option<SigningKeyRow>,
    changes: &mut Changes,
) -> Result<(), AdminError> {
    let mut next = find(chain, state::NEXT);
    let active = find(chain, state::ACTIVE);
    if next.is_none() && needs_new_key(settings, chain, now) {
        if let Some(mut row) = candidate {
            row.activate_after = Some(match &active {
                Some(a) => {
                    successor_due(settings, a).max(now + settings.keys.publication_lead_secs)
                }
                None => now,
            });
            db::keys::insert(conn, &row)?;
            changes.published.push(row.kid.clone());
            next = Some(row);
        }
    }
    if let Some(next) = next.filter(|n| n.activate_after.is_none_or(|at| now >= at)) {
        if let Some(active) = &active {
            db::keys::set_state(conn, &active.kid, state::RETIRED, now)?;
            changes.retired.push(active.kid.clone());
        }
        db::keys::set_state(conn, &next.kid, state::ACTIVE, now)?;
        changes.activated.push(next.kid.clone());
    }
    Ok(())
}

/// `latchkey keys rotate [--alg ALG]`: publish a new key of `only` (every configured algorithm
/// when `None`) now and let it sign after the publication lead (so caches see it first). With
/// `immediately`, it signs at once and the old key is retired — for a suspected compromise,
/// accepting that verifiers with a cached JWKS fail until they refetch.
pub fn force_rotation(
    pool: &Pool,
    settings: &Settings,
    master: &MasterKey,
    random: &dyn Random,
    only: Option<SigningAlg>,
    immediately: bool,
    by: &By,
) -> Result<Changes, AdminError> {
    let now = by.now;
    let algs = match only {
        Some(a) => {
            alg::require_configured(&settings.keys.algorithms, a).map_err(AdminError::Invalid)?;
            vec![a]
        }
        None => settings.keys.algorithms.clone(),
    };
    let candidates = algs
        .iter()
        .map(|&a| generate(settings, master, random, a, now))
        .collect::<Result<Vec<_>, _>>()?;
    db::transaction(pool, |conn| {
        db::lock_for_key_change(conn)?;
        let rows = db::keys::list(conn)?;
        let activate_at = if immediately {
            now
        } else {
            now + settings.keys.publication_lead_secs
        };
        let mut changes = Changes::default();
        for (&a, candidate) in algs.iter().zip(candidates) {
            match find(&of_alg(&rows, a), state::NEXT) {
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
                    changes.published.push(row.kid);
                }
            }
        }
        let rest = apply(conn, settings, now, Vec::new())?;
        changes.activated = rest.activated;
        changes.retired = rest.retired;
        changes.deleted = rest.deleted;
        record(conn, by, &changes)?;
        Ok(changes)
    })
}
