//! ferret against real peers: NSD as the authoritative servers, Unbound as the reference resolver.
//!
//! - ferret resolves through a three-level hierarchy of real NSD servers.
//! - ferret and Unbound, given the same root hints, give the same answers (rcode, answer section,
//!   authority section types) for every case of the fake world and of the NSD hierarchy.
//!
//! These tests need `nsd` and `unbound` (Debian packages; `.ci/run` installs them). Without them
//! they skip with a message, except under CI=true, where they fail.
//!
//! Address blocks 71–79 (127.71.x.y – 127.79.x.y) belong to this file.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::client::{
    QueryOpts, answer_strings, authority_strings, query_tcp, query_udp, query_udp_opts,
    try_query_udp,
};
use common::nsd::{NsdHierarchy, require_or_skip};
use common::unbound::UnboundServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

fn v4(block: u8, a: u8, b: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, block, a, b)
}

fn start_nsd(block: u8) -> NsdHierarchy {
    NsdHierarchy::start(v4(block, 0, 1), v4(block, 1, 1), v4(block, 2, 1))
        .unwrap_or_else(|e| panic!("NSD hierarchy does not start: {e}"))
}

/// The part of a response two resolvers must agree on: rcode, answer records without TTLs, and
/// the record types of the authority section (the SOA of a negative answer).
/// Sets a record's TTL, so that records fetched at different times compare equal.
trait TapTtl {
    fn tap_ttl(self, ttl: u32) -> Self;
}

impl TapTtl for hickory_proto::rr::Record {
    fn tap_ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }
}

fn comparable(response: &Message) -> (ResponseCode, Vec<String>, Vec<RecordType>) {
    let mut authority_types: Vec<RecordType> = response
        .authorities
        .iter()
        .map(|r| r.record_type())
        .collect();
    authority_types.sort();
    (
        response.metadata.response_code,
        answer_strings(response),
        authority_types,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferret_resolves_through_real_nsd_servers() {
    if !require_or_skip("nsd") {
        return;
    }
    let nsd = start_nsd(71);
    let ferret = common::ferret::start(&common::ferret::test_config(71, nsd.root_hints())).await;
    let at = common::ferret::addr(&ferret);

    let cases: &[(&str, RecordType, ResponseCode, &[&str])] = &[
        (
            "www.example.nsdtest.",
            RecordType::A,
            ResponseCode::NoError,
            &["www.example.nsdtest. A 192.0.2.10"],
        ),
        (
            "www.example.nsdtest.",
            RecordType::AAAA,
            ResponseCode::NoError,
            &["www.example.nsdtest. AAAA 2001:db8::10"],
        ),
        (
            "example.nsdtest.",
            RecordType::MX,
            ResponseCode::NoError,
            &["example.nsdtest. MX 10 mail.example.nsdtest."],
        ),
        (
            "txt.example.nsdtest.",
            RecordType::TXT,
            ResponseCode::NoError,
            &["txt.example.nsdtest. TXT \"hello from nsd\" \"second string\""],
        ),
        (
            "alias.example.nsdtest.",
            RecordType::A,
            ResponseCode::NoError,
            &[
                "alias.example.nsdtest. CNAME alias2.example.nsdtest.",
                "alias2.example.nsdtest. CNAME www.example.nsdtest.",
                "www.example.nsdtest. A 192.0.2.10",
            ],
        ),
        (
            "out.example.nsdtest.",
            RecordType::A,
            ResponseCode::NoError,
            &[
                "ns1.nsdtest. A 127.71.1.1",
                "out.example.nsdtest. CNAME ns1.nsdtest.",
            ],
        ),
        (
            "any.wild.example.nsdtest.",
            RecordType::TXT,
            ResponseCode::NoError,
            &["any.wild.example.nsdtest. TXT \"wildcard\""],
        ),
        (
            "host.wild.example.nsdtest.",
            RecordType::A,
            ResponseCode::NoError,
            &["host.wild.example.nsdtest. A 192.0.2.98"],
        ),
        (
            "nope.example.nsdtest.",
            RecordType::A,
            ResponseCode::NXDomain,
            &[],
        ),
        (
            "www.example.nsdtest.",
            RecordType::MX,
            ResponseCode::NoError,
            &[],
        ),
        (
            "ent.example.nsdtest.",
            RecordType::A,
            ResponseCode::NoError,
            &[],
        ),
    ];
    for (name, rtype, rcode, expected) in cases {
        let response = query_udp(at, name, *rtype).await;
        assert_eq!(response.metadata.response_code, *rcode, "{name} {rtype}");
        assert_eq!(answer_strings(&response), *expected, "{name} {rtype}");
        if expected.is_empty() {
            let authority = authority_strings(&response);
            assert_eq!(
                authority.len(),
                1,
                "{name} {rtype}: one SOA expected, got {authority:?}"
            );
            assert!(
                authority[0].starts_with("example.nsdtest. SOA "),
                "{authority:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rrsigs_reach_only_clients_that_set_do() {
    let world = common::world::start(72).await;
    let ferret =
        common::ferret::start(&common::ferret::test_config(72, &world.root_hints_path())).await;
    let at = common::ferret::addr(&ferret);
    let types = |m: &Message| {
        m.answers
            .iter()
            .map(|r| r.record_type())
            .collect::<Vec<_>>()
    };
    let name = "signed.example.test.";

    let with_do = QueryOpts {
        dnssec_ok: true,
        ..QueryOpts::default()
    };
    // Asked with DO=1 first (from upstream), then without and with DO from the cache.
    let first = query_udp_opts(at, name, RecordType::A, with_do).await;
    assert_eq!(types(&first), vec![RecordType::A, RecordType::RRSIG]);
    let plain = query_udp(at, name, RecordType::A).await;
    assert_eq!(types(&plain), vec![RecordType::A]);
    let cached = query_udp_opts(at, name, RecordType::A, with_do).await;
    assert_eq!(types(&cached), vec![RecordType::A, RecordType::RRSIG]);
    assert_eq!(
        first.answers[1],
        cached.answers[1].clone().tap_ttl(first.answers[1].ttl)
    );
    assert!(
        cached.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
        "DO echoed"
    );
    assert!(
        !cached.metadata.authentic_data,
        "AD never set without validation"
    );
    assert_eq!(
        world
            .server(&common::world::Addresses::new(72).example_test)
            .count_for(name, RecordType::A),
        1
    );
}

/// Asks Unbound the way a stub resolver does: up to three tries, a few seconds apart. Unbound now
/// and then lets the first query of a fresh instance go unanswered while it waits out a dead
/// server (seen in its own logs: the resolution finishes, no reply reaches the client).
async fn ask_like_a_stub(unbound: &UnboundServer, name: &str, rtype: RecordType) -> Message {
    for _ in 0..3 {
        let wait = Duration::from_secs(6);
        if let Some(response) =
            try_query_udp(unbound.addr(), name, rtype, QueryOpts::default(), wait).await
        {
            return response;
        }
    }
    panic!(
        "unbound did not answer {name} {rtype}; its log:\n{}",
        unbound.log()
    )
}

/// Resolves every case with both resolvers and compares what a client would see.
async fn assert_same_answers(
    ferret: SocketAddr,
    unbound: &UnboundServer,
    cases: &[(&str, RecordType)],
) {
    let mut differences = Vec::new();
    for (name, rtype) in cases {
        let ours = query_udp(ferret, name, *rtype).await;
        let theirs = ask_like_a_stub(unbound, name, *rtype).await;
        if comparable(&ours) != comparable(&theirs) {
            differences.push(format!(
                "{name} {rtype}:\n  ferret:  {:?}\n  unbound: {:?}",
                comparable(&ours),
                comparable(&theirs)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "ferret and Unbound differ:\n{}",
        differences.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_answers_as_unbound_on_the_nsd_hierarchy() {
    if !require_or_skip("nsd") || !require_or_skip("unbound") {
        return;
    }
    let nsd = start_nsd(73);
    let unbound = UnboundServer::start(v4(73, 13, 1).into(), 53, nsd.root_hints())
        .unwrap_or_else(|e| panic!("unbound does not start: {e}"));
    let ferret = common::ferret::start(&common::ferret::test_config(73, nsd.root_hints())).await;
    let cases = [
        ("www.example.nsdtest.", RecordType::A),
        ("www.example.nsdtest.", RecordType::AAAA),
        ("www.example.nsdtest.", RecordType::MX),
        ("example.nsdtest.", RecordType::MX),
        ("example.nsdtest.", RecordType::TXT),
        ("txt.example.nsdtest.", RecordType::TXT),
        ("alias.example.nsdtest.", RecordType::A),
        ("out.example.nsdtest.", RecordType::A),
        ("x.wild.example.nsdtest.", RecordType::A),
        ("host.wild.example.nsdtest.", RecordType::A),
        ("ent.example.nsdtest.", RecordType::A),
        ("nope.example.nsdtest.", RecordType::A),
        ("nope.nsdtest.", RecordType::A),
        ("WwW.ExAmPlE.NsDtEsT.", RecordType::A),
    ];
    assert_same_answers(common::ferret::addr(&ferret), &unbound, &cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_answers_as_unbound_on_the_fake_world() {
    if !require_or_skip("unbound") {
        return;
    }
    let world = common::world::start(74).await;
    let hints = world.root_hints_path();
    // Unbound runs blocking start-up checks; keep them off the runtime's worker threads.
    let unbound = tokio::task::spawn_blocking(move || {
        UnboundServer::start(v4(74, 201, 1).into(), 53, &hints)
    })
    .await
    .expect("start-up task")
    .unwrap_or_else(|e| panic!("unbound does not start: {e}"));
    let ferret =
        common::ferret::start(&common::ferret::test_config(74, &world.root_hints_path())).await;
    let cases = [
        ("www.example.test.", RecordType::A),
        ("www.example.test.", RecordType::AAAA),
        ("example.test.", RecordType::MX),
        ("txt.example.test.", RecordType::TXT),
        ("_sip._tcp.example.test.", RecordType::SRV),
        ("10.20.30.in-addr.arpa.", RecordType::PTR),
        ("chain1.example.test.", RecordType::A),
        ("cross.example.test.", RecordType::A),
        ("tonx.example.test.", RecordType::A),
        ("nope.example.test.", RecordType::A),
        ("www.example.test.", RecordType::MX),
        ("anything.wild.example.test.", RecordType::A),
        ("anything.wild.example.test.", RecordType::TXT),
        ("x.legacy.example.test.", RecordType::A),
        ("www.glueless.test.", RecordType::A),
        ("deep.sub.example.test.", RecordType::A),
        ("MiXeD.ExAmPlE.TeSt.", RecordType::A),
        ("mixed.example.test.", RecordType::A),
        ("short.example.test.", RecordType::A),
        ("nope.test.", RecordType::A),
        ("loop1.example.test.", RecordType::A),
    ];
    assert_same_answers(common::ferret::addr(&ferret), &unbound, &cases).await;

    // Every server of dead.test. is dead. ferret gives up with SERVFAIL within its budget; Unbound
    // backs off and retries for longer than a client waits, so it is only held to its answer if it
    // gives one in time.
    let ours = query_udp(
        common::ferret::addr(&ferret),
        "www.dead.test.",
        RecordType::A,
    )
    .await;
    assert_eq!(ours.metadata.response_code, ResponseCode::ServFail);
    let opts = QueryOpts::default();
    let wait = Duration::from_secs(5);
    if let Some(theirs) =
        try_query_udp(unbound.addr(), "www.dead.test.", RecordType::A, opts, wait).await
    {
        assert_eq!(theirs.metadata.response_code, ResponseCode::ServFail);
    }

    // Too big for UDP: both truncate, and over TCP both give the whole RRset.
    let name = "big.example.test.";
    let ours = query_udp(common::ferret::addr(&ferret), name, RecordType::TXT).await;
    let theirs = query_udp(unbound.addr(), name, RecordType::TXT).await;
    assert!(ours.metadata.truncation && theirs.metadata.truncation);
    let ours = query_tcp(common::ferret::addr(&ferret), name, RecordType::TXT).await;
    let theirs = query_tcp(unbound.addr(), name, RecordType::TXT).await;
    assert_eq!(comparable(&ours), comparable(&theirs));
    match ours.answers.as_slice() {
        [record] => match &record.data {
            hickory_proto::rr::RData::TXT(txt) => {
                assert_eq!(txt.txt_data.len(), common::world::BIG_TXT_STRINGS)
            }
            other => panic!("expected TXT, got {other:?}"),
        },
        other => panic!("expected one TXT record, got {other:?}"),
    }
}
