//! The network address a call came from, as far as the service can trust it.
use std::net::IpAddr;

/// The client's IP address (the peer, or the first untrusted X-Forwarded-For hop behind a
/// trusted proxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key per-address limits count under. An IPv6 client usually holds a whole /64, so
    /// limits apply to the /64, not to each of its 2^64 addresses.
    pub fn limit_key(&self) -> String {
        match self.0 {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_limited_per_slash_64() {
        let a = ClientAddr("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddr("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = ClientAddr("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), c.limit_key());
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let mapped = ClientAddr("::ffff:192.0.2.7".parse().unwrap());
        assert_eq!(mapped.limit_key(), "192.0.2.7");
    }
}
