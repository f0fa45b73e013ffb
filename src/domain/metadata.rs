//! The rules every client's metadata obeys, however the client is registered: the CLI, the admin
//! pages and API (`admin::clients`) and dynamic registration (RFC 7591 §2, `oauth::registration`).
//! Each caller words a violation in its own error format; redirect URIs are parsed by
//! [`super::client::RedirectUri`].

use super::client::GrantType;

/// Longest client name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A name has 1 to [`MAX_NAME_CHARS`] printable characters.
    Name,
    /// A client needs at least one grant.
    NoGrant,
    /// A public client cannot authenticate, so it never gets the password grant.
    PublicPassword,
    /// A public client cannot use `client_credentials` (RFC 6749 §4.4).
    PublicClientCredentials,
    /// The `authorization_code` grant needs a registered redirect URI (RFC 6749 §3.1.2.2).
    CodeWithoutRedirectUri,
}

/// The metadata the rules look at.
pub struct Metadata<'a> {
    pub name: &'a str,
    pub public: bool,
    pub grant_types: &'a [GrantType],
    pub redirect_uri_count: usize,
}

/// Checks every rule, in the order listed in [`Violation`].
pub fn check(meta: &Metadata<'_>) -> Result<(), Violation> {
    let name = meta.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Violation::Name);
    }
    if meta.grant_types.is_empty() {
        return Err(Violation::NoGrant);
    }
    if meta.public && meta.grant_types.contains(&GrantType::Password) {
        return Err(Violation::PublicPassword);
    }
    if meta.public && meta.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(Violation::PublicClientCredentials);
    }
    if meta.grant_types.contains(&GrantType::AuthorizationCode) && meta.redirect_uri_count == 0 {
        return Err(Violation::CodeWithoutRedirectUri);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta<'a>(name: &'a str, public: bool, grants: &'a [GrantType], uris: usize) -> Metadata<'a> {
        Metadata {
            name,
            public,
            grant_types: grants,
            redirect_uri_count: uris,
        }
    }

    #[test]
    fn each_rule_is_enforced() {
        use GrantType::*;
        assert_eq!(check(&meta("App", false, &[AuthorizationCode], 1)), Ok(()));
        assert_eq!(
            check(&meta(" ", false, &[ClientCredentials], 0)),
            Err(Violation::Name)
        );
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            check(&meta(&long, false, &[ClientCredentials], 0)),
            Err(Violation::Name)
        );
        assert_eq!(
            check(&meta("a\nb", false, &[ClientCredentials], 0)),
            Err(Violation::Name)
        );
        assert_eq!(check(&meta("App", false, &[], 0)), Err(Violation::NoGrant));
        assert_eq!(
            check(&meta("App", true, &[Password], 0)),
            Err(Violation::PublicPassword)
        );
        assert_eq!(
            check(&meta("App", true, &[ClientCredentials], 0)),
            Err(Violation::PublicClientCredentials)
        );
        assert_eq!(
            check(&meta("App", true, &[AuthorizationCode], 0)),
            Err(Violation::CodeWithoutRedirectUri)
        );
    }
}
