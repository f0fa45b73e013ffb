//! Fetching client ID metadata documents (`oauth::client_metadata` holds the rules), SSRF-safe:
//! https only (plain http only for development hosts), a resolver of our own that refuses
//! private, loopback, link-local, unique-local, multicast and unspecified addresses unless the
//! host is allowed them — and the connection goes to exactly the addresses it checked —, no
//! redirects, no proxy, a body size limit, a total time limit and a per-host rate limit. A valid
//! document is stored as a client row (so every replica, the login page and the token endpoint
//! find it) and kept fresh per its `Cache-Control`. No database connection is held while fetching.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::audit::{Actor, Event, Kind};
use crate::config::ClientIdMetadataSettings;
use crate::db::{self, DbConnection, Pool};
use crate::domain::client::Client;
use crate::oauth::client_metadata::{self, REGISTERED_BY};
use crate::oauth::{ErrorCode, OAuthError};

/// Most document URLs remembered as fresh; past it the memory starts over.
const CAPACITY: usize = 10_000;

/// A resolver that returns only addresses the policy allows for the host.
struct CheckedResolver {
    settings: Arc<ClientIdMetadataSettings>,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let settings = Arc::clone(&self.settings);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // Every address must pass: a name that also points inside is refused whole.
            if found.is_empty()
                || found
                    .iter()
                    .any(|a| !client_metadata::address_allowed(&settings, &host, a.ip()))
            {
                return Err(
                    format!("`{host}` resolves to an address that may not be fetched").into(),
                );
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// Fetches, validates, stores and remembers metadata documents.
pub struct MetadataFetcher {
    settings: Arc<ClientIdMetadataSettings>,
    http: reqwest::Client,
    fresh_until: Mutex<HashMap<String, i64>>,
    per_host: governor::DefaultKeyedRateLimiter<String>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for MetadataFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataFetcher")
            .field("enabled", &self.settings.enabled)
            .finish_non_exhaustive()
    }
}

fn refused(reason: &str) -> OAuthError {
    OAuthError::invalid_request(format!(
        "The client metadata document cannot be used: {reason}"
    ))
}

impl MetadataFetcher {
    pub fn new(settings: &ClientIdMetadataSettings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings.clone());
        let limit = Duration::from_millis(u64::from(settings.timeout_ms.get()));
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver {
                settings: Arc::clone(&settings),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(limit)
            .connect_timeout(limit)
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            per_host: governor::RateLimiter::keyed(governor::Quota::per_minute(
                settings.fetches_per_host_per_minute,
            )),
            settings,
            http,
            fresh_until: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
        })
    }

    /// How many documents this process has fetched.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Whether this process fetched `url` less than its cache time ago (by the issuer's clock,
    /// the one the purge of unused document clients reads too).
    fn is_fresh(&self, url: &str, now: i64) -> bool {
        self.fresh_until
            .lock()
            .ok()
            .and_then(|m| m.get(url).copied())
            .is_some_and(|until| until > now)
    }

    fn remember(&self, url: &str, secs: u64, now: i64) {
        if let Ok(mut map) = self.fresh_until.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            let until = now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
            map.insert(url.to_owned(), until);
        }
    }

    /// Makes sure the client a document-URL `client_id` names is stored and fresh, fetching
    /// its document when needed. Any other `client_id` is left alone.
    pub async fn refresh(&self, pool: &Pool, client_id: &str, now: i64) -> Result<(), OAuthError> {
        if !client_metadata::is_document_url(client_id) {
            return Ok(());
        }
        if !self.settings.enabled {
            return Err(refused(
                "client ID metadata documents are not accepted here",
            ));
        }
        let url =
            client_metadata::document_url(&self.settings, client_id).map_err(|r| refused(&r))?;
        if self.is_fresh(url.as_str(), now) {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            // An address literal never reaches the resolver: check it here.
            if !client_metadata::address_allowed(&self.settings, &host, ip) {
                return Err(refused("the client_id URL's address may not be fetched"));
            }
        }
        if self.per_host.check_key(&host).is_err() {
            return Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "Too many client metadata documents fetched from this host; retry later",
            ));
        }
        let (body, cache_control) = self.fetch(&url).await?;
        let client =
            client_metadata::client_from_document(&url, &body, now).map_err(|r| refused(&r))?;
        db::run_tx(pool, move |conn| store(conn, &client, now)).await?;
        let secs = client_metadata::cache_secs(&self.settings, cache_control.as_deref());
        self.remember(url.as_str(), secs, now);
        Event::new(Kind::ClientMetadataFetched, Actor::Anonymous)
            .subject(url.as_str())
            .client(url.as_str())
            .wait_secs(i64::try_from(secs).unwrap_or(i64::MAX))
            .log();
        Ok(())
    }

    /// GETs the document: status 200, a JSON body within `max_bytes`, in the time allowed.
    async fn fetch(&self, url: &url::Url) -> Result<(Vec<u8>, Option<String>), OAuthError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let failed = |e: reqwest::Error| {
            tracing::warn!(client_id = %url, error = %e, timeout = e.is_timeout(), "client metadata document fetch failed");
            refused("it could not be fetched")
        };
        let mut response = self
            .http
            .get(url.as_str())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(failed)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(refused("its URL did not answer 200 OK"));
        }
        let max = self.settings.max_bytes.get() as usize;
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(refused("it is too large"));
        }
        let cache_control = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > max {
                return Err(refused("it is too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, cache_control))
    }
}

/// Stores the document's client, unless the stored one already says the same.
fn store(conn: &mut DbConnection, client: &Client, now: i64) -> Result<(), OAuthError> {
    let row = client_metadata::to_row(client, now)?;
    match db::clients::find(conn, &client.id)? {
        None => db::clients::insert(conn, &row)?,
        Some(existing) if existing.registered_by.as_deref() != Some(REGISTERED_BY) => {
            return Err(refused("the client_id is taken"));
        }
        Some(existing) => {
            let same = existing.name == row.name
                && existing.grant_types == row.grant_types
                && existing.redirect_uris == row.redirect_uris
                && existing.scope == row.scope;
            if same {
                // Fetched again: the purge of unused document clients counts from here.
                db::clients::touch(conn, &client.id, now)?;
            } else {
                db::clients::replace(conn, &row)?;
            }
        }
    }
    Ok(())
}
