//! `fetch_url_allowlist`: the local network addresses that `src: url` fetches may reach. As in
//! Galaxy, every other private address (loopback, private ranges, link-local, …) is refused,
//! so that users cannot make the server request services the administrator did not mean to
//! expose. Entries are addresses or networks: `10.10.10.10`, `10.0.1.0/24`, `fd00::/8`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parsed `fetch_url_allowlist` entries: (network address, prefix length).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowlist(Vec<(IpAddr, u8)>);

impl IpAllowlist {
    /// Parses the entries; `Err` names the first that is not an address or a network.
    pub fn parse(entries: &[String]) -> Result<IpAllowlist, String> {
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let bad = || format!("`{entry}` is not an IP address or network (10.0.1.0/24)");
            let (addr, prefix) = match entry.trim().split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (entry.trim(), None),
            };
            let addr: IpAddr = addr.parse().map_err(|_| bad())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            };
            out.push((addr, prefix));
        }
        Ok(IpAllowlist(out))
    }

    /// Whether `ip` is in one of the entries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(net, prefix)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => same_prefix(&n.octets(), &i.octets(), *prefix),
            (IpAddr::V6(n), IpAddr::V6(i)) => same_prefix(&n.octets(), &i.octets(), *prefix),
            _ => false,
        })
    }

    /// Whether a fetch may connect to `ip`: a public address, or an allowed private one.
    pub fn allows(&self, ip: IpAddr) -> bool {
        !is_private(ip) || self.contains(ip)
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

/// Addresses that are not on the public internet (Python's `ip_address.is_private`, which
/// Galaxy uses): loopback, private ranges, link-local, shared, unspecified, reserved.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x0064 && s[1] == 0xff9b)
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn private_addresses_as_python_sees_them() {
        for p in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip(p)), "{p}");
        }
        for p in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_private(ip(p)), "{p}");
        }
    }

    #[test]
    fn entries_and_networks() {
        let list =
            IpAllowlist::parse(&["127.0.0.1".into(), "10.0.1.0/24".into(), "fd00::/8".into()])
                .unwrap_or_default();
        assert!(list.allows(ip("127.0.0.1")));
        assert!(!list.allows(ip("127.0.0.2")));
        assert!(list.allows(ip("10.0.1.200")));
        assert!(!list.allows(ip("10.0.2.1")));
        assert!(list.allows(ip("fd12::1")));
        assert!(list.allows(ip("8.8.8.8")));
        assert!(!IpAllowlist::default().allows(ip("192.168.0.1")));
        for bad in ["localhost", "10.0.0.0/33", "fd00::/129", "1.2.3"] {
            assert!(IpAllowlist::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
