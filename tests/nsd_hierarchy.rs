//! The NSD test hierarchy (tests/zones/nsd) checked by hand, without ferret: the root refers to the
//! TLD, the TLD refers to the leaf, the leaf answers authoritatively with the data the other tests
//! rely on; and Unbound, given the hierarchy's root hints, resolves through it.
//!
//! Proves the peer harnesses and zone files before any ferret-vs-NSD/Unbound comparison relies on
//! them. Addresses (port 53, as root): 127.60.0.1 / 127.60.1.1 / 127.60.2.1 for the hand checks,
//! 127.60.10.1 / 127.60.11.1 / 127.60.12.1 plus Unbound on 127.60.13.1 for the Unbound check.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use common::nsd::{NsdHierarchy, require_or_skip, udp_query};
use common::unbound::UnboundServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

const TIMEOUT: Duration = Duration::from_secs(2);

fn ask(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    match udp_query(server, name, rtype, false, TIMEOUT) {
        Ok(m) => m,
        Err(e) => panic!("{name} {rtype} @{server}: {e}"),
    }
}

fn name(s: &str) -> Name {
    match Name::from_ascii(s) {
        Ok(n) => n,
        Err(e) => panic!("bad name {s}: {e}"),
    }
}

fn ns_targets(records: &[Record], owner: &str) -> Vec<Name> {
    records
        .iter()
        .filter(|r| r.name == name(owner))
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(ns.0.clone()),
            _ => None,
        })
        .collect()
}

fn a_of(records: &[Record], owner: &str) -> Vec<Ipv4Addr> {
    records
        .iter()
        .filter(|r| r.name == name(owner))
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

fn cname_of(records: &[Record], owner: &str) -> Option<Name> {
    records
        .iter()
        .filter(|r| r.name == name(owner))
        .find_map(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.clone()),
            _ => None,
        })
}

fn has_soa(records: &[Record], zone: &str) -> bool {
    records
        .iter()
        .any(|r| r.name == name(zone) && r.record_type() == RecordType::SOA)
}

/// A referral (RFC 1034 section 4.3.2 step 3b): not authoritative, no answer, the child's NS set in
/// the authority section and its glue in the additional section.
fn assert_referral(m: &Message, child: &str, child_ns: &str, glue: Ipv4Addr) {
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m}");
    assert!(
        !m.metadata.authoritative,
        "a referral is not authoritative: {m}"
    );
    assert!(m.answers.is_empty(), "a referral has no answer: {m}");
    assert_eq!(
        ns_targets(&m.authorities, child),
        vec![name(child_ns)],
        "{m}"
    );
    assert_eq!(a_of(&m.additionals, child_ns), vec![glue], "glue: {m}");
}

fn assert_nodata(m: &Message, zone: &str) {
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m}");
    assert!(m.metadata.authoritative, "{m}");
    assert!(m.answers.is_empty(), "NODATA has no answer: {m}");
    assert!(
        has_soa(&m.authorities, zone),
        "NODATA carries the SOA (RFC 2308): {m}"
    );
}

#[test]
fn nsd_hierarchy_refers_root_to_tld_to_leaf() {
    if !require_or_skip("nsd") {
        return;
    }
    let (root_ip, tld_ip, leaf_ip) = (
        Ipv4Addr::new(127, 60, 0, 1),
        Ipv4Addr::new(127, 60, 1, 1),
        Ipv4Addr::new(127, 60, 2, 1),
    );
    let h = match NsdHierarchy::start(root_ip, tld_ip, leaf_ip) {
        Ok(h) => h,
        Err(e) => panic!("starting the NSD hierarchy: {e}"),
    };
    let (root, tld, leaf) = (h.root.addr(), h.tld.addr(), h.leaf.addr());

    // The root is authoritative for "." and names its own server (priming, RFC 8109).
    let m = ask(root, ".", RecordType::NS);
    assert!(m.metadata.authoritative, "{m}");
    assert_eq!(
        ns_targets(&m.answers, "."),
        vec![name(NsdHierarchy::ROOT_NS)],
        "{m}"
    );
    assert_eq!(
        a_of(&m.additionals, NsdHierarchy::ROOT_NS),
        vec![root_ip],
        "priming glue: {m}"
    );

    // Root -> TLD -> leaf, for a name two cuts down.
    let q = "www.example.nsdtest.";
    assert_referral(
        &ask(root, q, RecordType::A),
        "nsdtest.",
        "ns1.nsdtest.",
        tld_ip,
    );
    assert_referral(
        &ask(tld, q, RecordType::A),
        "example.nsdtest.",
        "ns1.example.nsdtest.",
        leaf_ip,
    );
    let m = ask(leaf, q, RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{m}");
    assert!(m.metadata.authoritative, "{m}");
    assert_eq!(
        a_of(&m.answers, q),
        vec![Ipv4Addr::new(192, 0, 2, 10)],
        "{m}"
    );

    // Each server answers only for its own zone: the TLD is authoritative for its own names...
    let m = ask(tld, "ns.root-servers.nsdtest.", RecordType::A);
    assert!(m.metadata.authoritative, "{m}");
    assert_eq!(
        a_of(&m.answers, "ns.root-servers.nsdtest."),
        vec![root_ip],
        "{m}"
    );
    // ...and the leaf refuses what is above it (NSD answers REFUSED outside its zones).
    let m = ask(leaf, "nsdtest.", RecordType::SOA);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused, "{m}");

    // The leaf's data, as documented at the top of example.nsdtest.zone.
    let m = ask(leaf, q, RecordType::AAAA);
    let aaaa: Vec<Ipv6Addr> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        })
        .collect();
    assert_eq!(
        aaaa,
        vec![Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10)],
        "{m}"
    );

    let m = ask(leaf, "example.nsdtest.", RecordType::MX);
    let mx: Vec<(u16, Name)> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(mx, vec![(10, name("mail.example.nsdtest."))], "{m}");

    let m = ask(leaf, "txt.example.nsdtest.", RecordType::TXT);
    let txt: Vec<Vec<u8>> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(t.txt_data.iter().flat_map(|s| s.iter().copied()).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(txt, vec![b"hello from nsdsecond string".to_vec()], "{m}");

    // CNAME chain inside the zone: the authority follows it itself (RFC 1034 section 4.3.2).
    let m = ask(leaf, "alias.example.nsdtest.", RecordType::A);
    assert!(m.metadata.authoritative, "{m}");
    assert_eq!(
        cname_of(&m.answers, "alias.example.nsdtest."),
        Some(name("alias2.example.nsdtest."))
    );
    assert_eq!(
        cname_of(&m.answers, "alias2.example.nsdtest."),
        Some(name("www.example.nsdtest."))
    );
    assert_eq!(
        a_of(&m.answers, q),
        vec![Ipv4Addr::new(192, 0, 2, 10)],
        "{m}"
    );

    // CNAME out of the zone: only the CNAME; the resolver has to chase the target from the TLD.
    let m = ask(leaf, "out.example.nsdtest.", RecordType::A);
    assert_eq!(
        cname_of(&m.answers, "out.example.nsdtest."),
        Some(name("ns1.nsdtest.")),
        "{m}"
    );
    assert!(a_of(&m.answers, "ns1.nsdtest.").is_empty(), "{m}");

    // Wildcard synthesis (RFC 4592), and an explicit name under it that the wildcard does not cover.
    let m = ask(leaf, "anything.wild.example.nsdtest.", RecordType::A);
    assert!(m.metadata.authoritative, "{m}");
    assert_eq!(
        a_of(&m.answers, "anything.wild.example.nsdtest."),
        vec![Ipv4Addr::new(192, 0, 2, 99)],
        "{m}"
    );
    assert_nodata(
        &ask(leaf, "host.wild.example.nsdtest.", RecordType::TXT),
        "example.nsdtest.",
    );

    // NODATA: an existing name without the type, and an empty non-terminal.
    assert_nodata(&ask(leaf, q, RecordType::MX), "example.nsdtest.");
    assert_nodata(
        &ask(leaf, "ent.example.nsdtest.", RecordType::A),
        "example.nsdtest.",
    );

    // NXDOMAIN with the SOA for negative caching (RFC 2308 section 3).
    let m = ask(leaf, "nothing-here.example.nsdtest.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m}");
    assert!(m.metadata.authoritative, "{m}");
    assert!(has_soa(&m.authorities, "example.nsdtest."), "{m}");
}

#[test]
fn unbound_resolves_through_nsd_hierarchy() {
    if !require_or_skip("nsd") || !require_or_skip("unbound") {
        return;
    }
    let h = match NsdHierarchy::start(
        Ipv4Addr::new(127, 60, 10, 1),
        Ipv4Addr::new(127, 60, 11, 1),
        Ipv4Addr::new(127, 60, 12, 1),
    ) {
        Ok(h) => h,
        Err(e) => panic!("starting the NSD hierarchy: {e}"),
    };
    let unbound = match UnboundServer::start(
        IpAddr::V4(Ipv4Addr::new(127, 60, 13, 1)),
        53,
        h.root_hints(),
    ) {
        Ok(u) => u,
        Err(e) => panic!("starting unbound: {e}"),
    };
    let resolve = |qname: &str, rtype: RecordType| match udp_query(
        unbound.addr(),
        qname,
        rtype,
        true,
        Duration::from_secs(5),
    ) {
        Ok(m) => m,
        Err(e) => panic!(
            "{qname} {rtype} via unbound: {e}\nunbound log:\n{}",
            unbound.log()
        ),
    };

    let m = resolve("www.example.nsdtest.", RecordType::A);
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::NoError,
        "{m}\n{}",
        unbound.log()
    );
    assert!(m.metadata.recursion_available, "{m}");
    assert_eq!(
        a_of(&m.answers, "www.example.nsdtest."),
        vec![Ipv4Addr::new(192, 0, 2, 10)],
        "{m}"
    );

    // The out-of-zone CNAME makes Unbound restart at the TLD.
    let m = resolve("out.example.nsdtest.", RecordType::A);
    assert_eq!(
        a_of(&m.answers, "ns1.nsdtest."),
        vec![Ipv4Addr::new(127, 60, 11, 1)],
        "{m}"
    );

    let m = resolve("nothing-here.example.nsdtest.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain, "{m}");
}
