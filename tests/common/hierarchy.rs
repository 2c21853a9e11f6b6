//! A fake DNS hierarchy on loopback: several [`AuthorityServer`]s, each on its own
//! 127.x.y.z address, and a root hints file pointing at the root zone's servers.
//!
//! Every test picks its own address block with [`net`] (`127.{block}.a.b`) so tests can
//! run in parallel. A *dead* server is simply an address that appears in some zone's NS
//! glue but is never registered with [`HierarchyBuilder::server`]: nothing listens there.
//! A server that is up but swallows queries is [`Behaviour::Drop`] instead.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use hickory_proto::rr::{Name, RData, RecordType};
use tempfile::TempDir;

use super::authority::{AuthorityServer, Behaviour, Zone};

/// TTL written into the root hints, as in IANA's named.root.
const ROOT_HINTS_TTL: u32 = 3_600_000;

/// `"127.{block}.{a}.{b}"`: a loopback address inside the test's own block.
pub fn net(block: u8, a: u8, b: u8) -> String {
    format!("127.{block}.{a}.{b}")
}

/// A zone with the usual SOA and one NS record at the apex, then `body`.
pub fn zone(origin: &str, ns: &str, body: &str) -> Zone {
    let contact = if origin == "." {
        "hostmaster.".to_string()
    } else {
        format!("hostmaster.{origin}")
    };
    Zone::parse(
        origin,
        &format!(
            "$TTL 3600
@ SOA {ns} {contact} 1 3600 900 604800 300
@ NS  {ns}
{body}"
        ),
    )
}

/// A root on `127.B.0.1` delegating `test.` to `127.B.1.1`, whose zone holds `tld_body`.
pub fn root_and_tld(block: u8, tld_body: &str) -> HierarchyBuilder {
    let (root, tld) = (net(block, 0, 1), net(block, 1, 1));
    Hierarchy::builder()
        .server(
            &root,
            vec![zone(
                ".",
                "a.root-servers.test.",
                &format!(
                    "a.root-servers.test. A {root}
test.        NS  ns.nic.test.
ns.nic.test. A   {tld}
"
                ),
            )],
        )
        .server(
            &tld,
            vec![zone(
                "test.",
                "ns.nic.test.",
                &format!("ns.nic A {tld}\n{tld_body}"),
            )],
        )
}

fn parse_ip(ip: &str) -> IpAddr {
    let parsed: IpAddr = ip
        .parse()
        .unwrap_or_else(|e| panic!("bad IP address {ip:?}: {e}"));
    assert!(
        parsed.is_loopback(),
        "hierarchy servers must use loopback addresses, not {ip}"
    );
    parsed
}

/// Collects the servers of a [`Hierarchy`] before starting them.
#[derive(Default)]
pub struct HierarchyBuilder {
    servers: BTreeMap<IpAddr, Vec<Zone>>,
    behaviours: BTreeMap<IpAddr, Behaviour>,
    root_hints: Vec<(Name, IpAddr)>,
}

impl HierarchyBuilder {
    /// Adds a server on `ip` (port 53) serving `zones`. Panics if `ip` is used twice.
    pub fn server(mut self, ip: &str, zones: Vec<Zone>) -> Self {
        let addr = parse_ip(ip);
        let previous = self.servers.insert(addr, zones);
        assert!(previous.is_none(), "server {ip} registered twice");
        self
    }

    /// Makes the server on `ip` start with `behaviour` (it can be changed later through
    /// [`Hierarchy::server`]). `ip` must also be registered with [`Self::server`].
    pub fn behaviour(mut self, ip: &str, behaviour: Behaviour) -> Self {
        self.behaviours.insert(parse_ip(ip), behaviour);
        self
    }

    /// Adds an explicit root hint instead of deriving them from the root zone, e.g. to
    /// point the resolver at dead root servers. Once any is given, only these are used.
    pub fn root_hint(mut self, ns_name: &str, ip: &str) -> Self {
        self.root_hints
            .push((super::authority::fqdn(ns_name), parse_ip(ip)));
        self
    }

    /// Starts every server and writes the root hints file.
    pub async fn start(self) -> Hierarchy {
        for ip in self.behaviours.keys() {
            assert!(
                self.servers.contains_key(ip),
                "behaviour set for {ip}, which has no server"
            );
        }
        let hints = if self.root_hints.is_empty() {
            root_hints_from_zones(&self.servers)
        } else {
            self.root_hints
        };
        let dir = tempfile::tempdir().expect("creating a temporary directory for root hints");
        let root_hints = dir.path().join("root.hints");
        std::fs::write(&root_hints, render_root_hints(&hints)).expect("writing root hints");

        let mut servers = BTreeMap::new();
        for (ip, zones) in self.servers {
            let behaviour = self.behaviours.get(&ip).copied().unwrap_or_default();
            servers.insert(ip, AuthorityServer::start_with(ip, zones, behaviour).await);
        }
        Hierarchy {
            servers,
            root_hints,
            dir,
        }
    }
}

/// The root zone's apex NS names with their glue addresses, from the first server that
/// serves the root zone.
fn root_hints_from_zones(servers: &BTreeMap<IpAddr, Vec<Zone>>) -> Vec<(Name, IpAddr)> {
    let root_zone = servers
        .values()
        .flatten()
        .find(|zone| zone.origin().is_root())
        .expect("no server serves the root zone: add one, or give root_hint()s explicitly");
    let mut hints = Vec::new();
    for ns in root_zone.rrset(&Name::root(), RecordType::NS) {
        let RData::NS(ns_name) = &ns.data else {
            continue;
        };
        for rtype in [RecordType::A, RecordType::AAAA] {
            for glue in root_zone.rrset(&ns_name.0, rtype) {
                match &glue.data {
                    RData::A(a) => hints.push((ns_name.0.clone(), IpAddr::V4(a.0))),
                    RData::AAAA(aaaa) => hints.push((ns_name.0.clone(), IpAddr::V6(aaaa.0))),
                    _ => {}
                }
            }
        }
    }
    assert!(
        !hints.is_empty(),
        "the root zone has no apex NS records with A/AAAA glue to build root hints from"
    );
    hints
}

/// named.root-style text: the NS RRset of `.` followed by the server addresses.
fn render_root_hints(hints: &[(Name, IpAddr)]) -> String {
    let mut text = String::from("; root hints for a fake test hierarchy\n");
    let mut names: Vec<&Name> = Vec::new();
    for (name, _) in hints {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names {
        let _ = writeln!(text, ".\t{ROOT_HINTS_TTL}\tNS\t{name}");
    }
    for (name, ip) in hints {
        let rtype = if ip.is_ipv4() { "A" } else { "AAAA" };
        let _ = writeln!(text, "{name}\t{ROOT_HINTS_TTL}\t{rtype}\t{ip}");
    }
    text
}

/// A running fake hierarchy. Dropping it stops every server and deletes the hints file.
pub struct Hierarchy {
    servers: BTreeMap<IpAddr, AuthorityServer>,
    root_hints: PathBuf,
    /// Owns the directory holding the root hints; removed on drop.
    dir: TempDir,
}

impl Hierarchy {
    pub fn builder() -> HierarchyBuilder {
        HierarchyBuilder::default()
    }

    /// Path of the root hints file (zone-file format, like IANA's named.root).
    pub fn root_hints_path(&self) -> PathBuf {
        self.root_hints.clone()
    }

    /// The directory the root hints live in; tests may put other files there too.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server registered on `ip`. Panics if there is none (e.g. a dead address).
    pub fn server(&self, ip: &str) -> &AuthorityServer {
        self.servers
            .get(&parse_ip(ip))
            .unwrap_or_else(|| panic!("no server registered on {ip}"))
    }

    /// All servers, by address.
    pub fn servers(&self) -> impl Iterator<Item = &AuthorityServer> {
        self.servers.values()
    }

    /// Queries received by all servers together.
    pub fn total_queries(&self) -> usize {
        self.servers
            .values()
            .map(AuthorityServer::query_count)
            .sum()
    }

    /// Forgets every server's query log (e.g. after warming a cache).
    pub fn clear_queries(&self) {
        self.servers
            .values()
            .for_each(AuthorityServer::clear_queries);
    }

    /// Stops every server and waits until their sockets are closed. Dropping the
    /// hierarchy stops them too, just not synchronously.
    pub async fn stop(self) {
        for server in self.servers.into_values() {
            server.stop().await;
        }
    }
}
