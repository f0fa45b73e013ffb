//! The registration policy (`[registration]`; Keycloak's client-registration policies are the
//! model): what a registration may ask for, by who asks. An admin token (`latchkey:admin`)
//! registers anything valid. A registrar token (`latchkey:register`) and a client's own
//! registration access token (RFC 7592) get only the grant types and scopes the policy allows,
//! and never Latchkey's own scopes; open registration, on top of that, only the code flow and the
//! OpenID scopes. An RFC 7592 update may keep what the client holds, never add beyond its bound.

use super::{invalid_metadata, Registrar, RegistrationError};
use crate::config::RegistrationSettings;
use crate::domain::client::{default_scope, GrantType};
use crate::domain::scope::{Scope, USER_SCOPES};

/// The grant types open registration allows, whatever the policy says beyond them.
const OPEN_GRANTS: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

/// Grant types and scopes: those asked for, or those a client already holds.
#[derive(Clone, Copy, Debug)]
pub struct Rights<'a> {
    pub grants: &'a [GrantType],
    pub scope: &'a Scope,
}

/// Why the bound refuses `what` (`grant type password`, `scope payments:admin`), if it does.
fn refusal(policy: &RegistrationSettings, registrar: Registrar, what: Asked) -> Option<String> {
    let open = registrar == Registrar::Open;
    let (name, open_allows, policy_allows) = match what {
        Asked::Grant(g) => (
            format!("grant type {g}"),
            OPEN_GRANTS.contains(&g),
            policy.allows_grant(g),
        ),
        Asked::Scope(s) => (
            format!("scope {s}"),
            USER_SCOPES.contains(&s),
            !s.starts_with("latchkey:") && policy.allows_scope(s),
        ),
    };
    match registrar {
        Registrar::Admin => None,
        _ if open && !open_allows => Some(format!("{name} is not allowed for open registration")),
        _ if !policy_allows => Some(format!("{name} is not allowed by the registration policy")),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Asked<'a> {
    Grant(GrantType),
    Scope(&'a str),
}

/// Checks `asked` against the bound of `registrar`; what `held` already has may be kept.
/// The answer names exactly what was refused.
pub fn check(
    policy: &RegistrationSettings,
    registrar: Registrar,
    asked: Rights<'_>,
    held: Option<Rights<'_>>,
) -> Result<(), RegistrationError> {
    let grants = asked
        .grants
        .iter()
        .filter(|g| !held.is_some_and(|h| h.grants.contains(g)))
        .map(|&g| Asked::Grant(g));
    let scopes = asked
        .scope
        .iter()
        .filter(|s| !held.is_some_and(|h| h.scope.contains(s)))
        .map(Asked::Scope);
    match grants
        .chain(scopes)
        .find_map(|what| refusal(policy, registrar, what))
    {
        Some(reason) => Err(invalid_metadata(reason)),
        None => Ok(()),
    }
}

/// The scope a registration that names none gets: the usual default (see
/// [`default_scope`]) less what the bound of `registrar` refuses, so that leaving `scope` out
/// never fails.
pub fn default_within(
    policy: &RegistrationSettings,
    registrar: Registrar,
    grants: &[GrantType],
) -> String {
    default_scope(grants)
        .split(' ')
        .filter(|s| !s.is_empty() && refusal(policy, registrar, Asked::Scope(s)).is_none())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RegistrationSettings {
        crate::config::Settings::defaults().unwrap().registration
    }

    fn scope(raw: &str) -> Scope {
        Scope::parse(raw).unwrap()
    }

    #[test]
    fn the_default_policy_allows_the_code_flow_and_the_openid_scopes_only() {
        let p = policy();
        let code = [GrantType::AuthorizationCode, GrantType::RefreshToken];
        let openid = scope("openid profile email offline_access");
        let ask = |grants: &[GrantType], s: &Scope, who| {
            check(&p, who, Rights { grants, scope: s }, None).map_err(|e| e.error_description)
        };
        assert_eq!(ask(&code, &openid, Registrar::Registrar), Ok(()));
        assert_eq!(ask(&code, &openid, Registrar::Open), Ok(()));
        assert_eq!(
            ask(
                &[GrantType::Password],
                &Scope::empty(),
                Registrar::Registrar
            ),
            Err("grant type password is not allowed by the registration policy".into())
        );
        assert_eq!(
            ask(&code, &scope("openid payments:admin"), Registrar::Registrar),
            Err("scope payments:admin is not allowed by the registration policy".into())
        );
        assert_eq!(
            ask(
                &[GrantType::ClientCredentials],
                &scope("payments:admin"),
                Registrar::Admin
            ),
            Ok(())
        );
    }

    #[test]
    fn open_registration_stays_within_the_code_flow_even_when_the_policy_allows_more() {
        let mut p = policy();
        p.allowed_grant_types.push(GrantType::ClientCredentials);
        p.allowed_scopes.push("invoices:read".into());
        let refused = |grants: &[GrantType], s: &str| {
            check(
                &p,
                Registrar::Open,
                Rights {
                    grants,
                    scope: &scope(s),
                },
                None,
            )
            .unwrap_err()
            .error_description
        };
        assert_eq!(
            refused(&[GrantType::ClientCredentials], "openid"),
            "grant type client_credentials is not allowed for open registration"
        );
        assert_eq!(
            refused(&[GrantType::AuthorizationCode], "openid invoices:read"),
            "scope invoices:read is not allowed for open registration"
        );
    }

    #[test]
    fn an_update_keeps_what_the_client_holds_but_adds_nothing_beyond_the_policy() {
        let p = policy();
        let held_grants = [GrantType::ClientCredentials];
        let held_scope = scope("invoices:read");
        let held = Rights {
            grants: &held_grants,
            scope: &held_scope,
        };
        let keep = check(&p, Registrar::Registrar, held, Some(held));
        assert_eq!(keep, Ok(()));
        let wider = scope("invoices:read invoices:write");
        let widen = Rights {
            grants: &held_grants,
            scope: &wider,
        };
        assert_eq!(
            check(&p, Registrar::Registrar, widen, Some(held))
                .unwrap_err()
                .error_description,
            "scope invoices:write is not allowed by the registration policy"
        );
    }

    #[test]
    fn a_registration_without_scope_gets_the_default_within_the_policy() {
        let mut p = policy();
        p.allowed_scopes = vec!["openid".into()];
        let code = [GrantType::AuthorizationCode, GrantType::RefreshToken];
        assert_eq!(default_within(&p, Registrar::Registrar, &code), "openid");
        assert_eq!(
            default_within(&p, Registrar::Admin, &code),
            "openid profile email offline_access"
        );
        assert_eq!(
            default_within(&p, Registrar::Registrar, &[GrantType::ClientCredentials]),
            ""
        );
    }
}
