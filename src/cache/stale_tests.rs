//! Serve-stale in the cache (RFC 8767): expired entries are kept for the stale window, never
//! returned as live data, and answer with TTL 30 when asked for stale data explicitly.

use std::net::Ipv4Addr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{
    Cache, CacheKey, CacheLookup, NegativeProof, Rank, STALE_ANSWER_TTL, TtlPolicy, Validation,
};
use crate::clock::Clock;

const MAX_LINKS: u32 = 11;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn a(owner: &str, ttl: u32, last: u8) -> Record {
    Record::from_rdata(
        name(owner),
        ttl,
        RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
    )
}

fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(CNAME(name(target))))
}

fn soa(zone: &str, ttl: u32) -> Record {
    let rdata = SOA::new(
        name(&format!("ns1.{zone}")),
        name(&format!("hostmaster.{zone}")),
        1,
        3600,
        600,
        86400,
        ttl,
    );
    Record::from_rdata(name(zone), ttl, RData::SOA(rdata))
}

/// A cache keeping expired entries for `window` seconds, and its clock.
fn cache(window: u32) -> (Cache, Clock) {
    let clock = Clock::system();
    let ttl = TtlPolicy {
        min_ttl: 0,
        max_ttl: 86_400,
        max_negative_ttl: 3_600,
    };
    let cache = Cache::new(1_000, ttl, clock.clone()).with_stale_window(window);
    (cache, clock)
}

fn hit(lookup: CacheLookup) -> crate::answer::Answer {
    match lookup {
        CacheLookup::Hit(answer) => answer,
        other => panic!("expected a hit, got {other:?}"),
    }
}

#[test]
fn expired_entries_are_kept_for_the_window_but_never_served_as_live() {
    let (cache, clock) = cache(600);
    let www = name("www.example.test.");
    cache.insert_rrset(
        vec![a("www.example.test.", 60, 1)],
        vec![],
        Rank::AuthAnswer,
    );
    clock.advance(Duration::from_secs(61));
    let key = CacheKey::rrset(&www, RecordType::A);
    assert!(cache.get(&key).is_none(), "expired data is not live");
    assert!(matches!(
        cache.lookup_answer(&www, RecordType::A, MAX_LINKS),
        CacheLookup::Miss
    ));
    assert_eq!(cache.len(), 1, "kept for serve-stale");
    assert!(cache.get_stale(&key).is_some());
    let answer = hit(cache.lookup_stale_answer(&www, RecordType::A, MAX_LINKS));
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert_eq!(answer.answers.len(), 1);
    assert_eq!(answer.answers[0].ttl, STALE_ANSWER_TTL);
}

#[test]
fn entries_past_the_window_are_dropped() {
    let (cache, clock) = cache(600);
    let www = name("www.example.test.");
    cache.insert_rrset(
        vec![a("www.example.test.", 60, 1)],
        vec![],
        Rank::AuthAnswer,
    );
    clock.advance(Duration::from_secs(60 + 600 + 1));
    assert!(matches!(
        cache.lookup_stale_answer(&www, RecordType::A, MAX_LINKS),
        CacheLookup::Miss
    ));
    assert!(cache.is_empty());
}

#[test]
fn a_zero_window_keeps_nothing_expired() {
    let (cache, clock) = cache(0);
    let www = name("www.example.test.");
    cache.insert_rrset(
        vec![a("www.example.test.", 60, 1)],
        vec![],
        Rank::AuthAnswer,
    );
    clock.advance(Duration::from_secs(61));
    assert!(matches!(
        cache.lookup_stale_answer(&www, RecordType::A, MAX_LINKS),
        CacheLookup::Miss
    ));
    assert!(cache.is_empty());
}

#[test]
fn a_stale_chain_mixes_live_and_expired_links_with_short_ttls() {
    let (cache, clock) = cache(600);
    let alias = name("alias.example.test.");
    cache.insert_rrset(
        vec![cname("alias.example.test.", 3_600, "www.example.test.")],
        vec![],
        Rank::AuthAnswer,
    );
    cache.insert_rrset(
        vec![a("www.example.test.", 60, 1)],
        vec![],
        Rank::AuthAnswer,
    );
    clock.advance(Duration::from_secs(61));
    assert!(matches!(
        cache.lookup_answer(&alias, RecordType::A, MAX_LINKS),
        CacheLookup::Partial { .. }
    ));
    let answer = hit(cache.lookup_stale_answer(&alias, RecordType::A, MAX_LINKS));
    let types: Vec<RecordType> = answer.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types, vec![RecordType::CNAME, RecordType::A]);
    assert!(answer.answers.iter().all(|r| r.ttl == STALE_ANSWER_TTL));
}

#[test]
fn a_partial_stale_chain_is_no_answer() {
    let (cache, clock) = cache(600);
    let alias = name("alias.example.test.");
    cache.insert_rrset(
        vec![cname("alias.example.test.", 60, "www.example.test.")],
        vec![],
        Rank::AuthAnswer,
    );
    clock.advance(Duration::from_secs(61));
    assert!(matches!(
        cache.lookup_stale_answer(&alias, RecordType::A, MAX_LINKS),
        CacheLookup::Miss
    ));
}

#[test]
fn stale_negative_answers_carry_the_soa_with_a_short_ttl() {
    let (cache, clock) = cache(600);
    let gone = name("gone.example.test.");
    cache.insert_nxdomain(
        &gone,
        &NegativeProof::soa_only(soa("example.test.", 300)),
        Rank::AuthAnswer,
        Validation::Unchecked,
    );
    clock.advance(Duration::from_secs(301));
    assert!(matches!(
        cache.lookup_answer(&gone, RecordType::A, MAX_LINKS),
        CacheLookup::Miss
    ));
    let answer = hit(cache.lookup_stale_answer(&gone, RecordType::A, MAX_LINKS));
    assert_eq!(answer.rcode, ResponseCode::NXDomain);
    assert_eq!(answer.authorities.len(), 1);
    assert_eq!(answer.authorities[0].ttl, STALE_ANSWER_TTL);
}

#[test]
fn fresh_data_replaces_stale_data_whatever_its_rank() {
    let (cache, clock) = cache(600);
    let www = name("www.example.test.");
    cache.insert_rrset(
        vec![a("www.example.test.", 60, 1)],
        vec![],
        Rank::AuthAnswer,
    );
    clock.advance(Duration::from_secs(61));
    assert!(cache.insert_rrset(
        vec![a("www.example.test.", 60, 2)],
        vec![],
        Rank::NonAuthAnswer
    ));
    let answer = hit(cache.lookup_answer(&www, RecordType::A, MAX_LINKS));
    assert_eq!(
        answer.answers[0].data,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 2)))
    );
}

#[test]
fn entries_lists_everything_held() {
    let (cache, clock) = cache(600);
    cache.insert_rrset(
        vec![a("www.example.test.", 60, 1)],
        vec![],
        Rank::AuthAnswer,
    );
    cache.insert_rrset(vec![a("mail.example.test.", 3_600, 2)], vec![], Rank::Glue);
    clock.advance(Duration::from_secs(61));
    let mut names: Vec<String> = cache
        .entries()
        .iter()
        .map(|(key, _)| key.name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["mail.example.test.", "www.example.test."]);
}
