//! Which address a call came from: the TCP peer, or, when the peer is a trusted proxy, the
//! first untrusted hop of X-Forwarded-For (read right to left, as proxies append).
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnet::IpNet;
use tonic::Request;

use crate::domain::ClientAddr;

pub fn client_addr<T>(request: &Request<T>, trusted: &[IpNet]) -> ClientAddr {
    // Without a peer address (not a TCP connection) every such call shares one bucket.
    let peer = request
        .remote_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return ClientAddr(peer);
    }
    let hops: Vec<&str> = request
        .metadata()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    // Walk from the nearest hop outwards; the first address our proxies did not add is the
    // client. An entry that is not an address ends the walk at the last hop we could trust.
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    ClientAddr(client)
}

/// An X-Forwarded-For entry: an address, possibly with a port ("1.2.3.4:80", "[::1]:80").
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_from(peer: &str, xff: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(tonic::transport::server::TcpConnectInfo {
                local_addr: None,
                remote_addr: Some(peer.parse().unwrap()),
            });
        if let Some(xff) = xff {
            request
                .metadata_mut()
                .insert("x-forwarded-for", xff.parse().unwrap());
        }
        request
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let request = request_from("203.0.113.9:5000", Some("198.51.100.1"));
        assert_eq!(
            client_addr(&request, &nets(&["10.0.0.0/8"])).0.to_string(),
            "203.0.113.9"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        // A client may prepend anything; only the hops our proxies appended are believed.
        let request = request_from("10.0.0.2:5000", Some("6.6.6.6, 198.51.100.7, 10.0.0.1"));
        assert_eq!(
            client_addr(&request, &nets(&["10.0.0.0/8"])).0.to_string(),
            "198.51.100.7"
        );
    }

    #[test]
    fn hops_with_ports_are_read_and_garbage_stops_the_walk() {
        let trusted = nets(&["10.0.0.0/8"]);
        let with_port = request_from("10.0.0.2:5000", Some("198.51.100.7:4321, 10.0.0.1"));
        assert_eq!(
            client_addr(&with_port, &trusted).0.to_string(),
            "198.51.100.7"
        );
        let garbage = request_from("10.0.0.2:5000", Some("6.6.6.6, unknown, 10.0.0.1"));
        assert_eq!(client_addr(&garbage, &trusted).0.to_string(), "10.0.0.1");
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let request = request_from("[::ffff:10.0.0.2]:5000", Some("198.51.100.7"));
        assert_eq!(
            client_addr(&request, &nets(&["10.0.0.0/8"])).0.to_string(),
            "198.51.100.7"
        );
    }

    #[test]
    fn a_trusted_peer_without_forwarding_is_the_client() {
        let request = request_from("10.0.0.2:5000", None);
        assert_eq!(
            client_addr(&request, &nets(&["10.0.0.0/8"])).0.to_string(),
            "10.0.0.2"
        );
    }
}
