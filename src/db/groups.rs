//! Queries on `groups`, `group_members` and `group_scopes`: groups of users, who belongs to
//! them, and which scopes are restricted to their members.

use diesel::prelude::*;

use super::schema::{group_members, group_scopes, groups, users};
use super::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConnection, row: &GroupRow) -> QueryResult<()> {
    diesel::insert_into(groups::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<GroupRow>> {
    groups::table
        .filter(groups::name.eq(name))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<GroupRow>> {
    groups::table
        .order(groups::name.asc())
        .select(GroupRow::as_select())
        .load(conn)
}

/// Deletes a group with its memberships and scope restrictions.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(group_members::table.filter(group_members::group_id.eq(id))).execute(conn)?;
    diesel::delete(group_scopes::table.filter(group_scopes::group_id.eq(id))).execute(conn)?;
    diesel::delete(groups::table.find(id)).execute(conn)
}

/// Adds `user_id` to the group; 0 when they already belong to it.
pub fn add_member(
    conn: &mut DbConnection,
    group_id: &str,
    user_id: &str,
    now: i64,
) -> QueryResult<usize> {
    let exists = group_members::table
        .find((group_id, user_id))
        .count()
        .get_result::<i64>(conn)?;
    if exists > 0 {
        return Ok(0);
    }
    diesel::insert_into(group_members::table)
        .values((
            group_members::group_id.eq(group_id),
            group_members::user_id.eq(user_id),
            group_members::created_at.eq(now),
        ))
        .execute(conn)
}

pub fn remove_member(conn: &mut DbConnection, group_id: &str, user_id: &str) -> QueryResult<usize> {
    diesel::delete(group_members::table.find((group_id, user_id))).execute(conn)
}

/// The groups `user_id` belongs to, by name.
pub fn of_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<GroupRow>> {
    groups::table
        .filter(
            groups::id.eq_any(
                group_members::table
                    .filter(group_members::user_id.eq(user_id))
                    .select(group_members::group_id),
            ),
        )
        .order(groups::name.asc())
        .select(GroupRow::as_select())
        .load(conn)
}

/// The usernames of a group's members, sorted.
pub fn member_names(conn: &mut DbConnection, group_id: &str) -> QueryResult<Vec<String>> {
    users::table
        .filter(
            users::id.eq_any(
                group_members::table
                    .filter(group_members::group_id.eq(group_id))
                    .select(group_members::user_id),
            ),
        )
        .order(users::username.asc())
        .select(users::username)
        .load(conn)
}

/// Restricts `scope` to the group's members (with any other group allowed it); 0 when it
/// already was.
pub fn allow_scope(
    conn: &mut DbConnection,
    group_id: &str,
    scope: &str,
    now: i64,
) -> QueryResult<usize> {
    let exists = group_scopes::table
        .find((group_id, scope))
        .count()
        .get_result::<i64>(conn)?;
    if exists > 0 {
        return Ok(0);
    }
    diesel::insert_into(group_scopes::table)
        .values((
            group_scopes::group_id.eq(group_id),
            group_scopes::scope.eq(scope),
            group_scopes::created_at.eq(now),
        ))
        .execute(conn)
}

pub fn disallow_scope(conn: &mut DbConnection, group_id: &str, scope: &str) -> QueryResult<usize> {
    diesel::delete(group_scopes::table.find((group_id, scope))).execute(conn)
}

/// The scopes restricted to the group's members, sorted.
pub fn scopes_of(conn: &mut DbConnection, group_id: &str) -> QueryResult<Vec<String>> {
    group_scopes::table
        .filter(group_scopes::group_id.eq(group_id))
        .order(group_scopes::scope.asc())
        .select(group_scopes::scope)
        .load(conn)
}

/// For those of `scopes` that are restricted: `(scope, group_id)` for every group allowed each.
pub fn restrictions(
    conn: &mut DbConnection,
    scopes: &[&str],
) -> QueryResult<Vec<(String, String)>> {
    if scopes.is_empty() {
        return Ok(Vec::new());
    }
    group_scopes::table
        .filter(group_scopes::scope.eq_any(scopes))
        .select((group_scopes::scope, group_scopes::group_id))
        .load(conn)
}
