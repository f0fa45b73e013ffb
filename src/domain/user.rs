//! People (resource owners): usernames and the parsed [`User`].

/// A username: 1–64 characters from `A–Z a–z 0–9 . _ @ + -`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok_char =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-');
        if raw.is_empty() || raw.len() > 64 {
            return Err("a username has 1 to 64 characters".into());
        }
        if !raw.chars().all(ok_char) || !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(
                "a username starts with a letter or digit and uses only letters, digits and . _ @ + -"
                    .into(),
            );
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The form two usernames are compared in: NFKC-normalised and case-folded (lower-cased, then
/// normalised again so the result is stable), so `alice`, `Alice` and `ＡＬＩＣＥ` are one name.
/// `None` when the result cannot be a username.
pub fn login_key(raw: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    if raw.len() > 256 {
        return None;
    }
    let folded: String = raw
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect();
    Username::parse(&folded).ok().map(|name| name.0)
}

/// Whether `email` can be a person's email address: at most 254 characters, a non-empty local
/// part, a dotted domain, no whitespace or control characters. Deliberately loose (RFC 5321
/// allows far more); it catches typing mistakes, not every impossible address.
pub fn is_email(email: &str) -> bool {
    email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `name` can be a display name (the `name` claim, shown on pages): at most 200
/// characters, none of them a control character or a bidirectional override that could make it
/// read as something else.
pub fn is_display_name(name: &str) -> bool {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    name.chars().count() <= 200 && !name.chars().any(|c| c.is_control() || bidi(c))
}

/// The key under which login throttling counts an account's failures: SHA-256 of its login key
/// ([`login_key`]), so `Alice` and `alice` share one counter and no username is stored.
pub fn throttle_account_hash(login_key: &str) -> Vec<u8> {
    super::secret::SecretHash::of_str(&format!("account\0{login_key}"))
        .as_bytes()
        .to_vec()
}

/// A person as the protocol core sees them. `id` is the stable, opaque `sub`.
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub updated_at: i64,
    pub is_admin: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("alice.smith@example.com").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("' OR 1=1 --").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("-x").is_err());
    }

    #[test]
    fn names_differing_in_case_or_width_have_one_login_key() {
        assert_eq!(login_key("alice").as_deref(), Some("alice"));
        assert_eq!(login_key("ALICE"), login_key("alice"));
        assert_eq!(login_key("\u{FF21}lice").as_deref(), Some("alice"));
        assert_eq!(login_key("' OR 1=1"), None);
        assert_eq!(login_key(&"a".repeat(300)), None);
    }
}
