//! Resilience and conformance: authoritative servers that are slow, that hide behind each other,
//! or that answer something other than what was asked, and delegations whose parent and child
//! disagree. Each test builds a small fake hierarchy that misbehaves one way and shows that
//! ferret still finds the answer the zone really has (or fails at once where there is none),
//! as Unbound does.
//!
//! Address blocks 140, 151 and 155–159 (127.140.x.y, 127.151.x.y, 127.155.x.y – 127.159.x.y)
//! belong to this file, one per test.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::authority::Behaviour;
use common::client::{answer_strings, query_udp, rcode};
use common::ferret::{addr, start, test_config};
use common::hierarchy::{net, root_and_tld, zone};
use ferret::server::RunningServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::time::Instant;

/// What every zone here answers for `www`.
const WWW: &str = "192.0.2.1";

async fn ask(ferret: &RunningServer, name: &str) -> Message {
    query_udp(addr(ferret), name, RecordType::A).await
}

async fn assert_resolves(ferret: &RunningServer, name: &str) {
    let response = ask(ferret, name).await;
    assert_eq!(
        rcode(&response),
        ResponseCode::NoError,
        "{name}: {response}"
    );
    assert_eq!(
        answer_strings(&response),
        [format!("{name} A {WWW}")],
        "{name}: {response}"
    );
}

async fn assert_servfail(ferret: &RunningServer, name: &str) {
    let response = ask(ferret, name).await;
    assert_eq!(
        rcode(&response),
        ResponseCode::ServFail,
        "{name}: {response}"
    );
}

/// A zone served by the one server `ip`, holding `ns` and `www`.
fn lone_zone(origin: &str, ip: &str) -> common::authority::Zone {
    zone(
        origin,
        &format!("ns.{origin}"),
        &format!("ns A {ip}\nwww A {WWW}\n"),
    )
}

/// The only server of `slow.test.` answers every query after 1.5 s, and the only server of
/// `once.test.` answers the first query for a name after 1 s and never a retransmission. With
/// the default timeouts (800 ms a try, 4 s a question), ferret asks again with a doubled timeout
/// (376, 752, 1504 ms: RFC 6298 §5.5's back-off, as Unbound's) while still listening for the
/// earlier tries' answers, so both names resolve. Every try has its own source port (RFC 5452 §9.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_is_waited_for_within_the_budget() {
    let block = 140;
    let (slow, once) = (net(block, 3, 1), net(block, 4, 1));
    let world = root_and_tld(
        block,
        &format!(
            "slow NS ns.slow.test.\nns.slow A {slow}\nonce NS ns.once.test.\nns.once A {once}\n"
        ),
    )
    .server(&slow, vec![lone_zone("slow.test.", &slow)])
    .behaviour(&slow, Behaviour::Delay(Duration::from_millis(1_500)))
    .server(&once, vec![lone_zone("once.test.", &once)])
    .behaviour(
        &once,
        Behaviour::FirstQueryOnlyAfter(Duration::from_millis(1_000)),
    )
    .start()
    .await;
    let mut config = test_config(block, &world.root_hints_path());
    config.limits.upstream_timeout_ms = 800;
    config.limits.resolution_timeout_ms = 4_000;
    let ferret = start(&config).await;

    let started = Instant::now();
    assert_resolves(&ferret, "www.slow.test.").await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "within the budget"
    );
    assert_resolves(&ferret, "www.once.test.").await;

    for ip in [&slow, &once] {
        let tries = world.server(ip).queries();
        assert!(tries.len() >= 2, "{ip} was asked again: {tries:?}");
        let ports: HashSet<u16> = tries.iter().map(|q| q.source.port()).collect();
        assert_eq!(ports.len(), tries.len(), "a port per try: {tries:?}");
    }
    world.stop().await;
}

/// `a.test.` is served only by `ns.b.test.` and `b.test.` only by `ns.a.test.`, neither with
/// glue: neither can ever be reached. ferret sees the cycle (looking up a server name of a.test.
/// needs a.test.'s own servers) and fails at once, after a handful of queries instead of its
/// whole query budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_glueless_delegation_cycle_fails_at_once() {
    let block = 151;
    let world = root_and_tld(block, "a NS ns.b.test.\nb NS ns.a.test.\n")
        .start()
        .await;
    let config = test_config(block, &world.root_hints_path());
    let ferret = start(&config).await;

    let started = Instant::now();
    assert_servfail(&ferret, "www.a.test.").await;
    let took = started.elapsed();
    let queries = world.total_queries();
    assert!(
        queries <= 10,
        "{queries} upstream queries (the budget is {})",
        config.limits.max_upstream_queries
    );
    assert!(took < Duration::from_millis(500), "SERVFAIL after {took:?}");
    world.stop().await;
}

/// A fake hierarchy for servers that answer something other than what was asked:
///
/// ```text
/// two.test.    127.B.3.1 (the liar, misbehaving as `behaviour`), 127.B.3.2 (honest)
/// alone.test.  127.B.3.1 only
/// warm.test.   127.B.3.2 only
/// ```
///
/// Both servers of two.test. hold `www` = 192.0.2.1. Before asking two.test., ferret resolves a
/// name of warm.test. through the honest server while it answers slowly, so that server
/// selection asks the (untried, so seemingly faster) liar first.
async fn liar_first(block: u8, behaviour: Behaviour) {
    let (liar, honest) = (net(block, 3, 1), net(block, 3, 2));
    let tld = format!(
        "two NS ns1.two.test.\ntwo NS ns2.two.test.\nns1.two A {liar}\nns2.two A {honest}\n\
         alone NS ns.alone.test.\nns.alone A {liar}\nwarm NS ns.warm.test.\nns.warm A {honest}\n"
    );
    let two = zone(
        "two.test.",
        "ns1.two.test.",
        &format!("ns1 A {liar}\nns2 A {honest}\nwww A {WWW}\n"),
    );
    let world = root_and_tld(block, &tld)
        .server(&liar, vec![two.clone(), lone_zone("alone.test.", &liar)])
        .behaviour(&liar, behaviour)
        .server(&honest, vec![two, lone_zone("warm.test.", &honest)])
        .start()
        .await;
    let ferret = start(&test_config(block, &world.root_hints_path())).await;

    let honest_server = world.server(&honest);
    honest_server.set_latency(Duration::from_millis(150));
    assert_resolves(&ferret, "www.warm.test.").await;
    honest_server.set_latency(Duration::ZERO);

    assert_resolves(&ferret, "www.two.test.").await;
    let asked = |ip: &str| world.server(ip).count_for("www.two.test.", RecordType::A);
    assert!(asked(&liar) >= 1, "the liar was asked first");
    assert!(asked(&honest) >= 1, "then the honest server");
    // With no other server to ask, the liar's answer is no answer.
    assert_servfail(&ferret, "www.alone.test.").await;
    world.stop().await;
}

/// An authoritative NOERROR whose answer section holds only a record for another name is not
/// NODATA for the question: the server never said that. ferret asks the zone's other server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_about_another_name_is_not_nodata() {
    liar_first(155, Behaviour::AnswerAboutAnotherName).await;
}

/// NOERROR with empty answer and authority sections, for a name that exists, is no proof of
/// NODATA (RFC 2308 §2.2 wants the SOA): the server is lame for the zone, as Unbound and Knot
/// treat it, and the zone's other server is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodata_without_soa_is_lame() {
    liar_first(156, Behaviour::NoDataWithoutSoa).await;
}

/// A record at the question name of a type neither asked for nor CNAME answers nothing: the
/// reply is ignored like a lame one and the question asked elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_of_an_unexpected_type_is_ignored() {
    liar_first(157, Behaviour::AnswerOfUnexpectedType).await;
}

/// test. delegates example.test. to ns1.hosting.test. with glue pointing at a server that never
/// answers (stale sibling glue), while hosting.test.'s own servers give ns1.hosting.test. its
/// real address. When the glue fails, ferret looks the server name up and asks there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_glue_is_replaced_by_the_server_names_real_addresses() {
    let block = 158;
    let (stale, hosting, example) = (net(block, 3, 9), net(block, 4, 1), net(block, 5, 1));
    let world = root_and_tld(
        block,
        &format!(
            "example NS ns1.hosting.test.\nhosting NS ns.hosting.test.\n\
             ns.hosting A {hosting}\nns1.hosting A {stale}\n"
        ),
    )
    .server(&stale, vec![lone_zone("example.test.", &stale)])
    .behaviour(&stale, Behaviour::Drop)
    .server(
        &hosting,
        vec![zone(
            "hosting.test.",
            "ns.hosting.test.",
            &format!("ns A {hosting}\nns1 A {example}\n"),
        )],
    )
    .server(
        &example,
        vec![zone(
            "example.test.",
            "ns1.hosting.test.",
            &format!("www A {WWW}\n"),
        )],
    )
    .start()
    .await;
    let ferret = start(&test_config(block, &world.root_hints_path())).await;

    assert_resolves(&ferret, "www.example.test.").await;
    assert!(
        world.server(&stale).query_count() >= 1,
        "the glue was tried"
    );
    assert!(
        world
            .server(&hosting)
            .count_for("ns1.hosting.test.", RecordType::A)
            >= 1,
        "the server name was looked up"
    );
    world.stop().await;
}

/// The parent says example.test. is served by ns1.example.test. (a good server); the child's own
/// NS set says ns.moved.test., which test. places at a server that answers SERVFAIL. Once
/// ferret has learnt the child's NS set, the child's servers fail, and ferret goes back to the
/// servers the parent gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_childs_servers_fail_the_parents_are_asked() {
    let block = 159;
    let (good, moved) = (net(block, 3, 1), net(block, 4, 1));
    let world = root_and_tld(
        block,
        &format!("example NS ns1.example.test.\nns1.example A {good}\nns.moved A {moved}\n"),
    )
    .server(
        &good,
        vec![zone(
            "example.test.",
            "ns.moved.test.",
            &format!("www A {WWW}\n"),
        )],
    )
    .server(&moved, vec![lone_zone("example.test.", &moved)])
    .behaviour(&moved, Behaviour::ServFail)
    .start()
    .await;
    let ferret = start(&test_config(block, &world.root_hints_path())).await;

    let ns = query_udp(addr(&ferret), "example.test.", RecordType::NS).await;
    assert_eq!(
        answer_strings(&ns),
        ["example.test. NS ns.moved.test."],
        "the child's own NS set: {ns}"
    );
    assert_resolves(&ferret, "www.example.test.").await;
    assert!(
        world.server(&moved).query_count() >= 1,
        "the child's server was asked"
    );
    world.stop().await;
}
