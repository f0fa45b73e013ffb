//! Queries on the API resources (RFC 8707): `resources`, the scopes each defines
//! (`resource_scopes`) and the clients allowed each (`client_resources`). A client's resources are
//! cached with it, so every write here records itself as a client write ([`note_client_write`]).

use diesel::prelude::*;

use super::schema::{client_resources, resource_scopes, resources};
use super::{note_client_write, DbConnection};
use crate::domain::resource::{ClientResources, Resource, ResourceScope, ResourceUri};

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = resources)]
pub struct ResourceRow {
    pub identifier: String,
    pub access_token_ttl_secs: Option<i64>,
    pub public: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = resource_scopes)]
pub struct ResourceScopeRow {
    pub resource: String,
    pub scope: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_resources)]
pub struct ClientResourceRow {
    pub client_id: String,
    pub resource: String,
    pub is_default: bool,
}

/// Builds the resources of `rows` with their scopes (rows of identifiers that no longer parse
/// are skipped: they can only have been written by hand).
fn assemble(rows: Vec<ResourceRow>, scopes: Vec<ResourceScopeRow>) -> Vec<Resource> {
    rows.into_iter()
        .filter_map(|row| {
            let identifier = ResourceUri::parse(&row.identifier).ok()?;
            let scopes = scopes
                .iter()
                .filter(|s| s.resource == row.identifier)
                .map(|s| ResourceScope {
                    name: s.scope.clone(),
                    description: s.description.clone(),
                })
                .collect();
            Some(Resource {
                identifier,
                scopes,
                access_token_ttl_secs: row.access_token_ttl_secs,
                public: row.public,
            })
        })
        .collect()
}

fn scopes_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ResourceScopeRow>> {
    resource_scopes::table
        .filter(resource_scopes::resource.eq_any(ids))
        .order((resource_scopes::resource, resource_scopes::scope))
        .select(ResourceScopeRow::as_select())
        .load(conn)
}

/// Stores a new resource and its scopes.
pub fn insert(
    conn: &mut DbConnection,
    row: &ResourceRow,
    scopes: &[ResourceScopeRow],
) -> QueryResult<()> {
    diesel::insert_into(resources::table)
        .values(row)
        .execute(conn)?;
    for scope in scopes {
        diesel::insert_into(resource_scopes::table)
            .values(scope)
            .execute(conn)?;
    }
    note_client_write(conn);
    Ok(())
}

pub fn find(conn: &mut DbConnection, identifier: &str) -> QueryResult<Option<Resource>> {
    let Some(row) = resources::table
        .find(identifier)
        .select(ResourceRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let scopes = scopes_of(conn, std::slice::from_ref(&row.identifier))?;
    Ok(assemble(vec![row], scopes).pop())
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Resource>> {
    let rows = resources::table
        .order(resources::identifier)
        .select(ResourceRow::as_select())
        .load(conn)?;
    let scopes = resource_scopes::table
        .order((resource_scopes::resource, resource_scopes::scope))
        .select(ResourceScopeRow::as_select())
        .load(conn)?;
    Ok(assemble(rows, scopes))
}

/// Deletes a resource; its scopes and client bindings go with it (foreign keys cascade).
pub fn delete(conn: &mut DbConnection, identifier: &str) -> QueryResult<usize> {
    diesel::delete(client_resources::table.filter(client_resources::resource.eq(identifier)))
        .execute(conn)?;
    diesel::delete(resource_scopes::table.filter(resource_scopes::resource.eq(identifier)))
        .execute(conn)?;
    let rows = diesel::delete(resources::table.find(identifier)).execute(conn)?;
    note_client_write(conn);
    Ok(rows)
}

/// The resources `client_id` may ask for, with its default.
pub fn for_client(conn: &mut DbConnection, client_id: &str) -> QueryResult<ClientResources> {
    let bound: Vec<(ResourceRow, bool)> = client_resources::table
        .inner_join(resources::table)
        .filter(client_resources::client_id.eq(client_id))
        .order(resources::identifier)
        .select((ResourceRow::as_select(), client_resources::is_default))
        .load(conn)?;
    if bound.is_empty() {
        return Ok(ClientResources::default());
    }
    let default = bound
        .iter()
        .find(|(_, is_default)| *is_default)
        .and_then(|(row, _)| ResourceUri::parse(&row.identifier).ok());
    let rows: Vec<ResourceRow> = bound.into_iter().map(|(row, _)| row).collect();
    let ids: Vec<String> = rows.iter().map(|r| r.identifier.clone()).collect();
    let scopes = scopes_of(conn, &ids)?;
    Ok(ClientResources {
        allowed: assemble(rows, scopes),
        default,
    })
}

/// Replaces the resources `client_id` may ask for.
pub fn set_for_client(
    conn: &mut DbConnection,
    client_id: &str,
    rows: &[ClientResourceRow],
) -> QueryResult<()> {
    diesel::delete(client_resources::table.filter(client_resources::client_id.eq(client_id)))
        .execute(conn)?;
    for row in rows {
        diesel::insert_into(client_resources::table)
            .values(row)
            .execute(conn)?;
    }
    note_client_write(conn);
    Ok(())
}

/// The clients allowed `identifier`, by id.
pub fn clients_of(conn: &mut DbConnection, identifier: &str) -> QueryResult<Vec<String>> {
    client_resources::table
        .filter(client_resources::resource.eq(identifier))
        .order(client_resources::client_id)
        .select(client_resources::client_id)
        .load(conn)
}
