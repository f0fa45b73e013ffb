//! The provider metadata document (OIDC Discovery 1.0 §3, RFC 8414 §2), built with the
//! openidconnect crate's types so that it is what certified client libraries expect. It advertises
//! only what Latchkey implements: `id_token_signing_alg_values_supported` lists exactly the
//! configured `keys.algorithms` (userinfo and introspection responses are plain JSON, never
//! signed, so their `…_signing_alg_values_supported` are absent).

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, AuthenticationContextClass, IssuerUrl, JsonWebKeySetUrl,
    ProviderMetadata, RegistrationUrl, ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::domain::signing_alg::SigningAlg;

/// Metadata fields the openidconnect crate does not model (RFC 8414 §2).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ExtraMetadata {
    pub code_challenge_methods_supported: Vec<String>,
    /// OIDC RP-Initiated Logout 1.0 §2.1.
    pub end_session_endpoint: String,
    /// `prompt` values understood (OIDC Core §3.1.2.1).
    pub prompt_values_supported: Vec<String>,
    /// RFC 9207: the authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 8414 §2 / RFC 7009.
    pub revocation_endpoint: String,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 8414 §2 / RFC 7662.
    pub introspection_endpoint: String,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Client ID metadata documents are accepted (MCP authorization spec); only when on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_document_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

/// Latchkey's metadata type.
pub type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Scopes Latchkey understands.
pub const SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];
/// Claims Latchkey can put in ID tokens and userinfo responses.
pub const CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "amr",
    "acr",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

/// The scopes advertised: [`SCOPES`], and `groups` when `claims.groups` is on.
pub fn scopes(settings: &Settings) -> impl Iterator<Item = &'static str> {
    let groups = settings
        .claims
        .groups
        .then_some(crate::oauth::claims::GROUPS_SCOPE);
    SCOPES.iter().copied().chain(groups)
}

/// The claims served: [`CLAIMS`], and `groups` when `claims.groups` is on.
pub fn claims(settings: &Settings) -> impl Iterator<Item = &'static str> {
    let groups = settings.claims.groups.then_some("groups");
    CLAIMS.iter().copied().chain(groups)
}

/// The openidconnect crate's name of a signing algorithm.
fn jws_alg(alg: SigningAlg) -> CoreJwsSigningAlgorithm {
    match alg {
        SigningAlg::RS256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        SigningAlg::ES256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        SigningAlg::EdDSA => CoreJwsSigningAlgorithm::EdDsa,
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the discovery document: {0}")]
pub struct DiscoveryError(String);

/// Builds the document for `settings.issuer`.
pub fn metadata(settings: &Settings) -> Result<Metadata, DiscoveryError> {
    let base = settings.base_url();
    let err = |e: openidconnect::url::ParseError| DiscoveryError(e.to_string());
    let metadata = Metadata::new(
        IssuerUrl::new(settings.issuer.to_string()).map_err(err)?,
        AuthUrl::new(format!("{base}/authorize")).map_err(err)?,
        JsonWebKeySetUrl::new(format!("{base}/jwks")).map_err(err)?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        settings
            .keys
            .algorithms
            .iter()
            .map(|&a| jws_alg(a))
            .collect(),
        ExtraMetadata {
            code_challenge_methods_supported: vec!["S256".into()],
            end_session_endpoint: format!("{base}/logout"),
            prompt_values_supported: vec!["none".into(), "login".into(), "consent".into()],
            authorization_response_iss_parameter_supported: true,
            revocation_endpoint: format!("{base}/revoke"),
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic".into(),
                "client_secret_post".into(),
                "none".into(),
            ],
            introspection_endpoint: format!("{base}/introspect"),
            introspection_endpoint_auth_methods_supported: vec![
                "client_secret_basic".into(),
                "client_secret_post".into(),
            ],
            client_id_metadata_document_supported: settings
                .client_id_metadata
                .enabled
                .then_some(true),
        },
    )
    .set_token_endpoint(Some(TokenUrl::new(format!("{base}/token")).map_err(err)?))
    .set_userinfo_endpoint(Some(
        UserInfoUrl::new(format!("{base}/userinfo")).map_err(err)?,
    ))
    .set_grant_types_supported(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::ClientCredentials,
        CoreGrantType::Password,
        CoreGrantType::RefreshToken,
    ]))
    .set_scopes_supported(Some(
        scopes(settings).map(|s| Scope::new(s.into())).collect(),
    ))
    .set_claims_supported(Some(
        claims(settings)
            .map(|c| CoreClaimName::new(c.into()))
            .collect(),
    ))
    .set_acr_values_supported(Some(
        crate::domain::factor::ACR_VALUES_SUPPORTED
            .iter()
            .map(|v| AuthenticationContextClass::new((*v).into()))
            .collect(),
    ))
    .set_claim_types_supported(Some(vec![CoreClaimType::Normal]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
        CoreClientAuthMethod::None,
    ]))
    .set_response_modes_supported(Some(vec![CoreResponseMode::Query]))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false))
    .set_registration_endpoint(Some(
        RegistrationUrl::new(format!("{base}/register")).map_err(err)?,
    ));
    Ok(metadata)
}

/// The document serialised once at start-up.
pub fn document(settings: &Settings) -> Result<Vec<u8>, DiscoveryError> {
    serde_json::to_vec(&metadata(settings)?).map_err(|e| DiscoveryError(e.to_string()))
}
