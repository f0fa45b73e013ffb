//! The client's address behind reverse proxies: `Forwarded` (RFC 7239 §4, `for=`) or
//! `X-Forwarded-For` are believed only when the TCP peer is in `server.trusted_proxies`, and then
//! only up to the rightmost hop that is not itself a trusted proxy; otherwise the peer address.
//! [`ClientAddr`] is the extractor handlers, throttling and audit events use.

use std::future::{ready, Ready};
use std::net::{IpAddr, Ipv4Addr};

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use ipnet::IpNet;

/// The address of the party that sent the request, as far as trusted proxies vouch for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ClientAddr {
    /// The address the request middleware resolved; the bare peer when the middleware did not run.
    pub fn of(req: &HttpRequest) -> Self {
        let found = req.extensions().get::<ClientAddr>().copied();
        found.unwrap_or_else(|| ClientAddr(peer(req.peer_addr())))
    }
}

impl FromRequest for ClientAddr {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

/// The peer's IP address; unspecified for connections without one (never in practice).
pub fn peer(addr: Option<std::net::SocketAddr>) -> IpAddr {
    addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip())
}

/// Resolves the client address of a request from `peer` and its forwarding headers.
/// `Forwarded` wins over `X-Forwarded-For` when both are present. A hop that does not parse as an
/// address (`unknown`, an obfuscated identifier, garbage) stops the walk: the last address
/// vouched for is used.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops = forwarded_hops(headers)
        .or_else(|| x_forwarded_for_hops(headers))
        .unwrap_or_default();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(addr) = hop else { break };
        client = *addr;
        if !is_trusted(client, trusted) {
            break;
        }
    }
    client
}

fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    let addr = canonical(addr);
    trusted.iter().any(|net| net.contains(&addr))
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) compare as the IPv4 address they carry.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// Every value of `name`, joined as one comma-separated list (RFC 9110 §5.3); `None` when absent
/// or when a value is not visible ASCII.
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<Vec<String>> {
    let mut items = Vec::new();
    for value in headers.get_all(name) {
        let text = value.to_str().ok()?;
        items.extend(text.split(',').map(|s| s.trim().to_owned()));
    }
    (!items.is_empty()).then_some(items)
}

/// The `for=` of each `Forwarded` element, left (client) to right (nearest proxy).
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let elements = joined(headers, &actix_web::http::header::FORWARDED)?;
    let hops = elements
        .iter()
        .map(|element| {
            element
                .split(';')
                .find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| node_address(value.trim()))
                })
                .flatten()
        })
        .collect();
    Some(hops)
}

/// The addresses of `X-Forwarded-For`, left (client) to right (nearest proxy).
fn x_forwarded_for_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let name = HeaderName::from_static("x-forwarded-for");
    let items = joined(headers, &name)?;
    Some(items.iter().map(|item| node_address(item)).collect())
}

/// A node of RFC 7239 §6 or an `X-Forwarded-For` item: `192.0.2.1`, `192.0.2.1:4711`,
/// `"[2001:db8::1]:4711"`, `2001:db8::1`; `None` for `unknown` and obfuscated identifiers.
fn node_address(raw: &str) -> Option<IpAddr> {
    let node = raw.trim().trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.parse().ok();
    }
    if let Ok(addr) = node.parse::<IpAddr>() {
        return Some(addr);
    }
    let (host, _port) = node.rsplit_once(':')?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof_its_address_with_x_forwarded_for() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(resolve(ip("198.51.100.7"), &h, &[]), ip("198.51.100.7"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("198.51.100.7"), &h, &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(resolve(ip("10.1.2.3"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn a_client_cannot_spoof_hops_left_of_the_rightmost_untrusted_one() {
        // The client sent "X-Forwarded-For: 1.1.1.1"; its real address was appended by the proxy.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(resolve(ip("10.1.2.3"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn repeated_headers_are_one_list() {
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(resolve(ip("10.1.2.3"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_wins_and_accepts_ports_quotes_and_ipv6() {
        let h = headers(&[
            ("x-forwarded-for", "192.0.2.200"),
            (
                "forwarded",
                "for=192.0.2.43;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
            ),
        ]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("10.1.2.3"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        let h = headers(&[("forwarded", "for=192.0.2.43:8080")]);
        assert_eq!(resolve(ip("10.1.2.3"), &h, &trusted), ip("192.0.2.43"));
    }

    #[test]
    fn an_unknown_hop_stops_at_the_last_vouched_address() {
        let h = headers(&[("forwarded", "for=192.0.2.43, for=unknown")]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(resolve(ip("10.1.2.3"), &h, &trusted), ip("10.1.2.3"));
        let h = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(resolve(ip("10.1.2.3"), &h, &trusted), ip("10.1.2.3"));
    }

    #[test]
    fn a_chain_of_trusted_proxies_yields_the_leftmost_address() {
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.5")]);
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(resolve(ip("10.1.2.3"), &h, &trusted), ip("10.9.9.9"));
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_an_ipv4_range() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let trusted = nets(&["127.0.0.0/8"]);
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &h, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
    }
}
