//! Single fields of registration metadata (RFC 7591 §2): `token_endpoint_auth_method`,
//! `grant_types` with their `response_types`, and `id_token_signed_response_alg` (OIDC
//! Registration §2), each parsed or refused with `invalid_client_metadata`.

use super::{invalid_metadata, Metadata, Registrar, RegistrationError};
use crate::domain::client::GrantType;
use crate::domain::signing_alg::{self as alg, SigningAlg};

/// `id_token_signed_response_alg`, which must be a configured algorithm.
pub(super) fn id_token_alg(
    meta: &Metadata,
    configured: &[SigningAlg],
) -> Result<Option<SigningAlg>, RegistrationError> {
    let Some(raw) = meta.id_token_signed_response_alg.as_deref() else {
        return Ok(None);
    };
    let chosen: SigningAlg = raw
        .parse()
        .map_err(|e| invalid_metadata(format!("id_token_signed_response_alg: {e}")))?;
    alg::require_configured(configured, chosen)
        .map_err(|e| invalid_metadata(format!("id_token_signed_response_alg: {e}")))?;
    Ok(Some(chosen))
}

/// `token_endpoint_auth_method`, `client_secret_basic` when absent.
pub(super) fn auth_method(
    meta: &Metadata,
    registrar: Registrar,
) -> Result<String, RegistrationError> {
    let method = meta
        .token_endpoint_auth_method
        .clone()
        .unwrap_or_else(|| "client_secret_basic".into());
    if !matches!(
        method.as_str(),
        "client_secret_basic" | "client_secret_post" | "none"
    ) {
        return Err(invalid_metadata(format!(
            "token_endpoint_auth_method `{method}` is not supported"
        )));
    }
    if registrar == Registrar::Open && method != "none" {
        return Err(invalid_metadata(
            "Open registration accepts only public clients (token_endpoint_auth_method none)",
        ));
    }
    Ok(method)
}

/// `grant_types` (default `authorization_code`) and their `response_types` (RFC 7591 §2.1).
pub(super) fn grant_types(meta: &Metadata) -> Result<Vec<GrantType>, RegistrationError> {
    let names = meta
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let mut grants = Vec::new();
    for name in &names {
        let grant: GrantType = name
            .parse()
            .map_err(|_| invalid_metadata(format!("grant type `{name}` is not supported")))?;
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    let code_flow = grants.contains(&GrantType::AuthorizationCode);
    let response_types = meta.response_types.clone().unwrap_or_else(|| {
        if code_flow {
            vec!["code".into()]
        } else {
            vec![]
        }
    });
    if response_types.iter().any(|r| r != "code") {
        return Err(invalid_metadata(
            "Only the response type `code` is supported",
        ));
    }
    if code_flow != response_types.iter().any(|r| r == "code") {
        return Err(invalid_metadata(
            "response_types `code` and grant_types `authorization_code` go together (RFC 7591 §2.1)",
        ));
    }
    Ok(grants)
}
