//! The shared state every request may need ([`AppState`]): settings, pool, master key, the
//! signing-key snapshot, clock, password slots, metrics and branding; built once at start.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;

use crate::admin;
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::keys::{self, KeySet};
use crate::crypto::master_key::{MasterKey, Source};
use crate::crypto::password::Passwords;
use crate::db::change_generations::Generations;
use crate::db::{self, Backend, DbError, Pool};
use crate::domain::client::Client;
use crate::metrics::Metrics;
use crate::oauth::authorize;
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::client_cache::ClientCache;
use crate::oauth::discovery;
use crate::oauth::token;
use crate::oauth::OAuthError;
use crate::random::Random;
use crate::views::{self, Brand};

/// Everything a request may need; shared through `web::Data`, no globals.
pub struct AppState {
    pub settings: Settings,
    pub pool: Pool,
    pub master_key: MasterKey,
    /// The current key snapshot, swapped whole when the stored set changes.
    pub keys: ArcSwap<KeySet>,
    pub clock: Arc<dyn Clock>,
    /// Every random value a request makes; the OS CSPRNG outside tests.
    pub random: Arc<dyn Random>,
    pub passwords: Passwords,
    /// The discovery document, serialised once.
    pub discovery: bytes::Bytes,
    /// `Cache-Control` of the JWKS, built once.
    pub jwks_cache_control: actix_web::http::header::HeaderValue,
    pub metrics: Metrics,
    /// Branding for the hosted pages.
    pub brand: Brand,
    /// `/assets/theme.css`, built from the branding settings.
    pub theme_css: String,
    /// `/assets/extra.css`, read once at start when configured.
    pub extra_css: Option<String>,
    /// The WebAuthn relying party (the issuer's host); `None` when the issuer is an IP address.
    pub passkeys: Option<crate::oauth::passkey::RelyingParty>,
    /// Open client registrations allowed per source address.
    pub open_registrations: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    /// Clients read by client authentication, trusted while the change poller confirms them.
    pub clients: ClientCache,
    /// Client ID metadata documents: fetched, validated, stored, kept fresh.
    pub metadata: crate::metadata_fetch::MetadataFetcher,
    /// The SMTP relay (`[email]`), when one is configured.
    pub mailer: Option<crate::email::Mailer>,
    /// The `signing_keys` generation the key snapshot was loaded under.
    keys_generation: AtomicI64,
}

impl AppState {
    /// Opens the database, applies migrations, loads (or creates) the master and signing keys.
    pub async fn build(
        settings: Settings,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> anyhow::Result<Self> {
        let backend = Backend::from_url(&settings.database.url).map_err(anyhow::Error::msg)?;
        let (master_key, source) = MasterKey::load(&settings.keys.master_key_file, true, &*random)?;
        match &source {
            Source::Environment => tracing::info!("master key read from LATCHKEY_MASTER_KEY"),
            Source::File(path) => {
                tracing::info!(path = %path.display(), "master key read from file")
            }
            Source::Generated(path) => tracing::warn!(
                path = %path.display(),
                "DEVELOPMENT CONVENIENCE: generated a new master key file; back it up and keep it \
                 secret, or set LATCHKEY_MASTER_KEY in production"
            ),
        }
        let pool = db::pool(&settings.database)?;
        let applied = db::run(&pool, db::migrate)
            .await
            .with_context(|| format!("cannot prepare the database ({})", backend.describe()))?;
        for version in &applied {
            tracing::info!(version = %version, "applied migration");
        }
        let extra_css = if settings.branding.extra_css_file.as_os_str().is_empty() {
            None
        } else {
            let path = &settings.branding.extra_css_file;
            Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            )
        };
        let per_hour = settings.registration.open_per_hour;
        let poll = Duration::from_millis(settings.database.change_poll_interval_ms);
        let passwords = Passwords::new(&settings.passwords)?;
        let metrics = Metrics::new(&pool, &passwords)?;
        let brand = Brand::from_settings(&settings);
        let passkeys = crate::oauth::passkey::RelyingParty::for_issuer(
            settings.issuer.as_str(),
            &brand.product_name,
        );
        if passkeys.is_none() {
            tracing::warn!(
                "passkeys are off: the issuer's host is not a domain name (WebAuthn needs one)"
            );
        }
        let state = Self {
            passkeys,
            clients: ClientCache::new((poll * 4).max(Duration::from_secs(2))),
            metadata: crate::metadata_fetch::MetadataFetcher::new(&settings.client_id_metadata)?,
            mailer: crate::email::Mailer::new(
                &settings.email,
                settings.issuer.url().host_str().unwrap_or("localhost"),
            )?,
            keys_generation: AtomicI64::new(i64::MIN),
            open_registrations: governor::RateLimiter::keyed(governor::Quota::per_hour(per_hour)),
            brand,
            theme_css: views::theme_css(&settings),
            extra_css,
            passwords,
            discovery: discovery::document(&settings)?.into(),
            jwks_cache_control: actix_web::http::header::HeaderValue::from_str(&format!(
                "public, max-age={}",
                settings.keys.jwks_max_age_secs
            ))?,
            metrics,
            keys: ArcSwap::from_pointee(KeySet::empty()),
            settings,
            pool,
            master_key,
            clock,
            random,
        };
        // The first rotation pass creates the first signing key.
        state.rotate_keys().await?;
        let (pool, base, now) = (
            state.pool.clone(),
            state.settings.base_url().to_owned(),
            state.clock.now(),
        );
        tokio::task::spawn_blocking(move || admin::built_in::ensure(&pool, &base, now)).await??;
        state.refresh_keys().await?;
        let generations = db::run(&state.pool, |conn| {
            db::change_generations::current(conn).map_err(DbError::from)
        })
        .await?;
        state.observe(generations).await?;
        Ok(state)
    }

    /// Applies what the change poller read: drops the client cache when clients changed, and
    /// reloads the key set when signing keys changed, in every process within one poll interval
    /// of any process's write.
    pub async fn observe(&self, generations: Generations) -> anyhow::Result<()> {
        self.clients.confirm(generations.clients);
        if self.keys_generation.load(Ordering::Acquire) != generations.signing_keys {
            self.refresh_keys().await?;
            self.keys_generation
                .store(generations.signing_keys, Ordering::Release);
        }
        Ok(())
    }

    /// Authenticates the client that `presented` itself: against the cached client when the
    /// cache is confirmed, else against the database (and then cached). A cached client whose
    /// check fails is read again from the database before the answer is final, so a secret
    /// rotated or a client enabled a moment ago works at once; a secret revoked or a client
    /// disabled in another process stops working within one change-poll interval.
    pub async fn authenticate(&self, presented: &Presented) -> Result<Arc<Client>, OAuthError> {
        let miss = match self
            .clients
            .get(&presented.client_id, self.pool.client_changes())
        {
            Ok(client) => match client_auth::verify(Some(&client), presented) {
                Ok(()) => return Ok(client),
                Err(_) => self.clients.begin_lookup(),
            },
            Err(miss) => miss,
        };
        let id = presented.client_id.clone();
        let found = db::run(&self.pool, move |conn| client_auth::find(conn, &id)).await?;
        client_auth::verify(found.as_ref(), presented)?;
        let client = Arc::new(found.ok_or_else(OAuthError::invalid_client)?);
        self.clients.fill(miss, Arc::clone(&client));
        Ok(client)
    }

    /// The client `id`, not authenticated (what CORS needs to know of a request's client): from
    /// the cache while it is confirmed, else from the database (and then cached).
    pub async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, OAuthError> {
        let miss = match self.clients.get(id, self.pool.client_changes()) {
            Ok(client) => return Ok(Some(client)),
            Err(miss) => miss,
        };
        let owned = id.to_owned();
        let found = db::run(&self.pool, move |conn| client_auth::find(conn, &owned)).await?;
        Ok(found.map(|client| {
            let client = Arc::new(client);
            self.clients.fill(miss, Arc::clone(&client));
            client
        }))
    }

    /// What the token grants need, around the key snapshot `keys` (`self.keys.load()`).
    pub fn token_context<'a>(&'a self, keys: &'a KeySet) -> token::Context<'a> {
        token::Context {
            settings: &self.settings,
            keys,
            master_key: &self.master_key,
            random: &*self.random,
            now: self.clock.now(),
        }
    }

    /// What the authorization steps (authorize, login, consent) need, at the time `now`.
    pub fn authorization_context(&self, now: i64) -> authorize::Context<'_> {
        authorize::Context {
            settings: &self.settings,
            master_key: &self.master_key,
            random: &*self.random,
            now,
        }
    }

    /// Runs a key-rotation pass (publish, activate, retire, delete as dates come), then reloads
    /// the key set if it changed.
    pub async fn rotate_keys(&self) -> anyhow::Result<bool> {
        let pool = self.pool.clone();
        let settings = self.settings.clone();
        let master = self.master_key.clone();
        let (now, random) = (self.clock.now(), self.random.clone());
        tokio::task::spawn_blocking(move || {
            admin::keys::rotate_if_due(&pool, &settings, &master, &*random, now)
        })
        .await??;
        self.refresh_keys().await
    }

    /// Reloads the key set when the stored one differs from the snapshot.
    pub async fn refresh_keys(&self) -> anyhow::Result<bool> {
        let rows = db::run(&self.pool, |conn| {
            db::keys::list(conn).map_err(DbError::from)
        })
        .await?;
        if keys::fingerprint(&rows) == self.keys.load().fingerprint() {
            return Ok(false);
        }
        let set = KeySet::build(&rows, &self.master_key)?;
        tracing::info!(
            active_kid = set.active().map(|k| k.kid.as_str()),
            keys = rows.len(),
            "key set loaded"
        );
        self.keys.store(Arc::new(set));
        Ok(true)
    }
}
