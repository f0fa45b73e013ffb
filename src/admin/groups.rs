//! Groups of users: add, remove, list, membership, and the scopes restricted to a group's
//! members (`oauth::claims`). Every change is one transaction and one `audit` event, whichever
//! surface and administrator (`audit::By`) made it.

use serde::Serialize;

use super::AdminError;
use crate::audit::{By, Kind};
use crate::db::groups::GroupRow;
use crate::db::{self, DbConnection};
use crate::domain::scope::Scope;
use crate::domain::user::login_key;
use crate::random::Random;

/// What an admin sees of a group.
#[derive(Debug, Serialize)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: i64,
    /// Usernames of its members, sorted.
    pub members: Vec<String>,
    /// Scopes granted only to members of this group (or of another group allowed them).
    pub scopes: Vec<String>,
}

/// A group name: 1–64 characters from `A–Z a–z 0–9 . _ : -`, starting with a letter or digit
/// (what the `groups` claim carries).
fn check_name(name: &str) -> Result<(), AdminError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if name.is_empty()
        || name.len() > 64
        || !name.chars().all(ok)
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(AdminError::Invalid(
            "a group name has 1 to 64 letters, digits and . _ : -, starting with a letter or digit"
                .into(),
        ));
    }
    Ok(())
}

fn check_description(description: &str) -> Result<(), AdminError> {
    if description.chars().count() > 200 || description.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "a description has at most 200 printable characters".into(),
        ));
    }
    Ok(())
}

fn find(conn: &mut DbConnection, name: &str) -> Result<GroupRow, AdminError> {
    db::groups::find_by_name(conn, name)?
        .ok_or_else(|| AdminError::NotFound(format!("group `{name}`")))
}

fn find_user_id(conn: &mut DbConnection, username: &str) -> Result<String, AdminError> {
    let key = login_key(username).unwrap_or_default();
    db::users::find_for_login(conn, username, &key)?
        .map(|u| u.id)
        .ok_or_else(|| AdminError::NotFound(format!("user `{username}`")))
}

fn view(conn: &mut DbConnection, row: GroupRow) -> Result<GroupView, AdminError> {
    let members = db::groups::member_names(conn, &row.id)?;
    let scopes = db::groups::scopes_of(conn, &row.id)?;
    Ok(GroupView {
        id: row.id,
        name: row.name,
        description: row.description,
        created_at: row.created_at,
        members,
        scopes,
    })
}

/// Creates a group.
pub fn add(
    conn: &mut DbConnection,
    random: &dyn Random,
    by: &By,
    name: &str,
    description: Option<&str>,
) -> Result<GroupView, AdminError> {
    check_name(name)?;
    if let Some(d) = description {
        check_description(d)?;
    }
    let row = GroupRow {
        id: random.uuid(),
        name: name.to_owned(),
        description: description.map(str::to_owned).filter(|d| !d.is_empty()),
        created_at: by.now,
    };
    db::write_tx(conn, |conn| {
        if db::groups::find_by_name(conn, name)?.is_some() {
            return Err(AdminError::Conflict(format!("group `{name}`")));
        }
        db::groups::insert(conn, &row)?;
        by.record(conn, &by.event(Kind::GroupCreated).subject(name))?;
        Ok(())
    })?;
    view(conn, row)
}

/// Deletes a group with its memberships. A group that is the only one allowed some scope is
/// refused: deleting it would quietly make that scope everyone's.
pub fn remove(conn: &mut DbConnection, by: &By, name: &str) -> Result<(), AdminError> {
    db::write_tx(conn, |conn| {
        let group = find(conn, name)?;
        for scope in db::groups::scopes_of(conn, &group.id)? {
            let allowed = db::groups::restrictions(conn, &[scope.as_str()])?;
            if allowed.iter().all(|(_, g)| *g == group.id) {
                return Err(AdminError::Invalid(format!(
                    "group `{name}` is the only group allowed scope `{scope}`; removing it would \
                     give that scope to everyone: disallow the scope first"
                )));
            }
        }
        db::groups::delete(conn, &group.id)?;
        by.record(conn, &by.event(Kind::GroupRemoved).subject(name))?;
        Ok(())
    })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<GroupView>, AdminError> {
    db::groups::list(conn)?
        .into_iter()
        .map(|row| view(conn, row))
        .collect()
}

pub fn show(conn: &mut DbConnection, name: &str) -> Result<GroupView, AdminError> {
    let row = find(conn, name)?;
    view(conn, row)
}

/// Adds `username` to `group`; `false` when they already belonged to it.
pub fn join(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
    group: &str,
) -> Result<bool, AdminError> {
    db::write_tx(conn, |conn| {
        let user_id = find_user_id(conn, username)?;
        let group = find(conn, group)?;
        let added = db::groups::add_member(conn, &group.id, &user_id, by.now)? > 0;
        if added {
            let event = by.event(Kind::GroupMemberAdded).subject(&user_id);
            by.record(conn, &event.group(&group.name))?;
        }
        Ok(added)
    })
}

/// Removes `username` from `group`; `false` when they did not belong to it.
pub fn leave(
    conn: &mut DbConnection,
    by: &By,
    username: &str,
    group: &str,
) -> Result<bool, AdminError> {
    db::write_tx(conn, |conn| {
        let user_id = find_user_id(conn, username)?;
        let group = find(conn, group)?;
        let removed = db::groups::remove_member(conn, &group.id, &user_id)? > 0;
        if removed {
            let event = by.event(Kind::GroupMemberRemoved).subject(&user_id);
            by.record(conn, &event.group(&group.name))?;
        }
        Ok(removed)
    })
}

/// The names of the groups `username` belongs to.
pub fn of_user(conn: &mut DbConnection, username: &str) -> Result<Vec<String>, AdminError> {
    let user_id = find_user_id(conn, username)?;
    Ok(db::groups::of_user(conn, &user_id)?
        .into_iter()
        .map(|g| g.name)
        .collect())
}

/// One scope token that may be restricted: not `openid`, which every OpenID request needs.
fn restrictable(scope: &str) -> Result<String, AdminError> {
    let parsed =
        Scope::parse(scope.trim()).map_err(|e| AdminError::Invalid(format!("scope: {e}")))?;
    let mut tokens = parsed.iter();
    match (tokens.next(), tokens.next()) {
        (Some("openid"), None) => Err(AdminError::Invalid(
            "openid cannot be restricted to a group".into(),
        )),
        (Some(token), None) => Ok(token.to_owned()),
        _ => Err(AdminError::Invalid("give one scope at a time".into())),
    }
}

/// Restricts `scope` to members of `group` (and of any other group allowed it). From then on a
/// person outside those groups is not granted it, and the consent page does not show it.
pub fn allow_scope(
    conn: &mut DbConnection,
    by: &By,
    group: &str,
    scope: &str,
) -> Result<GroupView, AdminError> {
    let scope = restrictable(scope)?;
    db::write_tx(conn, |conn| {
        let group = find(conn, group)?;
        if db::groups::allow_scope(conn, &group.id, &scope, by.now)? > 0 {
            let event = by.event(Kind::GroupScopeAllowed).subject(&group.name);
            by.record(conn, &event.scope(&scope))?;
        }
        view(conn, group)
    })
}

/// Takes `scope` from `group`'s allowed scopes; when no group is allowed it any more, the scope
/// is no longer restricted.
pub fn disallow_scope(
    conn: &mut DbConnection,
    by: &By,
    group: &str,
    scope: &str,
) -> Result<GroupView, AdminError> {
    let scope = restrictable(scope)?;
    db::write_tx(conn, |conn| {
        let group = find(conn, group)?;
        if db::groups::disallow_scope(conn, &group.id, &scope)? > 0 {
            let event = by.event(Kind::GroupScopeDisallowed).subject(&group.name);
            by.record(conn, &event.scope(&scope))?;
        }
        view(conn, group)
    })
}
