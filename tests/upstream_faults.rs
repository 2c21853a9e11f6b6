//! Upstream faults: ferret keeps answering when authoritative servers misbehave.
//!
//! Each fault runs against a small fake hierarchy with two zones under `test.`:
//!
//! ```text
//! .            127.B.0.1
//! test.        127.B.1.1
//! mixed.test.  127.B.3.1 (misbehaving), 127.B.3.2 (healthy)  [+ 127.B.3.3 (misbehaving)]
//! bad.test.    127.B.3.1 (misbehaving)                       [+ 127.B.3.3 (misbehaving)]
//! glueless.test.  ns.bad.test. (no glue: its address comes from bad.test.)
//! ```
//!
//! For every fault, ferret must answer `mixed.test.` names correctly from the healthy server,
//! answer `bad.test.` names with SERVFAIL within the time budget, and cache nothing the
//! misbehaving servers sent: their copy of the zones carries marker data (192.0.2.66,
//! 192.0.2.67, a CNAME loop through `loop-a`) and their bad referrals marker names, none of
//! which may appear anywhere in the cache afterwards.
//!
//! Further tests: the per-query budget holds against servers that never answer or answer after
//! it; server selection prefers the healthy server after failures and probes a held-down server
//! once its hold-down is over; serve-stale (RFC 8767).
//!
//! Address blocks 100–119 (127.100.x.y – 127.119.x.y) belong to this file, one per test.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::authority::{Behaviour, Zone};
use common::client::{
    QueryOpts, answer_strings, min_ttl, query_tcp, query_udp, rcode, try_query_udp,
};
use common::ferret::{addr, start, test_config};
use common::hierarchy::{Hierarchy, net};
use ferret::Config;
use ferret::server::RunningServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::time::Instant;

/// What the healthy server of `mixed.test.` answers for every name.
const GOOD_ANSWER: &str = "192.0.2.1";
/// What the misbehaving server's copy of `mixed.test.` says instead.
const POISONED_MIXED: &str = "192.0.2.66";
/// What the misbehaving server says for every name of `bad.test.`.
const BAD_ZONE_ANSWER: &str = "192.0.2.67";

/// Strings that must never reach the cache: the data of the misbehaving servers' zone copies and
/// the names in their bad referrals (see `Behaviour` in tests/common/authority.rs).
const MARKERS: &[&str] = &[
    POISONED_MIXED,
    BAD_ZONE_ANSWER,
    "loop-a",
    "upward-referral",
    "sideways-referral",
    "referral-loop",
    "wrong-question",
];

/// Slack on top of the resolution timeout for "within the budget": the machine is shared and
/// builds are debug builds, so only a generous upper bound is checked.
const SLACK: Duration = Duration::from_millis(2_500);

/// The addresses of one fault world.
struct Addrs {
    root: String,
    tld: String,
    bad: String,
    good: String,
    bad2: String,
    /// Where `Behaviour::WrongSource` answers from: nothing else uses it.
    elsewhere: String,
}

impl Addrs {
    fn new(block: u8) -> Self {
        Addrs {
            root: net(block, 0, 1),
            tld: net(block, 1, 1),
            bad: net(block, 3, 1),
            good: net(block, 3, 2),
            bad2: net(block, 3, 3),
            elsewhere: net(block, 9, 9),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }
}

/// How the misbehaving servers' zones look.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BadData {
    /// The same data as the healthy server (for faults that only break the transport).
    Correct,
    /// Marker addresses instead of the real ones.
    Poisoned,
    /// Every name a CNAME into a loop.
    CnameLoop,
}

/// One fault scenario: how the first (and, if given, the second) misbehaving server behaves.
struct Fault {
    behaviour: Behaviour,
    second: Option<Behaviour>,
    data: BadData,
}

impl Fault {
    fn poisoned(behaviour: Behaviour) -> Self {
        Fault {
            behaviour,
            second: None,
            data: BadData::Poisoned,
        }
    }
}

fn root_zone(a: &Addrs) -> Zone {
    Zone::parse(
        ".",
        &format!(
            "$TTL 86400
.                    SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 86400
.                    NS  a.root-servers.test.
a.root-servers.test. A   {root}
test.         172800 NS  ns1.nic.test.
ns1.nic.test. 172800 A   {tld}
",
            root = a.root,
            tld = a.tld,
        ),
    )
}

fn tld_zone(a: &Addrs, two_bad: bool) -> Zone {
    let second = if two_bad {
        "mixed 172800 NS ns-bad2.mixed.test.\nbad 172800 NS ns-bad2.bad.test.\n"
    } else {
        ""
    };
    Zone::parse(
        "test.",
        &format!(
            "$TTL 86400
@             SOA ns1.nic.test. hostmaster.nic.test. 1 1800 900 604800 3600
@             NS  ns1.nic.test.
ns1.nic       A   {tld}
a.root-servers A  {root}
mixed  172800 NS  ns-bad.mixed.test.
mixed  172800 NS  ns-good.mixed.test.
ns-bad.mixed  172800 A {bad}
ns-good.mixed 172800 A {good}
ns-bad2.mixed 172800 A {bad2}
bad    172800 NS  ns-bad.bad.test.
ns-bad.bad    172800 A {bad}
ns-bad2.bad   172800 A {bad2}
glueless 172800 NS ns.bad.test.
{second}",
            tld = a.tld,
            root = a.root,
            bad = a.bad,
            good = a.good,
            bad2 = a.bad2,
        ),
    )
}

/// A zone's apex records; `names` answers every other name.
fn zone(origin: &str, a: &Addrs, names: &str) -> Zone {
    Zone::parse(
        origin,
        &format!(
            "$TTL 3600
@        SOA ns-bad.{origin} hostmaster.{origin} 1 3600 900 604800 300
@        NS  ns-bad.{origin}
ns       A   {bad}
ns-bad   A   {bad}
ns-good  A   {good}
ns-bad2  A   {bad2}
{names}",
            bad = a.bad,
            good = a.good,
            bad2 = a.bad2,
        ),
    )
}

fn answering(address: &str) -> String {
    format!("www A {address}\n*   A {address}\n")
}

fn looping(origin: &str) -> String {
    format!("www CNAME loop-a.{origin}\nloop-a CNAME www.{origin}\n* CNAME loop-a.{origin}\n")
}

fn bad_zones(a: &Addrs, data: BadData) -> Vec<Zone> {
    match data {
        BadData::Correct => vec![
            zone("mixed.test.", a, &answering(GOOD_ANSWER)),
            zone("bad.test.", a, &answering(BAD_ZONE_ANSWER)),
        ],
        BadData::Poisoned => vec![
            zone("mixed.test.", a, &answering(POISONED_MIXED)),
            zone("bad.test.", a, &answering(BAD_ZONE_ANSWER)),
        ],
        BadData::CnameLoop => vec![
            zone("mixed.test.", a, &looping("mixed.test.")),
            zone("bad.test.", a, &looping("bad.test.")),
        ],
    }
}

async fn start_world(block: u8, fault: &Fault) -> Hierarchy {
    let a = Addrs::new(block);
    let mut builder = Hierarchy::builder()
        .server(&a.root, vec![root_zone(&a)])
        .server(&a.tld, vec![tld_zone(&a, fault.second.is_some())])
        .server(
            &a.good,
            vec![zone("mixed.test.", &a, &answering(GOOD_ANSWER))],
        )
        .server(&a.bad, bad_zones(&a, fault.data))
        .behaviour(&a.bad, fault.behaviour);
    if let Some(second) = fault.second {
        builder = builder
            .server(&a.bad2, bad_zones(&a, fault.data))
            .behaviour(&a.bad2, second);
    }
    builder.start().await
}

async fn start_ferret(config: &Config) -> RunningServer {
    start(config).await
}

/// Every record and negative entry the cache holds, as text.
fn cache_dump(ferret: &RunningServer) -> Vec<String> {
    let now = ferret.clock().now_ms();
    ferret
        .resolver()
        .cache()
        .entries()
        .iter()
        .flat_map(|(key, entry)| {
            std::iter::once(format!("key {} {:?}", key.name(), key.kind()))
                .chain(entry.records_at(now).iter().map(|r| r.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[track_caller]
fn assert_cache_clean(ferret: &RunningServer) {
    let dump = cache_dump(ferret);
    let bad: Vec<&String> = dump
        .iter()
        .filter(|line| MARKERS.iter().any(|m| line.contains(m)))
        .collect();
    assert!(
        bad.is_empty(),
        "the cache holds data from a misbehaving server: {bad:#?}"
    );
}

/// The A addresses of an answer.
fn addresses(response: &Message) -> Vec<String> {
    response
        .answers
        .iter()
        .filter(|r| r.record_type() == RecordType::A)
        .map(|r| r.data.to_string())
        .collect()
}

/// Queries over UDP and checks that the answer came within the budget.
async fn query_within(server: SocketAddr, name: &str, budget: Duration) -> Message {
    let started = Instant::now();
    let response = try_query_udp(
        server,
        name,
        RecordType::A,
        QueryOpts::default(),
        budget + SLACK,
    )
    .await
    .unwrap_or_else(|| panic!("no answer for {name} within {:?}", budget + SLACK));
    assert!(
        started.elapsed() <= budget + SLACK,
        "{name} took {:?}",
        started.elapsed()
    );
    response
}

/// Waits (bounded) until no resolution is left running.
async fn assert_nothing_in_flight(ferret: &RunningServer) {
    for _ in 0..50 {
        if ferret.resolver().questions_in_flight() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{} resolutions still running",
        ferret.resolver().questions_in_flight()
    );
}

/// The common check for one fault: healthy server answers, lone bad zone fails in time, nothing
/// from the bad servers is cached.
async fn survives(block: u8, fault: Fault) {
    let a = Addrs::new(block);
    let world = start_world(block, &fault).await;
    let config = test_config(block, &world.root_hints_path());
    let budget = Duration::from_millis(config.limits.resolution_timeout_ms);
    let ferret = start_ferret(&config).await;
    let server = addr(&ferret);
    // A slow healthy server makes the untried misbehaving one look better, so that it is asked
    // (otherwise the test could pass without ever meeting the fault).
    world.server(&a.good).set_latency(Duration::from_millis(80));
    let mut asked_bad = false;
    for i in 0..6 {
        let name = format!("q{i}.mixed.test.");
        let response = query_within(server, &name, budget).await;
        assert_eq!(
            rcode(&response),
            ResponseCode::NoError,
            "{name}: {response}"
        );
        assert_eq!(
            addresses(&response),
            vec![GOOD_ANSWER],
            "{name}: {response}"
        );
        if world.server(&a.bad).query_count() > 0 {
            asked_bad = true;
            break;
        }
    }
    assert!(asked_bad, "the misbehaving server was never asked");
    let response = query_within(server, "www.bad.test.", budget).await;
    assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    assert!(response.answers.is_empty());
    assert_cache_clean(&ferret);
    assert_nothing_in_flight(&ferret).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_never_answers() {
    survives(100, Fault::poisoned(Behaviour::Drop)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_answers_late() {
    // Later than all three tries at the server (300 + 600 + 1200 ms in tests), though within
    // the budget: by then ferret has given up on the server, and the late answer reaches a closed
    // socket and is never used. (An answer that comes while a try still listens is taken: see
    // tests/resilience.rs.)
    survives(
        101,
        Fault::poisoned(Behaviour::Delay(Duration::from_millis(2_500))),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_answers_with_the_wrong_id() {
    survives(102, Fault::poisoned(Behaviour::WrongId)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_answers_from_the_wrong_address() {
    let elsewhere = Addrs::ip(&Addrs::new(103).elsewhere);
    survives(103, Fault::poisoned(Behaviour::WrongSource(elsewhere))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_answers_another_question() {
    survives(104, Fault::poisoned(Behaviour::WrongQuestion)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_sends_garbage() {
    survives(105, Fault::poisoned(Behaviour::Garbage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_answers_servfail() {
    survives(107, Fault::poisoned(Behaviour::ServFail)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_refuses() {
    survives(108, Fault::poisoned(Behaviour::Refused)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_answers_formerr() {
    survives(109, Fault::poisoned(Behaviour::FormErr)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_refers_upwards() {
    survives(110, Fault::poisoned(Behaviour::UpwardReferral)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_refers_sideways() {
    survives(111, Fault::poisoned(Behaviour::SidewaysReferral)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_refer_to_each_other() {
    let a = Addrs::new(112);
    survives(
        112,
        Fault {
            behaviour: Behaviour::ReferralLoop(Addrs::ip(&a.bad2)),
            second: Some(Behaviour::ReferralLoop(Addrs::ip(&a.bad))),
            data: BadData::Poisoned,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_whose_zone_has_a_cname_loop() {
    survives(
        113,
        Fault {
            behaviour: Behaviour::Normal,
            second: None,
            data: BadData::CnameLoop,
        },
    )
    .await;
}

/// A server that truncates every UDP answer is asked again over TCP, where it answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_always_truncates_is_asked_over_tcp() {
    let block = 106;
    let a = Addrs::new(block);
    let fault = Fault {
        behaviour: Behaviour::AlwaysTruncate,
        second: None,
        data: BadData::Correct,
    };
    let world = start_world(block, &fault).await;
    let config = test_config(block, &world.root_hints_path());
    let budget = Duration::from_millis(config.limits.resolution_timeout_ms);
    let ferret = start_ferret(&config).await;
    let response = query_within(addr(&ferret), "www.bad.test.", budget).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(addresses(&response), vec![BAD_ZONE_ANSWER]);
    let queries = world.server(&a.bad).queries();
    assert!(queries.iter().any(|q| !q.tcp), "asked over UDP first");
    assert!(queries.iter().any(|q| q.tcp), "then over TCP");
    for i in 0..4 {
        let response = query_within(addr(&ferret), &format!("t{i}.mixed.test."), budget).await;
        assert_eq!(addresses(&response), vec![GOOD_ANSWER], "{response}");
    }
}

/// The time budget holds whatever the servers do: a server that never answers and one that
/// answers after the budget, with a per-server timeout longer than the budget, directly and
/// through a glueless delegation, over UDP and TCP at once. Every client gets SERVFAIL in time and
/// no resolution is left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_budget_holds_against_silent_and_slow_servers() {
    let block = 114;
    let fault = Fault {
        behaviour: Behaviour::Drop,
        second: Some(Behaviour::Delay(Duration::from_secs(6))),
        data: BadData::Poisoned,
    };
    let world = start_world(block, &fault).await;
    let mut config = test_config(block, &world.root_hints_path());
    config.limits.resolution_timeout_ms = 1_500;
    config.limits.upstream_timeout_ms = 5_000;
    let budget = Duration::from_millis(config.limits.resolution_timeout_ms);
    let ferret = start_ferret(&config).await;
    let server = addr(&ferret);
    let started = Instant::now();
    let udp = ["a.bad.test.", "b.bad.test.", "www.glueless.test."]
        .map(|name| tokio::spawn(async move { query_within(server, name, budget).await }));
    let tcp = tokio::spawn(async move { query_tcp(server, "c.bad.test.", RecordType::A).await });
    for task in udp {
        let response = task.await.expect("query task");
        assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    }
    let response = tcp.await.expect("TCP query task");
    assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    assert!(
        started.elapsed() <= budget + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert_nothing_in_flight(&ferret).await;
    assert_cache_clean(&ferret);
}

/// After a server failed a few times, queries go to the healthy server; once its hold-down is
/// over, the held-down server is probed (in the background: the client's answer does not wait),
/// and a good answer to the probe brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_servers_are_held_down_and_probed_again_later() {
    let block = 115;
    let a = Addrs::new(block);
    let fault = Fault {
        behaviour: Behaviour::ServFail,
        second: None,
        data: BadData::Correct,
    };
    let world = start_world(block, &fault).await;
    let config = test_config(block, &world.root_hints_path());
    let budget = Duration::from_millis(config.limits.resolution_timeout_ms);
    let ferret = start_ferret(&config).await;
    let server = addr(&ferret);
    let (bad, good) = (world.server(&a.bad), world.server(&a.good));
    let bad_ip = Addrs::ip(&a.bad);

    // Six failures in a row: held down for 16 s (2 s doubled three times).
    for i in 0..6 {
        let response = query_within(server, &format!("f{i}.bad.test."), budget).await;
        assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    }
    let health = ferret.resolver().server_health(bad_ip).expect("measured");
    assert!(health.failures >= 6, "{health:?}");
    assert!(health.held_until > ferret.clock().now_ms(), "{health:?}");

    world.clear_queries();
    for i in 0..5 {
        let response = query_within(server, &format!("h{i}.mixed.test."), budget).await;
        assert_eq!(addresses(&response), vec![GOOD_ANSWER], "{response}");
    }
    assert_eq!(bad.query_count(), 0, "the held-down server was asked");
    // At least: a try cut off by a hiccup of the busy test machine is retried.
    assert!(good.query_count() >= 5);

    // The server recovers; once its hold-down is over, the next question probes it.
    bad.set_behaviour(Behaviour::Normal);
    ferret.clock().advance(Duration::from_secs(61));
    let response = query_within(server, "p.mixed.test.", budget).await;
    assert_eq!(addresses(&response), vec![GOOD_ANSWER], "{response}");
    let mut recovered = false;
    for _ in 0..50 {
        let health = ferret.resolver().server_health(bad_ip).expect("measured");
        if health.failures == 0 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the probe did not bring the server back");
    assert!(bad.count_for("p.mixed.test.", RecordType::A) >= 1, "probed");
    assert!(good.count_for("p.mixed.test.", RecordType::A) >= 1);
    // It answers for its own zone again.
    let response = query_within(server, "r.bad.test.", budget).await;
    assert_eq!(addresses(&response), vec![BAD_ZONE_ANSWER], "{response}");
}

/// The fake world for serve-stale: `stale.test.` on two servers whose copies differ, so that an
/// answer shows which server (and which resolution) it came from.
async fn start_stale_world(block: u8) -> Hierarchy {
    let a = Addrs::new(block);
    let tld = Zone::parse(
        "test.",
        &format!(
            "$TTL 86400
@             SOA ns1.nic.test. hostmaster.nic.test. 1 1800 900 604800 3600
@             NS  ns1.nic.test.
ns1.nic       A   {tld}
stale  172800 NS  ns1.stale.test.
stale  172800 NS  ns2.stale.test.
ns1.stale 172800 A {one}
ns2.stale 172800 A {two}
",
            tld = a.tld,
            one = a.bad,
            two = a.good,
        ),
    );
    let stale = |address: &str| {
        Zone::parse(
            "stale.test.",
            &format!(
                "$TTL 3600
@      SOA ns1.stale.test. hostmaster.stale.test. 1 3600 900 604800 300
@      NS  ns1.stale.test.
@      NS  ns2.stale.test.
ns1    A   {one}
ns2    A   {two}
www 60 A   {address}
",
                one = a.bad,
                two = a.good,
            ),
        )
    };
    Hierarchy::builder()
        .server(&a.root, vec![root_zone(&a)])
        .server(&a.tld, vec![tld])
        .server(&a.bad, vec![stale("192.0.2.90")])
        .server(&a.good, vec![stale("192.0.2.91")])
        .start()
        .await
}

/// Serve-stale (RFC 8767): expired data answers (TTL 30) only when resolution fails; fresh data
/// replaces it as soon as a server answers again; past the stale window there is nothing left
/// and the answer is SERVFAIL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_data_answers_when_the_servers_are_down() {
    let block = 116;
    let a = Addrs::new(block);
    let world = start_stale_world(block).await;
    let mut config = test_config(block, &world.root_hints_path());
    config.serve_stale_window = 600;
    let budget = Duration::from_millis(config.limits.resolution_timeout_ms);
    let ferret = start_ferret(&config).await;
    let server = addr(&ferret);
    let (one, two) = (world.server(&a.bad), world.server(&a.good));

    // Resolved from the first server only.
    two.set_behaviour(Behaviour::Drop);
    let response = query_within(server, "www.stale.test.", budget).await;
    assert_eq!(addresses(&response), vec!["192.0.2.90"], "{response}");
    assert!(min_ttl(&response) > 30 && min_ttl(&response) <= 60);

    // Expired, and every server down: the stale answer, TTL 30, after trying the servers.
    one.set_behaviour(Behaviour::Drop);
    ferret.clock().advance(Duration::from_secs(61));
    world.clear_queries();
    let response = query_within(server, "www.stale.test.", budget).await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    assert_eq!(addresses(&response), vec!["192.0.2.90"], "{response}");
    assert_eq!(min_ttl(&response), 30);
    assert!(
        one.count_for("www.stale.test.", RecordType::A)
            + two.count_for("www.stale.test.", RecordType::A)
            > 0,
        "resolution was not tried before answering stale"
    );

    // Within the next 30 s (RFC 8767 §4's failure recheck timer, which is also the stale
    // answer's TTL) the stale answer is served again without asking the servers.
    world.clear_queries();
    let response = query_within(server, "www.stale.test.", budget).await;
    assert_eq!(addresses(&response), vec!["192.0.2.90"], "{response}");
    assert_eq!(world.total_queries(), 0, "no recheck within 30 s");

    // A server is back: after the recheck interval the fresh data answers and replaces the
    // stale data.
    two.set_behaviour(Behaviour::Normal);
    ferret.clock().advance(Duration::from_secs(31));
    let response = query_within(server, "www.stale.test.", budget).await;
    assert_eq!(addresses(&response), vec!["192.0.2.91"], "{response}");
    assert!(min_ttl(&response) > 30, "{response}");
    world.clear_queries();
    let response = query_udp(server, "www.stale.test.", RecordType::A).await;
    assert_eq!(answer_strings(&response).len(), 1);
    assert_eq!(addresses(&response), vec!["192.0.2.91"], "from the cache");
    assert_eq!(world.total_queries(), 0);

    // Down again, and past the stale window: nothing to answer from.
    two.set_behaviour(Behaviour::Drop);
    ferret.clock().advance(Duration::from_secs(60 + 600 + 1));
    let response = query_within(server, "www.stale.test.", budget).await;
    assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    assert_nothing_in_flight(&ferret).await;
}

/// Stale data also answers when the budget runs out before the servers fail (they answer after
/// it); with `--serve-stale-window 0` the same situation gives SERVFAIL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_data_answers_when_the_budget_runs_out_unless_disabled() {
    let block = 117;
    let a = Addrs::new(block);
    let world = start_stale_world(block).await;
    let mut config = test_config(block, &world.root_hints_path());
    config.limits.resolution_timeout_ms = 1_500;
    config.limits.upstream_timeout_ms = 5_000;
    let budget = Duration::from_millis(config.limits.resolution_timeout_ms);
    let serving = start_ferret(&config).await;
    config.serve_stale_window = 0;
    let not_serving = start_ferret(&config).await;
    world.server(&a.good).set_behaviour(Behaviour::Drop);
    for ferret in [&serving, &not_serving] {
        let response = query_within(addr(ferret), "www.stale.test.", budget).await;
        assert_eq!(addresses(&response), vec!["192.0.2.90"], "{response}");
    }
    for server in [&a.bad, &a.good] {
        world
            .server(server)
            .set_behaviour(Behaviour::Delay(Duration::from_secs(6)));
    }
    serving.clock().advance(Duration::from_secs(61));
    not_serving.clock().advance(Duration::from_secs(61));
    let response = query_within(addr(&serving), "www.stale.test.", budget).await;
    assert_eq!(addresses(&response), vec!["192.0.2.90"], "{response}");
    assert_eq!(min_ttl(&response), 30);
    let response = query_within(addr(&not_serving), "www.stale.test.", budget).await;
    assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    assert_nothing_in_flight(&serving).await;
    assert_nothing_in_flight(&not_serving).await;
}
