//! ferret resolving through the fake hierarchy of `tests/common/world.rs`, over real packets:
//! every common record type, CNAME and DNAME chains, negative answers, delegations, response
//! flags, TTLs counting down in the cache, negative caching, QNAME minimisation, and the trust
//! ranks that keep glue from answering clients or replacing authoritative data.
//!
//! Address blocks 10–39 (127.10.x.y – 127.39.x.y) belong to this file; each test has its own.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::authority::Zone;
use common::client::{
    QueryOpts, answer_strings, authority_strings, min_ttl, query_udp, query_udp_opts, rcode,
    record_string,
};
use common::hierarchy::{Hierarchy, net};
use common::world::Addresses;
use ferret::Config;
use ferret::server::RunningServer;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::RecordType;

/// The SOA that `example.test.` proves its negative answers with.
const EXAMPLE_TEST_SOA: &str =
    "example.test. SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300";

/// The SOA MINIMUM of `example.test.`, which caps how long its negative answers are cached.
const EXAMPLE_TEST_NEGATIVE_TTL: u32 = 300;

/// A running world and a ferret resolving through it. Both stop when this is dropped.
struct Resolving {
    world: Hierarchy,
    addresses: Addresses,
    ferret: RunningServer,
    at: SocketAddr,
}

impl Resolving {
    /// The world on `block` and a ferret with the test settings.
    async fn start(block: u8) -> Self {
        Self::start_with(block, |_| {}).await
    }

    /// As [`Resolving::start`], with the settings changed by `configure` first.
    async fn start_with(block: u8, configure: impl FnOnce(&mut Config)) -> Self {
        let world = common::world::start(block).await;
        let mut config = common::ferret::test_config(block, &world.root_hints_path());
        configure(&mut config);
        let ferret = common::ferret::start(&config).await;
        let at = common::ferret::addr(&ferret);
        Resolving {
            world,
            addresses: Addresses::new(block),
            ferret,
            at,
        }
    }

    /// Queries ferret over UDP with the default options (EDNS, RD=1).
    async fn query(&self, name: &str, rtype: RecordType) -> Message {
        query_udp(self.at, name, rtype).await
    }

    /// Queries `name`/`rtype` and checks for NOERROR with exactly `expected` (in any order).
    async fn assert_answers(&self, name: &str, rtype: RecordType, expected: &[&str]) -> Message {
        let response = self.query(name, rtype).await;
        assert_eq!(
            rcode(&response),
            ResponseCode::NoError,
            "{name} {rtype}:\n{response}"
        );
        assert_eq!(
            answer_strings(&response),
            sorted(expected),
            "{name} {rtype}:\n{response}"
        );
        response
    }

    /// Queries received for `name`/`rtype` by the world's server on `ip`.
    fn count_for(&self, ip: &str, name: &str, rtype: RecordType) -> usize {
        self.world.server(ip).count_for(name, rtype)
    }
}

fn sorted(strings: &[&str]) -> Vec<String> {
    let mut strings: Vec<String> = strings.iter().map(|s| s.to_string()).collect();
    strings.sort();
    strings
}

/// The answer section as strings, in the order the records were sent.
fn answers_in_order(response: &Message) -> Vec<String> {
    response.answers.iter().map(record_string).collect()
}

/// Every QNAME the server on `ip` was asked, lowercased, in order.
fn names_asked(world: &Hierarchy, ip: &str) -> Vec<String> {
    world
        .server(ip)
        .queries()
        .iter()
        .map(|q| q.name.to_lowercase().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Record types
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_a() {
    let r = Resolving::start(10).await;
    r.assert_answers(
        "www.example.test.",
        RecordType::A,
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_aaaa() {
    let r = Resolving::start(11).await;
    r.assert_answers(
        "www.example.test.",
        RecordType::AAAA,
        &["www.example.test. AAAA 2001:db8::1"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_mx() {
    let r = Resolving::start(12).await;
    r.assert_answers(
        "example.test.",
        RecordType::MX,
        &["example.test. MX 10 mail.example.test."],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_txt() {
    let r = Resolving::start(13).await;
    r.assert_answers(
        "txt.example.test.",
        RecordType::TXT,
        &["txt.example.test. TXT \"hello world\""],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_srv() {
    let r = Resolving::start(14).await;
    r.assert_answers(
        "_sip._tcp.example.test.",
        RecordType::SRV,
        &["_sip._tcp.example.test. SRV 10 5 5060 sip.example.test."],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_ptr_through_a_glueless_reverse_zone() {
    let r = Resolving::start(15).await;
    r.assert_answers(
        "10.20.30.in-addr.arpa.",
        RecordType::PTR,
        &["10.20.30.in-addr.arpa. PTR www.example.test."],
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Aliases
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_zone_cname_chain_comes_first_and_in_order() {
    let r = Resolving::start(16).await;
    let response = r.query("chain1.example.test.", RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(
        answers_in_order(&response),
        [
            "chain1.example.test. CNAME chain2.example.test.",
            "chain2.example.test. CNAME chain3.example.test.",
            "chain3.example.test. CNAME www.example.test.",
            "www.example.test. A 192.0.2.1",
        ],
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_zone_cname_is_followed_into_the_other_zone() {
    let r = Resolving::start(17).await;
    let response = r.query("cross.example.test.", RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(
        answers_in_order(&response),
        [
            "cross.example.test. CNAME www.other.example.",
            "www.other.example. A 192.0.2.80",
        ],
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cname_to_a_missing_name_is_nxdomain_with_the_chain_and_the_targets_soa() {
    let r = Resolving::start(18).await;
    let response = r.query("tonx.example.test.", RecordType::A).await;
    // RFC 6604 §2.1: the rcode describes the last name in the chain.
    assert_eq!(rcode(&response), ResponseCode::NXDomain, "{response}");
    assert_eq!(
        answers_in_order(&response),
        ["tonx.example.test. CNAME nowhere.other.example."],
        "{response}"
    );
    assert_eq!(
        authority_strings(&response),
        ["other.example. SOA ns.other.example. hostmaster.other.example. 1 3600 900 604800 300"],
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cname_loop_is_servfail() {
    let r = Resolving::start(19).await;
    let response = r.query("loop1.example.test.", RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dname_answer_has_the_dname_the_synthesized_cname_and_the_target() {
    let r = Resolving::start(23).await;
    let response = r.query("x.legacy.example.test.", RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(
        answers_in_order(&response),
        [
            "legacy.example.test. DNAME other.example.",
            "x.legacy.example.test. CNAME x.other.example.",
            "x.other.example. A 192.0.2.81",
        ],
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_chains_are_served_from_the_cache_unchanged() {
    let r = Resolving::start(37).await;
    let names = [
        "chain1.example.test.",
        "cross.example.test.",
        "tonx.example.test.",
        "x.legacy.example.test.",
    ];
    let mut cold = Vec::new();
    for name in names {
        let response = r.query(name, RecordType::A).await;
        assert_ne!(rcode(&response), ResponseCode::ServFail, "{response}");
        cold.push(response);
    }
    let before = r.world.total_queries();
    for (name, cold) in names.iter().zip(&cold) {
        let cached = r.query(name, RecordType::A).await;
        assert_eq!(rcode(&cached), rcode(cold), "{name}:\n{cached}");
        assert_eq!(
            answers_in_order(&cached),
            answers_in_order(cold),
            "{name} from the cache:\n{cached}"
        );
        assert_eq!(
            authority_strings(&cached),
            authority_strings(cold),
            "{name} from the cache:\n{cached}"
        );
    }
    assert_eq!(
        r.world.total_queries(),
        before,
        "a cached chain went upstream"
    );
}

// ---------------------------------------------------------------------------------------
// Negative answers and wildcards
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxdomain_carries_the_zones_soa() {
    let r = Resolving::start(20).await;
    let response = r.query("nope.example.test.", RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::NXDomain, "{response}");
    assert!(response.answers.is_empty(), "{response}");
    assert_eq!(
        authority_strings(&response),
        [EXAMPLE_TEST_SOA],
        "{response}"
    );
    // RFC 2308 §3: the SOA's TTL is the negative TTL, capped by MINIMUM.
    assert!(
        min_ttl(&response) <= EXAMPLE_TEST_NEGATIVE_TTL,
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodata_is_noerror_with_no_answers_and_the_soa() {
    let r = Resolving::start(21).await;
    let response = r.query("www.example.test.", RecordType::MX).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert!(response.answers.is_empty(), "{response}");
    assert_eq!(
        authority_strings(&response),
        [EXAMPLE_TEST_SOA],
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_answers_carry_the_query_name_as_owner() {
    let r = Resolving::start(22).await;
    r.assert_answers(
        "anything.wild.example.test.",
        RecordType::A,
        &["anything.wild.example.test. A 192.0.2.99"],
    )
    .await;
    r.assert_answers(
        "anything.wild.example.test.",
        RecordType::TXT,
        &["anything.wild.example.test. TXT \"wildcard\""],
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Delegations
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glueless_delegation_is_resolved_through_its_server_names_address() {
    let r = Resolving::start(24).await;
    r.assert_answers(
        "www.glueless.test.",
        RecordType::A,
        &["www.glueless.test. A 192.0.2.60"],
    )
    .await;
    // The address of ns.hosting.example. was not given as glue: ferret had to look it up.
    assert!(
        r.count_for(
            &r.addresses.hosting_example,
            "ns.hosting.example.",
            RecordType::A
        ) >= 1,
        "ns.hosting.example. was never asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_level_delegation_is_followed_to_the_deepest_zone() {
    let r = Resolving::start(25).await;
    r.assert_answers(
        "deep.sub.example.test.",
        RecordType::A,
        &["deep.sub.example.test. A 192.0.2.44"],
    )
    .await;
    assert_eq!(
        r.count_for(
            &r.addresses.sub_example_test,
            "deep.sub.example.test.",
            RecordType::A
        ),
        1
    );
}

// ---------------------------------------------------------------------------------------
// The response itself
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_case_question_is_echoed_and_shares_the_cache_with_lowercase() {
    let r = Resolving::start(26).await;
    let qname = "WwW.ExAmPlE.TeSt.";
    let response = r
        .assert_answers(qname, RecordType::A, &["www.example.test. A 192.0.2.1"])
        .await;
    let echoed: Vec<String> = response
        .queries
        .iter()
        .map(|q| q.name().to_string())
        .collect();
    assert_eq!(echoed, [qname], "{response}");

    let before = r.world.total_queries();
    r.assert_answers(
        "www.example.test.",
        RecordType::A,
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    assert_eq!(
        r.world.total_queries(),
        before,
        "the lowercase query was not a cache hit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_flags_are_those_of_a_recursive_non_validating_resolver() {
    let r = Resolving::start(27).await;
    let response = r
        .assert_answers(
            "www.example.test.",
            RecordType::A,
            &["www.example.test. A 192.0.2.1"],
        )
        .await;
    let meta = &response.metadata;
    assert_eq!(meta.message_type, MessageType::Response, "QR");
    assert!(meta.recursion_available, "RA clear:\n{response}");
    assert!(meta.recursion_desired, "RD not echoed:\n{response}");
    assert!(!meta.authoritative, "AA set:\n{response}");
    assert!(!meta.authentic_data, "AD set:\n{response}");
    assert!(!meta.truncation, "TC set:\n{response}");
    let edns = response
        .edns
        .as_ref()
        .unwrap_or_else(|| panic!("no OPT record for an EDNS query:\n{response}"));
    assert_eq!(edns.max_payload(), 1232);

    // RFC 6891 §7: no OPT record in the response to a query without one.
    let plain = QueryOpts {
        edns: None,
        ..QueryOpts::default()
    };
    for rtype in [RecordType::A, RecordType::AAAA] {
        let response = query_udp_opts(r.at, "www.example.test.", rtype, plain).await;
        assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
        assert_eq!(response.answers.len(), 1, "{response}");
        assert!(
            response.edns.is_none(),
            "OPT record for a query without EDNS ({rtype}):\n{response}"
        );
        assert!(response.metadata.recursion_available, "{response}");
        assert!(!response.metadata.authoritative, "{response}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_and_cd_bits_are_echoed() {
    let r = Resolving::start(33).await;
    let opts = QueryOpts {
        dnssec_ok: true,
        checking_disabled: true,
        ..QueryOpts::default()
    };
    let response = query_udp_opts(r.at, "www.example.test.", RecordType::A, opts).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(answer_strings(&response), ["www.example.test. A 192.0.2.1"]);
    assert!(response.metadata.checking_disabled, "CD:\n{response}");
    let edns = response.edns.as_ref().expect("OPT record");
    assert!(edns.flags().dnssec_ok, "DO not echoed:\n{response}");

    // And both stay clear when the client left them clear.
    let response = r.query("www.example.test.", RecordType::A).await;
    assert!(!response.metadata.checking_disabled, "CD:\n{response}");
    let edns = response.edns.as_ref().expect("OPT record");
    assert!(!edns.flags().dnssec_ok, "DO set:\n{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answers_are_served_to_queries_without_rd() {
    let r = Resolving::start(34).await;
    r.assert_answers(
        "www.example.test.",
        RecordType::A,
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    let before = r.world.total_queries();
    let no_rd = QueryOpts {
        recursion_desired: false,
        ..QueryOpts::default()
    };
    let response = query_udp_opts(r.at, "www.example.test.", RecordType::A, no_rd).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(answer_strings(&response), ["www.example.test. A 192.0.2.1"]);
    assert!(!response.metadata.recursion_desired, "RD:\n{response}");
    assert!(response.metadata.recursion_available, "RA:\n{response}");
    assert_eq!(r.world.total_queries(), before, "went upstream");
}

// ---------------------------------------------------------------------------------------
// Caching
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_counts_down_in_the_cache_and_the_answer_is_refetched_after_expiry() {
    let r = Resolving::start(28).await;
    let name = "short.example.test.";
    let expected = ["short.example.test. A 192.0.2.5"];
    let server = r.addresses.example_test.clone();

    let response = r.assert_answers(name, RecordType::A, &expected).await;
    assert_eq!(min_ttl(&response), 5, "{response}");
    assert_eq!(r.count_for(&server, name, RecordType::A), 1);

    r.ferret.clock().advance(Duration::from_secs(2));
    let before = r.world.total_queries();
    let response = r.assert_answers(name, RecordType::A, &expected).await;
    let ttl = min_ttl(&response);
    assert!((1..=3).contains(&ttl), "TTL {ttl} after 2 s:\n{response}");
    assert_eq!(
        r.world.total_queries(),
        before,
        "a live entry went upstream"
    );

    r.ferret.clock().advance(Duration::from_secs(10));
    let response = r.assert_answers(name, RecordType::A, &expected).await;
    assert_eq!(
        r.count_for(&server, name, RecordType::A),
        2,
        "the expired entry was not fetched again"
    );
    assert_eq!(min_ttl(&response), 5, "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxdomain_is_cached_until_the_soa_minimum_runs_out() {
    let r = Resolving::start(29).await;
    let name = "nope.example.test.";
    let server = r.addresses.example_test.clone();
    let check = |response: &Message| {
        assert_eq!(rcode(response), ResponseCode::NXDomain, "{response}");
        assert_eq!(
            authority_strings(response),
            [EXAMPLE_TEST_SOA],
            "{response}"
        );
    };

    check(&r.query(name, RecordType::A).await);
    assert_eq!(r.count_for(&server, name, RecordType::A), 1);

    let before = r.world.total_queries();
    let response = r.query(name, RecordType::A).await;
    check(&response);
    assert_eq!(
        r.world.total_queries(),
        before,
        "cached NXDOMAIN went upstream"
    );
    assert!(min_ttl(&response) <= EXAMPLE_TEST_NEGATIVE_TTL);

    r.ferret.clock().advance(Duration::from_secs(
        u64::from(EXAMPLE_TEST_NEGATIVE_TTL) + 1,
    ));
    check(&r.query(name, RecordType::A).await);
    assert_eq!(
        r.count_for(&server, name, RecordType::A),
        2,
        "the expired NXDOMAIN was not asked again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodata_is_cached_until_the_soa_minimum_runs_out() {
    let r = Resolving::start(30).await;
    let name = "www.example.test.";
    let server = r.addresses.example_test.clone();
    let check = |response: &Message| {
        assert_eq!(rcode(response), ResponseCode::NoError, "{response}");
        assert!(response.answers.is_empty(), "{response}");
        assert_eq!(
            authority_strings(response),
            [EXAMPLE_TEST_SOA],
            "{response}"
        );
    };

    check(&r.query(name, RecordType::MX).await);
    assert_eq!(r.count_for(&server, name, RecordType::MX), 1);

    let before = r.world.total_queries();
    let response = r.query(name, RecordType::MX).await;
    check(&response);
    assert_eq!(
        r.world.total_queries(),
        before,
        "cached NODATA went upstream"
    );
    assert!(min_ttl(&response) <= EXAMPLE_TEST_NEGATIVE_TTL);

    r.ferret.clock().advance(Duration::from_secs(
        u64::from(EXAMPLE_TEST_NEGATIVE_TTL) + 1,
    ));
    check(&r.query(name, RecordType::MX).await);
    assert_eq!(
        r.count_for(&server, name, RecordType::MX),
        2,
        "the expired NODATA was not asked again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glue_is_never_served_as_an_answer() {
    let r = Resolving::start(36).await;
    let server = r.addresses.example_test.clone();
    r.assert_answers(
        "www.example.test.",
        RecordType::A,
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    // The test. referral carried ns1.example.test.'s address as glue; ferret used it and had
    // no reason to ask for it.
    assert_eq!(r.count_for(&server, "ns1.example.test.", RecordType::A), 0);

    // RFC 2181 §5.4.1: glue is not authoritative data and must not answer a client.
    let expected = format!("ns1.example.test. A {server}");
    r.assert_answers("ns1.example.test.", RecordType::A, &[&expected])
        .await;
    assert_eq!(
        r.count_for(&server, "ns1.example.test.", RecordType::A),
        1,
        "answered from glue instead of asking example.test.'s server"
    );
}

/// A hierarchy whose `example.test.` delegation expires after 10 s while the glue for its
/// server lives a day, so that a later query brings the glue back from `test.`.
async fn short_delegation_hierarchy(block: u8) -> Hierarchy {
    let root = net(block, 0, 1);
    let tld = net(block, 1, 1);
    let example = net(block, 3, 1);
    let root_zone = Zone::parse(
        ".",
        &format!(
            "$TTL 86400
.                    SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 86400
.                    NS  a.root-servers.test.
a.root-servers.test. A   {root}
test.                NS  ns1.nic.test.
ns1.nic.test.        A   {tld}
"
        ),
    );
    let tld_zone = Zone::parse(
        "test.",
        &format!(
            "$TTL 86400
@                 SOA ns1.nic.test. hostmaster.nic.test. 1 1800 900 604800 3600
@                 NS  ns1.nic.test.
ns1.nic           A   {tld}
a.root-servers    A   {root}
example        10 NS  ns1.example.test.
ns1.example 86400 A   {example}
"
        ),
    );
    let example_zone = Zone::parse(
        "example.test.",
        &format!(
            "$TTL 3600
@      SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300
@      NS  ns1.example.test.
ns1    A   {example}
www    A   192.0.2.1
"
        ),
    );
    Hierarchy::builder()
        .server(&root, vec![root_zone])
        .server(&tld, vec![tld_zone])
        .server(&example, vec![example_zone])
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glue_never_replaces_an_authoritative_answer() {
    let block = 35;
    let world = short_delegation_hierarchy(block).await;
    let ferret = common::ferret::start(&common::ferret::test_config(
        block,
        &world.root_hints_path(),
    ))
    .await;
    let at = common::ferret::addr(&ferret);
    let tld = world.server(&net(block, 1, 1));
    let example_ip = net(block, 3, 1);
    let example = world.server(&example_ip);
    let ns1 = "ns1.example.test.";
    let ns1_answer = vec![format!("{ns1} A {example_ip}")];

    let response = query_udp(at, ns1, RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(answer_strings(&response), ns1_answer);
    assert_eq!(min_ttl(&response), 3600, "{response}");
    assert_eq!(example.count_for(ns1, RecordType::A), 1);
    let referrals = tld.query_count();

    // The delegation has expired: www is found through test. again, whose referral carries
    // ns1.example.test. as glue with a TTL of a day.
    ferret.clock().advance(Duration::from_secs(20));
    let response = query_udp(at, "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&response),
        ["www.example.test. A 192.0.2.1"],
        "{response}"
    );
    assert!(
        tld.query_count() > referrals,
        "test. was not asked again, so no glue came back: the test proves nothing"
    );

    // The authoritative A is still the one cached: answered without asking, its TTL still
    // counting down from 3600 rather than reset to the glue's.
    let response = query_udp(at, ns1, RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(answer_strings(&response), ns1_answer);
    assert_eq!(
        example.count_for(ns1, RecordType::A),
        1,
        "the authoritative answer was lost from the cache"
    );
    let ttl = min_ttl(&response);
    assert!(ttl <= 3600 - 20, "TTL {ttl} was reset:\n{response}");
}

// ---------------------------------------------------------------------------------------
// QNAME minimisation (RFC 9156)
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qname_minimisation_tells_each_server_one_label_more() {
    let r = Resolving::start(31).await;
    r.assert_answers(
        "www.example.test.",
        RecordType::A,
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    let a = &r.addresses;

    let root_names: Vec<String> = [&a.root_a, &a.root_b]
        .iter()
        .flat_map(|ip| names_asked(&r.world, ip))
        .collect();
    assert!(
        root_names.iter().any(|n| n == "test."),
        "the root was never asked about test.: {root_names:?}"
    );
    // "." is the priming query (RFC 8109); anything else would say more than the root needs.
    assert!(
        root_names.iter().all(|n| n == "test." || n == "."),
        "the root saw more than test.: {root_names:?}"
    );

    let tld_names: Vec<String> = [&a.tld_test_1, &a.tld_test_2]
        .iter()
        .flat_map(|ip| names_asked(&r.world, ip))
        .collect();
    assert!(
        tld_names.iter().any(|n| n == "example.test."),
        "test. was never asked about example.test.: {tld_names:?}"
    );
    assert!(
        !tld_names.iter().any(|n| n == "www.example.test."),
        "test. saw the full name: {tld_names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_qname_minimisation_the_root_sees_the_full_name() {
    let r = Resolving::start_with(32, |config| config.qname_minimisation = false).await;
    r.assert_answers(
        "www.example.test.",
        RecordType::A,
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    let a = &r.addresses;
    let root_asked = r.count_for(&a.root_a, "www.example.test.", RecordType::A)
        + r.count_for(&a.root_b, "www.example.test.", RecordType::A);
    assert!(root_asked >= 1, "the root was not asked the full name");
    let root_names: Vec<String> = [&a.root_a, &a.root_b]
        .iter()
        .flat_map(|ip| names_asked(&r.world, ip))
        .collect();
    assert!(
        !root_names.iter().any(|n| n == "test."),
        "a minimised question was sent anyway: {root_names:?}"
    );
}
