//! Client management: register, list, show, rotate the secret, remove. Secrets are generated
//! here, shown once, and stored only as SHA-256 (DESIGN.md §5).

use secrecy::SecretString;

use super::built_in;
pub use super::built_in::{is_built_in, ACCOUNT_ID, CONSOLE_ID};
use super::client_input::{auth_method, to_row};
pub use super::client_input::{ClaimsAndOrigins, NewClient};
pub use super::client_view::ClientView;
use super::AdminError;
use crate::audit::{By, Kind};
use crate::db::{self, DbConnection};
use crate::domain::client::{Client, GrantType};
use crate::domain::secret::{self, SecretHash};
use crate::random::Random;

/// A registered client and, for confidential clients, its secret (shown once).
pub struct Registered {
    pub client: ClientView,
    pub client_secret: Option<SecretString>,
}

/// Registers a client.
pub fn add(
    conn: &mut DbConnection,
    by: &By,
    random: &dyn Random,
    new: NewClient,
) -> Result<Registered, AdminError> {
    add_with(conn, by, random, new, None, None).map(|(registered, _)| registered)
}

/// Registers a client over HTTP (RFC 7591): like [`add`], with the requested
/// `token_endpoint_auth_method`, and a registration access token (RFC 7592), shown once.
pub fn add_with(
    conn: &mut DbConnection,
    by: &By,
    random: &dyn Random,
    new: NewClient,
    requested_method: Option<&str>,
    registered_by: Option<&str>,
) -> Result<(Registered, SecretString), AdminError> {
    let now = by.now;
    let method = auth_method(&new, requested_method)?;
    let client_secret = (!new.public).then(|| secret::generate(random));
    let registration_token = secret::generate(random);
    let secret_hash = client_secret
        .as_ref()
        .map(|s| SecretHash::of(s).as_bytes().to_vec());
    let mut row = to_row(random.uuid(), &new, method, secret_hash, now)?;
    row.registered_by = registered_by.map(str::to_owned);
    if registered_by.is_some() {
        row.registration_token_hash = Some(SecretHash::of(&registration_token).as_bytes().to_vec());
    }
    db::write_tx(conn, |conn| {
        db::clients::insert(conn, &row)?;
        let registered = by.event(Kind::ClientRegistered).subject(&row.id);
        let registered = match registered_by {
            Some("open") => registered.reason("open_registration"),
            Some(_) => registered.reason("registration"),
            None => registered,
        };
        by.record(conn, &registered.client(&row.id))?;
        Ok::<_, AdminError>(())
    })?;
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
    let mut client = Client::try_from(row).map_err(|e| AdminError::internal("stored client", e))?;
    client.resources = db::resources::for_client(conn, id)?;
    Ok(Some(client))
}

/// Replaces a client's metadata: RFC 7592 §2.2 updates (which rotate the registration access
/// token, returned) and edits from the admin pages (which keep it). A client cannot switch
/// between public and confidential; `requested_method = None` keeps the registered method.
pub fn update(
    conn: &mut DbConnection,
    by: &By,
    random: &dyn Random,
    id: &str,
    new: NewClient,
    requested_method: Option<&str>,
    rotate_registration_token: bool,
) -> Result<(ClientView, Option<SecretString>), AdminError> {
    let now = by.now;
    let registration_token = rotate_registration_token.then(|| secret::generate(random));
    let client = db::write_tx(conn, |conn| {
        let existing = db::clients::find(conn, id)?
            .ok_or_else(|| AdminError::NotFound(format!("client `{id}`")))?;
        if is_built_in(id) {
            return Err(built_in::refusal(id, "changed"));
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
        by.record(conn, &by.event(Kind::ClientUpdated).subject(id).client(id))?;
        let mut client =
            Client::try_from(row).map_err(|e| AdminError::internal("stored client", e))?;
        client.resources = db::resources::for_client(conn, id)?;
        Ok(client)
    })?;
    Ok((client.into(), registration_token))
}

fn find(conn: &mut DbConnection, id: &str) -> Result<Client, AdminError> {
    let mut client: Client = db::clients::find(conn, id)?
        .ok_or_else(|| AdminError::NotFound(format!("client `{id}`")))?
        .try_into()
        .map_err(|e: crate::domain::client::CorruptClient| {
            AdminError::internal("stored client", e)
        })?;
    client.resources = db::resources::for_client(conn, id)?;
    Ok(client)
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
    by: &By,
    random: &dyn Random,
    id: &str,
    revoke_tokens: bool,
) -> Result<SecretString, AdminError> {
    let now = by.now;
    let secret = secret::generate(random);
    let hash = SecretHash::of(&secret);
    db::write_tx(conn, |conn| {
        let client = find(conn, id)?;
        if client.is_public() {
            return Err(AdminError::Invalid(format!(
                "client `{id}` is public and has no secret"
            )));
        }
        db::clients::set_secret_hash(conn, id, hash.as_bytes(), now)?;
        let rotated = by.event(Kind::ClientSecretRotated).subject(id).client(id);
        if revoke_tokens {
            let n =
                db::refresh_tokens::revoke_for(conn, db::refresh_tokens::Owner::Client(id), now)?;
            by.record(conn, &rotated.reason("tokens_revoked").count(n))?;
        } else {
            by.record(conn, &rotated)?;
        }
        Ok(())
    })?;
    Ok(secret)
}

/// Disables (or enables again) a client: a disabled client cannot authenticate anywhere, and the
/// access tokens it holds stop working at `/userinfo` and `/introspect`.
pub fn set_disabled(
    conn: &mut DbConnection,
    by: &By,
    id: &str,
    disabled: bool,
) -> Result<(), AdminError> {
    if is_built_in(id) {
        return Err(built_in::refusal(id, "disabled"));
    }
    db::write_tx(conn, |conn| {
        find(conn, id)?;
        db::clients::set_disabled(conn, id, disabled, by.now)?;
        let kind = if disabled {
            Kind::ClientDisabled
        } else {
            Kind::ClientEnabled
        };
        by.record(conn, &by.event(kind).subject(id).client(id))?;
        Ok(())
    })
}

pub fn remove(conn: &mut DbConnection, by: &By, id: &str) -> Result<(), AdminError> {
    if is_built_in(id) {
        return Err(built_in::refusal(id, "removed"));
    }
    db::write_tx(conn, |conn| {
        find(conn, id)?;
        db::clients::delete(conn, id)?;
        by.record(conn, &by.event(Kind::ClientRemoved).subject(id).client(id))?;
        Ok(())
    })
}

/// The name of the client `latchkey admin bootstrap` creates.
pub const BOOTSTRAP_NAME: &str = "Latchkey admin";
/// The scope that authorises the admin API and client registration.
pub const ADMIN_SCOPE: &str = "latchkey:admin";

/// Creates the admin client (client_credentials, scope `latchkey:admin`) unless it exists;
/// `Ok(None)` when it already does, so running it twice never prints a second secret.
pub fn bootstrap(
    conn: &mut DbConnection,
    by: &By,
    random: &dyn Random,
) -> Result<Option<Registered>, AdminError> {
    let exists = list(conn)?
        .iter()
        .any(|c| c.name == BOOTSTRAP_NAME && c.scope.split(' ').any(|s| s == ADMIN_SCOPE));
    if exists {
        return Ok(None);
    }
    add(
        conn,
        by,
        random,
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
            claims_and_origins: Default::default(),
        },
    )
    .map(Some)
}
