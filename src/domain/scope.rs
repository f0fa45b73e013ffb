//! `scope` values (RFC 6749 §3.3): space-delimited, case-sensitive scope tokens.

use std::fmt;

/// Scopes that only make sense when a person (resource owner) is involved (OIDC Core §5.4, §11).
pub const USER_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access", "groups"];

/// A parsed, de-duplicated list of scope tokens, in the order first given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(Vec<String>);

/// Why a scope string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("scope is empty")]
    Empty,
    #[error("scope contains a character not allowed by RFC 6749 §3.3")]
    InvalidCharacter,
    #[error("scope has too many entries")]
    TooMany,
}

fn valid_token_char(c: char) -> bool {
    // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

impl Scope {
    /// Parses a space-delimited list. Empty tokens from repeated spaces are refused.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        if raw.is_empty() {
            return Err(ScopeError::Empty);
        }
        let mut tokens: Vec<String> = Vec::new();
        for token in raw.split(' ') {
            if token.is_empty() || !token.chars().all(valid_token_char) {
                return Err(ScopeError::InvalidCharacter);
            }
            if !tokens.iter().any(|t| t == token) {
                tokens.push(token.to_owned());
            }
            if tokens.len() > 64 {
                return Err(ScopeError::TooMany);
            }
        }
        Ok(Self(tokens))
    }

    /// An empty scope.
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.iter().any(|t| t == token)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// True when every token here is also in `allowed`.
    pub fn is_subset_of(&self, allowed: &Scope) -> bool {
        self.0.iter().all(|t| allowed.contains(t))
    }

    /// The tokens of `self` for which `keep` holds, in order.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) -> Self {
        Self(self.0.iter().filter(|t| keep(t)).cloned().collect())
    }

    /// The tokens of `self` that are not user scopes (for grants without a resource owner).
    pub fn without_user_scopes(&self) -> Self {
        Self(
            self.0
                .iter()
                .filter(|t| !USER_SCOPES.contains(&t.as_str()))
                .cloned()
                .collect(),
        )
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_deduplicates() {
        let scope = Scope::parse("openid email openid").unwrap();
        assert_eq!(scope.to_string(), "openid email");
    }

    #[test]
    fn refuses_bad_characters_and_double_spaces() {
        assert_eq!(Scope::parse("a\"b"), Err(ScopeError::InvalidCharacter));
        assert_eq!(Scope::parse("a  b"), Err(ScopeError::InvalidCharacter));
        assert_eq!(Scope::parse("a\\b"), Err(ScopeError::InvalidCharacter));
        assert_eq!(Scope::parse(""), Err(ScopeError::Empty));
    }

    #[test]
    fn subset() {
        let allowed = Scope::parse("openid email api:read").unwrap();
        assert!(Scope::parse("email").unwrap().is_subset_of(&allowed));
        assert!(!Scope::parse("api:write").unwrap().is_subset_of(&allowed));
        assert_eq!(allowed.without_user_scopes().to_string(), "api:read");
    }
}
