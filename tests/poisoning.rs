//! Cache poisoning defences, tested from the authoritative side: the fake servers log the source
//! port and ID of every query, lie in their answers (out-of-bailiwick records, hijacking NS sets
//! and glue), and race forged answers against their own real ones.
//!
//! Address blocks 120–129 (127.120.x.y – 127.129.x.y) belong to this file, one per test. Within a
//! block, `127.B.66.1` is the attacker's server: it answers every name with [`FORGED_ADDRESS`],
//! and no test may ever see it queried.

mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use common::authority::{
    AuthorityServer, Behaviour, FORGED_ADDRESS, LoggedQuery, Section, Zone, fqdn,
};
use common::client::{answer_strings, query_udp, rcode};
use common::ferret::{addr, start, test_config};
use common::hierarchy::{Hierarchy, net};
use common::world::{self, Addresses};
use ferret::cache::Rank;
use ferret::server::RunningServer;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{RData, Record, RecordType};

fn a_record(name: &str, ip: &str) -> Record {
    let ip: std::net::Ipv4Addr = ip.parse().expect("IPv4 address");
    Record::from_rdata(fqdn(name), 86_400, RData::A(A(ip)))
}

fn ns_record(zone: &str, server: &str) -> Record {
    Record::from_rdata(fqdn(zone), 86_400, RData::NS(NS(fqdn(server))))
}

/// The attacker's server on `127.{block}.66.1`: every name it is asked about has the forged
/// address. It must never be asked anything.
async fn attacker(block: u8) -> AuthorityServer {
    let zone = Zone::parse(
        ".",
        &format!(
            "$TTL 86400
.          SOA ns.evil.test. hostmaster.evil.test. 1 3600 900 604800 300
.          NS  ns.evil.test.
*          A   {FORGED_ADDRESS}
*.test     A   {FORGED_ADDRESS}
*.example  A   {FORGED_ADDRESS}
ns.evil.test. A {evil}
",
            evil = net(block, 66, 1),
        ),
    );
    let ip: IpAddr = net(block, 66, 1).parse().expect("attacker address");
    AuthorityServer::start(ip, vec![zone]).await
}

/// Asks ferret for `name`/A and checks the answer is exactly `expected`.
async fn assert_resolves(ferret: &RunningServer, name: &str, expected: &[&str]) {
    let response = query_udp(addr(ferret), name, RecordType::A).await;
    assert_eq!(
        rcode(&response),
        ResponseCode::NoError,
        "{name}: {response}"
    );
    assert_eq!(answer_strings(&response), expected, "{name}");
}

/// The addresses ferret's cache holds for `name` at any rank (glue included), if any.
fn cached_addresses(ferret: &RunningServer, name: &str) -> Option<(Rank, Vec<String>)> {
    let entry = ferret
        .resolver()
        .cache()
        .get_rrset(&fqdn(name), RecordType::A, Rank::Glue)?;
    let mut addresses: Vec<String> = entry.rrset().iter().map(|r| r.data.to_string()).collect();
    addresses.sort();
    Some((entry.rank, addresses))
}

/// The server names of the NS set ferret's cache holds for `zone`.
fn cached_ns_names(ferret: &RunningServer, zone: &str) -> Vec<String> {
    let entry = ferret
        .resolver()
        .cache()
        .get_rrset(&fqdn(zone), RecordType::NS, Rank::Glue)
        .unwrap_or_else(|| panic!("no NS set for {zone} in the cache"));
    let mut names: Vec<String> = entry
        .rrset()
        .iter()
        .map(|r| r.data.to_string().to_lowercase())
        .collect();
    names.sort();
    names
}

/// Asserts that none of `names` is cached with the forged address or the attacker's server's.
fn assert_nothing_forged_cached(ferret: &RunningServer, names: &[&str]) {
    for name in names {
        if let Some((rank, addresses)) = cached_addresses(ferret, name) {
            assert!(
                !addresses
                    .iter()
                    .any(|a| a == FORGED_ADDRESS || a.ends_with(".66.1")),
                "{name} cached as {addresses:?} ({rank:?})"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Port and ID randomisation, 0x20
// ---------------------------------------------------------------------------------------

/// RFC 5452 §9.2, as the authoritative server sees it: every upstream UDP query has a random ID,
/// and queries outstanding together never share a source port. A socket is used again only for
/// later queries to the same server, a bounded number of times (`src/upstream/sockets.rs` says
/// why its port stays unpredictable to everyone but that server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_queries_have_random_ids_and_outstanding_ones_their_own_ports() {
    let world = world::start(120).await;
    let ferret = start(&test_config(120, &world.root_hints_path())).await;
    let server = world.server(&Addresses::new(120).example_test);
    // Slow answers keep the concurrent queries below outstanding together; measured as slow from
    // the first, so that none of their tries times out.
    server.set_latency(Duration::from_millis(200));
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    server.clear_queries();
    let mut asked = tokio::task::JoinSet::new();
    for i in 0..30 {
        let at = addr(&ferret);
        asked.spawn(async move {
            let name = format!("c{i}.wild.example.test.");
            answer_strings(&query_udp(at, &name, RecordType::A).await)
        });
    }
    while let Some(answers) = asked.join_next().await {
        assert_eq!(answers.expect("query task").len(), 1);
    }
    // The names themselves; a minimised query for `wild.example.test.` before them may have been
    // answered on a socket one of them then took.
    let together: Vec<LoggedQuery> = server
        .queries()
        .into_iter()
        .filter(|q| !q.tcp && q.name.num_labels() == 4)
        .collect();
    assert!(
        together.len() >= 30,
        "only {} UDP queries seen",
        together.len()
    );
    let ports: HashSet<u16> = together.iter().map(|q| q.source.port()).collect();
    assert_eq!(
        ports.len(),
        together.len(),
        "outstanding queries share a port"
    );

    server.set_latency(Duration::ZERO);
    server.clear_queries();
    for i in 0..50 {
        let name = format!("q{i}.wild.example.test.");
        assert_resolves(&ferret, &name, &[&format!("{name} A 192.0.2.99")]).await;
    }
    let udp: Vec<LoggedQuery> = server.queries().into_iter().filter(|q| !q.tcp).collect();
    assert!(udp.len() >= 50, "only {} UDP queries seen", udp.len());
    let sample = &udp[..50];
    let ids: HashSet<u16> = sample.iter().map(|q| q.id).collect();
    assert!(ids.len() >= 45, "50 queries with {} IDs", ids.len());
    let mut per_port = std::collections::HashMap::<u16, u32>::new();
    for query in sample {
        *per_port.entry(query.source.port()).or_default() += 1;
    }
    let most = per_port.values().max().copied().unwrap_or(0);
    assert!(
        most <= ferret::upstream::MAX_QUERIES_PER_SOCKET,
        "{most} queries from one port"
    );
}

/// With --use-0x20 the query names arrive in mixed case; the answers still resolve, the cache
/// stays case-insensitive, and the client gets its own spelling back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_0x20_mixes_the_case_of_upstream_names() {
    let world = world::start(121).await;
    let mut config = test_config(121, &world.root_hints_path());
    config.use_0x20 = true;
    let ferret = start(&config).await;
    let at = addr(&ferret);
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    assert_resolves(
        &ferret,
        "www.glueless.test.",
        &["www.glueless.test. A 192.0.2.60"],
    )
    .await;
    assert_resolves(
        &ferret,
        "deep.sub.example.test.",
        &["deep.sub.example.test. A 192.0.2.44"],
    )
    .await;

    let logged: Vec<LoggedQuery> = world.servers().flat_map(|s| s.queries()).collect();
    assert!(
        logged.iter().all(|q| !q.tcp),
        "every server echoes case: no TCP"
    );
    let lettered: Vec<&LoggedQuery> = logged.iter().filter(|q| !q.name.is_root()).collect();
    let mixed = lettered
        .iter()
        .filter(|q| !q.name.eq_case(&q.name.to_lowercase()))
        .count();
    // Each name has at least 4 letters: all of them lower case by chance is 1 in 16 per query.
    assert!(
        mixed * 2 > lettered.len(),
        "{mixed} of {} names in mixed case: {:?}",
        lettered.len(),
        lettered
            .iter()
            .map(|q| q.name.to_string())
            .collect::<Vec<_>>()
    );

    // The wildcard answer's owner is the question name itself, so the server sends it back in
    // the random case; the client must see the spelling it asked with.
    let asked = "Some.Wild.Example.TEST.";
    let response = query_udp(at, asked, RecordType::A).await;
    assert_eq!(
        answer_strings(&response),
        ["some.wild.example.test. A 192.0.2.99"]
    );
    assert!(
        response.answers[0].name.eq_case(&fqdn(asked)),
        "owner {} is not spelled as asked",
        response.answers[0].name
    );
    // Cache keys ignore case: another spelling is answered from the cache.
    world.clear_queries();
    let response = query_udp(at, "sOME.wILD.eXAMPLE.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&response),
        ["some.wild.example.test. A 192.0.2.99"]
    );
    assert_eq!(world.total_queries(), 0, "answered from the cache");
}

/// A server that does not echo the case of the question: with 0x20 its UDP answers are never
/// used, and the question is asked again over TCP, so the zone still resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_0x20_falls_back_to_tcp_for_servers_that_do_not_echo_case() {
    let world = world::start(122).await;
    let a = Addresses::new(122);
    let server = world.server(&a.example_test);
    server.set_behaviour(Behaviour::LowercaseQuestion);
    let mut config = test_config(122, &world.root_hints_path());
    config.use_0x20 = true;
    let ferret = start(&config).await;
    for (name, expected) in [
        ("www.example.test.", "192.0.2.1"),
        ("mail.example.test.", "192.0.2.25"),
        ("sip.example.test.", "192.0.2.50"),
    ] {
        assert_resolves(&ferret, name, &[&format!("{name} A {expected}")]).await;
    }
    let queries = server.queries();
    let mixed_udp: Vec<&LoggedQuery> = queries
        .iter()
        .filter(|q| !q.tcp && !q.name.eq_case(&q.name.to_lowercase()))
        .collect();
    assert!(!mixed_udp.is_empty(), "0x20 was used: {queries:?}");
    for udp in mixed_udp {
        assert!(
            queries.iter().any(|q| q.tcp && q.name == udp.name),
            "no TCP retry for {}: {queries:?}",
            udp.name
        );
    }
}

/// The attack 0x20 is for: a forger who has guessed the port and the ID. Without 0x20 its answer
/// wins the race against the slower real server; with 0x20 its wrong case gives it away, the
/// question goes to TCP, and the real answer is the only one cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_0x20_defeats_a_forger_who_guessed_port_and_id() {
    let world = world::start(123).await;
    let server = world.server(&Addresses::new(123).example_test);
    server.set_behaviour(Behaviour::ForgeGuessedId);
    server.set_latency(Duration::from_millis(200));
    let mut config = test_config(123, &world.root_hints_path());
    config.limits.upstream_timeout_ms = 2_000;

    let plain = start(&config).await;
    assert_resolves(
        &plain,
        "www.example.test.",
        &[&format!("www.example.test. A {FORGED_ADDRESS}")],
    )
    .await;

    config.use_0x20 = true;
    let hardened = start(&config).await;
    for (name, expected) in [
        ("www.example.test.", "192.0.2.1"),
        ("mail.example.test.", "192.0.2.25"),
    ] {
        assert_resolves(&hardened, name, &[&format!("{name} A {expected}")]).await;
    }
    assert_nothing_forged_cached(&hardened, &["www.example.test.", "mail.example.test."]);
    assert!(
        server.queries().iter().any(|q| q.tcp),
        "asked again over TCP"
    );
}

/// An off-path forger floods ferret with answers while the real server is slow; it cannot know
/// the ID, so the real answer wins and nothing forged is cached. Every level of the hierarchy
/// floods, so referrals are raced too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_forged_answers_loses_to_the_real_one() {
    let world = world::start(129).await;
    let a = Addresses::new(129);
    for ip in [
        &a.root_a,
        &a.root_b,
        &a.tld_test_1,
        &a.tld_test_2,
        &a.example_test,
    ] {
        let server = world.server(ip);
        server.set_behaviour(Behaviour::SpoofFlood(50));
        server.set_latency(Duration::from_millis(100));
    }
    let mut config = test_config(129, &world.root_hints_path());
    config.limits.upstream_timeout_ms = 2_000;
    config.limits.resolution_timeout_ms = 8_000;
    let ferret = start(&config).await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    assert_resolves(
        &ferret,
        "mail.example.test.",
        &["mail.example.test. A 192.0.2.25"],
    )
    .await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    assert_nothing_forged_cached(
        &ferret,
        &[
            "www.example.test.",
            "mail.example.test.",
            "ns1.example.test.",
            "ns1.nic.test.",
        ],
    );
    let flooded = world.server(&a.example_test).queries();
    assert!(
        flooded.iter().any(|q| !q.tcp),
        "the flood was sent: {flooded:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Bailiwick
// ---------------------------------------------------------------------------------------

/// A server for example.test. appends an address for a name in another zone, in the answer and
/// the additional section: it is not cached, and the name still resolves to its real address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_bailiwick_answers_are_not_cached() {
    let world = world::start(124).await;
    let evil = attacker(124).await;
    let a = Addresses::new(124);
    let liar = world.server(&a.example_test);
    liar.set_extra_records(
        Section::Answer,
        vec![a_record("www.other.example.", FORGED_ADDRESS)],
    );
    liar.set_extra_records(
        Section::Additional,
        vec![
            a_record("www.other.example.", FORGED_ADDRESS),
            a_record("ns.other.example.", &net(124, 66, 1)),
        ],
    );
    let ferret = start(&test_config(124, &world.root_hints_path())).await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    assert_resolves(
        &ferret,
        "sip.example.test.",
        &["sip.example.test. A 192.0.2.50"],
    )
    .await;
    assert!(liar.query_count() >= 2);
    assert_eq!(cached_addresses(&ferret, "www.other.example."), None);
    assert_eq!(cached_addresses(&ferret, "ns.other.example."), None);

    // The classic: an alias into another zone with the forged address of its target right
    // behind it. The chain's second half must come from other.example.'s own server.
    assert_resolves(
        &ferret,
        "cross.example.test.",
        &[
            "cross.example.test. CNAME www.other.example.",
            "www.other.example. A 192.0.2.80",
        ],
    )
    .await;

    assert_resolves(
        &ferret,
        "www.other.example.",
        &["www.other.example. A 192.0.2.80"],
    )
    .await;
    assert_nothing_forged_cached(&ferret, &["www.other.example.", "ns.other.example."]);
    assert_eq!(evil.query_count(), 0);
}

/// A child zone's server claims new NS records (with glue) for its parent and for the root, in
/// answers and in a referral to a grandchild: the parent's and the root's NS sets stay as they
/// were and the attacker's server is never asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_cannot_redelegate_its_parent() {
    let world = world::start(125).await;
    let evil = attacker(125).await;
    let a = Addresses::new(125);
    let liar = world.server(&a.example_test);
    liar.set_extra_records(
        Section::Authority,
        vec![
            ns_record("test.", "ns.evil.test."),
            ns_record(".", "ns.evil.test."),
        ],
    );
    liar.set_extra_records(
        Section::Additional,
        vec![a_record("ns.evil.test.", &net(125, 66, 1))],
    );
    let ferret = start(&test_config(125, &world.root_hints_path())).await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    // sub.example.test. is a referral from the liar, with the forged NS sets after its own.
    assert_resolves(
        &ferret,
        "deep.sub.example.test.",
        &["deep.sub.example.test. A 192.0.2.44"],
    )
    .await;
    let nxdomain = query_udp(addr(&ferret), "nothing.example.test.", RecordType::A).await;
    assert_eq!(rcode(&nxdomain), ResponseCode::NXDomain);

    assert_eq!(
        cached_ns_names(&ferret, "test."),
        ["ns1.nic.test.", "ns2.nic.test."]
    );
    assert_eq!(
        cached_ns_names(&ferret, "."),
        ["a.root-servers.test.", "b.root-servers.test."]
    );
    assert_eq!(cached_addresses(&ferret, "ns.evil.test."), None);
    // Names under test. and under the root still go to the real servers.
    assert_resolves(
        &ferret,
        "www.glueless.test.",
        &["www.glueless.test. A 192.0.2.60"],
    )
    .await;
    assert_resolves(
        &ferret,
        "www.other.example.",
        &["www.other.example. A 192.0.2.80"],
    )
    .await;
    assert_eq!(evil.query_count(), 0);
}

/// A server hijacks sibling zones: example.test.'s server claims NS records and glue for
/// glueless.test. and other.example., and the TLD's referral for glueless.test. carries an
/// address for its server ns.hosting.example., a name outside test. that the TLD cannot vouch
/// for. None of it is taken, so the siblings keep their real servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_cannot_redelegate_its_siblings() {
    let world = world::start(126).await;
    let evil = attacker(126).await;
    let a = Addresses::new(126);
    let liar = world.server(&a.example_test);
    liar.set_extra_records(
        Section::Authority,
        vec![
            ns_record("glueless.test.", "ns.evil.test."),
            ns_record("other.example.", "ns.evil.test."),
        ],
    );
    liar.set_extra_records(
        Section::Additional,
        vec![
            a_record("ns.evil.test.", &net(126, 66, 1)),
            a_record("ns.hosting.example.", &net(126, 66, 1)),
        ],
    );
    let ferret = start(&test_config(126, &world.root_hints_path())).await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    assert_resolves(
        &ferret,
        "deep.sub.example.test.",
        &["deep.sub.example.test. A 192.0.2.44"],
    )
    .await;
    assert_eq!(cached_addresses(&ferret, "ns.evil.test."), None);
    assert_eq!(cached_addresses(&ferret, "ns.hosting.example."), None);

    for tld in [&a.tld_test_1, &a.tld_test_2] {
        world.server(tld).set_extra_records(
            Section::Additional,
            vec![a_record("ns.hosting.example.", &net(126, 66, 1))],
        );
    }
    assert_resolves(
        &ferret,
        "www.glueless.test.",
        &["www.glueless.test. A 192.0.2.60"],
    )
    .await;
    assert_resolves(
        &ferret,
        "www.other.example.",
        &["www.other.example. A 192.0.2.80"],
    )
    .await;
    assert_eq!(
        cached_ns_names(&ferret, "glueless.test."),
        ["ns.hosting.example."]
    );
    assert_eq!(
        cached_ns_names(&ferret, "other.example."),
        ["ns.other.example."]
    );
    assert_nothing_forged_cached(&ferret, &["ns.hosting.example.", "ns.other.example."]);
    assert_eq!(evil.query_count(), 0);
}

/// Additional-section addresses count only as glue for the referral they came with: the TLD's
/// referral for glueless.test. carries an address for ns1.example.test. (in the TLD's bailiwick,
/// but not a server of glueless.test.), and example.test.'s own answers carry one too. Neither
/// replaces the glue ferret got with example.test.'s referral.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn additional_addresses_are_only_glue_for_their_own_referral() {
    let world = world::start(127).await;
    let evil = attacker(127).await;
    let a = Addresses::new(127);
    let evil_ip = net(127, 66, 1);
    let ferret = start(&test_config(127, &world.root_hints_path())).await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        &["www.example.test. A 192.0.2.1"],
    )
    .await;
    let glue = cached_addresses(&ferret, "ns1.example.test.");
    assert_eq!(glue, Some((Rank::Glue, vec![a.example_test.clone()])));

    for tld in [&a.tld_test_1, &a.tld_test_2] {
        world.server(tld).set_extra_records(
            Section::Additional,
            vec![a_record("ns1.example.test.", &evil_ip)],
        );
    }
    world.server(&a.example_test).set_extra_records(
        Section::Additional,
        vec![a_record("ns1.example.test.", &evil_ip)],
    );
    assert_resolves(
        &ferret,
        "www.glueless.test.",
        &["www.glueless.test. A 192.0.2.60"],
    )
    .await;
    assert_resolves(
        &ferret,
        "mail.example.test.",
        &["mail.example.test. A 192.0.2.25"],
    )
    .await;
    assert_eq!(cached_addresses(&ferret, "ns1.example.test."), glue);
    for i in 0..5 {
        let name = format!("n{i}.wild.example.test.");
        assert_resolves(&ferret, &name, &[&format!("{name} A 192.0.2.99")]).await;
    }
    assert_eq!(evil.query_count(), 0);
}

/// RFC 2181 §5.4.1 ranking: an address ferret learnt from the zone's own authoritative answer is
/// not replaced by different glue in a later referral (here for another zone served by the same
/// server name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glue_never_replaces_an_authoritative_address() {
    let block = 128;
    let (root, tld, real) = (net(block, 0, 1), net(block, 1, 1), net(block, 2, 1));
    let evil_ip = net(block, 66, 1);
    let evil = attacker(block).await;
    let world = Hierarchy::builder()
        .server(
            &root,
            vec![Zone::parse(
                ".",
                &format!(
                    "$TTL 86400
.            SOA a.root-servers.test. hostmaster.test. 1 1800 900 604800 86400
.            NS  a.root-servers.test.
a.root-servers.test. A {root}
test.        NS  ns.nic.test.
ns.nic.test. A   {tld}
"
                ),
            )],
        )
        .server(
            &tld,
            vec![Zone::parse(
                "test.",
                &format!(
                    "$TTL 86400
@            SOA ns.nic.test. hostmaster.test. 1 1800 900 604800 3600
@            NS  ns.nic.test.
ns.nic       A   {tld}
rank         NS  ns.rank.test.
second       NS  ns.rank.test.
ns.rank      A   {real}
"
                ),
            )],
        )
        .server(
            &real,
            vec![
                Zone::parse(
                    "rank.test.",
                    &format!(
                        "$TTL 3600
@   SOA ns.rank.test. hostmaster.rank.test. 1 3600 900 604800 300
@   NS  ns.rank.test.
ns  A   {real}
www A   192.0.2.10
"
                    ),
                ),
                Zone::parse(
                    "second.test.",
                    "$TTL 3600
@   SOA ns.rank.test. hostmaster.second.test. 1 3600 900 604800 300
@   NS  ns.rank.test.
www A   192.0.2.20
",
                ),
            ],
        )
        .start()
        .await;
    let ferret = start(&test_config(block, &world.root_hints_path())).await;
    assert_resolves(
        &ferret,
        "ns.rank.test.",
        &[&format!("ns.rank.test. A {real}")],
    )
    .await;
    let authoritative = Some((Rank::AuthAnswer, vec![real.clone()]));
    assert_eq!(cached_addresses(&ferret, "ns.rank.test."), authoritative);

    // From now on the TLD's referrals carry glue for ns.rank.test. pointing at the attacker.
    world.server(&tld).set_extra_records(
        Section::Additional,
        vec![a_record("ns.rank.test.", &evil_ip)],
    );
    for i in 0..5 {
        assert_resolves(
            &ferret,
            "www.second.test.",
            &["www.second.test. A 192.0.2.20"],
        )
        .await;
        let other = format!("n{i}.second.test.");
        let response = query_udp(addr(&ferret), &other, RecordType::A).await;
        assert_eq!(rcode(&response), ResponseCode::NXDomain);
    }
    assert!(
        world.server(&tld).count_for("second.test.", RecordType::A) >= 1,
        "the referral with the forged glue was received"
    );
    assert_eq!(cached_addresses(&ferret, "ns.rank.test."), authoritative);
    assert_eq!(evil.query_count(), 0);
}
