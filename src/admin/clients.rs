//! Client management: register, list, show, rotate the secret, remove. Secrets are generated
//! here, shown once, and stored only as SHA-256 (DESIGN.md §5).

use secrecy::SecretString;
use serde::Serialize;

pub use super::builtin::{bootstrap, ensure_console, ADMIN_SCOPE, BOOTSTRAP_NAME, CONSOLE_ID};
use super::AdminError;
use crate::crypto::keys::SigningAlg;
use crate::db::models::ClientRow;
use crate::db::{self, DbConnection};
use crate::domain::client::{Client, GrantType, RedirectUri};
use crate::domain::metadata::{self, Metadata, Violation};
use crate::domain::scope::Scope;
use crate::domain::secret::{self, SecretHash};

/// What an admin sees of a client; never its secret hash.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: String,
    pub first_party: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub refresh_token_ttl_secs: Option<i64>,
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    pub token_endpoint_auth_method: String,
    /// `None`: `tokens.access_token_alg`.
    pub access_token_alg: Option<SigningAlg>,
    /// `None`: RS256.
    pub id_token_signed_response_alg: Option<SigningAlg>,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            public: c.is_public(),
            client_id: c.id,
            name: c.name,
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scope: c.scope.to_string(),
            first_party: c.first_party,
            disabled: c.disabled,
            created_at: c.created_at,
            refresh_token_ttl_secs: c.refresh_token_ttl_secs,
            refresh_token_absolute_ttl_secs: c.refresh_token_absolute_ttl_secs,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            access_token_alg: c.access_token_alg,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
        }
    }
}

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: Option<String>,
    pub public: bool,
    pub first_party: bool,
    /// Refresh-token idle and absolute lifetimes for this client, overriding the defaults.
    pub refresh_token_ttl_secs: Option<i64>,
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    /// `alg` of its access tokens; `None` follows `tokens.access_token_alg`.
    pub access_token_alg: Option<SigningAlg>,
    /// `alg` of its ID tokens; `None` means RS256.
    pub id_token_signed_response_alg: Option<SigningAlg>,
}

/// A registered client and, for confidential clients, its secret (shown once).
pub struct Registered {
    pub client: ClientView,
    pub client_secret: Option<SecretString>,
}

fn parse_uris(uris: &[String]) -> Result<Vec<String>, AdminError> {
    uris.iter()
        .map(|u| RedirectUri::parse(u).map(|r| r.as_str().to_owned()))
        .collect::<Result<_, _>>()
        .map_err(AdminError::Invalid)
}

/// The admin wording of a broken metadata rule (CLI options, page fields).
fn violation(v: Violation) -> AdminError {
    AdminError::Invalid(
        match v {
            Violation::Name => "a client name has 1 to 100 printable characters",
            Violation::NoGrant => "a client needs at least one grant type (--grant)",
            Violation::PublicPassword => "a public client cannot use the password grant",
            Violation::PublicClientCredentials => {
                "a public client cannot use client_credentials (RFC 6749 §4.4)"
            }
            Violation::CodeWithoutRedirectUri => {
                "the authorization_code grant needs at least one redirect URI (--redirect-uri)"
            }
        }
        .into(),
    )
}

fn validate(new: &NewClient) -> Result<(Vec<String>, Vec<String>, Scope), AdminError> {
    let redirect_uris = parse_uris(&new.redirect_uris)?;
    let post_logout = parse_uris(&new.post_logout_redirect_uris)?;
    metadata::check(&Metadata {
        name: &new.name,
        public: new.public,
        grant_types: &new.grant_types,
        redirect_uri_count: redirect_uris.len(),
    })
    .map_err(violation)?;
    for ttl in [
        new.refresh_token_ttl_secs,
        new.refresh_token_absolute_ttl_secs,
    ]
    .into_iter()
    .flatten()
    {
        if !(1..=crate::config::MAX_LIFETIME_SECS).contains(&ttl) {
            return Err(AdminError::Invalid(
                "refresh-token lifetimes must be from 1 second to 10 years".into(),
            ));
        }
    }
    let scope = match &new.scope {
        Some(raw) => {
            Scope::parse(raw.trim()).map_err(|e| AdminError::Invalid(format!("--scope: {e}")))?
        }
        None => {
            let user_grant = new
                .grant_types
                .iter()
                .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Password));
            let mut default = String::new();
            if user_grant {
                default.push_str("openid profile email");
                if new.grant_types.contains(&GrantType::RefreshToken) {
                    default.push_str(" offline_access");
                }
            }
            if default.is_empty() {
                Scope::empty()
            } else {
                Scope::parse(&default).map_err(|e| AdminError::internal("default scope", e))?
            }
        }
    };
    Ok((redirect_uris, post_logout, scope))
}

/// Registers a client.
pub fn add(conn: &mut DbConnection, new: NewClient, now: i64) -> Result<Registered, AdminError> {
    add_with(conn, new, None, None, now).map(|(registered, _)| registered)
}

/// `token_endpoint_auth_method` as registered: `none` for public clients.
fn auth_method(new: &NewClient, requested: Option<&str>) -> Result<String, AdminError> {
    match (new.public, requested) {
        (true, None | Some("none")) => Ok("none".into()),
        (false, None) => Ok("client_secret_basic".into()),
        (false, Some(m @ ("client_secret_basic" | "client_secret_post"))) => Ok(m.into()),
        (_, Some(other)) => Err(AdminError::Invalid(format!(
            "token_endpoint_auth_method `{other}` does not fit this client"
        ))),
    }
}

fn to_row(
    id: String,
    new: &NewClient,
    method: String,
    secret_hash: Option<Vec<u8>>,
    now: i64,
) -> Result<ClientRow, AdminError> {
    let (redirect_uris, post_logout, scope) = validate(new)?;
    let mut grant_types = new.grant_types.clone();
    grant_types.dedup();
    let json = |v: &Vec<String>| {
        serde_json::to_string(v).map_err(|e| AdminError::internal("client row", e))
    };
    Ok(ClientRow {
        id,
        name: new.name.trim().to_owned(),
        secret_hash,
        grant_types: grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        redirect_uris: json(&redirect_uris)?,
        post_logout_redirect_uris: json(&post_logout)?,
        scope: scope.to_string(),
        first_party: new.first_party,
        disabled: false,
        created_at: now,
        updated_at: now,
        refresh_token_ttl_secs: new.refresh_token_ttl_secs,
        refresh_token_absolute_ttl_secs: new.refresh_token_absolute_ttl_secs,
        registration_token_hash: None,
        token_endpoint_auth_method: method,
        registered_by: None,
        access_token_alg: new.access_token_alg.map(|a| a.as_str().to_owned()),
        id_token_signed_response_alg: new
            .id_token_signed_response_alg
            .map(|a| a.as_str().to_owned()),
    })
}

/// Registers a client over HTTP (RFC 7591): like [`add`], with the requested
/// `token_endpoint_auth_method`, and a registration access token (RFC 7592), shown once.
pub fn add_with(
    conn: &mut DbConnection,
    new: NewClient,
    requested_method: Option<&str>,
    registered_by: Option<&str>,
    now: i64,
) -> Result<(Registered, SecretString), AdminError> {
    let method = auth_method(&new, requested_method)?;
    let client_secret = (!new.public).then(secret::generate);
    let registration_token = secret::generate();
    let secret_hash = client_secret
        .as_ref()
        .map(|s| SecretHash::of(s).as_bytes().to_vec());
    let mut row = to_row(
        uuid::Uuid::new_v4().to_string(),
        &new,
        method,
        secret_hash,
        now,
    )?;
    row.registered_by = registered_by.map(str::to_owned);
    if registered_by.is_some() {
        row.registration_token_hash = Some(SecretHash::of(&registration_token).as_bytes().to_vec());
    }
    db::clients::insert(conn, &row)?;
    let client = Client::try_from(row).map_err(|e| AdminError::internal("stored client", e))?;
    Ok((
        Registered {
            client: client.into(),
            client_secret,
        },
        registration_token,
    ))
}

/// The client `id` if `token` is its registration access token (RFC 7592 §3).
pub fn find_by_registration_token(
    conn: &mut DbConnection,
    id: &str,
    token: &str,
) -> Result<Option<Client>, AdminError> {
    let Some(row) = db::clients::find(conn, id)? else {
        return Ok(None);
    };
    let matches = row
        .registration_token_hash
        .as_deref()
        .and_then(SecretHash::from_bytes)
        .is_some_and(|h| h.matches(token));
    if !matches {
        return Ok(None);
    }
    Client::try_from(row)
        .map(Some)
        .map_err(|e| AdminError::internal("stored client", e))
}

/// Replaces a client's metadata: RFC 7592 §2.2 updates (which rotate the registration access
/// token, returned) and edits from the admin pages (which keep it). A client cannot switch
/// between public and confidential; `requested_method = None` keeps the registered method.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    new: NewClient,
    requested_method: Option<&str>,
    rotate_registration_token: bool,
    now: i64,
) -> Result<(ClientView, Option<SecretString>), AdminError> {
    let registration_token = rotate_registration_token.then(secret::generate);
    let client = db::write_tx(conn, |conn| {
        let existing = db::clients::find(conn, id)?
            .ok_or_else(|| AdminError::NotFound(format!("client `{id}`")))?;
        if id == CONSOLE_ID {
            return Err(AdminError::Invalid(
                "the built-in admin console client cannot be changed".into(),
            ));
        }
        if existing.secret_hash.is_none() != new.public {
            return Err(AdminError::Invalid(
                "a client cannot change between public and confidential".into(),
            ));
        }
        let method = match requested_method {
            Some(_) => auth_method(&new, requested_method)?,
            None => existing.token_endpoint_auth_method.clone(),
        };
        let mut row = to_row(
            id.to_owned(),
            &new,
            method,
            existing.secret_hash.clone(),
            now,
        )?;
        row.created_at = existing.created_at;
        row.disabled = existing.disabled;
        row.registered_by = existing.registered_by.clone();
        row.registration_token_hash = match &registration_token {
            Some(token) => Some(SecretHash::of(token).as_bytes().to_vec()),
            None => existing.registration_token_hash.clone(),
        };
        db::clients::replace(conn, &row)?;
        Client::try_from(row).map_err(|e| AdminError::internal("stored client", e))
    })?;
    Ok((client.into(), registration_token))
}

fn find(conn: &mut DbConnection, id: &str) -> Result<Client, AdminError> {
    db::clients::find(conn, id)?
        .ok_or_else(|| AdminError::NotFound(format!("client `{id}`")))?
        .try_into()
        .map_err(|e: crate::domain::client::CorruptClient| AdminError::internal("stored client", e))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ClientView>, AdminError> {
    db::clients::list(conn)?
        .into_iter()
        .map(|row| {
            Client::try_from(row)
                .map(ClientView::from)
                .map_err(|e| AdminError::internal("stored client", e))
        })
        .collect()
}

pub fn show(conn: &mut DbConnection, id: &str) -> Result<ClientView, AdminError> {
    find(conn, id).map(ClientView::from)
}

/// Replaces a confidential client's secret; the old one stops working at once. With
/// `revoke_tokens`, every refresh token issued to the client is revoked too.
pub fn rotate_secret(
    conn: &mut DbConnection,
    id: &str,
    revoke_tokens: bool,
    now: i64,
) -> Result<SecretString, AdminError> {
    let secret = secret::generate();
    let hash = SecretHash::of(&secret);
    db::write_tx(conn, |conn| {
        let client = find(conn, id)?;
        if client.is_public() {
            return Err(AdminError::Invalid(format!(
                "client `{id}` is public and has no secret"
            )));
        }
        db::clients::set_secret_hash(conn, id, hash.as_bytes(), now)?;
        if revoke_tokens {
            db::refresh_tokens::revoke_for(conn, db::refresh_tokens::Owner::Client(id), now)?;
        }
        Ok(())
    })?;
    Ok(secret)
}

/// Disables (or enables again) a client: a disabled client cannot authenticate anywhere, and the
/// access tokens it holds stop working at `/userinfo` and `/introspect`.
pub fn set_disabled(
    conn: &mut DbConnection,
    id: &str,
    disabled: bool,
    now: i64,
) -> Result<(), AdminError> {
    if id == CONSOLE_ID {
        return Err(AdminError::Invalid(
            "the built-in admin console client cannot be disabled".into(),
        ));
    }
    db::write_tx(conn, |conn| {
        find(conn, id)?;
        db::clients::set_disabled(conn, id, disabled, now)?;
        Ok(())
    })
}

pub fn remove(conn: &mut DbConnection, id: &str) -> Result<(), AdminError> {
    if id == CONSOLE_ID {
        return Err(AdminError::Invalid(
            "the built-in admin console client cannot be removed".into(),
        ));
    }
    db::write_tx(conn, |conn| {
        find(conn, id)?;
        db::clients::delete(conn, id)?;
        Ok(())
    })
}
