//! The network address a call came from, as far as the service can trust it.
use std::net::{IpAddr, Ipv6Addr};

/// The client's IP address (the peer, or the first untrusted X-Forwarded-For hop behind a
/// trusted proxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key per-address limits count under. An IPv6 client usually holds a whole /64, so
    /// limits apply to the /64, not to each of its 2^64 addresses.
    pub fn limit_key(&self) -> String {
        match self.0.to_canonical() {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => prefix(v6, 64),
        }
    }

    /// The key of the wider per-address limits: the IPv6 /56 holding the client's /64, or
    /// `None` for an IPv4 client (IPv4-mapped included), whose address is already counted
    /// whole by [`ClientAddr::limit_key`] and would otherwise pay twice.
    ///
    /// A /56 is what one residential customer or one cloud network (an AWS VPC) is assigned
    /// (RIPE-690), so it holds 256 /64s one owner can rotate through. A /48 would lump up to
    /// 65,536 /64s together, which on mobile networks belong to different subscribers.
    pub fn site_limit_key(&self) -> Option<String> {
        match self.0.to_canonical() {
            IpAddr::V4(_) => None,
            IpAddr::V6(v6) => Some(prefix(v6, 56)),
        }
    }
}

/// The first `bits` (64 or 56) of `v6` as `2001:db8:1:200::/56`: four uncompressed groups,
/// the format counters of running deployments are stored under.
fn prefix(v6: Ipv6Addr, bits: u32) -> String {
    let network = u128::from(v6) & (u128::MAX << (128 - bits));
    let s = Ipv6Addr::from(network).segments();
    format!("{:x}:{:x}:{:x}:{:x}::/{bits}", s[0], s[1], s[2], s[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(addr: &str) -> ClientAddr {
        ClientAddr(addr.parse().unwrap())
    }

    #[test]
    fn ipv6_clients_are_limited_per_slash_64() {
        let a = client("2001:db8:1:2:aaaa::1");
        let b = client("2001:db8:1:2:bbbb::9");
        let c = client("2001:db8:1:3::1");
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), c.limit_key());
        assert_eq!(a.limit_key(), "2001:db8:1:2::/64");
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let mapped = client("::ffff:192.0.2.7");
        assert_eq!(mapped.limit_key(), "192.0.2.7");
        assert_eq!(mapped.site_limit_key(), None);
    }

    #[test]
    fn the_256_slash_64s_of_a_slash_56_share_its_site_key() {
        let first = client("2001:db8:1:200::1");
        let last = client("2001:db8:1:2ff:ffff:ffff:ffff:ffff");
        let next_site = client("2001:db8:1:300::1");
        assert_ne!(first.limit_key(), last.limit_key());
        assert_eq!(first.site_limit_key().unwrap(), "2001:db8:1:200::/56");
        assert_eq!(first.site_limit_key(), last.site_limit_key());
        assert_eq!(next_site.site_limit_key().unwrap(), "2001:db8:1:300::/56");
    }

    #[test]
    fn ipv4_clients_have_no_site_key_so_they_never_pay_twice() {
        assert_eq!(client("192.0.2.7").site_limit_key(), None);
    }
}
