//! The background tasks of a serving process: the change poller (client cache and key set
//! within `database.change_poll_interval_ms` of any process's write) and the key-rotation and
//! purge loop. Both run until the server stops and are aborted then.

use std::time::Duration;

use actix_web::web;

use crate::db;
use crate::oauth::registration::open;
use crate::state::AppState;

/// Runs key rotation every `keys.refresh_interval_secs`, and about hourly purges expired rows
/// and openly registered or metadata-document clients nobody signed in to.
pub async fn refresh_keys(state: web::Data<AppState>) {
    let period = Duration::from_secs(state.settings.keys.refresh_interval_secs);
    // Start-up already ran a rotation pass: the first one here is a period away.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let purge_every = (3600 / state.settings.keys.refresh_interval_secs).max(1);
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        if ticks % purge_every == 0 {
            let now = state.clock.now();
            let batching = db::purge::Batching::default();
            match db::purge::purge_expired(&state.pool, now, batching).await {
                Ok(p) if p.rows > 0 => {
                    tracing::info!(rows = p.rows, batches = p.batches, "purged expired rows")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
            let shared = state.clone();
            let expired = db::run(&state.pool, move |conn| {
                let open = open::expire_unused(conn, &shared.settings.registration, now)?;
                let documents =
                    open::expire_unused_documents(conn, &shared.settings.client_id_metadata, now)?;
                Ok::<_, db::DbError>(open + documents)
            });
            match expired.await {
                Ok(n) if n > 0 => tracing::info!(clients = n, "expired unused clients"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "expiring unused open clients failed"),
            }
            purge_audit(&state).await;
        }
        if let Err(e) = state.rotate_keys().await {
            tracing::warn!(error = %format!("{e:#}"), "key rotation or refresh failed; serving the previous set");
        }
    }
}

/// Stored audit events past `audit.retention_days`, deleted in batches of this many rows, each
/// batch a short statement of its own.
const AUDIT_PURGE_BATCH: i64 = 500;

/// Deletes stored audit events older than the retention, batch by batch (also when storing is
/// off now, so that what was stored before still ages out).
pub async fn purge_audit(state: &AppState) {
    let days = i64::try_from(state.settings.audit.retention_days).unwrap_or(i64::MAX);
    let cutoff = state
        .clock
        .now()
        .saturating_sub(days.saturating_mul(86_400));
    let mut purged = 0;
    loop {
        let batch = db::run(&state.pool, move |conn| {
            db::audit_events::purge_before(conn, cutoff, AUDIT_PURGE_BATCH)
                .map_err(db::DbError::from)
        })
        .await;
        match batch {
            Ok(n) => {
                purged += n;
                if (n as i64) < AUDIT_PURGE_BATCH {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "purging old audit events failed");
                break;
            }
        }
    }
    if purged > 0 {
        tracing::info!(rows = purged, "purged audit events past their retention");
    }
}

/// Reads the database's change counters every `database.change_poll_interval_ms`, on a
/// connection of its own (so it never queues behind a saturated pool), and applies them: the
/// bound within which a client or key change made by any process reaches this one.
pub async fn poll_changes(state: web::Data<AppState>) {
    let period = Duration::from_millis(state.settings.database.change_poll_interval_ms);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn: Option<db::DbConnection> = None;
    let mut failing = false;
    loop {
        tick.tick().await;
        let pool = state.pool.clone();
        let read = tokio::task::spawn_blocking(move || {
            let mut c = match conn {
                Some(c) => c,
                None => pool.dedicated()?,
            };
            let generations = db::change_generations::current(&mut c)?;
            Ok::<_, db::DbError>((c, generations))
        })
        .await;
        let applied = match read {
            Ok(Ok((c, generations))) => {
                conn = Some(c);
                state.pool.mark_up();
                state.observe(generations).await
            }
            Ok(Err(e)) => {
                // A database that refuses connections is down for the requests too: they fail
                // fast from now on instead of each waiting out the connection timeout.
                if matches!(e, db::DbError::Connect(_)) {
                    state.pool.mark_down();
                } else {
                    // A lost connection may be a restart: check the pooled ones before use.
                    state.pool.suspect();
                }
                conn = None;
                Err(e.into())
            }
            Err(e) => {
                conn = None;
                Err(e.into())
            }
        };
        if applied.is_err() {
            state.clients.unconfirm();
        }
        match applied {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("change counters readable again; caches back in use");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %format!("{e:#}"), "cannot read the change counters; caches are bypassed until they can be read");
            }
            Err(_) => {}
        }
    }
}
