//! The conversions from stored rows to the parsed domain types the protocol core works with:
//! the database knows the domain, never the other way round.

use super::models::{ClientRow, UserRow};
use crate::domain::client::{Client, CorruptClient, GrantType};
use crate::domain::scope::Scope;
use crate::domain::secret::SecretHash;
use crate::domain::signing_alg::SigningAlg;
use crate::domain::user::User;

impl TryFrom<ClientRow> for Client {
    type Error = CorruptClient;

    fn try_from(row: ClientRow) -> Result<Self, CorruptClient> {
        let corrupt = |reason: String| CorruptClient {
            client_id: row.id.clone(),
            reason,
        };
        let grant_types = row
            .grant_types
            .split_whitespace()
            .map(str::parse::<GrantType>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        let redirect_uris: Vec<String> =
            serde_json::from_str(&row.redirect_uris).map_err(|e| corrupt(e.to_string()))?;
        let post_logout_redirect_uris: Vec<String> =
            serde_json::from_str(&row.post_logout_redirect_uris)
                .map_err(|e| corrupt(e.to_string()))?;
        let scope = if row.scope.is_empty() {
            Scope::empty()
        } else {
            Scope::parse(&row.scope).map_err(|e| corrupt(e.to_string()))?
        };
        let alg = |stored: &Option<String>| {
            stored
                .as_deref()
                .map(str::parse::<SigningAlg>)
                .transpose()
                .map_err(corrupt)
        };
        let access_token_alg = alg(&row.access_token_alg)?;
        let id_token_signed_response_alg = alg(&row.id_token_signed_response_alg)?;
        let web_origins: Vec<String> =
            serde_json::from_str(&row.web_origins).map_err(|e| corrupt(e.to_string()))?;
        let secret_hash = match &row.secret_hash {
            None => None,
            Some(bytes) => Some(
                SecretHash::from_bytes(bytes).ok_or_else(|| corrupt("bad secret hash".into()))?,
            ),
        };
        Ok(Self {
            id: row.id,
            name: row.name,
            secret_hash,
            grant_types,
            redirect_uris,
            post_logout_redirect_uris,
            scope,
            first_party: row.first_party,
            disabled: row.disabled,
            created_at: row.created_at,
            refresh_token_ttl_secs: row.refresh_token_ttl_secs,
            refresh_token_absolute_ttl_secs: row.refresh_token_absolute_ttl_secs,
            token_endpoint_auth_method: row.token_endpoint_auth_method,
            registered_by: row.registered_by,
            access_token_alg,
            id_token_signed_response_alg,
            id_token_claims: row.id_token_claims,
            web_origins,
        })
    }
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            email: row.email,
            email_verified: row.email_verified,
            name: row.name,
            password_hash: row.password_hash,
            disabled: row.disabled,
            updated_at: row.updated_at,
            is_admin: row.is_admin,
        }
    }
}
