//! Who the client is: the TCP peer, or, only when that peer is one of `TRUSTED_PROXIES`, the
//! address the proxy says it forwarded for.
//!
//! Behind nginx or Caddy on the same host every request comes from 127.0.0.1; keyed on the
//! peer, every customer would share one rate-limit bucket. Believing `X-Forwarded-For` from
//! anyone would let a client pick its own address (a fresh bucket per request, or someone
//! else's in the audit log). So the forwarding headers are read only from trusted peers, and
//! the client is the rightmost address in the chain that is not itself a trusted proxy: each
//! proxy appends the address it saw, so everything left of the first untrusted hop could have
//! been written by the client.
//!
//! Written by hand: `axum-client-ip` picks one header position but does not walk the chain
//! against a list of trusted networks, which is the rule we need.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::error::Error;

/// The networks whose forwarding headers are believed (`TRUSTED_PROXIES`).
pub type TrustedProxies = Networks;

/// A list of IP networks, matched with `ipnet`: the trusted proxies, or the addresses a
/// provider's notifications may come from (`YOOKASSA_ALLOWED_SOURCES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    /// Parses comma-separated IPs or CIDRs (`127.0.0.1, 10.0.0.0/8, ::1`); a bare address is
    /// a network of one.
    pub fn parse(s: &str) -> Result<Networks, String> {
        let mut nets = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => match part.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(format!(
                            "'{part}' is not an IP address or a CIDR network such as 10.0.0.0/8"
                        ))
                    }
                },
            };
            nets.push(net);
        }
        Ok(Networks(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` (IPv4-mapped IPv6 read as IPv4) is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }
}

/// `127.0.0.1/32, 10.0.0.0/8`: the list as it could be written back into its variable.
impl std::fmt::Display for Networks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) as plain IPv4, so one
/// client has one key and `127.0.0.1` in the list matches it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The client's address as every limit and the audit log see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// Facts about how the request reached us, set once by [`resolve`] for every request.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    pub client: IpAddr,
    /// The TCP peer, whatever the headers say.
    pub peer: IpAddr,
    /// The request carried `Forwarded` or `X-Forwarded-For`: it came through a proxy (trusted
    /// or not), so it is not a direct request from this machine.
    pub forwarded: bool,
}

impl Origin {
    /// A request made on this machine, straight to the shop: loopback peer, no proxy headers.
    pub fn direct_loopback(&self) -> bool {
        self.peer.is_loopback() && !self.forwarded
    }
}

/// Decides the client's address from the peer and the headers (see the module docs).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    // When both headers are present, X-Forwarded-For decides (the common proxies set it; a
    // `Forwarded` header may have been passed through from the client untouched).
    let chain = if headers.contains_key("x-forwarded-for") {
        x_forwarded_for(headers)
    } else {
        forwarded_for(headers)
    };
    let Some(chain) = chain else { return peer };
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if trusted.contains(*ip) => continue,
            Some(ip) => return canonical(*ip),
            // An unparsable hop (`unknown`, an obfuscated name): we cannot see past it, so the
            // trusted proxy that handed us the request is the best address we know.
            None => return peer,
        }
    }
    // Every hop was a trusted proxy (or unreadable): the leftmost known one, else the peer.
    chain
        .iter()
        .flatten()
        .next()
        .map(|ip| canonical(*ip))
        .unwrap_or(peer)
}

/// All `X-Forwarded-For` values in order (several headers concatenate); `None` if absent.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut out = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let s = v.to_str().ok()?;
        out.extend(s.split(',').map(|p| parse_hop(p.trim())));
    }
    (!out.is_empty()).then_some(out)
}

/// The `for=` parameters of RFC 7239 `Forwarded` headers in order; `None` if absent.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut out = Vec::new();
    for v in headers.get_all("forwarded") {
        let s = v.to_str().ok()?;
        for element in s.split(',') {
            let hop = element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
            });
            if let Some(v) = hop {
                out.push(parse_hop(v.trim_matches('"')));
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// One hop: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:443` or bare IPv6.
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

/// Middleware (outermost): works out the client once and puts [`Origin`] in the extensions.
pub async fn resolve(
    axum::extract::State(trusted): axum::extract::State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let headers = req.headers();
    let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    let origin = Origin {
        client: client_ip(peer, headers, &trusted),
        peer: canonical(peer),
        forwarded,
    };
    req.extensions_mut().insert(origin);
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        parts
            .extensions
            .get::<Origin>()
            .copied()
            .ok_or_else(|| Error::internal("client_ip::resolve is not layered on this router"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Error> {
        Origin::from_request_parts(parts, s)
            .await
            .map(|o| ClientIp(o.client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let t = TrustedProxies::parse("127.0.0.1").unwrap();
        let hs = h(&[("x-forwarded-for", "9.9.9.9")]);
        assert_eq!(client_ip(ip("203.0.113.7"), &hs, &t), ip("203.0.113.7"));
        // No list at all: nobody is trusted, not even loopback.
        let none = TrustedProxies::default();
        assert_eq!(client_ip(ip("127.0.0.1"), &hs, &none), ip("127.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // The client forged "1.1.1.1"; nginx appended the real address it saw.
        let hs = h(&[("x-forwarded-for", "1.1.1.1, 198.51.100.4, 10.1.2.3")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &hs, &t), ip("198.51.100.4"));
        // Several headers are one list.
        let hs = h(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(client_ip(ip("10.9.9.9"), &hs, &t), ip("198.51.100.4"));
    }

    #[test]
    fn forwarded_is_read_and_x_forwarded_for_wins_over_it() {
        let t = TrustedProxies::parse("::1,127.0.0.1").unwrap();
        let hs = h(&[(
            "forwarded",
            "for=192.0.2.60;proto=https, for=\"[2001:db8::7]:443\"",
        )]);
        assert_eq!(client_ip(ip("::1"), &hs, &t), ip("2001:db8::7"));
        let hs = h(&[
            ("forwarded", "for=192.0.2.60"),
            ("x-forwarded-for", "198.51.100.9"),
        ]);
        assert_eq!(client_ip(ip("127.0.0.1"), &hs, &t), ip("198.51.100.9"));
    }

    #[test]
    fn odd_chains_fall_back_safely() {
        let t = TrustedProxies::parse("127.0.0.1").unwrap();
        // An unreadable hop right of the client: the proxy before it is the best we know.
        let hs = h(&[("x-forwarded-for", "198.51.100.4, unknown")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &hs, &t), ip("127.0.0.1"));
        // IPv4-mapped peers match IPv4 entries and keys.
        let hs = h(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &hs, &t),
            ip("198.51.100.4")
        );
        assert_eq!(
            client_ip(ip("::ffff:203.0.113.1"), &HeaderMap::new(), &t),
            ip("203.0.113.1")
        );
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/8, nginx").is_err());
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/8")
            .unwrap()
            .contains(ip("10.200.0.1")));
    }

    #[test]
    fn networks_match_v4_v6_and_mapped_addresses_and_print_back() {
        let n = Networks::parse("185.71.76.0/27, 77.75.156.11, 2a02:5180::/32").unwrap();
        assert!(n.contains(ip("185.71.76.31")));
        assert!(!n.contains(ip("185.71.76.32")));
        assert!(n.contains(ip("77.75.156.11")));
        assert!(!n.contains(ip("77.75.156.12")));
        assert!(n.contains(ip("2a02:5180:0:1509::1")));
        assert!(!n.contains(ip("2a02:5181::1")));
        assert!(n.contains(ip("::ffff:185.71.76.1")));
        assert_eq!(
            n.to_string(),
            "185.71.76.0/27, 77.75.156.11/32, 2a02:5180::/32"
        );
        assert_eq!(Networks::parse(&n.to_string()).unwrap(), n);
    }
}
