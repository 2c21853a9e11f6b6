//! Who may ask: the access-control step, first in the pipeline.
//!
//! An open recursive resolver answers anyone on the Internet, which makes it a reflector and
//! amplifier for attacks on third parties (RFC 5358). So by default ferret serves only its own
//! host, as Unbound does, and every other network has to be named with `--allow`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// What to do with a client outside the allowed networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Serve it.
    Allow,
    /// Answer REFUSED (UDP), or close the connection (TCP).
    Refuse,
    /// Send nothing at all (UDP); close the connection (TCP).
    Ignore,
}

#[derive(Debug, Clone)]
pub struct AccessControl {
    allowed: Vec<IpNet>,
    refuse_silently: bool,
}

impl AccessControl {
    /// Clients in `allowed` are served; with an empty list, loopback only (127.0.0.0/8, ::1).
    pub fn new(allowed: &[IpNet], refuse_silently: bool) -> Self {
        let allowed = if allowed.is_empty() {
            loopback()
        } else {
            allowed.to_vec()
        };
        AccessControl {
            allowed,
            refuse_silently,
        }
    }

    pub fn check(&self, client: IpAddr) -> Access {
        if self.permits(client) {
            Access::Allow
        } else if self.refuse_silently {
            Access::Ignore
        } else {
            Access::Refuse
        }
    }

    pub fn permits(&self, client: IpAddr) -> bool {
        // An IPv4 client reaching a dual-stack socket shows up as ::ffff:a.b.c.d; the prefixes
        // it must match are the IPv4 ones.
        let client = client.to_canonical();
        self.allowed.iter().any(|net| net.contains(&client))
    }
}

fn loopback() -> Vec<IpNet> {
    vec![
        IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
        IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn default_is_loopback_only() {
        let acl = AccessControl::new(&[], false);
        for client in ["127.0.0.1", "127.200.3.4", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(acl.check(ip(client)), Access::Allow, "{client}");
        }
        for client in [
            "10.0.0.1",
            "192.0.2.1",
            "::2",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert_eq!(acl.check(ip(client)), Access::Refuse, "{client}");
        }
    }

    #[test]
    fn allow_replaces_the_default() {
        let acl = AccessControl::new(&[net("10.0.0.0/8"), net("2001:db8::/32")], true);
        assert!(acl.permits(ip("10.200.1.1")));
        assert!(acl.permits(ip("::ffff:10.1.1.1")));
        assert!(acl.permits(ip("2001:db8:ffff::1")));
        assert!(!acl.permits(ip("11.0.0.1")));
        assert!(!acl.permits(ip("2001:db9::1")));
        // Naming other networks does not keep loopback: a narrow --allow is taken literally.
        assert_eq!(acl.check(ip("127.0.0.1")), Access::Ignore);
    }
}
