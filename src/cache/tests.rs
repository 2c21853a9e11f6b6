//! Flushing, dumping and eviction accounting, on a cache filled by hand.

use std::net::Ipv4Addr;
use std::time::Duration;

use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{Cache, CacheKey, KeyKind, NegativeProof, Rank, TtlPolicy, Validation};
use crate::clock::Clock;

const POLICY: TtlPolicy = TtlPolicy {
    min_ttl: 0,
    max_ttl: 86_400,
    max_negative_ttl: 3_600,
};

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn a(owner: &str, ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A(Ipv4Addr::new(192, 0, 2, 1))))
}

fn soa(zone: &str) -> Record {
    let data = SOA::new(name(zone), name(zone), 1, 3600, 900, 604_800, 300);
    Record::from_rdata(name(zone), 300, RData::SOA(data))
}

fn filled(clock: &Clock) -> Cache {
    let cache = Cache::new(1_000, POLICY, clock.clone());
    for owner in [
        "example.test.",
        "www.example.test.",
        "a.b.example.test.",
        "example.org.",
        "notexample.test.",
    ] {
        assert!(cache.insert_rrset(vec![a(owner, 600)], vec![], Rank::AuthAnswer));
    }
    cache.insert_nxdomain(
        &name("gone.example.test."),
        &NegativeProof::soa_only(soa("example.test.")),
        Rank::AuthAnswer,
        Validation::Unchecked,
    );
    cache
}

fn names(cache: &Cache) -> Vec<String> {
    cache
        .dump()
        .iter()
        .map(|e| e.key.name().to_string())
        .collect()
}

#[test]
fn flushing_a_name_takes_its_whole_subtree_and_nothing_else() {
    let clock = Clock::system();
    let cache = filled(&clock);
    assert_eq!(cache.flush_subtree(&name("example.test.")), 4);
    // A sibling whose name merely ends in the same letters is not below example.test.
    assert_eq!(names(&cache), ["example.org.", "notexample.test."]);
    assert_eq!(cache.flush_subtree(&name("nothing.here.")), 0);
}

#[test]
fn flushing_the_root_empties_the_cache() {
    let clock = Clock::system();
    let cache = filled(&clock);
    assert_eq!(cache.flush_subtree(&Name::root()), 6);
    assert!(cache.is_empty());
}

#[test]
fn dump_shows_live_entries_with_ttl_left_in_name_order() {
    let clock = Clock::system();
    let cache = filled(&clock);
    cache.insert_rrset(vec![a("short.example.org.", 5)], vec![], Rank::AuthAnswer);
    clock.advance(Duration::from_secs(100));
    let dump = cache.dump();
    // The 5-second entry has expired and is not shown; the others have 500 s of 600 left.
    assert_eq!(dump.len(), 6);
    assert!(dump.iter().all(|e| e.ttl == 500 || e.negative), "{dump:?}");
    let www = dump
        .iter()
        .find(|e| e.key == CacheKey::rrset(&name("www.example.test."), RecordType::A))
        .unwrap();
    assert_eq!(www.records[0].ttl, 500);
    assert_eq!(
        www.to_string(),
        "www.example.test. 500 IN A 192.0.2.1 ; rank=AuthAnswer"
    );
    let gone = dump
        .iter()
        .find(|e| e.key.kind() == KeyKind::NameError)
        .unwrap();
    assert_eq!(
        gone.ttl, 200,
        "negative TTL is the SOA's MINIMUM, 300, less 100 s"
    );
    assert_eq!(
        gone.to_string(),
        "; NXDOMAIN gone.example.test. ttl=200 rank=AuthAnswer soa=example.test."
    );
    // Canonical order (RFC 4034 §6.1): a parent sorts before its children.
    let order = names(&cache);
    let parent = order.iter().position(|n| n == "example.test.").unwrap();
    let child = order.iter().position(|n| n == "www.example.test.").unwrap();
    assert!(parent < child, "{order:?}");
}

#[test]
fn evictions_count_live_entries_pushed_out_not_refreshes() {
    let clock = Clock::system();
    // A capacity of one: the second name evicts the first.
    let cache = Cache::new(1, POLICY, clock.clone());
    cache.insert_rrset(vec![a("one.test.", 600)], vec![], Rank::AuthAnswer);
    cache.insert_rrset(vec![a("one.test.", 600)], vec![], Rank::AuthAnswer);
    assert_eq!(
        cache.evictions(),
        0,
        "replacing an entry is not an eviction"
    );
    cache.insert_rrset(vec![a("two.test.", 600)], vec![], Rank::AuthAnswer);
    assert_eq!(cache.evictions(), 1);
    assert_eq!(names(&cache), ["two.test."]);
}

/// An NSEC record for `owner` whose next name is `next`, asserting nothing but itself.
fn nsec(owner: &str, next: &str) -> Record {
    use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
    let data = NSEC::new(name(next), [RecordType::A, RecordType::NSEC]);
    Record::from_rdata(name(owner), 300, RData::DNSSEC(DNSSECRData::NSEC(data)))
}

#[test]
fn removing_a_reconfigured_zone_forgets_its_nsec_ranges() {
    let clock = Clock::system();
    let cache = filled(&clock);
    let zone = name("example.test.");
    let proof = [nsec("a.example.test.", "c.example.test.")];
    cache
        .nsec_ranges()
        .insert(&zone, vec![soa("example.test.")], &proof, 300);
    assert!(
        cache
            .nsec_ranges()
            .candidates(&name("b.example.test."))
            .is_some()
    );

    cache.remove_zone(&zone);

    assert!(
        cache
            .nsec_ranges()
            .candidates(&name("b.example.test."))
            .is_none()
    );
}
