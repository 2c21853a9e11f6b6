//! DNSSEC validation against a signed fake hierarchy (tests/common/signed.rs): NSD serves zones
//! signed at test time with ldns-signzone, Unbound (validating, with the hierarchy's own trust
//! anchor) is the reference, and ferret must agree with it.
//!
//! [`CASES`] is the one table of expectations. `unbound_validates_the_hierarchy_as_expected`
//! proves the table (and so the fixtures) against Unbound; `ferret_agrees_with_unbound_on_every_case`
//! holds ferret to it. The other tests cover the CD and AD bits, negative trust anchors,
//! aggressive NSEC, DNSSEC off, and the KeyTrap work limits, whose fixtures Unbound validates
//! (its limits are higher) while ferret's defaults must refuse them.
//!
//! Needs `nsd`, `unbound` and `ldnsutils` (ldns-keygen, ldns-signzone, ldns-key2ds). Without them
//! the tests skip with a message, except under CI=true, where they fail.
//!
//! Address blocks 200–209, 214–219 and 240–242 (127.B.x.y) belong to this file, one per test: the
//! hierarchy on 127.B.{0,1,2,3}.1, Unbound on 127.B.100.1, ferret on 127.B.200.1. In use: 200
//! Unbound and the table, 201 ferret and the table, 202 CD, 203 AD/DO, 204 negative trust
//! anchors, 205 aggressive NSEC (NSD control on 127.205.2.1:8952), 206–209 and 219 the KeyTrap
//! limits (a)–(e), 240 validation off, 218 the fixtures at NSD, 242 NSEC3 iterations, 214 Ed448,
//! 215 the DNSKEY-form anchor, 216 ferret ctl, 217 reload, 241 wildcard proofs. 210–213 are the benchmarks'
//! (dnsperf.sh, cold.sh, memory.sh, soak.sh), so tests and benchmarks can run on one machine at once.
//!
//! Run: `cargo test --test dnssec` (about 20 s on two cores; `-- --nocapture` prints every
//! Unbound answer of the table test).

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::client::{
    DnssecQuery, answer_strings, authentic, count_type, ede_codes, extended_errors, query_dnssec,
    rcode, rrsig_covered_types,
};
use common::nsd::require_or_skip;
use common::signed::{SignedHierarchy, UNKNOWN_ALGORITHM, UNKNOWN_DIGEST, require_tools_or_skip};
use common::unbound::UnboundServer;
use ferret::Config;
use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, RRSIG};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use RecordType::{A, AAAA, MX, TXT};
use ResponseCode::{NXDomain, NoError, ServFail};

/// `(name, qtype, rcode, AD, EDE INFO-CODE)`: what a validating resolver with the hierarchy's
/// trust anchor answers a DO=1 query with. The EDE is what ferret must attach to its SERVFAIL
/// (RFC 8914 §4: 6 bogus, 7 signature expired, 8 not yet valid, 9 DNSKEY missing, 10 RRSIGs
/// missing, 12 NSEC missing).
type Case = (&'static str, RecordType, ResponseCode, bool, Option<u16>);

const CASES: &[Case] = &[
    // Secure answers, over each algorithm and key layout.
    ("www.secure.test.", A, NoError, true, None),
    ("www.secure.test.", AAAA, NoError, true, None),
    ("secure.test.", MX, NoError, true, None),
    ("cname1.secure.test.", A, NoError, true, None),
    ("anything.wild.secure.test.", A, NoError, true, None),
    ("www.dn.secure.test.", A, NoError, true, None),
    ("www.ecdsa.test.", A, NoError, true, None),
    ("www.ed25519.test.", A, NoError, true, None),
    ("www.l3.l2.deep.test.", A, NoError, true, None),
    // Secure denial: NSEC, NSEC3.
    ("nx.secure.test.", A, NXDomain, true, None),
    ("www.secure.test.", TXT, NoError, true, None),
    ("b.nsec.test.", A, NXDomain, true, None),
    ("www.nsec3.test.", A, NoError, true, None),
    ("nx.nsec3.test.", A, NXDomain, true, None),
    ("a.b.c.nsec3.test.", A, NXDomain, true, None),
    ("www.nsec3.test.", TXT, NoError, true, None),
    ("www.optout.test.", A, NoError, true, None),
    // Insecure: no DS, opt-out, unsupported algorithm or digest, too many NSEC3 iterations.
    ("www.insecure.test.", A, NoError, false, None),
    ("www.unsigned.optout.test.", A, NoError, false, None),
    // The next closer name falls in an opt-out span: an unsigned delegation could exist there,
    // so the NXDOMAIN is not provably secure (RFC 5155 §12.2.1 and Unbound's reading of it).
    ("nx.optout.test.", A, NXDomain, false, None),
    ("www.unknown-alg.test.", A, NoError, false, None),
    ("www.unknown-digest.test.", A, NoError, false, None),
    ("www.nsec3iter.test.", A, NoError, true, None),
    ("nx.nsec3iter.test.", A, NXDomain, false, None),
    ("to-insecure.secure.test.", A, NoError, false, None),
    // Bogus.
    ("www.badsig.test.", A, ServFail, false, Some(6)),
    ("www.expired.test.", A, ServFail, false, Some(7)),
    ("www.future.test.", A, ServFail, false, Some(8)),
    ("www.wrongds.test.", A, ServFail, false, Some(9)),
    ("www.nosig.test.", A, ServFail, false, Some(10)),
    ("www.nodnskey.test.", A, ServFail, false, Some(9)),
    ("www.zsksigned.test.", A, ServFail, false, Some(10)),
    ("b.badnsec.test.", A, ServFail, false, Some(12)),
    ("to-bogus.secure.test.", A, ServFail, false, Some(6)),
];

/// Where Unbound's EDE INFO-CODE differs from the table's, and why the table keeps its own.
/// For `b.badnsec.test.` the NSEC that would cover the name is absent: RFC 8914 §4.13 ("NSEC
/// Missing: ... a covering NSEC or NSEC3 was not provided") fits; Unbound reports its generic
/// "nameerror proof failed" as 6 (DNSSEC Bogus).
const UNBOUND_EDE: &[(&str, u16)] = &[("b.badnsec.test.", 6)];

/// The KeyTrap fixtures: valid data behind extra work. Unbound (limits far above these) answers
/// them secure; ferret with its default limits must refuse them.
const KEYTRAP: &[&str] = &["www.rrsigs.test.", "www.keytag.test.", "www.manyds.test."];

fn v4(block: u8, a: u8, b: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, block, a, b)
}

fn hierarchy(block: u8) -> SignedHierarchy {
    let started = Instant::now();
    let h = SignedHierarchy::start(block)
        .unwrap_or_else(|e| panic!("the signed hierarchy does not start: {e}"));
    eprintln!(
        "signed hierarchy on block {block} ready in {:?}",
        started.elapsed()
    );
    h
}

fn unbound(block: u8, h: &SignedHierarchy, domain_insecure: &[&str]) -> UnboundServer {
    UnboundServer::start_validating(
        IpAddr::V4(v4(block, 100, 1)),
        53,
        h.root_hints(),
        h.trust_anchor(),
        domain_insecure,
    )
    .unwrap_or_else(|e| panic!("validating Unbound does not start: {e}"))
}

/// test_config with validation on, anchored at the hierarchy's root.
fn dnssec_config(block: u8, h: &SignedHierarchy) -> Config {
    let mut config = common::ferret::test_config(block, h.root_hints());
    config.dnssec = true;
    config.trust_anchors = vec![h.trust_anchor().to_path_buf()];
    config
}

/// Skips (or fails under CI) unless NSD, the ldns tools and, if `with_unbound`, Unbound exist.
fn peers_present(with_unbound: bool) -> bool {
    require_tools_or_skip() && (!with_unbound || require_or_skip("unbound"))
}

/// `rcode AD=x EDE=[..]` of a response, for reports.
fn summary(m: &Message) -> String {
    format!(
        "{} AD={} EDE={:?} answer={:?}",
        rcode(m),
        u8::from(authentic(m)),
        extended_errors(m),
        answer_strings(m)
    )
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap_or_else(|e| panic!("bad name {s}: {e}"))
}

// -------------------------------------------------------------------------------------------
// The reference: Unbound
// -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_validates_the_hierarchy_as_expected() {
    if !peers_present(true) {
        return;
    }
    let h = hierarchy(200);
    let unbound = unbound(200, &h, &[]);
    let mut wrong = Vec::new();
    for &(qname, qtype, want_rcode, want_ad, want_ede) in CASES {
        let m = query_dnssec(unbound.addr(), qname, qtype, DnssecQuery::do_bit()).await;
        let ede = ede_codes(&m);
        eprintln!("unbound {qname} {qtype}: {}", summary(&m));
        if rcode(&m) != want_rcode || authentic(&m) != want_ad {
            wrong.push(format!(
                "{qname} {qtype}: want {want_rcode} AD={}, Unbound says {}",
                u8::from(want_ad),
                summary(&m)
            ));
        }
        let unbound_ede = UNBOUND_EDE
            .iter()
            .find(|(n, _)| *n == qname)
            .map(|&(_, code)| code)
            .or(want_ede);
        if let Some(code) = unbound_ede
            && !ede.contains(&code)
        {
            wrong.push(format!(
                "{qname} {qtype}: want EDE {code}, Unbound says {ede:?}"
            ));
        }
    }
    for &qname in KEYTRAP {
        let m = query_dnssec(unbound.addr(), qname, A, DnssecQuery::do_bit()).await;
        eprintln!("unbound {qname} A (KeyTrap fixture): {}", summary(&m));
        if rcode(&m) != NoError || !authentic(&m) {
            wrong.push(format!(
                "{qname} A: Unbound should validate the KeyTrap fixture (secure), says {}",
                summary(&m)
            ));
        }
    }
    // Ed448: Unbound with OpenSSL 3 validates it (ferret's crypto has no Ed448: see below).
    let m = query_dnssec(unbound.addr(), "www.ed448.test.", A, DnssecQuery::do_bit()).await;
    eprintln!("unbound www.ed448.test. A: {}", summary(&m));
    if rcode(&m) != NoError || !authentic(&m) {
        wrong.push(format!("www.ed448.test. A: Unbound says {}", summary(&m)));
    }
    assert!(
        wrong.is_empty(),
        "Unbound disagrees with the table:\n{}\n\nUnbound log:\n{}",
        wrong.join("\n"),
        unbound.log()
    );
}

/// What NSD serves for the hand-made fixtures, checked at the wire with hickory's own DNSSEC
/// code, so that a fixture that stopped being what it claims fails here and not as a mystery in
/// the resolver tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_serves_the_fixtures_as_crafted() {
    if !peers_present(false) {
        return;
    }
    let h = hierarchy(218);
    let leaves = h.leaves.addr();
    let tld = h.tld.addr();
    let ask = |server: SocketAddr, qname: &'static str, qtype: RecordType| async move {
        query_dnssec(server, qname, qtype, DnssecQuery::authoritative()).await
    };

    // Every RRSIG of www A verifies with some key of the zone in a sound zone...
    let keys = dnskeys(&ask(leaves, "secure.test.", RecordType::DNSKEY).await);
    let m = ask(leaves, "www.secure.test.", A).await;
    assert_eq!(
        verifying(&m, "www.secure.test.", A, &keys),
        vec![true],
        "{m}"
    );

    // badsig: one RRSIG, which does not verify.
    let keys = dnskeys(&ask(leaves, "badsig.test.", RecordType::DNSKEY).await);
    let m = ask(leaves, "www.badsig.test.", A).await;
    assert_eq!(
        verifying(&m, "www.badsig.test.", A, &keys),
        vec![false],
        "{m}"
    );

    // nosig: the A record without any RRSIG.
    let m = ask(leaves, "www.nosig.test.", A).await;
    assert_eq!(count_type(&m.answers, A), 1, "{m}");
    assert!(rrsig_covered_types(&m.answers).is_empty(), "{m}");

    // nodnskey: no DNSKEY at the apex, though the parent has a DS.
    let m = ask(leaves, "nodnskey.test.", RecordType::DNSKEY).await;
    assert_eq!(count_type(&m.answers, RecordType::DNSKEY), 0, "{m}");
    assert_eq!(
        ds_set(&ask(tld, "nodnskey.test.", RecordType::DS).await).len(),
        1
    );

    // expired / future: the signature window lies wholly in the past / the future.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for (qname, past) in [("www.expired.test.", true), ("www.future.test.", false)] {
        let m = ask(leaves, qname, A).await;
        let sigs = rrsigs(&m, qname, A);
        assert_eq!(sigs.len(), 1, "{m}");
        let input = sigs[0].input();
        let (inception, expiration) = (
            u64::from(input.sig_inception.get()),
            u64::from(input.sig_expiration.get()),
        );
        if past {
            assert!(expiration < now, "{qname} expires {expiration}, now {now}");
        } else {
            assert!(inception > now, "{qname} incepts {inception}, now {now}");
        }
    }

    // wrongds: the DS names no key of the zone.
    let keys = dnskeys(&ask(leaves, "wrongds.test.", RecordType::DNSKEY).await);
    let ds = ds_set(&ask(tld, "wrongds.test.", RecordType::DS).await);
    assert_eq!(ds.len(), 1);
    assert!(
        !covers_any(&ds[0], "wrongds.test.", &keys),
        "{ds:?} {keys:?}"
    );

    // zsksigned: the DS names the KSK, but only the ZSK signs the DNSKEY RRset.
    let m = ask(leaves, "zsksigned.test.", RecordType::DNSKEY).await;
    let keys = dnskeys(&m);
    let ds = ds_set(&ask(tld, "zsksigned.test.", RecordType::DS).await);
    let ksk: Vec<&DNSKEY> = keys
        .iter()
        .filter(|k| covers_any(&ds[0], "zsksigned.test.", &[(*k).clone()]))
        .collect();
    assert_eq!(ksk.len(), 1, "the DS names one key of the set");
    let signers: Vec<u16> = rrsigs(&m, "zsksigned.test.", RecordType::DNSKEY)
        .iter()
        .map(|s| s.input().key_tag)
        .collect();
    assert_eq!(signers.len(), 1, "{m}");
    assert_ne!(
        Some(signers[0]),
        ksk[0].calculate_key_tag().ok(),
        "the DNSKEY RRset must not be signed by the KSK: {m}"
    );

    // badnsec: NXDOMAIN for b with only the apex NSEC (badnsec.test. → a), which covers
    // *.badnsec.test. but not b.
    let m = ask(leaves, "b.badnsec.test.", A).await;
    assert_eq!(rcode(&m), NXDomain, "{m}");
    let nsecs: Vec<(Name, Name)> = m
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => {
                Some((r.name.clone(), n.next_domain_name().clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        nsecs,
        vec![(name("badnsec.test."), name("a.badnsec.test."))],
        "{m}"
    );

    // optout: the referral to the unsigned child proves no DS with an opt-out NSEC3.
    let m = ask(leaves, "www.unsigned.optout.test.", A).await;
    assert_eq!(count_type(&m.authorities, RecordType::NS), 1, "{m}");
    assert_eq!(count_type(&m.authorities, RecordType::DS), 0, "{m}");
    let opt_out: Vec<bool> = m
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some(n.opt_out()),
            _ => None,
        })
        .collect();
    assert!(!opt_out.is_empty() && opt_out.iter().all(|&o| o), "{m}");

    // nsec3iter: 200 iterations.
    let m = ask(leaves, "nx.nsec3iter.test.", A).await;
    let iterations: Vec<u16> = m
        .authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => Some(n.iterations()),
            _ => None,
        })
        .collect();
    assert!(
        !iterations.is_empty() && iterations.iter().all(|&i| i == 200),
        "{m}"
    );

    // Unknown algorithm and digest type: the parent's only DS.
    let ds = ds_set(&ask(tld, "unknown-alg.test.", RecordType::DS).await);
    assert_eq!(
        ds.iter()
            .map(|d| u8::from(d.algorithm()))
            .collect::<Vec<_>>(),
        vec![UNKNOWN_ALGORITHM]
    );
    let ds = ds_set(&ask(tld, "unknown-digest.test.", RecordType::DS).await);
    assert_eq!(
        ds.iter()
            .map(|d| u8::from(d.digest_type()))
            .collect::<Vec<_>>(),
        vec![UNKNOWN_DIGEST]
    );

    // KeyTrap (a): three RRSIGs over www A, served in ascending key-tag order, only the last
    // verifies.
    let keys = dnskeys(&ask(leaves, "rrsigs.test.", RecordType::DNSKEY).await);
    let m = ask(leaves, "www.rrsigs.test.", A).await;
    assert_eq!(
        verifying(&m, "www.rrsigs.test.", A, &keys),
        vec![false, false, true],
        "{m}"
    );

    // KeyTrap (b): three DNSKEYs share the ZSK's tag and algorithm; in the order served, only
    // the last of them verifies the RRSIG of www A.
    let keys = dnskeys(&ask(leaves, "keytag.test.", RecordType::DNSKEY).await);
    let m = ask(leaves, "www.keytag.test.", A).await;
    let sigs = rrsigs(&m, "www.keytag.test.", A);
    assert_eq!(sigs.len(), 1, "{m}");
    let tag = sigs[0].input().key_tag;
    let same_tag: Vec<&DNSKEY> = keys
        .iter()
        .filter(|k| k.calculate_key_tag().ok() == Some(tag))
        .collect();
    let records: Vec<Record> = m
        .answers
        .iter()
        .filter(|r| r.record_type() == A)
        .cloned()
        .collect();
    let verifies: Vec<bool> = same_tag
        .iter()
        .map(|k| {
            k.verify_rrsig(
                &name("www.keytag.test."),
                DNSClass::IN,
                sigs[0],
                records.iter(),
            )
            .is_ok()
        })
        .collect();
    assert_eq!(verifies, vec![false, false, true], "{keys:?}");

    // KeyTrap (c): nine DS with one tag at the parent, served so that only the last matches.
    let keys = dnskeys(&ask(leaves, "manyds.test.", RecordType::DNSKEY).await);
    let ds = ds_set(&ask(tld, "manyds.test.", RecordType::DS).await);
    let matches: Vec<bool> = ds
        .iter()
        .map(|d| covers_any(d, "manyds.test.", &keys))
        .collect();
    let mut want = vec![false; 8];
    want.push(true);
    assert_eq!(matches, want, "{ds:?}");
    assert!(ds.iter().all(|d| d.key_tag() == ds[0].key_tag()));
}

fn dnskeys(m: &Message) -> Vec<DNSKEY> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

fn ds_set(m: &Message) -> Vec<DS> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn rrsigs<'a>(m: &'a Message, owner: &str, covered: RecordType) -> Vec<&'a RRSIG> {
    m.answers
        .iter()
        .filter(|r| r.name == name(owner))
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == covered => Some(s),
            _ => None,
        })
        .collect()
}

/// For each RRSIG over `owner`/`covered` in the answer, in the order served: whether some key of
/// `keys` with its tag verifies it.
fn verifying(m: &Message, owner: &str, covered: RecordType, keys: &[DNSKEY]) -> Vec<bool> {
    let records: Vec<Record> = m
        .answers
        .iter()
        .filter(|r| r.name == name(owner) && r.record_type() == covered)
        .cloned()
        .collect();
    rrsigs(m, owner, covered)
        .iter()
        .map(|sig| {
            keys.iter()
                .filter(|k| k.calculate_key_tag().ok() == Some(sig.input().key_tag))
                .any(|k| {
                    k.verify_rrsig(&name(owner), DNSClass::IN, sig, records.iter())
                        .is_ok()
                })
        })
        .collect()
}

fn covers_any(ds: &DS, owner: &str, keys: &[DNSKEY]) -> bool {
    keys.iter()
        .any(|k| ds.covers(&name(owner), k).unwrap_or(false))
}

// -------------------------------------------------------------------------------------------
// ferret
// -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferret_agrees_with_unbound_on_every_case() {
    if !peers_present(true) {
        return;
    }
    let h = hierarchy(201);
    let unbound = unbound(201, &h, &[]);
    let ferret = common::ferret::start(&dnssec_config(201, &h)).await;
    let at = common::ferret::addr(&ferret);
    let mut wrong = Vec::new();
    for &(qname, qtype, want_rcode, want_ad, want_ede) in CASES {
        let u = query_dnssec(unbound.addr(), qname, qtype, DnssecQuery::do_bit()).await;
        let f = query_dnssec(at, qname, qtype, DnssecQuery::do_bit()).await;
        if rcode(&u) != want_rcode || authentic(&u) != want_ad {
            wrong.push(format!(
                "{qname} {qtype}: Unbound itself is off the table ({}): a fixture problem",
                summary(&u)
            ));
        }
        if rcode(&f) != rcode(&u) || authentic(&f) != authentic(&u) {
            wrong.push(format!(
                "{qname} {qtype}: Unbound {} / ferret {}",
                summary(&u),
                summary(&f)
            ));
        } else if let Some(code) = want_ede
            && !ede_codes(&f).contains(&code)
        {
            wrong.push(format!(
                "{qname} {qtype}: ferret's SERVFAIL should carry EDE {code}, has {:?}",
                extended_errors(&f)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases differ:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cd_bit_returns_bogus_data_without_ad_and_cd0_still_fails() {
    if !peers_present(false) {
        return;
    }
    let h = hierarchy(202);
    let ferret = common::ferret::start(&dnssec_config(202, &h)).await;
    let at = common::ferret::addr(&ferret);

    // Bogus, CD=1 first: the data, unvalidated, so never AD (RFC 4035 §3.2.2).
    let m = query_dnssec(at, "www.badsig.test.", A, DnssecQuery::cd()).await;
    assert_eq!(rcode(&m), NoError, "CD=1 on a bogus name: {}", summary(&m));
    assert!(
        answer_strings(&m).contains(&"www.badsig.test. A 192.0.2.20".to_string()),
        "CD=1 returns the bogus data: {}",
        summary(&m)
    );
    assert!(!authentic(&m), "bogus data is never AD: {}", summary(&m));
    // ...and what CD=1 fetched must not be served to a CD=0 client.
    let m = query_dnssec(at, "www.badsig.test.", A, DnssecQuery::do_bit()).await;
    assert_eq!(rcode(&m), ServFail, "CD=0 after CD=1: {}", summary(&m));
    assert!(ede_codes(&m).contains(&6), "{}", summary(&m));

    // Secure, CD=1 first: CD=0 afterwards still gets the validated answer, AD=1.
    let m = query_dnssec(at, "www.ecdsa.test.", A, DnssecQuery::cd()).await;
    assert_eq!(rcode(&m), NoError, "{}", summary(&m));
    assert_eq!(
        count_type(&m.answers, A),
        1,
        "CD=1 on a secure name: {}",
        summary(&m)
    );
    let m = query_dnssec(at, "www.ecdsa.test.", A, DnssecQuery::do_bit()).await;
    assert_eq!(rcode(&m), NoError, "{}", summary(&m));
    assert!(
        authentic(&m),
        "CD=0 after CD=1 on a secure name must be AD: {}",
        summary(&m)
    );
}

/// The AD and DO rules of RFC 3225, RFC 4035 §3.2 and RFC 6840 §5.7 at `server`; the problems
/// found, prefixed with `who`.
async fn ad_rule_problems(server: SocketAddr, who: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(format!("{who}: {what}"));
        }
    };
    let q = "www.secure.test.";
    let m = query_dnssec(server, q, A, DnssecQuery::plain()).await;
    check(
        rcode(&m) == NoError && !authentic(&m),
        format!("DO=0 AD=0 must get no AD: {}", summary(&m)),
    );
    check(
        rrsig_covered_types(&m.answers).is_empty(),
        format!("DO=0 must get no RRSIGs: {}", summary(&m)),
    );
    let m = query_dnssec(server, q, A, DnssecQuery::do_bit()).await;
    check(
        rcode(&m) == NoError && authentic(&m),
        format!("DO=1 must get AD: {}", summary(&m)),
    );
    check(
        rrsig_covered_types(&m.answers) == [A],
        format!("DO=1 must get the RRSIG: {}", summary(&m)),
    );
    let m = query_dnssec(server, q, A, DnssecQuery::ad_only()).await;
    check(
        rcode(&m) == NoError && authentic(&m),
        format!("DO=0 AD=1 must get AD (RFC 6840 §5.7): {}", summary(&m)),
    );
    check(
        rrsig_covered_types(&m.answers).is_empty(),
        format!("DO=0 AD=1 must get no RRSIGs: {}", summary(&m)),
    );

    // Negative answers with DO=1 carry their proof, signed.
    for (qname, qtype, want, denial) in [
        ("nx.secure.test.", A, NXDomain, RecordType::NSEC),
        ("www.secure.test.", TXT, NoError, RecordType::NSEC),
        ("nx.nsec3.test.", A, NXDomain, RecordType::NSEC3),
        ("www.nsec3.test.", TXT, NoError, RecordType::NSEC3),
    ] {
        let m = query_dnssec(server, qname, qtype, DnssecQuery::do_bit()).await;
        let signed = rrsig_covered_types(&m.authorities);
        check(
            rcode(&m) == want
                && authentic(&m)
                && count_type(&m.authorities, denial) > 0
                && signed.contains(&denial)
                && signed.contains(&RecordType::SOA),
            format!(
                "{qname} {qtype} DO=1: want {want} AD=1 with {denial}+RRSIG and SOA+RRSIG in authority, got {} authority {:?}",
                summary(&m),
                m.authorities
                    .iter()
                    .map(|r| r.record_type())
                    .collect::<Vec<_>>()
            ),
        );
        let m = query_dnssec(server, qname, qtype, DnssecQuery::plain()).await;
        check(
            rcode(&m) == want
                && count_type(&m.authorities, denial) == 0
                && rrsig_covered_types(&m.authorities).is_empty(),
            format!(
                "{qname} {qtype} DO=0: no {denial} or RRSIG: {}",
                summary(&m)
            ),
        );
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_only_for_do_or_ad_queries() {
    if !peers_present(true) {
        return;
    }
    let h = hierarchy(203);
    // Unbound first: it shows the expectations hold for a validator that follows the RFCs.
    let unbound = unbound(203, &h, &[]);
    let problems = ad_rule_problems(unbound.addr(), "Unbound").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let ferret = common::ferret::start(&dnssec_config(203, &h)).await;
    let problems = ad_rule_problems(common::ferret::addr(&ferret), "ferret").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// With `badsig.test.` as a negative trust anchor: its bogus data answers, unmarked; another
/// bogus zone still fails, a secure one is still AD.
async fn nta_problems(server: SocketAddr, who: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let m = query_dnssec(server, "www.badsig.test.", A, DnssecQuery::do_bit()).await;
    if rcode(&m) != NoError || authentic(&m) || count_type(&m.answers, A) != 1 {
        problems.push(format!(
            "{who}: www.badsig.test. under the NTA: want NOERROR AD=0 with the A, got {}",
            summary(&m)
        ));
    }
    let m = query_dnssec(server, "www.expired.test.", A, DnssecQuery::do_bit()).await;
    if rcode(&m) != ServFail {
        problems.push(format!(
            "{who}: www.expired.test. (no NTA) must stay SERVFAIL: {}",
            summary(&m)
        ));
    }
    let m = query_dnssec(server, "www.secure.test.", A, DnssecQuery::do_bit()).await;
    if rcode(&m) != NoError || !authentic(&m) {
        problems.push(format!(
            "{who}: www.secure.test. must stay secure: {}",
            summary(&m)
        ));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_trust_anchor_makes_a_bogus_zone_insecure() {
    if !peers_present(true) {
        return;
    }
    let h = hierarchy(204);
    let unbound = unbound(204, &h, &["badsig.test."]);
    let problems = nta_problems(unbound.addr(), "Unbound (domain-insecure)").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let mut config = dnssec_config(204, &h);
    config.negative_trust_anchors = vec![name("badsig.test.")];
    let ferret = common::ferret::start(&config).await;
    let problems = nta_problems(common::ferret::addr(&ferret), "ferret").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Asks `server` for `b.nsec.test.` (NXDOMAIN, proven by the NSEC a → m) and then for
/// `c.nsec.test.`, which the same NSEC covers; returns the first answer and how many queries
/// the leaves' NSD received for the second.
async fn second_nxdomain_cost(server: SocketAddr, h: &SignedHierarchy) -> (Message, Message, u64) {
    let first = query_dnssec(server, "b.nsec.test.", A, DnssecQuery::do_bit()).await;
    let before = h
        .leaves
        .queries_received()
        .unwrap_or_else(|e| panic!("reading NSD's statistics: {e}"));
    let second = query_dnssec(server, "c.nsec.test.", A, DnssecQuery::do_bit()).await;
    let after = h
        .leaves
        .queries_received()
        .unwrap_or_else(|e| panic!("reading NSD's statistics: {e}"));
    (first, second, after - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggressive_nsec_answers_covered_names_without_asking() {
    if !peers_present(true) || !require_or_skip("nsd-control") {
        return;
    }
    let h = SignedHierarchy::start_with_leaf_control(205, 8952)
        .unwrap_or_else(|e| panic!("the signed hierarchy does not start: {e}"));

    // Unbound (aggressive-nsec: yes) shows the fixture: one NSEC range, the second name free.
    let unbound = unbound(205, &h, &[]);
    let (first, second, asked) = second_nxdomain_cost(unbound.addr(), &h).await;
    assert!(
        rcode(&first) == NXDomain && authentic(&first),
        "Unbound: {}",
        summary(&first)
    );
    assert_eq!(rcode(&second), NXDomain, "Unbound: {}", summary(&second));
    assert_eq!(
        asked, 0,
        "Unbound asked the leaves' NSD {asked} times for c.nsec.test."
    );

    let ferret = common::ferret::start(&dnssec_config(205, &h)).await;
    let (first, second, asked) = second_nxdomain_cost(common::ferret::addr(&ferret), &h).await;
    assert_eq!(rcode(&first), NXDomain, "ferret: {}", summary(&first));
    assert!(
        authentic(&first),
        "ferret: the NSEC proof must validate before it can be used aggressively: {}",
        summary(&first)
    );
    assert!(
        rcode(&second) == NXDomain && authentic(&second),
        "ferret: c.nsec.test. from the cached NSEC: {}",
        summary(&second)
    );
    assert_eq!(
        asked, 0,
        "ferret asked the leaves' NSD {asked} times for c.nsec.test., which a validated NSEC covers"
    );
    drop(ferret);

    let mut config = dnssec_config(205, &h);
    config.aggressive_nsec = false;
    let ferret = common::ferret::start(&config).await;
    let (_, second, asked) = second_nxdomain_cost(common::ferret::addr(&ferret), &h).await;
    assert_eq!(rcode(&second), NXDomain, "ferret: {}", summary(&second));
    assert!(
        asked >= 1,
        "with aggressive-nsec off ferret must ask for c.nsec.test., asked {asked} times"
    );
}

// -------------------------------------------------------------------------------------------
// KeyTrap and NSEC3 work limits
// -------------------------------------------------------------------------------------------

/// Asks a ferret with `tight` limits for `qname qtype` (must be SERVFAIL, quickly), then one with
/// `loose` limits (must be `want` with AD=1).
async fn limit_trips_then_resolves(
    block: u8,
    qname: &str,
    qtype: RecordType,
    tight: impl Fn(&mut Config),
    loose: impl Fn(&mut Config),
    want: ResponseCode,
) {
    let h = hierarchy(block);
    let mut config = dnssec_config(block, &h);
    tight(&mut config);
    let bound = Duration::from_millis(config.limits.resolution_timeout_ms) + Duration::from_secs(1);
    let ferret = common::ferret::start(&config).await;
    let started = Instant::now();
    let m = query_dnssec(
        common::ferret::addr(&ferret),
        qname,
        qtype,
        DnssecQuery::do_bit(),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(
        rcode(&m),
        ServFail,
        "{qname} {qtype} with the limit tight: {}",
        summary(&m)
    );
    assert!(
        took < bound,
        "{qname} {qtype}: SERVFAIL took {took:?}, more than {bound:?}"
    );
    drop(ferret);

    let mut config = dnssec_config(block, &h);
    loose(&mut config);
    let ferret = common::ferret::start(&config).await;
    let m = query_dnssec(
        common::ferret::addr(&ferret),
        qname,
        qtype,
        DnssecQuery::do_bit(),
    )
    .await;
    assert!(
        rcode(&m) == want && authentic(&m),
        "{qname} {qtype} with the limit raised: want {want} AD=1, got {}",
        summary(&m)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rrsigs_per_rrset_stops_at_the_corrupt_signatures() {
    if !peers_present(false) {
        return;
    }
    // (a) www A has 3 RRSIGs, the first two served corrupt; the default tries 2.
    assert_eq!(Config::default().limits.max_rrsigs_per_rrset, 2);
    limit_trips_then_resolves(
        206,
        "www.rrsigs.test.",
        A,
        |_| {},
        |c| c.limits.max_rrsigs_per_rrset = 3,
        NoError,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_dnskeys_per_tag_stops_at_the_colliding_keys() {
    if !peers_present(false) {
        return;
    }
    // (b) three DNSKEYs share the ZSK's tag, the real one served last; the default tries 2.
    assert_eq!(Config::default().limits.max_dnskeys_per_tag, 2);
    limit_trips_then_resolves(
        207,
        "www.keytag.test.",
        A,
        |_| {},
        |c| c.limits.max_dnskeys_per_tag = 3,
        NoError,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_ds_per_zone_stops_at_the_junk_ds() {
    if !peers_present(false) {
        return;
    }
    // (c) nine DS for manyds.test., the real one served last; the default considers 8.
    assert_eq!(Config::default().limits.max_ds_per_zone, 8);
    limit_trips_then_resolves(
        208,
        "www.manyds.test.",
        A,
        |_| {},
        |c| c.limits.max_ds_per_zone = 9,
        NoError,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_nsec3_hash_computations_stops_a_closest_encloser_proof() {
    if !peers_present(false) {
        return;
    }
    // (d) the NXDOMAIN proof for a.b.c.nsec3.test. hashes a.b.c, b.c, c and the apex to find
    // the closest encloser, and the wildcard: more than 2.
    limit_trips_then_resolves(
        209,
        "a.b.c.nsec3.test.",
        A,
        |c| c.limits.max_nsec3_hash_computations = 2,
        |_| {},
        NXDomain,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_signature_validations_stops_a_deep_chain() {
    if !peers_present(false) {
        return;
    }
    // (e) . → test. → deep.test. → l2.deep.test. → l3.l2.deep.test.: a DNSKEY and a DS
    // signature per zone, then the answer's: about 10 validations, against 3.
    limit_trips_then_resolves(
        219,
        "www.l3.l2.deep.test.",
        A,
        |c| c.limits.max_signature_validations = 3,
        |_| {},
        NoError,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsec3_iterations_above_the_limit_prove_nothing_until_raised() {
    if !peers_present(false) {
        return;
    }
    // nsec3iter.test. uses 200 iterations; above max-nsec3-iterations (default 150) its
    // NXDOMAIN is insecure (RFC 9276 §3.2), not bogus; with the limit at 200 it is secure.
    assert_eq!(Config::default().limits.max_nsec3_iterations, 150);
    let h = hierarchy(242);
    let ferret = common::ferret::start(&dnssec_config(213, &h)).await;
    let m = query_dnssec(
        common::ferret::addr(&ferret),
        "nx.nsec3iter.test.",
        A,
        DnssecQuery::do_bit(),
    )
    .await;
    assert!(
        rcode(&m) == NXDomain && !authentic(&m),
        "200 iterations over the limit: want NXDOMAIN AD=0, got {}",
        summary(&m)
    );
    // The zone is signed: a positive answer needs no NSEC3 and stays secure.
    let m = query_dnssec(
        common::ferret::addr(&ferret),
        "www.nsec3iter.test.",
        A,
        DnssecQuery::do_bit(),
    )
    .await;
    assert!(
        rcode(&m) == NoError && authentic(&m),
        "www.nsec3iter.test. is secure: {}",
        summary(&m)
    );
    drop(ferret);

    let mut config = dnssec_config(213, &h);
    config.limits.max_nsec3_iterations = 200;
    let ferret = common::ferret::start(&config).await;
    let m = query_dnssec(
        common::ferret::addr(&ferret),
        "nx.nsec3iter.test.",
        A,
        DnssecQuery::do_bit(),
    )
    .await;
    assert!(
        rcode(&m) == NXDomain && authentic(&m),
        "with max-nsec3-iterations 200: want NXDOMAIN AD=1, got {}",
        summary(&m)
    );
}

// -------------------------------------------------------------------------------------------
// Validation off, other anchors, algorithms ferret lacks
// -------------------------------------------------------------------------------------------

/// What the data says without validation: the NXDOMAIN of `b.badnsec.test.` stays NXDOMAIN,
/// every other name in [`CASES`] and [`KEYTRAP`] exists.
fn unvalidated_rcode(qname: &str, validated: ResponseCode) -> ResponseCode {
    match (qname, validated) {
        ("b.badnsec.test.", _) => NXDomain,
        (_, ServFail) => NoError,
        (_, other) => other,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnssec_off_answers_bogus_names() {
    if !peers_present(false) {
        return;
    }
    let h = hierarchy(240);
    let mut config = common::ferret::test_config(211, h.root_hints());
    config.dnssec = false;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);
    let cases = CASES
        .iter()
        .map(|&(qname, qtype, rcode, _, _)| (qname, qtype, rcode))
        .chain(KEYTRAP.iter().map(|&qname| (qname, A, ServFail)));
    let mut wrong = Vec::new();
    for (qname, qtype, validated) in cases {
        let want = unvalidated_rcode(qname, validated);
        let m = query_dnssec(at, qname, qtype, DnssecQuery::do_bit()).await;
        if rcode(&m) != want || authentic(&m) {
            wrong.push(format!(
                "{qname} {qtype}: want {want} AD=0, got {}",
                summary(&m)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnskey_trust_anchor_file_works_like_the_ds_one() {
    if !peers_present(true) {
        return;
    }
    let h = hierarchy(215);
    let unbound = UnboundServer::start_validating(
        IpAddr::V4(v4(215, 100, 1)),
        53,
        h.root_hints(),
        h.dnskey_trust_anchor(),
        &[],
    )
    .unwrap_or_else(|e| panic!("validating Unbound does not start: {e}"));
    let mut config = dnssec_config(215, &h);
    config.trust_anchors = vec![h.dnskey_trust_anchor().to_path_buf()];
    let ferret = common::ferret::start(&config).await;
    for (who, server) in [
        ("Unbound", unbound.addr()),
        ("ferret", common::ferret::addr(&ferret)),
    ] {
        let m = query_dnssec(server, "www.secure.test.", A, DnssecQuery::do_bit()).await;
        assert!(
            rcode(&m) == NoError && authentic(&m),
            "{who} with the DNSKEY anchor: {}",
            summary(&m)
        );
        let m = query_dnssec(server, "www.badsig.test.", A, DnssecQuery::do_bit()).await;
        assert_eq!(
            rcode(&m),
            ServFail,
            "{who} with the DNSKEY anchor: {}",
            summary(&m)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed448_zone_is_insecure_to_ferret() {
    if !peers_present(false) {
        return;
    }
    // Unbound (OpenSSL 3) validates ed448.test. (see the Unbound test). ferret's crypto (ring,
    // through hickory-proto) has no Ed448, and a zone signed only with algorithms a validator
    // lacks is insecure, never bogus (RFC 4035 §5.2, RFC 6840 §5.2). Should ferret gain Ed448,
    // this becomes AD=1 like Unbound.
    let h = hierarchy(214);
    let ferret = common::ferret::start(&dnssec_config(214, &h)).await;
    let m = query_dnssec(
        common::ferret::addr(&ferret),
        "www.ed448.test.",
        A,
        DnssecQuery::do_bit(),
    )
    .await;
    assert!(
        rcode(&m) == NoError && !authentic(&m) && count_type(&m.answers, A) == 1,
        "www.ed448.test.: want NOERROR AD=0 with the A record, got {}",
        summary(&m)
    );
}

// -------------------------------------------------------------------------------------------
// Operating it: ferret ctl and the counters
// -------------------------------------------------------------------------------------------

/// The binary, as an operator runs it: `ferret ctl stats` counts validation outcomes, a bogus
/// answer is logged with its zone, and `ferret ctl flush-bogus` drops the bogus data so the
/// next query validates afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_counts_outcomes_and_flushes_bogus_data() {
    use common::process::{FerretProcess, ctl, free_port};
    if !peers_present(false) {
        return;
    }
    let block = 216;
    let h = hierarchy(block);
    let ip = IpAddr::V4(v4(block, 200, 1));
    let server = SocketAddr::new(ip, free_port(ip));
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("control.sock");
    let log = dir.path().join("ferret.log");
    let args: Vec<String> = vec![
        "--listen".into(),
        server.to_string(),
        "--root-hints".into(),
        h.root_hints().display().to_string(),
        "--trust-anchor".into(),
        h.trust_anchor().display().to_string(),
        "--allow-loopback-upstream".into(),
        "--no-ipv6-upstream".into(),
        "--local-zone-nodefault".into(),
        "test.".into(),
        "--control-socket".into(),
        socket.display().to_string(),
    ];
    let mut ferret = FerretProcess::spawn(FerretProcess::command(&args), &log);
    ferret.wait_until_serving(server).await;

    let secure = query_dnssec(server, "www.secure.test.", A, DnssecQuery::do_bit()).await;
    assert!(authentic(&secure), "secure: {}", summary(&secure));
    let bogus = query_dnssec(server, "www.badsig.test.", A, DnssecQuery::do_bit()).await;
    assert_eq!(rcode(&bogus), ServFail, "bogus: {}", summary(&bogus));

    let (ok, stats) = ctl(&socket, &["stats"]).await;
    assert!(ok, "{stats}");
    let count = |key: &str| -> u64 {
        stats
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in:\n{stats}"))
    };
    assert!(count("dnssec.secure") >= 1, "{stats}");
    assert!(count("dnssec.bogus") >= 1, "{stats}");

    let (ok, flushed) = ctl(&socket, &["flush-bogus"]).await;
    assert!(ok, "{flushed}");
    assert!(
        flushed.contains("ok: flushed") && !flushed.contains("flushed 0 bogus entries"),
        "flush-bogus dropped nothing: {flushed}"
    );
    // Flushed, the bogus name is fetched and found bogus again; the secure one is untouched.
    let again = query_dnssec(server, "www.badsig.test.", A, DnssecQuery::do_bit()).await;
    assert_eq!(rcode(&again), ServFail, "bogus again: {}", summary(&again));
    let secure = query_dnssec(server, "www.secure.test.", A, DnssecQuery::do_bit()).await;
    assert!(
        authentic(&secure),
        "secure after flush: {}",
        summary(&secure)
    );
    let logged = ferret.log();
    assert!(
        logged.contains("badsig.test") && logged.contains("DNSSEC validation failed"),
        "the bogus zone is not logged:\n{logged}"
    );
}

/// A reload that changes what validation starts from (here: turns it off) empties the cache:
/// answers validated against the old anchors must not keep their AD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_changes_the_anchors_forgets_what_they_validated() {
    if !peers_present(false) {
        return;
    }
    let block = 217;
    let h = hierarchy(block);
    let config = dnssec_config(block, &h);
    let mut ferret = common::ferret::start(&config).await;
    let server = common::ferret::addr(&ferret);
    let m = query_dnssec(server, "www.secure.test.", A, DnssecQuery::do_bit()).await;
    assert!(authentic(&m), "before the reload: {}", summary(&m));
    let same = ferret.reload(&config).expect("reload");
    let m = query_dnssec(server, "www.secure.test.", A, DnssecQuery::do_bit()).await;
    assert!(
        authentic(&m),
        "after a reload that changed nothing ({same}): {}",
        summary(&m)
    );
    let mut off = config.clone();
    off.dnssec = false;
    ferret.reload(&off).expect("reload");
    let m = query_dnssec(server, "www.secure.test.", A, DnssecQuery::do_bit()).await;
    assert!(
        rcode(&m) == NoError && !authentic(&m),
        "validation off: still AD from the old cache: {}",
        summary(&m)
    );
}

/// A wildcard answer carries the NSEC proof that the name itself does not exist, for clients
/// that validate (RFC 4035 §3.1.3.3), fresh and from the cache alike; Unbound sends it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_answers_carry_their_proof_to_do_clients() {
    if !peers_present(true) {
        return;
    }
    let block = 241;
    let h = hierarchy(block);
    let unbound = unbound(block, &h, &[]);
    let ferret = common::ferret::start(&dnssec_config(block, &h)).await;
    let qname = "anything.wild.secure.test.";
    let reference = query_dnssec(unbound.addr(), qname, A, DnssecQuery::do_bit()).await;
    assert!(
        count_type(&reference.authorities, RecordType::NSEC) > 0,
        "Unbound sends no NSEC with the wildcard answer: {}",
        summary(&reference)
    );
    for round in ["fresh", "cached"] {
        let m = query_dnssec(
            common::ferret::addr(&ferret),
            qname,
            A,
            DnssecQuery::do_bit(),
        )
        .await;
        assert!(authentic(&m), "{round}: {}", summary(&m));
        assert_eq!(
            count_type(&m.authorities, RecordType::NSEC),
            count_type(&reference.authorities, RecordType::NSEC),
            "{round}: NSEC records in the authority section: {:?}",
            m.authorities
        );
        assert!(
            count_type(&m.authorities, RecordType::RRSIG) > 0,
            "{round}: the NSEC comes without its RRSIG: {:?}",
            m.authorities
        );
    }
    let plain = query_dnssec(
        common::ferret::addr(&ferret),
        qname,
        A,
        DnssecQuery {
            dnssec_ok: false,
            ..DnssecQuery::default()
        },
    )
    .await;
    assert!(
        plain.authorities.is_empty(),
        "DO=0: {:?}",
        plain.authorities
    );
}
