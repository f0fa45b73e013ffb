//! Resource indicators (RFC 8707): which API resources a request names, whether the client may
//! have them, what the access token's `aud`, scope and lifetime become. Used by the authorization
//! endpoint and every grant; it reads only the client, which carries its resources, so it adds
//! no database work to the token endpoint.

use super::error::{ErrorCode, OAuthError};
use super::interaction::describe_scope;
use super::params::Params;
use super::request::AuthorizationRequest;
use crate::domain::client::Client;
use crate::domain::resource::{Resource, ResourceUri};
use crate::domain::scope::{Scope, USER_SCOPES};

/// What an access token is bound to: its audience (empty: the issuer audience) and the lifetime
/// the resources or the client ask for (`None`: `tokens.access_token_ttl_secs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub audience: Vec<ResourceUri>,
    pub ttl_secs: Option<i64>,
}

/// What a grant hands out: the scope and what the access token is bound to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Granted {
    pub scope: Scope,
    pub target: Target,
}

/// A new grant (client credentials, password): the resources requested or the client's default,
/// the scope within them, and the token's audience and lifetime.
pub fn grant(
    client: &Client,
    resources: &[ResourceUri],
    requested_scope: Option<Scope>,
) -> Result<Granted, OAuthError> {
    let resources = resolve(client, resources)?;
    Ok(Granted {
        scope: scope(client, &resources, requested_scope)?,
        target: target(client, resources),
    })
}

/// RFC 8707 §2 `invalid_target`.
pub fn invalid_target(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, description)
}

const NOT_ALLOWED: &str = "The resource is unknown or not allowed for this client";

/// The `resource` values of a request, each an absolute URI without fragment.
pub fn requested(params: &Params) -> Result<Vec<ResourceUri>, OAuthError> {
    let mut out: Vec<ResourceUri> = Vec::new();
    for raw in params.all("resource") {
        let uri = ResourceUri::parse(raw).map_err(|_| {
            invalid_target("The resource must be an absolute URI without a fragment")
        })?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

/// The resources a new grant is bound to: those requested, each allowed to the client, or the
/// client's default resource when none was named (none at all: the issuer audience).
pub fn resolve(client: &Client, requested: &[ResourceUri]) -> Result<Vec<ResourceUri>, OAuthError> {
    if requested.is_empty() {
        return Ok(client.resources.default.iter().cloned().collect());
    }
    allowed(client, requested)?;
    Ok(requested.to_vec())
}

/// The resources of a token drawn from an earlier grant (a code or a refresh token) that bound
/// `granted`: a subset may be requested, never more; each must still be allowed to the client.
pub fn narrow(
    client: &Client,
    granted: &[ResourceUri],
    requested: &[ResourceUri],
) -> Result<Vec<ResourceUri>, OAuthError> {
    if requested.iter().any(|r| !granted.contains(r)) {
        return Err(invalid_target(
            "The resource was not part of the original grant",
        ));
    }
    let chosen = if requested.is_empty() {
        granted
    } else {
        requested
    };
    allowed(client, chosen)?;
    Ok(chosen.to_vec())
}

fn allowed<'a>(client: &'a Client, uris: &[ResourceUri]) -> Result<Vec<&'a Resource>, OAuthError> {
    uris.iter()
        .map(|u| {
            client
                .resources
                .find(u.as_str())
                .ok_or_else(|| invalid_target(NOT_ALLOWED))
        })
        .collect()
}

fn definitions<'a>(client: &'a Client, uris: &[ResourceUri]) -> Vec<&'a Resource> {
    uris.iter()
        .filter_map(|u| client.resources.find(u.as_str()))
        .collect()
}

/// The scope granted for `resources`: the requested one (else the client's registered scope),
/// which may hold the client's scopes and those the resources define, else `invalid_scope`.
/// With resources, a requested scope must be defined by them (or be an OpenID scope, which only
/// shapes the ID token and userinfo); the registered scope is limited to them (RFC 8707 §2.2).
pub fn scope(
    client: &Client,
    resources: &[ResourceUri],
    requested: Option<Scope>,
) -> Result<Scope, OAuthError> {
    let defined = definitions(client, resources);
    let Some(scope) = requested else {
        return Ok(limit(&client.scope, &defined, !resources.is_empty()));
    };
    let by_resource = |t: &str| defined.iter().any(|r| r.defines(t));
    if scope
        .iter()
        .any(|t| !client.scope.contains(t) && !by_resource(t))
    {
        return Err(OAuthError::invalid_scope(
            "The requested scope exceeds the scope registered for the client",
        ));
    }
    if !resources.is_empty()
        && scope
            .iter()
            .any(|t| !USER_SCOPES.contains(&t) && !by_resource(t))
    {
        return Err(OAuthError::invalid_scope(OUTSIDE_RESOURCE));
    }
    Ok(scope)
}

/// The description of a requested scope that the requested resources do not define.
pub const OUTSIDE_RESOURCE: &str = "The requested scope is not defined by the requested resource";

/// `scope` limited to the scopes `resources` define and the OpenID scopes, when bound.
fn limit(scope: &Scope, defined: &[&Resource], bound: bool) -> Scope {
    if !bound {
        return scope.clone();
    }
    scope.retain(|t| USER_SCOPES.contains(&t) || defined.iter().any(|r| r.defines(t)))
}

/// A granted scope re-limited to a narrower set of resources (at the token endpoint or a refresh).
pub fn limit_to(client: &Client, scope: &Scope, resources: &[ResourceUri]) -> Scope {
    limit(
        scope,
        &definitions(client, resources),
        !resources.is_empty(),
    )
}

/// What the access token is bound to: `resources`, and the shortest lifetime they set, else the
/// client's, else the global one.
pub fn target(client: &Client, resources: Vec<ResourceUri>) -> Target {
    let resource_ttl = definitions(client, &resources)
        .iter()
        .filter_map(|r| r.access_token_ttl_secs)
        .min();
    Target {
        ttl_secs: resource_ttl.or(client.access_token_ttl_secs),
        audience: resources,
    }
}

/// The consent page's lines for `request`: each scope a requested resource defines in the words
/// its description gives (naming the API), the others as `interaction::describe_scope` says.
pub fn consent_lines(request: &AuthorizationRequest) -> Vec<String> {
    let defined = definitions(&request.client, &request.resources);
    request
        .scope
        .iter()
        .map(|token| {
            let described = defined.iter().find_map(|r| {
                r.scopes
                    .iter()
                    .find(|s| s.name == token)
                    .map(|s| (r, s.description.as_deref()))
            });
            match described {
                Some((r, Some(text))) => format!("{text} ({})", r.identifier),
                Some((r, None)) => format!("Use the permission “{token}” at {}", r.identifier),
                None => describe_scope(&Scope::parse(token).unwrap_or_default())
                    .pop()
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::resource::{ClientResources, ResourceScope};

    fn uri(s: &str) -> ResourceUri {
        ResourceUri::parse(s).unwrap()
    }

    fn api(id: &str, scopes: &[&str], ttl: Option<i64>) -> Resource {
        Resource {
            identifier: uri(id),
            scopes: scopes
                .iter()
                .map(|s| ResourceScope {
                    name: (*s).into(),
                    description: None,
                })
                .collect(),
            access_token_ttl_secs: ttl,
            public: false,
        }
    }

    fn client() -> Client {
        Client {
            scope: Scope::parse("openid orders:read").unwrap(),
            access_token_ttl_secs: Some(600),
            resources: ClientResources {
                allowed: vec![
                    api(
                        "https://orders.example/",
                        &["orders:read", "orders:write"],
                        None,
                    ),
                    api("https://billing.example/", &["billing:read"], Some(60)),
                ],
                default: Some(uri("https://orders.example/")),
            },
            ..Client::fixture("c")
        }
    }

    #[test]
    fn no_resource_gets_the_default_and_unknown_ones_are_invalid_target() {
        let c = client();
        assert_eq!(resolve(&c, &[]).unwrap(), [uri("https://orders.example/")]);
        let err = resolve(&c, &[uri("https://other.example/")]).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidTarget);
        assert!(resolve(&Client::fixture("d"), &[]).unwrap().is_empty());
    }

    #[test]
    fn scope_is_limited_to_what_the_resource_defines() {
        let c = client();
        let orders = [uri("https://orders.example/")];
        let wanted = Scope::parse("openid orders:write billing:read").ok();
        assert!(scope(&c, &orders, wanted).is_err());
        let wanted = Scope::parse("orders:read").ok();
        let billing_only = [uri("https://billing.example/")];
        assert_eq!(
            scope(&c, &billing_only, wanted).unwrap_err().description,
            OUTSIDE_RESOURCE
        );
        let wanted = Scope::parse("openid orders:write").ok();
        assert_eq!(
            scope(&c, &orders, wanted).unwrap().to_string(),
            "openid orders:write"
        );
        let billing = [uri("https://billing.example/")];
        assert_eq!(scope(&c, &billing, None).unwrap().to_string(), "openid");
    }

    #[test]
    fn a_narrowing_never_widens_and_the_shortest_lifetime_wins() {
        let c = client();
        let both = [
            uri("https://orders.example/"),
            uri("https://billing.example/"),
        ];
        let one = narrow(&c, &both, &[uri("https://billing.example/")]).unwrap();
        assert_eq!(target(&c, one).ttl_secs, Some(60));
        let err = narrow(&c, &both[..1], &both).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidTarget);
        assert_eq!(target(&c, both[..1].to_vec()).ttl_secs, Some(600));
    }
}
