//! API resources (RFC 8707): register, list, show, remove, and the resources each client may ask
//! for. The CLI, the admin API and the admin pages call these; each change is one transaction.

use serde::Serialize;

use super::AdminError;
use crate::audit::{By, Kind};
use crate::db::resources::{ClientResourceRow, ResourceRow, ResourceScopeRow};
use crate::db::{self, DbConnection};
use crate::domain::resource::{Resource, ResourceUri};
use crate::domain::scope::{Scope, USER_SCOPES};

/// A resource to register.
#[derive(Debug, Clone, Default)]
pub struct NewResource {
    pub identifier: String,
    /// Space-separated scopes it defines.
    pub scope: String,
    /// `(scope, description)` pairs shown on the consent page.
    pub descriptions: Vec<(String, String)>,
    pub access_token_ttl_secs: Option<i64>,
    /// Whether clients registered over HTTP without the admin token may ask for it.
    pub public: bool,
}

/// A scope of a resource, as shown.
#[derive(Debug, Serialize)]
pub struct ScopeView {
    pub scope: String,
    pub description: Option<String>,
}

/// What an admin sees of a resource.
#[derive(Debug, Serialize)]
pub struct ResourceView {
    pub resource: String,
    pub scopes: Vec<ScopeView>,
    /// `None`: the client's lifetime, else `tokens.access_token_ttl_secs`.
    pub access_token_ttl_secs: Option<i64>,
    pub public: bool,
    /// The clients allowed it (filled by `show`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<String>>,
}

impl From<Resource> for ResourceView {
    fn from(r: Resource) -> Self {
        Self {
            resource: r.identifier.to_string(),
            scopes: r
                .scopes
                .into_iter()
                .map(|s| ScopeView {
                    scope: s.name,
                    description: s.description,
                })
                .collect(),
            access_token_ttl_secs: r.access_token_ttl_secs,
            public: r.public,
            clients: None,
        }
    }
}

/// An access-token lifetime an admin sets: 1 second to 1 day.
pub fn check_ttl(ttl: Option<i64>) -> Result<(), AdminError> {
    match ttl {
        Some(t) if !(1..=86_400).contains(&t) => Err(AdminError::Invalid(
            "access-token lifetimes must be from 1 second to 1 day (86400)".into(),
        )),
        _ => Ok(()),
    }
}

fn parse_identifier(raw: &str) -> Result<ResourceUri, AdminError> {
    ResourceUri::parse(raw.trim()).map_err(AdminError::Invalid)
}

/// The scope rows of `new`, checked: well-formed, not OpenID scopes, descriptions only for
/// scopes it defines.
fn scope_rows(identifier: &str, new: &NewResource) -> Result<Vec<ResourceScopeRow>, AdminError> {
    let scope =
        Scope::parse(new.scope.trim()).map_err(|e| AdminError::Invalid(format!("--scope: {e}")))?;
    if let Some(reserved) = scope.iter().find(|t| USER_SCOPES.contains(t)) {
        return Err(AdminError::Invalid(format!(
            "`{reserved}` is an OpenID scope, not a scope of an API"
        )));
    }
    for (name, text) in &new.descriptions {
        if !scope.contains(name) {
            return Err(AdminError::Invalid(format!(
                "a description for `{name}`, which is not one of the resource's scopes"
            )));
        }
        if text.trim().is_empty() || text.chars().count() > 200 {
            return Err(AdminError::Invalid(
                "a scope description has 1 to 200 characters".into(),
            ));
        }
    }
    Ok(scope
        .iter()
        .map(|name| ResourceScopeRow {
            resource: identifier.to_owned(),
            scope: name.to_owned(),
            description: new
                .descriptions
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, text)| text.trim().to_owned()),
        })
        .collect())
}

/// Registers a resource.
pub fn add(
    conn: &mut DbConnection,
    by: &By,
    new: &NewResource,
) -> Result<ResourceView, AdminError> {
    let now = by.now;
    let identifier = parse_identifier(&new.identifier)?;
    check_ttl(new.access_token_ttl_secs)?;
    let scopes = scope_rows(identifier.as_str(), new)?;
    db::write_tx(conn, |conn| {
        if db::resources::find(conn, identifier.as_str())?.is_some() {
            return Err(AdminError::Conflict(format!("resource `{identifier}`")));
        }
        let row = ResourceRow {
            identifier: identifier.to_string(),
            access_token_ttl_secs: new.access_token_ttl_secs,
            public: new.public,
            created_at: now,
            updated_at: now,
        };
        db::resources::insert(conn, &row, &scopes)?;
        by.record(
            conn,
            &by.event(Kind::ResourceCreated).subject(identifier.as_str()),
        )?;
        Ok(())
    })?;
    show(conn, identifier.as_str())
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ResourceView>, AdminError> {
    Ok(db::resources::list(conn)?
        .into_iter()
        .map(ResourceView::from)
        .collect())
}

pub fn show(conn: &mut DbConnection, identifier: &str) -> Result<ResourceView, AdminError> {
    let resource = db::resources::find(conn, identifier)?
        .ok_or_else(|| AdminError::NotFound(format!("resource `{identifier}`")))?;
    let mut view = ResourceView::from(resource);
    view.clients = Some(db::resources::clients_of(conn, identifier)?);
    Ok(view)
}

/// Removes a resource; clients allowed it lose it (tokens already issued keep their `aud`
/// until they expire).
pub fn remove(conn: &mut DbConnection, by: &By, identifier: &str) -> Result<(), AdminError> {
    db::write_tx(conn, |conn| {
        if db::resources::delete(conn, identifier)? == 0 {
            return Err(AdminError::NotFound(format!("resource `{identifier}`")));
        }
        by.record(conn, &by.event(Kind::ResourceRemoved).subject(identifier))?;
        Ok(())
    })
}

/// What `client add/update --resource … --default-resource … --access-token-ttl …` change;
/// `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientAccess {
    /// The resources the client may ask for (replacing the previous list).
    pub resources: Option<Vec<String>>,
    /// The resource a request without `resource` gets; `Some(None)` clears it.
    pub default_resource: Option<Option<String>>,
    /// The client's access-token lifetime; `Some(None)` returns to the global one.
    pub access_token_ttl_secs: Option<Option<i64>>,
}

impl ClientAccess {
    pub fn is_empty(&self) -> bool {
        self.resources.is_none()
            && self.default_resource.is_none()
            && self.access_token_ttl_secs.is_none()
    }
}

/// Applies `access` to the client `client_id`, inside the caller's transaction. `public_only`
/// (registration without the admin token) allows only resources marked public, besides those
/// the client already holds (an RFC 7592 update may keep what an administrator gave it).
pub fn set_client_access(
    conn: &mut DbConnection,
    by: &By,
    client_id: &str,
    access: &ClientAccess,
    public_only: bool,
) -> Result<(), AdminError> {
    let now = by.now;
    if access.is_empty() {
        return Ok(());
    }
    if super::built_in::is_built_in(client_id) {
        return Err(super::built_in::refusal(client_id, "changed"));
    }
    if db::clients::find(conn, client_id)?.is_none() {
        return Err(AdminError::NotFound(format!("client `{client_id}`")));
    }
    let current = db::resources::for_client(conn, client_id)?;
    let allowed: Vec<String> = match &access.resources {
        Some(list) => list.iter().map(|r| r.trim().to_owned()).collect(),
        None => current
            .allowed
            .iter()
            .map(|r| r.identifier.to_string())
            .collect(),
    };
    let default = match &access.default_resource {
        Some(d) => d.as_ref().map(|r| r.trim().to_owned()),
        // A default the new list no longer holds goes with it.
        None => current
            .default
            .map(|d| d.to_string())
            .filter(|d| allowed.contains(d)),
    };
    let mut rows: Vec<ClientResourceRow> = Vec::new();
    for identifier in &allowed {
        let resource = db::resources::find(conn, identifier)?.ok_or_else(|| {
            AdminError::Invalid(format!(
                "no resource `{identifier}` (latchkey resource add)"
            ))
        })?;
        let held = current
            .allowed
            .iter()
            .any(|r| r.identifier.as_str() == identifier);
        if public_only && !resource.public && !held {
            return Err(AdminError::Invalid(format!(
                "resource `{identifier}` is not open to registered clients"
            )));
        }
        if !rows.iter().any(|r| &r.resource == identifier) {
            rows.push(ClientResourceRow {
                client_id: client_id.to_owned(),
                resource: identifier.clone(),
                is_default: default.as_deref() == Some(identifier.as_str()),
            });
        }
    }
    if let Some(d) = &default {
        if !allowed.contains(d) {
            return Err(AdminError::Invalid(format!(
                "the default resource `{d}` must be one of the client's resources (--resource)"
            )));
        }
    }
    if access.resources.is_some() || access.default_resource.is_some() {
        db::resources::set_for_client(conn, client_id, &rows)?;
    }
    if let Some(ttl) = access.access_token_ttl_secs {
        check_ttl(ttl)?;
        db::clients::set_access_token_ttl(conn, client_id, ttl, now)?;
    }
    by.record(
        conn,
        &by.event(Kind::ClientUpdated)
            .subject(client_id)
            .client(client_id),
    )?;
    Ok(())
}
