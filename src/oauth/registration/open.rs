//! Open registration's global bound, shared by every replica through the database: at most
//! `registration.open_max_clients` openly registered clients at once (on top of the
//! per-address rate, `open_per_hour`); and the expiry of openly registered clients nobody ever
//! signed in to (`open_unused_ttl_secs`), which the background purge runs in small batches
//! and which frees places under the cap.

use crate::audit::{Actor, Event, Kind};
use crate::config::{ClientIdMetadataSettings, RegistrationSettings};
use crate::db::clients::Since;
use crate::db::{self, DbConnection, DbError};
use crate::domain::client::{REGISTERED_BY_DOCUMENT, REGISTERED_OPENLY};

/// Clients deleted per transaction, and transactions per purge pass.
const BATCH: i64 = 100;
const BATCHES_PER_PASS: usize = 50;

/// Whether another client may be registered openly now.
#[derive(Debug, PartialEq, Eq)]
pub enum Room {
    Free,
    /// `open_max_clients` is reached. Places free up as unused clients expire, which the
    /// hourly purge does: retry after `retry_after_secs`.
    Full {
        retry_after_secs: i64,
    },
}

/// Checks the global cap. Call inside the registration's write transaction, after
/// [`db::lock_for_open_registration`], so that concurrent registrations count each other.
pub fn room(conn: &mut DbConnection, policy: &RegistrationSettings) -> Result<Room, DbError> {
    let live = db::clients::count_open(conn)?;
    Ok(if live >= i64::from(policy.open_max_clients.get()) {
        Room::Full {
            retry_after_secs: 3600,
        }
    } else {
        Room::Free
    })
}

/// Deletes openly registered clients that nobody signed in to (no authorization code was ever
/// issued to them) within `open_unused_ttl_secs` of their registration: up to
/// `BATCHES_PER_PASS` transactions of `BATCH` clients each. Returns how many were deleted.
pub fn expire_unused(
    conn: &mut DbConnection,
    policy: &RegistrationSettings,
    now: i64,
) -> Result<usize, DbError> {
    let before = now - policy.open_unused_ttl_secs;
    expire_unused_from(conn, REGISTERED_OPENLY, Since::Registered, before)
}

/// Deletes clients that came from a metadata document and that nobody signed in to, once their
/// last fetch is past `max_cache_secs` and an hour more (no sign-in can still be under way): a
/// later `/authorize` fetches the document again. Keeps a server open to any host's documents
/// from collecting a row for every URL ever tried.
pub fn expire_unused_documents(
    conn: &mut DbConnection,
    settings: &ClientIdMetadataSettings,
    now: i64,
) -> Result<usize, DbError> {
    let kept = i64::from(settings.max_cache_secs.get());
    let before = now.saturating_sub(kept).saturating_sub(3600);
    expire_unused_from(conn, REGISTERED_BY_DOCUMENT, Since::Fetched, before)
}

/// Up to `BATCHES_PER_PASS` transactions of `BATCH` unused clients of `registered_by` created
/// before `before`, each audited as `client_expired`.
fn expire_unused_from(
    conn: &mut DbConnection,
    registered_by: &str,
    since: Since,
    before: i64,
) -> Result<usize, DbError> {
    let mut total = 0;
    for _ in 0..BATCHES_PER_PASS {
        let (found, expired) = db::write_tx(conn, |conn| {
            let ids = db::clients::unused(conn, registered_by, since, before, BATCH)?;
            let mut expired = Vec::new();
            for id in &ids {
                // Skipped when a code was issued since the query above.
                if db::clients::delete_unused(conn, id)? == 1 {
                    expired.push(id.clone());
                }
            }
            Ok::<_, DbError>((ids.len(), expired))
        })?;
        for id in &expired {
            let expired = Event::new(Kind::ClientExpired, Actor::System).subject(id);
            expired.client(id).reason("unused").log();
        }
        total += expired.len();
        if found < BATCH as usize {
            break;
        }
    }
    Ok(total)
}
