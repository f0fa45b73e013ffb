//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): strict
//! validation of client metadata, answered with `invalid_redirect_uri` or
//! `invalid_client_metadata` (RFC 7591 §3.2.2). Unknown metadata is ignored, as §2 says;
//! `id_token_signed_response_alg` (OIDC Registration §2) must be one of `keys.algorithms`.
//! What may be asked for depends on who asks ([`policy`]); open registration has caps and an
//! expiry of its own ([`open`]).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

mod fields;
pub mod open;
pub mod policy;

use crate::admin::clients::{ClaimsAndOrigins, ClientView, NewClient, ADMIN_SCOPE};
use crate::config::RegistrationSettings;
use crate::domain::client::{Client, GrantType, RedirectUri};
use crate::domain::metadata::{self, Violation};
use crate::domain::scope::Scope;
use crate::domain::signing_alg::SigningAlg;
use fields::{auth_method, grant_types, id_token_alg};
use policy::Rights;

/// The metadata a client may send (RFC 7591 §2).
#[derive(Debug, Default, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub scope: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Present in RFC 7592 update requests; must name the client being updated.
    pub client_id: Option<String>,
    /// OIDC Registration §2: `alg` of the client's ID tokens; RS256 when absent.
    pub id_token_signed_response_alg: Option<String>,
    /// Latchkey extension: origins whose browser code may call the token, userinfo and
    /// revocation endpoints (CORS), as `scheme://host[:port]`.
    #[serde(default)]
    pub web_origins: Vec<String>,
}

/// An RFC 7591 §3.2.2 error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationError {
    pub error: &'static str,
    pub error_description: String,
}

pub fn invalid_metadata(description: impl Into<String>) -> RegistrationError {
    RegistrationError {
        error: "invalid_client_metadata",
        error_description: description.into(),
    }
}

fn invalid_redirect(description: impl Into<String>) -> RegistrationError {
    RegistrationError {
        error: "invalid_redirect_uri",
        error_description: description.into(),
    }
}

/// The RFC 7591 §3.2.2 wording of a broken metadata rule.
fn violation(v: Violation) -> RegistrationError {
    match v {
        Violation::Name => invalid_metadata("client_name has 1 to 100 printable characters"),
        Violation::NoGrant => invalid_metadata("grant_types is empty"),
        Violation::PublicPassword => {
            invalid_metadata("A public client cannot use the password grant")
        }
        Violation::PublicClientCredentials => {
            invalid_metadata("A public client cannot use client_credentials")
        }
        Violation::CodeWithoutRedirectUri => {
            invalid_redirect("The authorization_code grant needs redirect_uris")
        }
    }
}

/// Who is registering, which bounds what may be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrar {
    /// A token with `latchkey:admin`: any valid metadata, including Latchkey's own scopes.
    Admin,
    /// A token with `latchkey:register`, or a client's own registration access token: what
    /// the registration policy allows ([`policy`]).
    Registrar,
    /// Anonymous open registration: public clients with PKCE, loopback or https redirect URIs,
    /// the code flow and the OpenID scopes, within the registration policy.
    Open,
}

impl Registrar {
    /// The stored form (`clients.registered_by`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Registrar => "registrar",
            Self::Open => crate::domain::client::REGISTERED_OPENLY,
        }
    }

    /// Reads the stored form; an unknown value gets the narrowest rights.
    pub fn from_stored(value: Option<&str>) -> Self {
        match value {
            Some("admin") => Self::Admin,
            Some("registrar") => Self::Registrar,
            _ => Self::Open,
        }
    }
}

/// Who registers, and under which rules.
#[derive(Clone, Copy, Debug)]
pub struct Bounds<'a> {
    pub registrar: Registrar,
    /// `[registration]`: the registration policy.
    pub policy: &'a RegistrationSettings,
    /// `keys.algorithms`.
    pub algorithms: &'a [SigningAlg],
    /// In an RFC 7592 update, the client as it is: what it holds may be kept.
    pub held: Option<&'a Client>,
}

/// The scope asked for, or the default within the bound; checked with the grants against the
/// registration policy.
fn scope(
    meta: &Metadata,
    bounds: &Bounds<'_>,
    grants: &[GrantType],
) -> Result<String, RegistrationError> {
    let raw = match &meta.scope {
        Some(raw) => raw.clone(),
        None => policy::default_within(bounds.policy, bounds.registrar, grants),
    };
    let scope = if raw.is_empty() {
        Scope::empty()
    } else {
        Scope::parse(&raw).map_err(|e| invalid_metadata(format!("scope: {e}")))?
    };
    let held = bounds.held.map(|c| Rights {
        grants: &c.grant_types,
        scope: &c.scope,
    });
    policy::check(
        bounds.policy,
        bounds.registrar,
        Rights {
            grants,
            scope: &scope,
        },
        held,
    )?;
    debug_assert!(bounds.registrar == Registrar::Admin || !scope.contains(ADMIN_SCOPE));
    Ok(scope.to_string())
}

/// Validates metadata into a client to register, with its requested `token_endpoint_auth_method`.
pub fn validate(
    meta: &Metadata,
    bounds: &Bounds<'_>,
) -> Result<(NewClient, String), RegistrationError> {
    let method = auth_method(meta, bounds.registrar)?;
    let public = method == "none";
    let grants = grant_types(meta)?;
    for uri in meta
        .redirect_uris
        .iter()
        .chain(&meta.post_logout_redirect_uris)
    {
        let parsed = RedirectUri::parse(uri).map_err(invalid_redirect)?;
        if bounds.registrar == Registrar::Open
            && !(uri.starts_with("https://") || uri.starts_with("http://"))
        {
            return Err(invalid_redirect(format!(
                "redirect URI `{}` must be https or a loopback http address",
                parsed.as_str()
            )));
        }
    }
    let scope = scope(meta, bounds, &grants)?;
    let id_token_signed_response_alg = id_token_alg(meta, bounds.algorithms)?;
    let web_origins = crate::domain::origin::parse_all(&meta.web_origins)
        .map_err(|e| invalid_metadata(format!("web_origins: {e}")))?;
    let name = meta
        .client_name
        .clone()
        .unwrap_or_else(|| "Unnamed client".into());
    metadata::check(&metadata::Metadata {
        name: &name,
        public,
        grant_types: &grants,
        redirect_uri_count: meta.redirect_uris.len(),
    })
    .map_err(violation)?;
    Ok((
        NewClient {
            name,
            grant_types: grants,
            redirect_uris: meta.redirect_uris.clone(),
            post_logout_redirect_uris: meta.post_logout_redirect_uris.clone(),
            scope: Some(scope),
            public,
            first_party: false,
            refresh_token_ttl_secs: None,
            refresh_token_absolute_ttl_secs: None,
            access_token_alg: None,
            id_token_signed_response_alg,
            claims_and_origins: ClaimsAndOrigins {
                id_token_claims: true,
                web_origins,
            },
        },
        method,
    ))
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3).
pub fn response(
    base_url: &str,
    client: &ClientView,
    client_secret: Option<&str>,
    registration_access_token: Option<&str>,
) -> Value {
    let mut out = json!({
        "client_id": client.client_id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "response_types": if client.grant_types.iter().any(|g| g == "authorization_code") { vec!["code"] } else { vec![] },
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope,
        "id_token_signed_response_alg": client.id_token_signed_response_alg.unwrap_or(SigningAlg::RS256),
        "registration_client_uri": format!("{base_url}/register/{}", client.client_id),
        "web_origins": client.web_origins,
    });
    if let Some(secret) = client_secret {
        out["client_secret"] = json!(secret);
        out["client_secret_expires_at"] = json!(0);
    }
    if let Some(token) = registration_access_token {
        out["registration_access_token"] = json!(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RS: &[SigningAlg] = &[SigningAlg::RS256];

    fn bounds(registrar: Registrar, algorithms: &'static [SigningAlg]) -> Bounds<'static> {
        let settings = Box::leak(Box::new(crate::config::Settings::defaults().unwrap()));
        Bounds {
            registrar,
            policy: &settings.registration,
            algorithms,
            held: None,
        }
    }

    fn meta(json: Value) -> Metadata {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn id_token_signed_response_alg_must_be_configured_and_supported() {
        let with = |alg: &str| {
            meta(
                json!({"redirect_uris": ["https://app.example/cb"], "id_token_signed_response_alg": alg}),
            )
        };
        let all = &SigningAlg::ALL[..];
        let (client, _) = validate(&with("EdDSA"), &bounds(Registrar::Admin, all)).unwrap();
        assert_eq!(client.id_token_signed_response_alg, Some(SigningAlg::EdDSA));
        assert_eq!(
            validate(&with("ES256"), &bounds(Registrar::Admin, RS)).unwrap_err(),
            invalid_metadata(
                "id_token_signed_response_alg: signing algorithm `ES256` is not configured \
                 (keys.algorithms: RS256)"
            )
        );
        assert_eq!(
            validate(&with("none"), &bounds(Registrar::Admin, all)).unwrap_err(),
            invalid_metadata(
                "id_token_signed_response_alg: signing algorithm `none` is not supported \
                 (supported: RS256, ES256, EdDSA)"
            )
        );
    }

    #[test]
    fn defaults_make_a_confidential_code_client() {
        let (client, method) = validate(
            &meta(json!({"redirect_uris": ["https://app.example/cb"]})),
            &bounds(Registrar::Admin, RS),
        )
        .unwrap();
        assert_eq!(method, "client_secret_basic");
        assert!(!client.public);
        assert_eq!(client.grant_types, vec![GrantType::AuthorizationCode]);
    }

    #[test]
    fn open_registration_is_bounded() {
        let confidential = meta(json!({"redirect_uris": ["http://127.0.0.1/cb"]}));
        assert_eq!(
            validate(&confidential, &bounds(Registrar::Open, RS))
                .unwrap_err()
                .error,
            "invalid_client_metadata"
        );
        let remote_http = meta(
            json!({"redirect_uris": ["http://app.example/cb"], "token_endpoint_auth_method": "none"}),
        );
        assert_eq!(
            validate(&remote_http, &bounds(Registrar::Open, RS))
                .unwrap_err()
                .error,
            "invalid_redirect_uri"
        );
        let custom = meta(
            json!({"redirect_uris": ["com.example.app:/cb"], "token_endpoint_auth_method": "none"}),
        );
        assert_eq!(
            validate(&custom, &bounds(Registrar::Open, RS))
                .unwrap_err()
                .error,
            "invalid_redirect_uri"
        );
        let admin = meta(
            json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none", "scope": "openid latchkey:admin"}),
        );
        assert_eq!(
            validate(&admin, &bounds(Registrar::Open, RS))
                .unwrap_err()
                .error,
            "invalid_client_metadata"
        );
        assert_eq!(
            validate(&admin, &bounds(Registrar::Registrar, RS))
                .unwrap_err()
                .error,
            "invalid_client_metadata"
        );
        let ok = meta(
            json!({"redirect_uris": ["http://127.0.0.1:8123/cb"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"], "scope": "openid offline_access", "x-unknown": 1}),
        );
        assert!(validate(&ok, &bounds(Registrar::Open, RS)).is_ok());
    }
}
