//! The client address behind trusted proxies, with gunicorn's `forwarded_allow_ips`
//! semantics: only a listed peer (or every peer with `*`; a unix-socket peer when the list
//! says `unix` or `*`) may set `X-Forwarded-For` / `X-Forwarded-Proto`. The chain is walked
//! from the right past trusted proxies, so a client cannot spoof its address by sending its
//! own header through a proxy.

use std::net::IpAddr;

/// Who may set forwarding headers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies {
    any: bool,
    unix: bool,
    ips: Vec<IpAddr>,
}

impl TrustedProxies {
    /// From `forwarded_allow_ips`: a comma list of IPs, `*`, or `unix`.
    pub fn parse(spec: &str) -> TrustedProxies {
        let mut t = TrustedProxies::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "*" => t.any = true,
                "unix" => t.unix = true,
                ip => match ip.parse() {
                    Ok(ip) => t.ips.push(ip),
                    Err(_) => {
                        log::warn!("forwarded_allow_ips: `{ip}` is not an IP address; ignored")
                    }
                },
            }
        }
        t
    }

    fn trusts(&self, peer: Option<IpAddr>) -> bool {
        match peer {
            None => self.any || self.unix,
            Some(ip) => self.any || self.ips.contains(&ip),
        }
    }

    /// The client address: the peer itself unless it is a trusted proxy, else the rightmost
    /// address of `X-Forwarded-For` that is not itself a trusted proxy. `None` for a unix
    /// socket peer with no (trusted) forwarding header.
    pub fn client(&self, peer: Option<IpAddr>, forwarded_for: Option<&str>) -> Option<String> {
        if !self.trusts(peer) {
            return peer.map(|p| p.to_string());
        }
        let chain: Vec<&str> = forwarded_for
            .map(|h| {
                h.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for hop in chain.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusts(Some(ip)) && !self.any => continue,
                Ok(ip) => return Some(ip.to_string()),
                Err(_) => return peer.map(|p| p.to_string()),
            }
        }
        chain
            .first()
            .map(|s| s.to_string())
            .or_else(|| peer.map(|p| p.to_string()))
    }

    /// The scheme: `X-Forwarded-Proto` from a trusted peer, else the connection's own.
    pub fn scheme<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_proto: Option<&'a str>,
        own: &'a str,
    ) -> &'a str {
        match forwarded_proto {
            Some(p @ ("http" | "https")) if self.trusts(peer) => p,
            _ => own,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn table() {
        let local = TrustedProxies::parse("127.0.0.1");
        type Case<'a> = (
            &'a TrustedProxies,
            Option<IpAddr>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case<'_>] = &[
            // untrusted peer: its header is ignored
            (&local, ip("10.0.0.9"), Some("1.2.3.4"), Some("10.0.0.9")),
            // trusted peer: the forwarded client
            (&local, ip("127.0.0.1"), Some("1.2.3.4"), Some("1.2.3.4")),
            // a spoofed left-most entry does not win: the right-most untrusted hop does
            (
                &local,
                ip("127.0.0.1"),
                Some("6.6.6.6, 1.2.3.4"),
                Some("1.2.3.4"),
            ),
            // proxies chained through trusted hops
            (
                &local,
                ip("127.0.0.1"),
                Some("1.2.3.4, 127.0.0.1"),
                Some("1.2.3.4"),
            ),
            // trusted peer without a header: itself
            (&local, ip("127.0.0.1"), None, Some("127.0.0.1")),
            // garbage in the header: the peer
            (
                &local,
                ip("127.0.0.1"),
                Some("not-an-ip"),
                Some("127.0.0.1"),
            ),
            // unix socket peer, not trusted: nothing known
            (&local, None, Some("1.2.3.4"), None),
        ];
        for (t, peer, xff, want) in cases {
            assert_eq!(t.client(*peer, *xff).as_deref(), *want, "{peer:?} {xff:?}");
        }
        let unix = TrustedProxies::parse("unix");
        assert_eq!(
            unix.client(None, Some("1.2.3.4")).as_deref(),
            Some("1.2.3.4")
        );
        let any = TrustedProxies::parse("*");
        assert_eq!(
            any.client(ip("10.0.0.9"), Some("6.6.6.6, 1.2.3.4"))
                .as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(
            local.scheme(ip("127.0.0.1"), Some("https"), "http"),
            "https"
        );
        assert_eq!(local.scheme(ip("10.0.0.1"), Some("https"), "http"), "http");
    }
}
