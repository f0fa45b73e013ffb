//! `[registration]`: dynamic client registration (RFC 7591) — the policy that bounds what a
//! registrar token (`latchkey:register`) may register, and the bounds of open registration.

use std::num::NonZeroU32;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::client::GrantType;
use crate::domain::scope::Scope;

/// See `config/default.toml`, section `[registration]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationSettings {
    /// Grant types a registrar-token or open registration may ask for.
    pub allowed_grant_types: Vec<GrantType>,
    /// Scopes a registrar-token or open registration may ask for; never `latchkey:…`.
    #[serde(deserialize_with = "allowed_scopes")]
    pub allowed_scopes: Vec<String>,
    pub open: bool,
    #[serde(deserialize_with = "super::parse::non_zero_u32")]
    pub open_per_hour: NonZeroU32,
    /// Openly registered clients that may exist at once, across every replica.
    #[serde(deserialize_with = "super::parse::non_zero_u32")]
    pub open_max_clients: NonZeroU32,
    /// An openly registered client that no person has signed in to this long after its
    /// registration is deleted.
    #[serde(deserialize_with = "super::parse::lifetime")]
    pub open_unused_ttl_secs: i64,
}

impl RegistrationSettings {
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.allowed_grant_types.contains(&grant)
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.allowed_scopes.iter().any(|s| s == scope)
    }
}

/// Scope tokens (RFC 6749 §3.3), none of them one of Latchkey's own (`latchkey:…`), which only
/// an admin token may register.
fn allowed_scopes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let scopes = Vec::<String>::deserialize(d)?;
    for scope in &scopes {
        let parsed =
            Scope::parse(scope).map_err(|e| D::Error::custom(format!("`{scope}`: {e}")))?;
        if parsed.iter().count() != 1 {
            return Err(D::Error::custom(format!(
                "`{scope}`: one scope token per entry"
            )));
        }
        if scope.starts_with("latchkey:") {
            return Err(D::Error::custom(format!(
                "`{scope}`: Latchkey's own scopes can only be registered with an admin token"
            )));
        }
    }
    Ok(scopes)
}
