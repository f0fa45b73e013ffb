//! What an admin sees of a client (CLI `--json`, admin API, pages, RFC 7592 answers): every
//! registered setting, never a secret or its hash.

use serde::Serialize;

use crate::domain::client::Client;
use crate::domain::signing_alg::SigningAlg;

/// What an admin sees of a client; never its secret hash.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: String,
    pub first_party: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub refresh_token_ttl_secs: Option<i64>,
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    pub token_endpoint_auth_method: String,
    /// `None`: `tokens.access_token_alg`.
    pub access_token_alg: Option<SigningAlg>,
    /// `None`: RS256.
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// `None`: `tokens.access_token_ttl_secs`.
    pub access_token_ttl_secs: Option<i64>,
    /// The API resources (RFC 8707) it may ask for, and the one it gets by default.
    pub resources: Vec<String>,
    pub default_resource: Option<String>,
    /// Whether ID tokens carry the profile, email and groups claims.
    pub id_token_claims: bool,
    /// Origins allowed to call the token, userinfo and revocation endpoints (CORS).
    pub web_origins: Vec<String>,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            public: c.is_public(),
            client_id: c.id,
            name: c.name,
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scope: c.scope.to_string(),
            first_party: c.first_party,
            disabled: c.disabled,
            created_at: c.created_at,
            refresh_token_ttl_secs: c.refresh_token_ttl_secs,
            refresh_token_absolute_ttl_secs: c.refresh_token_absolute_ttl_secs,
            token_endpoint_auth_method: c.token_endpoint_auth_method,
            access_token_alg: c.access_token_alg,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            access_token_ttl_secs: c.access_token_ttl_secs,
            resources: c
                .resources
                .allowed
                .iter()
                .map(|r| r.identifier.to_string())
                .collect(),
            default_resource: c.resources.default.map(|d| d.to_string()),
            id_token_claims: c.id_token_claims,
            web_origins: c.web_origins,
        }
    }
}
