//! Client addresses as Latchkey counts them (login throttling, email-link limits): one
//! subscriber, one key.

use std::net::IpAddr;

/// An address as counted: IPv4 (or IPv4-mapped IPv6) whole, other IPv6 by its /64, since one
/// subscriber usually holds a whole /64.
pub fn counted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}
