//! A client as an admin or a registration request describes it ([`NewClient`]), checked against
//! the client rules (`domain::metadata`) and turned into the row that stores it.

use super::AdminError;
use crate::db::models::ClientRow;
use crate::domain::client::{default_scope, GrantType, RedirectUri};
use crate::domain::metadata::{self, Metadata, Violation};
use crate::domain::scope::Scope;
use crate::domain::signing_alg::SigningAlg;

pub use super::client_web::ClaimsAndOrigins;

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scope: Option<String>,
    pub public: bool,
    pub first_party: bool,
    /// Refresh-token idle and absolute lifetimes for this client, overriding the defaults.
    pub refresh_token_ttl_secs: Option<i64>,
    pub refresh_token_absolute_ttl_secs: Option<i64>,
    /// `alg` of its access tokens; `None` follows `tokens.access_token_alg`.
    pub access_token_alg: Option<SigningAlg>,
    /// `alg` of its ID tokens; `None` means RS256.
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// ID-token claims switch and CORS web origins ([`ClaimsAndOrigins`]).
    pub claims_and_origins: ClaimsAndOrigins,
}

fn parse_uris(uris: &[String]) -> Result<Vec<String>, AdminError> {
    uris.iter()
        .map(|u| RedirectUri::parse(u).map(|r| r.as_str().to_owned()))
        .collect::<Result<_, _>>()
        .map_err(AdminError::Invalid)
}

/// The admin wording of a broken metadata rule (CLI options, page fields).
fn violation(v: Violation) -> AdminError {
    AdminError::Invalid(
        match v {
            Violation::Name => "a client name has 1 to 100 printable characters",
            Violation::NoGrant => "a client needs at least one grant type (--grant)",
            Violation::PublicPassword => "a public client cannot use the password grant",
            Violation::PublicClientCredentials => {
                "a public client cannot use client_credentials (RFC 6749 §4.4)"
            }
            Violation::CodeWithoutRedirectUri => {
                "the authorization_code grant needs at least one redirect URI (--redirect-uri)"
            }
        }
        .into(),
    )
}

pub(super) fn validate(new: &NewClient) -> Result<(Vec<String>, Vec<String>, Scope), AdminError> {
    let redirect_uris = parse_uris(&new.redirect_uris)?;
    let post_logout = parse_uris(&new.post_logout_redirect_uris)?;
    metadata::check(&Metadata {
        name: &new.name,
        public: new.public,
        grant_types: &new.grant_types,
        redirect_uri_count: redirect_uris.len(),
    })
    .map_err(violation)?;
    for ttl in [
        new.refresh_token_ttl_secs,
        new.refresh_token_absolute_ttl_secs,
    ]
    .into_iter()
    .flatten()
    {
        if !(1..=crate::config::MAX_LIFETIME_SECS).contains(&ttl) {
            return Err(AdminError::Invalid(
                "refresh-token lifetimes must be from 1 second to 10 years".into(),
            ));
        }
    }
    let raw = match &new.scope {
        Some(raw) => raw.trim(),
        None => default_scope(&new.grant_types),
    };
    // An empty scope (asked for, or the default of a client without a person) is no scope.
    let scope = if raw.is_empty() {
        Scope::empty()
    } else {
        Scope::parse(raw).map_err(|e| AdminError::Invalid(format!("--scope: {e}")))?
    };
    Ok((redirect_uris, post_logout, scope))
}

/// `token_endpoint_auth_method` as registered: `none` for public clients.
pub(super) fn auth_method(new: &NewClient, requested: Option<&str>) -> Result<String, AdminError> {
    match (new.public, requested) {
        (true, None | Some("none")) => Ok("none".into()),
        (false, None) => Ok("client_secret_basic".into()),
        (false, Some(m @ ("client_secret_basic" | "client_secret_post"))) => Ok(m.into()),
        (_, Some(other)) => Err(AdminError::Invalid(format!(
            "token_endpoint_auth_method `{other}` does not fit this client"
        ))),
    }
}

pub(super) fn to_row(
    id: String,
    new: &NewClient,
    method: String,
    secret_hash: Option<Vec<u8>>,
    now: i64,
) -> Result<ClientRow, AdminError> {
    let (redirect_uris, post_logout, scope) = validate(new)?;
    let mut grant_types = new.grant_types.clone();
    grant_types.dedup();
    let json = |v: &Vec<String>| {
        serde_json::to_string(v).map_err(|e| AdminError::internal("client row", e))
    };
    Ok(ClientRow {
        id,
        name: new.name.trim().to_owned(),
        secret_hash,
        grant_types: grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        redirect_uris: json(&redirect_uris)?,
        post_logout_redirect_uris: json(&post_logout)?,
        scope: scope.to_string(),
        first_party: new.first_party,
        disabled: false,
        created_at: now,
        updated_at: now,
        refresh_token_ttl_secs: new.refresh_token_ttl_secs,
        refresh_token_absolute_ttl_secs: new.refresh_token_absolute_ttl_secs,
        registration_token_hash: None,
        token_endpoint_auth_method: method,
        registered_by: None,
        access_token_alg: new.access_token_alg.map(|a| a.as_str().to_owned()),
        id_token_signed_response_alg: new
            .id_token_signed_response_alg
            .map(|a| a.as_str().to_owned()),
        id_token_claims: new.claims_and_origins.id_token_claims,
        web_origins: new.claims_and_origins.stored_origins()?,
    })
}
