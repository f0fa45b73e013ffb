//! Client ID metadata documents (MCP authorization spec 2025-06-18 and 2025-11-25,
//! draft-ietf-oauth-client-id-metadata-document): a `client_id` that is an https URL names a JSON
//! document describing the client. This module holds the synchronous rules — which URLs may be
//! fetched, which addresses may be connected to, how long a document is kept, and the
//! validation that turns a document into a public [`Client`]; `crate::metadata_fetch` does the
//! fetching.

use std::net::IpAddr;

use serde::Deserialize;
use url::Url;

use super::error::OAuthError;
use crate::config::ClientIdMetadataSettings;
use crate::db::models::ClientRow;
use crate::domain::client::{Client, GrantType, RedirectUri};
use crate::domain::scope::{Scope, USER_SCOPES};

/// `registered_by` of a client that comes from a metadata document.
pub use crate::domain::client::REGISTERED_BY_DOCUMENT as REGISTERED_BY;

/// Whether `client_id` names a metadata document rather than a registered client.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

fn host_listed(list: &[String], host: &str) -> bool {
    list.iter()
        .any(|h| h == "*" || h.eq_ignore_ascii_case(host))
}

/// Whether `host` may resolve to private addresses and be fetched over http (development).
pub fn private_allowed(settings: &ClientIdMetadataSettings, host: &str) -> bool {
    settings
        .allow_private_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
}

/// The document URL: https (http only for a host in `allow_private_hosts`), an allowed host, a
/// path, no fragment, no credentials, no dot segments.
pub fn document_url(settings: &ClientIdMetadataSettings, client_id: &str) -> Result<Url, String> {
    let url = Url::parse(client_id).map_err(|_| "the client_id is not a URL".to_owned())?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let private = private_allowed(settings, &host);
    match url.scheme() {
        "https" => {}
        "http" if private => {}
        _ => return Err("a client_id URL must use https".into()),
    }
    if !private && !host_listed(&settings.allowed_hosts, &host) {
        return Err(format!("metadata documents from `{host}` are not allowed"));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("a client_id URL has no fragment and no credentials".into());
    }
    if url.path() == "/" || client_id.contains("/./") || client_id.contains("/../") {
        return Err("a client_id URL has a path without dot segments".into());
    }
    // The document's `client_id` is compared with the URL exactly as sent.
    if url.as_str() != client_id {
        return Err("the client_id URL is not in its normal form".into());
    }
    Ok(url)
}

/// Whether an address may be connected to for `host`: public addresses only, unless the host is
/// allowed private ones (never the unspecified or multicast address).
pub fn address_allowed(settings: &ClientIdMetadataSettings, host: &str, ip: IpAddr) -> bool {
    if ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    private_allowed(settings, host) || is_public(ip)
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64
        }
    }
}

/// How long a fetched document is kept: its `Cache-Control: max-age` within the configured
/// bounds; the minimum without one (or with `no-cache`/`no-store`, which the minimum overrides
/// to keep fetches bounded).
pub fn cache_secs(settings: &ClientIdMetadataSettings, cache_control: Option<&str>) -> u64 {
    let max_age = cache_control.and_then(|value| {
        value.split(',').find_map(|directive| {
            let (name, arg) = directive.trim().split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| arg.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
    });
    let min = u64::from(settings.min_cache_secs);
    let max = u64::from(settings.max_cache_secs.get()).max(min);
    max_age.unwrap_or(min).clamp(min, max)
}

/// The members of a document that matter here (unknown members are ignored).
#[derive(Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    client_name: Option<String>,
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    client_secret: Option<serde_json::Value>,
}

fn loopback(uri: &Url) -> bool {
    uri.scheme() == "http" && matches!(uri.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// Validates a fetched document for `url` and turns it into the public client it describes.
pub fn client_from_document(url: &Url, body: &[u8], now: i64) -> Result<Client, String> {
    let doc: Document = serde_json::from_slice(body)
        .map_err(|_| "the metadata document is not a JSON client description".to_owned())?;
    if doc.client_id != url.as_str() {
        return Err("the metadata document's client_id is not its URL".into());
    }
    if doc.client_secret.is_some()
        || doc
            .token_endpoint_auth_method
            .as_deref()
            .is_some_and(|m| m != "none")
    {
        return Err("a metadata document client is public: token_endpoint_auth_method none".into());
    }
    if doc.redirect_uris.is_empty() || doc.redirect_uris.len() > 10 {
        return Err("the metadata document needs 1 to 10 redirect_uris".into());
    }
    for raw in &doc.redirect_uris {
        RedirectUri::parse(raw)?;
        let uri = Url::parse(raw).map_err(|e| e.to_string())?;
        if uri.origin() != url.origin() && !loopback(&uri) {
            return Err(format!(
                "redirect URI `{raw}` is neither on the document's origin nor loopback"
            ));
        }
    }
    let grant_types = match &doc.grant_types {
        None => vec![GrantType::AuthorizationCode],
        Some(list) => list
            .iter()
            .map(|g| match g.as_str() {
                "authorization_code" => Ok(GrantType::AuthorizationCode),
                "refresh_token" => Ok(GrantType::RefreshToken),
                other => Err(format!("grant type `{other}` is not allowed here")),
            })
            .collect::<Result<_, _>>()?,
    };
    let scope = match doc.scope.as_deref() {
        None => Scope::parse("openid profile email").unwrap_or_default(),
        Some(raw) => Scope::parse(raw).map_err(|e| format!("scope: {e}"))?,
    };
    if let Some(other) = scope.iter().find(|s| !USER_SCOPES.contains(s)) {
        return Err(format!(
            "scope `{other}` is not open to metadata document clients"
        ));
    }
    let name = doc
        .client_name
        .filter(|n| {
            !n.trim().is_empty() && n.chars().count() <= 100 && !n.chars().any(char::is_control)
        })
        .unwrap_or_else(|| url.host_str().unwrap_or_default().to_owned());
    Ok(Client {
        name,
        grant_types,
        redirect_uris: doc.redirect_uris,
        scope,
        created_at: now,
        token_endpoint_auth_method: "none".into(),
        registered_by: Some(REGISTERED_BY.into()),
        ..Client::blank(url.as_str())
    })
}

/// The stored row of a document's client.
pub fn to_row(client: &Client, now: i64) -> Result<ClientRow, OAuthError> {
    let json = |v: &Vec<String>| {
        serde_json::to_string(v).map_err(|e| OAuthError::internal("client metadata row", &e))
    };
    Ok(ClientRow {
        id: client.id.clone(),
        name: client.name.clone(),
        secret_hash: None,
        grant_types: client
            .grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        redirect_uris: json(&client.redirect_uris)?,
        post_logout_redirect_uris: "[]".into(),
        scope: client.scope.to_string(),
        first_party: false,
        disabled: false,
        created_at: now,
        updated_at: now,
        refresh_token_ttl_secs: None,
        refresh_token_absolute_ttl_secs: None,
        registration_token_hash: None,
        token_endpoint_auth_method: "none".into(),
        registered_by: Some(REGISTERED_BY.into()),
        access_token_alg: None,
        id_token_signed_response_alg: None,
        access_token_ttl_secs: None,
        id_token_claims: true,
        web_origins: "[]".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ClientIdMetadataSettings {
        crate::config::Settings::defaults()
            .unwrap()
            .client_id_metadata
    }

    #[test]
    fn only_https_urls_on_allowed_hosts_are_fetched() {
        let mut s = settings();
        s.allowed_hosts = vec!["app.example".into()];
        assert!(document_url(&s, "https://app.example/client.json").is_ok());
        assert!(document_url(&s, "http://app.example/client.json").is_err());
        assert!(document_url(&s, "https://other.example/client.json").is_err());
        assert!(document_url(&s, "https://app.example/").is_err());
        assert!(document_url(&s, "https://u:p@app.example/c").is_err());
        assert!(document_url(&s, "https://app.example/c#f").is_err());
    }

    #[test]
    fn private_addresses_are_refused_unless_the_host_is_allowed_them() {
        let mut s = settings();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "fe80::1",
            "0.0.0.0",
            "224.0.0.1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
        ] {
            assert!(!address_allowed(&s, "h", ip.parse().unwrap()), "{ip}");
        }
        assert!(address_allowed(&s, "h", "93.184.216.34".parse().unwrap()));
        s.allow_private_hosts = vec!["h".into()];
        assert!(address_allowed(&s, "h", "127.0.0.1".parse().unwrap()));
        assert!(!address_allowed(&s, "h", "0.0.0.0".parse().unwrap()));
    }

    #[test]
    fn max_age_is_bounded() {
        let s = settings();
        assert_eq!(cache_secs(&s, None), 60);
        assert_eq!(cache_secs(&s, Some("public, max-age=600")), 600);
        assert_eq!(cache_secs(&s, Some("max-age=5")), 60);
        assert_eq!(cache_secs(&s, Some("max-age=99999999")), 86_400);
    }
}
