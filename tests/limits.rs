//! Bounded work: every limit on what one question (or a flood of them) can make ferret do is
//! tripped here by a fake hierarchy built to exceed it, and the servers' query logs show that the
//! work stopped where the limit says.
//!
//! The attacks these model: NXNSAttack (a referral to many glueless server names that do not
//! exist), TsuNAME-style deep delegation and alias chains, glueless chains, and floods of
//! distinct names that miss the cache.
//!
//! Address blocks 130–139 (127.130.x.y – 127.139.x.y) belong to this file, one per test.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::authority::Behaviour;
use common::client::{QueryOpts, answer_strings, query_udp, rcode, try_query_udp};
use common::ferret::{addr, start, test_config};
use common::hierarchy::{net, root_and_tld, zone};
use common::world::{self, Addresses};
use ferret::server::RunningServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::time::Instant;

async fn ask(ferret: &RunningServer, name: &str) -> Message {
    query_udp(addr(ferret), name, RecordType::A).await
}

async fn assert_servfail(ferret: &RunningServer, name: &str) {
    let response = ask(ferret, name).await;
    assert_eq!(
        rcode(&response),
        ResponseCode::ServFail,
        "{name}: {response}"
    );
}

async fn assert_resolves(ferret: &RunningServer, name: &str, expected: &str) {
    let response = ask(ferret, name).await;
    assert_eq!(
        rcode(&response),
        ResponseCode::NoError,
        "{name}: {response}"
    );
    assert_eq!(answer_strings(&response), [expected], "{name}");
}

/// Sends every question at once and returns each response with the time it came back.
async fn ask_all_at_once(ferret: &RunningServer, names: &[String]) -> Vec<(Message, Instant)> {
    let at = addr(ferret);
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let name = name.clone();
            tokio::spawn(async move {
                let wait = Duration::from_secs(20);
                let response =
                    try_query_udp(at, &name, RecordType::A, QueryOpts::default(), wait).await;
                let response =
                    response.unwrap_or_else(|| panic!("no answer for {name} within {wait:?}"));
                (response, Instant::now())
            })
        })
        .collect();
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("query task"));
    }
    responses
}

fn count_rcode(responses: &[(Message, Instant)], code: ResponseCode) -> usize {
    responses.iter().filter(|(r, _)| rcode(r) == code).count()
}

// ---------------------------------------------------------------------------------------
// Per question
// ---------------------------------------------------------------------------------------

/// NXNSAttack: attack.test. is delegated to 20 glueless server names under a domain that does
/// not exist. ferret looks up at most max_ns_lookups_per_referral of them, then gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxnsattack_delegation_looks_up_few_server_names() {
    let block = 130;
    let delegation: String = (1..=20)
        .map(|i| format!("attack NS ns{i}.nowhere.test.\n"))
        .collect();
    let world = root_and_tld(block, &delegation).start().await;
    let config = test_config(block, &world.root_hints_path());
    let limit = config.limits.max_ns_lookups_per_referral as usize;
    assert_eq!(limit, 5, "the default");
    let ferret = start(&config).await;
    assert_servfail(&ferret, "www.attack.test.").await;

    let tld = world.server(&net(block, 1, 1));
    let looked_up: HashSet<String> = tld
        .queries()
        .iter()
        .map(|q| q.name.to_lowercase().to_string())
        .filter(|name| name.starts_with("ns") && name.ends_with(".nowhere.test."))
        .collect();
    assert!(
        !looked_up.is_empty() && looked_up.len() <= limit,
        "{} server names looked up: {looked_up:?}",
        looked_up.len()
    );
    // All of it, minimised questions included, stays within a small multiple of the limit.
    assert!(
        world.total_queries() <= 4 * limit + 4,
        "{} queries",
        world.total_queries()
    );
}

/// A delegation chain 31 zones deep below deep.test.: walking down from the root would take 33
/// referrals, more than max_referrals (30). The servers past the 30th referral are never asked;
/// with a higher limit the same name resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_referral_chain_stops_at_the_referral_limit() {
    let block = 131;
    const DEPTH: u8 = 31;
    let zone_name = |k: u8| format!("{}deep.test.", "a.".repeat(usize::from(k)));
    let server_ip = |k: u8| net(block, 2, k + 1);
    let mut builder = root_and_tld(
        block,
        &format!("deep NS ns.deep.test.\nns.deep A {}\n", server_ip(0)),
    );
    for k in 0..=DEPTH {
        let origin = zone_name(k);
        let mut body = format!("ns A {}\nwww A 192.0.2.{k}\n", server_ip(k));
        if k < DEPTH {
            body.push_str(&format!(
                "a NS ns.a.{origin}\nns.a A {}\n",
                server_ip(k + 1)
            ));
        }
        builder = builder.server(
            &server_ip(k),
            vec![zone(&origin, &format!("ns.{origin}"), &body)],
        );
    }
    let world = builder.start().await;
    let deepest = format!("www.{}", zone_name(DEPTH));

    let config = test_config(block, &world.root_hints_path());
    assert_eq!(config.limits.max_referrals, 30, "the default");
    let ferret = start(&config).await;
    assert_servfail(&ferret, &deepest).await;
    // Referral n leads to zone n-2 (the root refers to test., test. to deep.test.).
    for k in 0..=28 {
        assert!(
            world.server(&server_ip(k)).query_count() > 0,
            "zone {k} was reached"
        );
    }
    for k in 29..=DEPTH {
        assert_eq!(
            world.server(&server_ip(k)).query_count(),
            0,
            "zone {k} is past the limit"
        );
    }

    let mut config = test_config(block, &world.root_hints_path());
    config.limits.max_referrals = 40;
    let patient = start(&config).await;
    assert_resolves(&patient, &deepest, &format!("{deepest} A 192.0.2.{DEPTH}")).await;
}

/// A CNAME chain of 20 links inside one zone (the server sends up to 8 links per answer) and one
/// of 20 links alternating between two zones (one link per answer): both stop at
/// max_cname_chain (11) links, and the alternating one sends no query past the 12th name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_cname_chains_stop_at_the_chain_limit() {
    let block = 132;
    let (chain_ip, x_ip, y_ip) = (net(block, 2, 1), net(block, 3, 1), net(block, 4, 1));
    let in_zone: String = (1..=20)
        .map(|i| {
            let next = if i == 20 {
                "www".to_string()
            } else {
                format!("c{}", i + 1)
            };
            format!("c{i} CNAME {next}\n")
        })
        .collect();
    // n1.x.test. -> n2.y.test. -> n3.x.test. -> ... -> n21.y.test. A
    let owner = |i: u32| format!("n{i}.{}.test.", if i % 2 == 1 { "x" } else { "y" });
    let mut x_body = String::from("ns A ") + &x_ip + "\n";
    let mut y_body = String::from("ns A ") + &y_ip + "\n";
    for i in 1..=21 {
        let line = if i == 21 {
            format!("{} A 192.0.2.21\n", owner(i))
        } else {
            format!("{} CNAME {}\n", owner(i), owner(i + 1))
        };
        if i % 2 == 1 {
            x_body.push_str(&line);
        } else {
            y_body.push_str(&line);
        }
    }
    let world = root_and_tld(
        block,
        &format!(
            "chain NS ns.chain.test.\nns.chain A {chain_ip}\n\
             x NS ns.x.test.\nns.x A {x_ip}\ny NS ns.y.test.\nns.y A {y_ip}\n"
        ),
    )
    .server(
        &chain_ip,
        vec![zone(
            "chain.test.",
            "ns.chain.test.",
            &format!("ns A {chain_ip}\nwww A 192.0.2.1\n{in_zone}"),
        )],
    )
    .server(&x_ip, vec![zone("x.test.", "ns.x.test.", &x_body)])
    .server(&y_ip, vec![zone("y.test.", "ns.y.test.", &y_body)])
    .start()
    .await;
    let config = test_config(block, &world.root_hints_path());
    assert_eq!(config.limits.max_cname_chain, 11, "the default");
    let ferret = start(&config).await;

    assert_servfail(&ferret, "c1.chain.test.").await;
    assert_servfail(&ferret, "c9.chain.test.").await; // 12 links
    let at_limit = ask(&ferret, "c10.chain.test.").await; // 11 links
    assert_eq!(rcode(&at_limit), ResponseCode::NoError, "{at_limit}");
    assert_eq!(
        at_limit.answers.len(),
        12,
        "11 CNAMEs and the A: {at_limit}"
    );

    assert_servfail(&ferret, "n1.x.test.").await;
    let asked: HashSet<String> = [&x_ip, &y_ip]
        .iter()
        .flat_map(|ip| world.server(ip).queries())
        .map(|q| q.name.to_lowercase().to_string())
        .filter(|name| name.starts_with('n'))
        .collect();
    let expected: HashSet<String> = (1..=12).map(owner).collect();
    assert_eq!(asked, expected, "links 1 to 11 followed, the 12th refused");
}

/// Glueless delegations nested deeper than max_glueless_depth (4): g0.test. is served by
/// ns.g1.test., which lives in g1.test., served by ns.g2.test., ... down to g6.test., which has
/// glue. Resolving www.g0.test. would need lookups nested 6 deep, so ferret gives up before
/// asking any of those servers; www.g3.test. (3 deep) resolves, and so does www.g0.test. with a
/// higher limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glueless_chains_stop_at_the_depth_limit() {
    let block = 133;
    let server_ip = |n: u8| net(block, 2, n + 1);
    let mut tld_body = String::new();
    for n in 0..6 {
        tld_body.push_str(&format!("g{n} NS ns.g{}.test.\n", n + 1));
    }
    tld_body.push_str(&format!("g6 NS ns1.g6.test.\nns1.g6 A {}\n", server_ip(6)));
    let mut builder = root_and_tld(block, &tld_body);
    for n in 0..=6u8 {
        let origin = format!("g{n}.test.");
        let apex_ns = if n == 6 {
            "ns1.g6.test.".to_string()
        } else {
            format!("ns.g{}.test.", n + 1)
        };
        let mut body = format!("www A 192.0.2.{n}\n");
        if n >= 1 {
            // ns.gN.test. serves g(N-1).test.
            body.push_str(&format!("ns A {}\n", server_ip(n - 1)));
        }
        if n == 6 {
            body.push_str(&format!("ns1 A {}\n", server_ip(6)));
        }
        builder = builder.server(&server_ip(n), vec![zone(&origin, &apex_ns, &body)]);
    }
    let world = builder.start().await;

    let config = test_config(block, &world.root_hints_path());
    assert_eq!(config.limits.max_glueless_depth, 4, "the default");
    let ferret = start(&config).await;
    assert_servfail(&ferret, "www.g0.test.").await;
    for n in 0..=6 {
        assert_eq!(
            world.server(&server_ip(n)).query_count(),
            0,
            "g{n}.test.'s server was never needed, since the chain was cut off"
        );
    }
    assert_resolves(&ferret, "www.g3.test.", "www.g3.test. A 192.0.2.3").await;

    let mut config = test_config(block, &world.root_hints_path());
    config.limits.max_glueless_depth = 6;
    let patient = start(&config).await;
    assert_resolves(&patient, "www.g0.test.", "www.g0.test. A 192.0.2.0").await;
}

/// A zone with 20 servers that all refuse: ferret asks them in turn until max_upstream_queries,
/// counted over everything the question caused (priming and referrals included), runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_stops_at_the_upstream_query_budget() {
    let block = 134;
    let refuser = |i: u8| net(block, 3, i);
    let mut tld_body = String::new();
    for i in 1..=20 {
        tld_body.push_str(&format!(
            "many NS ns{i}.many.test.\nns{i}.many A {}\n",
            refuser(i)
        ));
    }
    let many = zone("many.test.", "ns1.many.test.", "www A 192.0.2.1\n");
    let mut builder = root_and_tld(block, &tld_body);
    for i in 1..=20 {
        builder = builder
            .server(&refuser(i), vec![many.clone()])
            .behaviour(&refuser(i), Behaviour::Refused);
    }
    let world = builder.start().await;

    let mut config = test_config(block, &world.root_hints_path());
    config.limits.max_upstream_queries = 10;
    let frugal = start(&config).await;
    assert_servfail(&frugal, "www.many.test.").await;
    assert!(
        world.total_queries() <= 10,
        "{} upstream queries for a budget of 10",
        world.total_queries()
    );
    let refused: usize = (1..=20)
        .map(|i| world.server(&refuser(i)).query_count())
        .sum();
    assert!(refused >= 1, "the zone's servers were tried");

    // With the default budget every one of the 20 servers is tried: the budget was the stop.
    world.clear_queries();
    let ferret = start(&test_config(block, &world.root_hints_path())).await;
    assert_servfail(&ferret, "www.many.test.").await;
    let refused: usize = (1..=20)
        .map(|i| world.server(&refuser(i)).query_count())
        .sum();
    assert_eq!(refused, 20);
}

// ---------------------------------------------------------------------------------------
// Across questions
// ---------------------------------------------------------------------------------------

/// Many distinct cache misses at once against a slow server, with max_inflight_resolutions 4:
/// at most 4 are resolved, the rest get SERVFAIL at once (before any slow answer), and the
/// counter of refused questions says how many.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_resolutions_in_flight_are_refused_at_once() {
    let block = 135;
    let world = world::start(block).await;
    let slow = world.server(&Addresses::new(block).example_test);
    slow.set_latency(Duration::from_millis(2_000));
    let mut config = test_config(block, &world.root_hints_path());
    config.limits.max_inflight_resolutions = 4;
    config.limits.upstream_timeout_ms = 6_000;
    config.limits.resolution_timeout_ms = 10_000;
    // One query per name, so each resolution takes one slow round trip.
    config.qname_minimisation = false;
    let ferret = start(&config).await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        "www.example.test. A 192.0.2.1",
    )
    .await;
    assert_eq!(ferret.resolver().stats().inflight_refused, 0);

    let names: Vec<String> = (0..12)
        .map(|i| format!("n{i}.wild.example.test."))
        .collect();
    let resolver = ferret.resolver().clone();
    let watcher = tokio::spawn(async move {
        let mut most = 0;
        for _ in 0..400 {
            most = most.max(resolver.stats().inflight);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        most
    });
    let responses = ask_all_at_once(&ferret, &names).await;
    let resolved = count_rcode(&responses, ResponseCode::NoError);
    let refused = count_rcode(&responses, ResponseCode::ServFail);
    assert_eq!(resolved + refused, names.len());
    assert!((1..=4).contains(&resolved), "{resolved} resolved");
    let stats = ferret.resolver().stats();
    assert_eq!(stats.inflight_refused, refused as u64, "{stats:?}");
    assert!(refused >= 1);
    let last_refusal = responses
        .iter()
        .filter(|(r, _)| rcode(r) == ResponseCode::ServFail)
        .map(|(_, at)| *at)
        .max();
    let first_answer = responses
        .iter()
        .filter(|(r, _)| rcode(r) == ResponseCode::NoError)
        .map(|(_, at)| *at)
        .min();
    assert!(
        last_refusal < first_answer,
        "refusals come before the slow answers"
    );
    assert!(watcher.await.expect("watcher") <= 4);
    assert_eq!(ferret.resolver().stats().inflight, 0);
    assert!(ferret.resolver().inflight().is_empty());
}

/// Many distinct questions for one zone whose only server is slow, with
/// max_queries_per_server 3: the questions queue for the server, three at a time, and are all
/// answered. Nine questions at one second each take at least three seconds: three waves. Without
/// the cap they would all be sent at once and answered after one second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_server_takes_queries_in_turn() {
    let block = 136;
    let world = world::start(block).await;
    let slow = world.server(&Addresses::new(block).example_test);
    let mut config = test_config(block, &world.root_hints_path());
    config.limits.max_queries_per_server = 3;
    config.limits.upstream_timeout_ms = 6_000;
    config.limits.resolution_timeout_ms = 15_000;
    config.qname_minimisation = false;
    // Slow from the start, so the server's measured RTT (1 s) sets the length of a try.
    slow.set_latency(Duration::from_millis(1_000));
    let ferret = start(&config).await;
    assert_resolves(
        &ferret,
        "www.example.test.",
        "www.example.test. A 192.0.2.1",
    )
    .await;
    slow.clear_queries();

    let names: Vec<String> = (0..9).map(|i| format!("n{i}.wild.example.test.")).collect();
    let started = Instant::now();
    let responses = ask_all_at_once(&ferret, &names).await;
    let elapsed = started.elapsed();
    for ((response, at), name) in responses.iter().zip(&names) {
        let took = at.duration_since(started);
        assert_eq!(
            answer_strings(response),
            [format!("{name} A 192.0.2.99")],
            "{:?} after {took:?}; {:?}",
            response.metadata.response_code,
            ferret.resolver().stats()
        );
    }
    assert!(
        elapsed >= Duration::from_millis(2_900),
        "answered in {elapsed:?}: more than 3 queries were outstanding at once"
    );
    assert_eq!(slow.queries().len(), names.len());
    let stats = ferret.resolver().stats();
    assert_eq!(stats.busy_server_skips, 0, "{stats:?}");
    assert_eq!(stats.outstanding_queries, 0);
}

/// The same cap with a server that does not answer within the client's budget: ferret never has
/// more than three queries outstanding at it (tries that time out free their place for the
/// questions waiting), and every question ends in SERVFAIL within its budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_server_gets_no_more_than_the_cap() {
    let block = 138;
    let world = world::start(block).await;
    let stuck_ip: std::net::IpAddr = Addresses::new(block).example_test.parse().expect("ip");
    let stuck = world.server(&Addresses::new(block).example_test);
    stuck.set_latency(Duration::from_millis(5_000));
    let mut config = test_config(block, &world.root_hints_path());
    config.limits.max_queries_per_server = 3;
    config.limits.upstream_timeout_ms = 6_000;
    config.limits.resolution_timeout_ms = 2_000;
    config.qname_minimisation = false;
    let ferret = Arc::new(start(&config).await);

    let names: Vec<String> = (0..9).map(|i| format!("n{i}.wild.example.test.")).collect();
    let asking = {
        let ferret = Arc::clone(&ferret);
        tokio::spawn(async move { ask_all_at_once(&ferret, &names).await })
    };
    let mut most_outstanding = 0;
    while !asking.is_finished() {
        most_outstanding = most_outstanding.max(ferret.resolver().outstanding_at(stuck_ip));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let responses = asking.await.expect("queries");
    assert_eq!(count_rcode(&responses, ResponseCode::ServFail), 9);
    assert_eq!(most_outstanding, 3, "most queries outstanding at once");
    assert!(!stuck.queries().is_empty());
    assert_eq!(ferret.resolver().stats().outstanding_queries, 0);
}

/// A small cache stays within its size however many names pass through it, and the in-flight
/// table empties when the questions are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_and_inflight_table_stay_bounded() {
    let block = 137;
    let world = world::start(block).await;
    let mut config = test_config(block, &world.root_hints_path());
    config.cache_size = 64;
    let ferret = start(&config).await;
    for batch in 0..15 {
        let names: Vec<String> = (0..10)
            .map(|i| format!("b{batch}n{i}.wild.example.test."))
            .collect();
        let responses = ask_all_at_once(&ferret, &names).await;
        for ((response, _), name) in responses.iter().zip(&names) {
            assert_eq!(answer_strings(response), [format!("{name} A 192.0.2.99")]);
        }
        let cache = ferret.resolver().cache();
        assert!(
            cache.len() <= 64,
            "{} entries after batch {batch}",
            cache.len()
        );
    }
    assert!(ferret.resolver().inflight().is_empty());
    assert_eq!(ferret.resolver().stats().inflight_refused, 0);
}
