//! Client management: register, list, show, rotate the secret, remove. Secrets are generated
//! here, shown once, and stored only as SHA-256 (DESIGN.md §5).

use secrecy::SecretString;
use serde::Serialize;

use super::AdminError;
use crate::crypto::keys::SigningAlg;
use crate::db::models::ClientRow;
use crate::db::{self, Pool};
use crate::domain::client::{Client, GrantType, RedirectUri};
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

fn validate(new: &NewClient) -> Result<(Vec<String>, Vec<String>, Scope), AdminError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "a client name has 1 to 100 printable characters".into(),
        ));
    }
    if new.grant_types.is_empty() {
        return Err(AdminError::Invalid(
            "a client needs at least one --grant".into(),
        ));
    }
    if new.public && new.grant_types.contains(&GrantType::Password) {
        return Err(AdminError::Invalid(
            "a public client cannot use the password grant".into(),
        ));
    }
    if new.public && new.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(AdminError::Invalid(
            "a public client cannot use client_credentials (RFC 6749 §4.4)".into(),
        ));
    }
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
    let redirect_uris = parse_uris(&new.redirect_uris)?;
    let post_logout = parse_uris(&new.post_logout_redirect_uris)?;
    if new.grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(AdminError::Invalid(
            "the authorization_code grant needs at least one --redirect-uri".into(),
        ));
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
                Scope::parse(&default).map_err(|e| AdminError::Internal(e.to_string()))?
            }
        }
    };
    Ok((redirect_uris, post_logout, scope))
}

/// Runs `f` in one transaction that writes client rows, then tells this process's client cache
/// (other processes see the database's change counter move).
pub(super) fn write<T, F>(pool: &Pool, f: F) -> Result<T, AdminError>
where
    F: FnOnce(&mut db::DbConnection) -> Result<T, AdminError>,
{
    let result = db::transaction(pool, f);
    pool.note_client_change();
    result
}

/// Registers a client.
pub fn add(pool: &Pool, new: NewClient, now: i64) -> Result<Registered, AdminError> {
    add_with(pool, new, None, None, now).map(|(registered, _)| registered)
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
    let json =
        |v: &Vec<String>| serde_json::to_string(v).map_err(|e| AdminError::Internal(e.to_string()));
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
    pool: &Pool,
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
    write(pool, |conn| {
        db::clients::insert(conn, &row).map_err(AdminError::from)
    })?;
    let client = Client::try_from(row).map_err(|e| AdminError::Internal(e.to_string()))?;
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
    conn: &mut db::DbConnection,
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
        .map_err(|e| AdminError::Internal(e.to_string()))
}

/// Replaces a client's metadata: RFC 7592 §2.2 updates (which rotate the registration access
/// token, returned) and edits from the admin pages (which keep it). A client cannot switch
/// between public and confidential; `requested_method = None` keeps the registered method.
pub fn update(
    pool: &Pool,
    id: &str,
    new: NewClient,
    requested_method: Option<&str>,
    rotate_registration_token: bool,
    now: i64,
) -> Result<(ClientView, Option<SecretString>), AdminError> {
    let registration_token = rotate_registration_token.then(secret::generate);
    let client = write(pool, |conn| {
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
        Client::try_from(row).map_err(|e| AdminError::Internal(e.to_string()))
    })?;
    Ok((client.into(), registration_token))
}

/// The name of the client `latchkey admin bootstrap` creates.
pub const BOOTSTRAP_NAME: &str = "Latchkey admin";
/// The scope that authorises the admin API and client registration.
pub const ADMIN_SCOPE: &str = "latchkey:admin";

/// Creates the admin client (client_credentials, scope `latchkey:admin`) unless it exists;
/// `Ok(None)` when it already does, so running it twice never prints a second secret.
pub fn bootstrap(pool: &Pool, now: i64) -> Result<Option<Registered>, AdminError> {
    let exists = list(pool)?
        .iter()
        .any(|c| c.name == BOOTSTRAP_NAME && c.scope.split(' ').any(|s| s == ADMIN_SCOPE));
    if exists {
        return Ok(None);
    }
    add(
        pool,
        NewClient {
            name: BOOTSTRAP_NAME.into(),
            grant_types: vec![GrantType::ClientCredentials],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scope: Some(format!("{ADMIN_SCOPE} latchkey:register")),
            public: false,
            first_party: true,
            refresh_token_ttl_secs: None,
            refresh_token_absolute_ttl_secs: None,
            access_token_alg: None,
            id_token_signed_response_alg: None,
        },
        now,
    )
    .map(Some)
}

fn find(conn: &mut db::DbConnection, id: &str) -> Result<Client, AdminError> {
    db::clients::find(conn, id)?
        .ok_or_else(|| AdminError::NotFound(format!("client `{id}`")))?
        .try_into()
        .map_err(|e: crate::domain::client::CorruptClient| AdminError::Internal(e.to_string()))
}

pub fn list(pool: &Pool) -> Result<Vec<ClientView>, AdminError> {
    let mut conn = pool.get().map_err(db::DbError::from)?;
    db::clients::list(&mut conn)?
        .into_iter()
        .map(|row| {
            Client::try_from(row)
                .map(ClientView::from)
                .map_err(|e| AdminError::Internal(e.to_string()))
        })
        .collect()
}

pub fn show(pool: &Pool, id: &str) -> Result<ClientView, AdminError> {
    let mut conn = pool.get().map_err(db::DbError::from)?;
    find(&mut conn, id).map(ClientView::from)
}

/// Replaces a confidential client's secret; the old one stops working at once. With
/// `revoke_tokens`, every refresh token issued to the client is revoked too.
pub fn rotate_secret(
    pool: &Pool,
    id: &str,
    revoke_tokens: bool,
    now: i64,
) -> Result<SecretString, AdminError> {
    let secret = secret::generate();
    let hash = SecretHash::of(&secret);
    write(pool, |conn| {
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
pub fn set_disabled(pool: &Pool, id: &str, disabled: bool, now: i64) -> Result<(), AdminError> {
    if id == CONSOLE_ID {
        return Err(AdminError::Invalid(
            "the built-in admin console client cannot be disabled".into(),
        ));
    }
    write(pool, |conn| {
        find(conn, id)?;
        db::clients::set_disabled(conn, id, disabled, now)?;
        Ok(())
    })
}

pub fn remove(pool: &Pool, id: &str) -> Result<(), AdminError> {
    if id == CONSOLE_ID {
        return Err(AdminError::Invalid(
            "the built-in admin console client cannot be removed".into(),
        ));
    }
    write(pool, |conn| {
        find(conn, id)?;
        db::clients::delete(conn, id)?;
        Ok(())
    })
}

/// The id of the built-in client through which people sign in to the admin pages.
pub const CONSOLE_ID: &str = "latchkey-admin-console";

/// Creates or updates the built-in admin-console client so that its redirect URI follows the
/// configured issuer. It is public, first-party and limited to `openid`.
pub fn ensure_console(pool: &Pool, base_url: &str, now: i64) -> Result<(), AdminError> {
    let redirect = serde_json::to_string(&[format!("{base_url}/admin/callback")])
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    write(pool, |conn| {
        match db::clients::find(conn, CONSOLE_ID)? {
            Some(mut row) if row.redirect_uris != redirect => {
                row.redirect_uris = redirect;
                row.updated_at = now;
                db::clients::replace(conn, &row)?;
            }
            Some(_) => {}
            None => db::clients::insert(
                conn,
                &ClientRow {
                    id: CONSOLE_ID.into(),
                    name: "Latchkey administration".into(),
                    secret_hash: None,
                    grant_types: GrantType::AuthorizationCode.as_str().into(),
                    redirect_uris: redirect,
                    post_logout_redirect_uris: "[]".into(),
                    scope: "openid".into(),
                    first_party: true,
                    disabled: false,
                    created_at: now,
                    updated_at: now,
                    refresh_token_ttl_secs: None,
                    refresh_token_absolute_ttl_secs: None,
                    registration_token_hash: None,
                    token_endpoint_auth_method: "none".into(),
                    registered_by: None,
                    access_token_alg: None,
                    id_token_signed_response_alg: None,
                },
            )?,
        }
        Ok(())
    })
}
