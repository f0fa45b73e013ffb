//! What tokens say about a person: the standard claims of the granted scopes (OIDC Core §5.4:
//! `profile` → name, preferred_username, updated_at; `email` → email, email_verified), the
//! `groups` claim of the `groups` scope, and the group restrictions on scopes — a scope that
//! some group is allowed (`group_scopes`) is granted only to members of such a group.

use serde_json::{Map, Value};

use crate::db::{self, DbConnection};
use crate::domain::client::Client;
use crate::domain::scope::Scope;
use crate::domain::user::User;

/// The scope that releases the `groups` claim (when `claims.groups` is on).
pub const GROUPS_SCOPE: &str = "groups";

/// A person's groups and the restrictions on the scopes asked for, read once per grant.
#[derive(Debug, Default)]
pub struct Entitlement {
    group_ids: Vec<String>,
    group_names: Vec<String>,
    /// `(scope, group_id)`: the scope is restricted to members of these groups.
    restrictions: Vec<(String, String)>,
}

impl Entitlement {
    /// The groups of `user_id` and the restrictions on `scope`'s tokens.
    pub fn load(
        conn: &mut DbConnection,
        user_id: &str,
        scope: &Scope,
    ) -> Result<Self, db::DbError> {
        let tokens: Vec<&str> = scope.iter().collect();
        let restrictions = db::groups::restrictions(conn, &tokens)?;
        let groups = db::groups::of_user(conn, user_id)?;
        Ok(Self {
            group_ids: groups.iter().map(|g| g.id.clone()).collect(),
            group_names: groups.into_iter().map(|g| g.name).collect(),
            restrictions,
        })
    }

    /// Whether the person may be granted `token`: unrestricted, or a member of a group allowed it.
    pub fn may_have(&self, token: &str) -> bool {
        let mut allowed = self
            .restrictions
            .iter()
            .filter(|(scope, _)| scope == token)
            .peekable();
        allowed.peek().is_none() || allowed.any(|(_, group)| self.group_ids.contains(group))
    }

    /// `scope` without the restricted scopes the person may not have.
    pub fn narrow(&self, scope: &Scope) -> Scope {
        scope.retain(|t| self.may_have(t))
    }

    /// The names of the person's groups, sorted.
    pub fn groups(&self) -> &[String] {
        &self.group_names
    }
}

/// The claims about `user` that `scope` releases, without `sub`: for userinfo and, unless the
/// client turned it off, the ID token. `groups` is `None` when the `groups` scope is not offered.
pub fn standard(user: &User, groups: Option<&[String]>, scope: &Scope) -> Map<String, Value> {
    let mut out = Map::new();
    if scope.contains("profile") {
        if let Some(name) = &user.name {
            out.insert("name".into(), Value::String(name.clone()));
        }
        out.insert(
            "preferred_username".into(),
            Value::String(user.username.clone()),
        );
        out.insert("updated_at".into(), Value::from(user.updated_at));
    }
    if scope.contains("email") {
        if let Some(email) = &user.email {
            out.insert("email".into(), Value::String(email.clone()));
            out.insert("email_verified".into(), Value::Bool(user.email_verified));
        }
    }
    if let Some(groups) = groups.filter(|_| scope.contains(GROUPS_SCOPE)) {
        out.insert("groups".into(), Value::from(groups.to_vec()));
    }
    out
}

/// What a grant releases about its person, beyond `sub`.
#[derive(Debug, Default)]
pub struct Released {
    /// Claims added to the ID token (empty when the client turned them off).
    pub id_token: Map<String, Value>,
    /// The `groups` claim of the access token, when the `groups` scope is granted.
    pub groups: Option<Vec<String>>,
}

/// The person of a grant, the scope they may have, and what it releases about them.
#[derive(Debug)]
pub struct Person {
    pub user: User,
    pub scope: Scope,
    pub released: Released,
}

/// `user` as a grant of `scope` to `client` sees them: `scope` narrowed to what their groups
/// allow, and the claims it releases.
pub fn for_person(
    conn: &mut DbConnection,
    groups_offered: bool,
    client: &Client,
    user: User,
    scope: &Scope,
) -> Result<Person, db::DbError> {
    let entitlement = Entitlement::load(conn, &user.id, scope)?;
    let scope = entitlement.narrow(scope);
    let groups = (groups_offered && scope.contains(GROUPS_SCOPE)).then(|| entitlement.groups());
    let released = Released {
        id_token: if client.id_token_claims {
            standard(&user, groups, &scope)
        } else {
            Map::new()
        },
        groups: groups.map(<[String]>::to_vec),
    };
    Ok(Person {
        user,
        scope,
        released,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entitlement(groups: &[&str], restrictions: &[(&str, &str)]) -> Entitlement {
        Entitlement {
            group_ids: groups.iter().map(|g| (*g).to_owned()).collect(),
            group_names: groups.iter().map(|g| (*g).to_owned()).collect(),
            restrictions: restrictions
                .iter()
                .map(|(s, g)| ((*s).to_owned(), (*g).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_restricted_scope_needs_one_of_its_groups() {
        let scope = Scope::parse("openid invoices:write reports").unwrap();
        let rules = [("invoices:write", "finance"), ("invoices:write", "admins")];
        let outsider = entitlement(&["staff"], &rules);
        assert_eq!(outsider.narrow(&scope).to_string(), "openid reports");
        let member = entitlement(&["admins"], &rules);
        assert_eq!(member.narrow(&scope), scope);
    }

    #[test]
    fn groups_are_released_only_with_the_groups_scope() {
        let user = User {
            id: "u".into(),
            username: "alice".into(),
            email: Some("a@example.com".into()),
            email_verified: true,
            name: None,
            password_hash: None,
            disabled: false,
            updated_at: 5,
            is_admin: false,
        };
        let groups = ["staff".to_owned()];
        let without = standard(&user, Some(&groups), &Scope::parse("openid email").unwrap());
        assert_eq!(without.get("email_verified"), Some(&Value::Bool(true)));
        assert!(!without.contains_key("groups"));
        let with = standard(&user, Some(&groups), &Scope::parse("groups").unwrap());
        assert_eq!(with.get("groups"), Some(&serde_json::json!(["staff"])));
    }
}
