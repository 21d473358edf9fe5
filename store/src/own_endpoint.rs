//! Where clients and the stores of other regions reach this store, worked out once at
//! start: `--advertise-url` when it is given (a name they can reach, as DynamoDB answers
//! `dynamodb.<region>.amazonaws.com`), else the address it listens on. An unspecified
//! listen address (`0.0.0.0`, `[::]`) names no host anyone can connect to; it is answered
//! as the loopback address of its family (`127.0.0.1`, `[::1]`), where the store does
//! listen, rather than as itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnEndpoint {
    /// The URL other regions' stores call (`replication`).
    pub url: String,
    /// Its host[:port], which DescribeEndpoints answers.
    pub address: String,
    /// Whether it is `--advertise-url`'s (else the listen address's, which binding a port
    /// 0 changes).
    advertised: bool,
}

impl OwnEndpoint {
    /// The endpoint of `advertise_url` (an http(s) URL, already checked) if given, else
    /// of `listen`.
    pub fn new(advertise_url: Option<String>, listen: SocketAddr) -> OwnEndpoint {
        match advertise_url.and_then(|url| Some((host_and_port(&url)?, url))) {
            Some((address, url)) => OwnEndpoint {
                url,
                address,
                advertised: true,
            },
            None => OwnEndpoint::listening_on(listen),
        }
    }

    /// This endpoint once the store is bound to `bound` (with port 0 the flag named no
    /// real port, so a listen address's endpoint must give the bound one).
    pub fn bound_to(self, bound: SocketAddr) -> OwnEndpoint {
        if self.advertised {
            self
        } else {
            OwnEndpoint::listening_on(bound)
        }
    }

    fn listening_on(listen: SocketAddr) -> OwnEndpoint {
        let reachable = SocketAddr::new(reachable_ip(listen.ip()), listen.port());
        OwnEndpoint {
            url: format!("http://{reachable}"),
            address: reachable.to_string(),
            advertised: false,
        }
    }
}

/// `ip`, or for an unspecified address, the loopback address of its family.
fn reachable_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Ipv4Addr::LOCALHOST.into(),
        IpAddr::V6(v6) if v6.is_unspecified() => Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    }
}

/// `host[:port]` of a URL (the port only when it is not the scheme's default, as a
/// client would write the address); `None` for a URL without a host.
fn host_and_port(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_the_urls_host_and_port() {
        for (url, address) in [
            ("http://dynamo.example:8000", Some("dynamo.example:8000")),
            ("https://dynamo.example", Some("dynamo.example")),
            ("http://dynamo.example:80/base", Some("dynamo.example")),
            ("http://[::1]:8000", Some("[::1]:8000")),
            ("not a url", None),
        ] {
            assert_eq!(host_and_port(url).as_deref(), address, "{url}");
        }
    }

    /// An unspecified listen address is answered as the loopback of its family, a
    /// specific one as itself, and an advertised URL wins over either, bound or not.
    #[test]
    fn an_unspecified_listen_address_is_answered_as_loopback() {
        let listen = |text: &str| text.parse::<SocketAddr>().unwrap_or_else(|e| panic!("{e}"));
        for (listening, address) in [
            ("0.0.0.0:8000", "127.0.0.1:8000"),
            ("[::]:8000", "[::1]:8000"),
            ("10.1.2.3:8000", "10.1.2.3:8000"),
            ("[fe80::1]:8000", "[fe80::1]:8000"),
        ] {
            let endpoint = OwnEndpoint::new(None, listen(listening));
            assert_eq!(endpoint.address, address, "{listening}");
            assert_eq!(endpoint.url, format!("http://{address}"), "{listening}");
        }
        let bound = OwnEndpoint::new(None, listen("0.0.0.0:0")).bound_to(listen("0.0.0.0:4321"));
        assert_eq!(bound.address, "127.0.0.1:4321");
        let advertised = OwnEndpoint::new(Some("https://db.example".into()), listen("0.0.0.0:0"))
            .bound_to(listen("0.0.0.0:4321"));
        assert_eq!(advertised.address, "db.example");
        assert_eq!(advertised.url, "https://db.example");
    }
}
