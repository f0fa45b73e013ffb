//! The audit trail (DESIGN.md §5b): one structured event, on the tracing target `audit`, for every
//! security-relevant action from every surface (pages, admin API, registration, CLI, background
//! jobs). Every event has the same fixed fields — `event` (a stable snake_case name from the
//! closed [`Kind`] set), `actor`, `subject`, `client`, `address`, `request_id` — plus a few named
//! details (`reason`, `account`, `grant`, `token_type`, `jti`, `count`, `wait_secs`). None of them
//! is ever a password, secret, token, code or hash. With `audit.store = true` events written
//! through [`record`] are also stored in `audit_events`, in the caller's transaction.

mod kind;

use std::fmt;

use serde::Serialize;

pub use crate::origin::Origin;
pub use kind::Kind;

use crate::db::{self, DbConnection, DbError};

/// Who did it, as the `actor` field writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The command line (`latchkey user …`, `client …`, `keys …`) on the server's machine.
    Cli,
    /// A person, by their stable user id (an administrator acting on the pages or the API too).
    User(String),
    /// A client application, by its `client_id` (its own token, its credentials, its
    /// registration access token).
    Client(String),
    /// Latchkey itself: scheduled key rotation and other background work.
    System,
    /// Nobody authenticated: a failed login, an open registration.
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cli => f.write_str("cli"),
            Self::User(id) => write!(f, "user:{id}"),
            Self::Client(id) => write!(f, "client:{id}"),
            Self::System => f.write_str("system"),
            Self::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// The details an event may carry besides its fixed fields; stored as a JSON object.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Detail {
    /// The username typed at a login (control characters replaced, at most 100 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The `grant_type` of a token request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<&'static str>,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// The `jti` of an access token (an identifier, not the token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// How many rows the action touched (tokens revoked, counters cleared, sessions ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// Seconds a throttled login must wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<i64>,
    /// The group of a membership change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The scope a group is allowed or no longer allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Detail {
    fn is_empty(&self) -> bool {
        self.account.is_none()
            && self.grant.is_none()
            && self.token_type.is_none()
            && self.jti.is_none()
            && self.count.is_none()
            && self.wait_secs.is_none()
            && self.group.is_none()
            && self.scope.is_none()
    }
}

/// One audit event; build it with [`Event::new`] and the setters, then [`Event::log`] or
/// [`record`] it.
#[derive(Clone, Debug)]
pub struct Event {
    pub kind: Kind,
    pub actor: Actor,
    /// The user, client or key the action was about.
    pub subject: Option<String>,
    /// The `client_id` involved, if any.
    pub client: Option<String>,
    /// A short class of why (`wrong_password`, `auth_method`, `admin`…), never free text from
    /// a request.
    pub reason: Option<&'static str>,
    pub detail: Detail,
}

/// The longest typed account name an event keeps.
const ACCOUNT_CHARS: usize = 100;

impl Event {
    pub fn new(kind: Kind, actor: Actor) -> Self {
        Self {
            kind,
            actor,
            subject: None,
            client: None,
            reason: None,
            detail: Detail::default(),
        }
    }

    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(subject.to_owned());
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client = Some(client_id.to_owned());
        self
    }

    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The username as typed at a login, kept printable and short.
    pub fn account(mut self, typed: &str) -> Self {
        let clean = typed
            .chars()
            .take(ACCOUNT_CHARS)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        self.detail.account = Some(clean);
        self
    }

    pub fn grant(mut self, grant: &'static str) -> Self {
        self.detail.grant = Some(grant);
        self
    }

    pub fn token_type(mut self, token_type: &'static str) -> Self {
        self.detail.token_type = Some(token_type);
        self
    }

    pub fn jti(mut self, jti: &str) -> Self {
        self.detail.jti = Some(jti.to_owned());
        self
    }

    pub fn count(mut self, count: usize) -> Self {
        self.detail.count = Some(i64::try_from(count).unwrap_or(i64::MAX));
        self
    }

    pub fn wait_secs(mut self, secs: i64) -> Self {
        self.detail.wait_secs = Some(secs);
        self
    }

    pub fn group(mut self, group: &str) -> Self {
        self.detail.group = Some(group.to_owned());
        self
    }

    pub fn scope(mut self, scope: &str) -> Self {
        self.detail.scope = Some(scope.to_owned());
        self
    }

    /// Writes the event to the log (target `audit`), with the address and request id of the
    /// request being served, if any.
    pub fn log(&self) {
        let origin = Origin::current();
        let address = origin.as_ref().map(|o| o.address.to_string());
        let request_id = origin.as_ref().map(|o| o.request_id.as_str());
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: "audit",
                    $level,
                    event = self.kind.as_str(),
                    actor = %self.actor,
                    subject = self.subject.as_deref(),
                    client = self.client.as_deref(),
                    address = address.as_deref(),
                    request_id,
                    reason = self.reason,
                    account = self.detail.account.as_deref(),
                    grant = self.detail.grant,
                    token_type = self.detail.token_type,
                    jti = self.detail.jti.as_deref(),
                    count = self.detail.count,
                    wait_secs = self.detail.wait_secs,
                    group = self.detail.group.as_deref(),
                    scope = self.detail.scope.as_deref(),
                )
            };
        }
        if self.kind.is_warning() {
            emit!(tracing::Level::WARN);
        } else {
            emit!(tracing::Level::INFO);
        }
    }

    /// The row `audit_events` stores for this event at `now`.
    fn row(&self, now: i64) -> db::audit_events::NewAuditEvent {
        let origin = Origin::current();
        db::audit_events::NewAuditEvent {
            at: now,
            event: self.kind.as_str().to_owned(),
            actor: self.actor.to_string(),
            subject: self.subject.clone(),
            client_id: self.client.clone(),
            address: origin.as_ref().map(|o| o.address.to_string()),
            request_id: origin.map(|o| o.request_id),
            reason: self.reason.map(str::to_owned),
            detail: (!self.detail.is_empty())
                .then(|| serde_json::to_string(&self.detail).ok())
                .flatten(),
        }
    }
}

/// Logs `event` and, when `store` is on (`audit.store`), stores it with `conn` — inside the
/// caller's transaction when there is one, so the action and its record commit together.
pub fn record(
    conn: &mut DbConnection,
    store: bool,
    now: i64,
    event: &Event,
) -> Result<(), DbError> {
    event.log();
    if store {
        db::audit_events::insert(conn, &event.row(now))?;
    }
    Ok(())
}

/// Who acts on the admin operations (`admin::`), when, and whether their events are stored:
/// what the CLI, the admin pages, the admin API and registration hand those operations.
#[derive(Clone, Debug)]
pub struct By {
    pub actor: Actor,
    /// `audit.store`.
    pub store: bool,
    /// The time of the operation (Unix seconds), stamped on what it writes.
    pub now: i64,
}

impl By {
    pub fn new(actor: Actor, store: bool, now: i64) -> Self {
        Self { actor, store, now }
    }

    /// A new event by this actor.
    pub fn event(&self, kind: Kind) -> Event {
        Event::new(kind, self.actor.clone())
    }

    /// [`record`]s `event`.
    pub fn record(&self, conn: &mut DbConnection, event: &Event) -> Result<(), DbError> {
        record(conn, self.store, self.now, event)
    }
}

/// [`record`]s `event` on a pooled connection of its own: for events that happen outside any
/// transaction (a failed login). A failure to store is logged, never the caller's failure.
pub async fn record_apart(pool: &db::Pool, store: bool, now: i64, event: Event) {
    if !store {
        return event.log();
    }
    let stored = db::run(pool, move |conn| record(conn, true, now, &event)).await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "storing an audit event failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_written_with_their_kind() {
        assert_eq!(Actor::Cli.to_string(), "cli");
        assert_eq!(Actor::User("u1".into()).to_string(), "user:u1");
        assert_eq!(Actor::Client("c1".into()).to_string(), "client:c1");
        assert_eq!(Actor::Anonymous.to_string(), "anonymous");
        assert_eq!(Actor::System.to_string(), "system");
    }

    #[test]
    fn a_typed_account_is_kept_printable_and_short() {
        let event = Event::new(Kind::LoginFailed, Actor::Anonymous).account("bob\nINFO forged");
        assert_eq!(event.detail.account.as_deref(), Some("bob?INFO forged"));
        let long = Event::new(Kind::LoginFailed, Actor::Anonymous).account(&"x".repeat(500));
        assert_eq!(long.detail.account.map(|a| a.len()), Some(ACCOUNT_CHARS));
    }

    #[test]
    fn details_are_stored_as_a_json_object_without_empty_fields() {
        let event = Event::new(Kind::TokenRevoked, Actor::Client("c".into()))
            .token_type("refresh_token")
            .count(2);
        let row = event.row(7);
        assert_eq!(
            row.detail.as_deref(),
            Some(r#"{"token_type":"refresh_token","count":2}"#)
        );
        let bare = Event::new(Kind::UserRemoved, Actor::Cli).row(7);
        assert_eq!(bare.detail, None);
        assert_eq!(bare.address, None);
    }
}
