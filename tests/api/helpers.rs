//! The test harness: a real Latchkey server on port 0 over a fresh database (SQLite file or a new
//! PostgreSQL database), and a [`TestApp`] with one method per endpoint.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::web;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::{Connection, RunQueryDsl};
use latchkey::admin;
use latchkey::clock::ManualClock;
use latchkey::config::Settings;
use latchkey::domain::client::GrantType;
use latchkey::startup::Application;
use latchkey::state::AppState;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Which storage backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `sqlite` and `postgres` test functions for each named `async fn(Backend)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

/// The PostgreSQL server tests create their databases on. Missing → the test fails, never skips.
pub fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database URL for one test.
pub fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("latchkey.db").display()),
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for the postgres tests and is not reachable at \
                     {admin_url} ({e}); run scripts/test.sh, which starts it"
                )
            });
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create test database");
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("admin URL has a database");
            format!("{base}/{name}")
        }
    }
}

/// Settings for a test server: cheap argon2, one worker, everything inside `dir`.
pub fn test_settings(backend: Backend, dir: &std::path::Path) -> Settings {
    let mut settings = Settings::defaults().expect("defaults are valid");
    settings.database.url = fresh_database(backend, dir);
    settings.database.pool_size = std::num::NonZeroU32::new(4).unwrap();
    settings.keys.master_key_file = dir.join("master.key");
    settings.server.workers = 1;
    settings.passwords.memory_kib = 1024;
    settings.passwords.iterations = 1;
    settings.log.level = "warn".into();
    settings
}

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub state: web::Data<AppState>,
    pub clock: Arc<ManualClock>,
    pub dir: Arc<tempfile::TempDir>,
    /// The `/metrics` listener's port when `metrics.bind` is set.
    pub metrics_port: Option<u16>,
}

/// A registered client and its secret.
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

/// What [`TestApp::relying_party`] returns: a discovered openidconnect client.
pub type RelyingParty = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub const NOW: i64 = 1_800_000_000;

/// Polls `probe` until it holds or `limit` has passed; returns how long it took to hold.
pub async fn within<F, Fut>(limit: std::time::Duration, mut probe: F) -> Option<std::time::Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if probe().await {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let settings = test_settings(backend, dir.path());
        Self::spawn_with(dir, settings).await
    }

    /// Starts a server with the given settings; the issuer is set to the bound address.
    pub async fn spawn_with(dir: Arc<tempfile::TempDir>, settings: Settings) -> Self {
        Self::spawn_at(dir, settings, "127.0.0.1").await
    }

    /// Starts a server whose issuer names the bound port on `host` (`localhost` for passkeys:
    /// browsers refuse an IP address as a WebAuthn relying-party id).
    pub async fn spawn_at(dir: Arc<tempfile::TempDir>, mut settings: Settings, host: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let address = format!("http://{host}:{port}");
        settings.issuer = address.parse().unwrap();
        settings.validate().expect("test settings are valid");
        let clock = Arc::new(ManualClock::new(NOW));
        let state = AppState::build(
            settings,
            clock.clone(),
            Arc::new(latchkey::random::OsRandom),
        )
        .await
        .expect("build state");
        let app = Application::with_listener(state, listener).expect("build app");
        let state = app.state();
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until_stopped());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            address,
            http,
            state,
            clock,
            dir,
            metrics_port,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// Registers a client through the same admin code the CLI uses.
    pub async fn client(&self, grants: &[GrantType], scope: &str, public: bool) -> TestClient {
        self.register(Self::new_client(grants, scope, public)).await
    }

    /// A confidential client that authenticates with `method` at the token endpoint.
    pub async fn client_with_method(
        &self,
        grants: &[GrantType],
        scope: &str,
        method: &str,
    ) -> TestClient {
        self.register_with_method(Self::new_client(grants, scope, false), Some(method))
            .await
    }

    fn new_client(grants: &[GrantType], scope: &str, public: bool) -> admin::clients::NewClient {
        admin::clients::NewClient {
            name: "Test App".into(),
            grant_types: grants.to_vec(),
            redirect_uris: if grants.contains(&GrantType::AuthorizationCode) {
                vec!["http://127.0.0.1:9999/callback".into()]
            } else {
                vec![]
            },
            post_logout_redirect_uris: vec![],
            scope: Some(scope.into()),
            public,
            first_party: true,
            refresh_token_ttl_secs: None,
            refresh_token_absolute_ttl_secs: None,
            access_token_alg: None,
            id_token_signed_response_alg: None,
            claims_and_origins: Default::default(),
        }
    }

    /// Registers `new` and returns its id and secret.
    pub async fn register(&self, new: admin::clients::NewClient) -> TestClient {
        self.register_with_method(new, None).await
    }

    /// Registers `new` with a `token_endpoint_auth_method` (default: basic, or none if public).
    pub async fn register_with_method(
        &self,
        new: admin::clients::NewClient,
        method: Option<&str>,
    ) -> TestClient {
        let pool = self.state.pool.clone();
        let method = method.map(str::to_owned);
        let (registered, _) = tokio::task::spawn_blocking(move || {
            admin::clients::add_with(
                &mut pool.get().unwrap(),
                &by_cli(NOW),
                &latchkey::random::OsRandom,
                new,
                method.as_deref(),
                None,
            )
        })
        .await
        .unwrap()
        .expect("register client");
        TestClient {
            id: registered.client.client_id,
            secret: registered
                .client_secret
                .map(|s| s.expose_secret().to_owned()),
        }
    }

    /// A confidential client allowed client_credentials for `api:read api:write`.
    pub async fn service_client(&self) -> TestClient {
        self.client(&[GrantType::ClientCredentials], "api:read api:write", false)
            .await
    }

    /// A confidential client allowed the password grant.
    pub async fn password_client(&self) -> TestClient {
        self.client(&[GrantType::Password], "openid profile email", false)
            .await
    }

    /// Creates a user with a password; returns the user's `sub`.
    pub async fn user(&self, username: &str, password: &str) -> String {
        let pool = self.state.pool.clone();
        let passwords = self.state.passwords.clone();
        let new = admin::users::NewUser {
            username: username.into(),
            email: Some(format!("{username}@example.com")),
            email_verified: false,
            name: Some("Test User".into()),
            password: Some(SecretString::from(password.to_owned())),
        };
        tokio::task::spawn_blocking(move || {
            let prepared =
                admin::users::prepare(&passwords, &latchkey::random::OsRandom, new, NOW)?;
            admin::users::add(&mut pool.get().unwrap(), &by_cli(NOW), prepared)
        })
        .await
        .unwrap()
        .expect("create user")
        .id
    }

    /// `POST /token` with a form body and optional Basic credentials.
    pub async fn token(
        &self,
        form: &[(&str, &str)],
        basic: Option<&TestClient>,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url("/token")).form(form);
        if let Some(client) = basic {
            request = request.basic_auth(&client.id, client.secret.as_deref());
        }
        request.send().await.expect("POST /token")
    }

    /// `POST /token` with a raw body, content type and headers.
    pub async fn token_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url("/token"))
            .header("Content-Type", content_type)
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("POST /token")
    }

    /// Verifies a JWT against the served JWKS with an independent library (jsonwebtoken),
    /// checking signature, `kid`, `alg` (the key's own), `iss`, `aud` and `exp` (at the test
    /// clock's time).
    pub async fn verify(&self, token: &str, audience: &str) -> (jsonwebtoken::Header, Value) {
        let header = jsonwebtoken::decode_header(token).expect("JWT header");
        let kid = header.kid.clone().expect("kid in header");
        let jwks: Value = self.get("/jwks").await.json().await.expect("JWKS json");
        let key = jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap_or_else(|| panic!("kid {kid} not in JWKS"));
        let (decoding, algorithm) = decoding_key(key);
        assert_eq!(
            header.alg, algorithm,
            "the header's alg is the key's own alg"
        );
        let mut validation = jsonwebtoken::Validation::new(algorithm);
        validation.set_issuer(&[&self.address]);
        validation.set_audience(&[audience]);
        // The server runs on a test clock; check expiry against it below instead.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
            .unwrap_or_else(|e| panic!("token does not verify: {e}"));
        let exp = data.claims["exp"].as_i64().expect("exp");
        assert!(exp > self.clock_now(), "token already expired");
        (data.header, data.claims)
    }

    /// The openidconnect crate as a relying party for `client`, configured by discovery.
    pub async fn relying_party(&self, client: &TestClient) -> RelyingParty {
        let metadata = openidconnect::core::CoreProviderMetadata::discover_async(
            openidconnect::IssuerUrl::new(self.address.clone()).unwrap(),
            &self.http,
        )
        .await
        .unwrap();
        openidconnect::core::CoreClient::from_provider_metadata(
            metadata,
            openidconnect::ClientId::new(client.id.clone()),
            client.secret.clone().map(openidconnect::ClientSecret::new),
        )
    }

    pub fn clock_now(&self) -> i64 {
        use latchkey::clock::Clock;
        self.clock.now()
    }
}

/// The jsonwebtoken key and algorithm of a served JWK (RSA, EC P-256 or OKP Ed25519).
pub fn decoding_key(jwk: &Value) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Algorithm) {
    use jsonwebtoken::{Algorithm, DecodingKey};
    let member = |name: &str| {
        jwk[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {jwk}"))
    };
    match (member("kty"), member("alg")) {
        ("RSA", "RS256") => (
            DecodingKey::from_rsa_components(member("n"), member("e")).expect("RSA key"),
            Algorithm::RS256,
        ),
        ("EC", "ES256") => {
            assert_eq!(member("crv"), "P-256");
            (
                DecodingKey::from_ec_components(member("x"), member("y")).expect("EC key"),
                Algorithm::ES256,
            )
        }
        ("OKP", "EdDSA") => {
            assert_eq!(member("crv"), "Ed25519");
            (
                DecodingKey::from_ed_components(member("x")).expect("OKP key"),
                Algorithm::EdDSA,
            )
        }
        other => panic!("unexpected key type and alg {other:?}"),
    }
}

/// An RFC 7638 thumbprint computed here, independently of Latchkey's code.
pub fn thumbprint(n_b64: &str, e_b64: &str) -> String {
    use sha2::Digest;
    let canonical = format!(r#"{{"e":"{e_b64}","kty":"RSA","n":"{n_b64}"}}"#);
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// Asserts an RFC 6749 error response exactly: status, body, no-store.
pub async fn assert_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
    description: &str,
) {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(
        body,
        serde_json::json!({ "error": error, "error_description": description })
    );
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

pub const REDIRECT_URI: &str = "http://127.0.0.1:9999/callback";

impl TestApp {
    pub fn browser(&self) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.address.clone(),
        }
    }

    /// A browser that sends `headers` with every request (a `User-Agent`, forwarding headers).
    pub fn browser_with(&self, headers: &[(&'static str, &str)]) -> Browser {
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(map)
                .build()
                .unwrap(),
            base: self.address.clone(),
        }
    }

    /// Registers a client for the authorization-code flow.
    pub async fn web_client(&self, first_party: bool, public: bool) -> TestClient {
        let new = admin::clients::NewClient {
            name: "Web App".into(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec!["http://127.0.0.1:9999/bye".into()],
            scope: Some("openid profile email offline_access".into()),
            public,
            first_party,
            refresh_token_ttl_secs: None,
            refresh_token_absolute_ttl_secs: None,
            access_token_alg: None,
            id_token_signed_response_alg: None,
            claims_and_origins: Default::default(),
        };
        self.register(new).await
    }
}

impl Browser {
    pub fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(self.absolute(url)).send().await.expect("GET")
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.absolute(url))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// Follows the login page: opens it, fills it in, and returns the response to the POST.
    pub async fn log_in(
        &self,
        login_url: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self.get(login_url).await;
        assert_eq!(page.status(), 200, "login page");
        let html = page.text().await.unwrap();
        let request = hidden(&html, "request");
        let csrf = hidden(&html, "csrf");
        self.post(
            "/login",
            &[
                ("request", &request),
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Approves (or denies) the consent page at `url`; returns the response to the POST.
    pub async fn consent(&self, url: &str, approve: bool) -> reqwest::Response {
        let page = self.get(url).await;
        assert_eq!(page.status(), 200, "consent page");
        let html = page.text().await.unwrap();
        let decision = if approve { "approve" } else { "deny" };
        self.post(
            "/consent",
            &[
                ("request", &hidden(&html, "request")),
                ("csrf", &hidden(&html, "csrf")),
                ("decision", decision),
            ],
        )
        .await
    }
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// A query parameter of a URL.
pub fn query(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The CLI as the author of an admin operation made directly by a test, at `now` (not stored).
pub fn by_cli(now: i64) -> latchkey::audit::By {
    latchkey::audit::By::new(latchkey::audit::Actor::Cli, false, now)
}
