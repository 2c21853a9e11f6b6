//! Merging identical upstream questions during cold resolution (src/resolver/upstream_inflight.rs):
//! concurrent client questions for distinct names under a zone nobody has asked about yet share
//! the queries on the way down instead of each walking from the root, and a resolution waiting on
//! another's query is never stranded by it.
//!
//! Address blocks 230–234 (127.230.x.y – 127.234.x.y) belong to this file, one per test.

mod common;

use std::time::Duration;

use common::authority::Behaviour;
use common::client::{QueryOpts, answer_strings, rcode, try_query_udp};
use common::ferret::{addr, start, test_config};
use common::hierarchy::{Hierarchy, net, root_and_tld, zone};
use ferret::server::RunningServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

/// Names asked at once in the merging test: without merging, the root and the TLD each get
/// this many minimised queries.
const NAMES: usize = 30;

/// How long a test client waits for ferret: far beyond any resolution timeout used here, so a
/// missing answer means a hang, not a slow machine.
const CLIENT_WAIT: Duration = Duration::from_secs(20);

/// The address of name `i` in `cold.test.`.
fn address_of(block: u8, i: usize) -> String {
    net(
        block,
        100,
        u8::try_from(i + 1).expect("fewer than 255 names"),
    )
}

/// `.` on 127.B.0.1, `test.` on 127.B.1.1, `cold.test.` (names n0 … n{NAMES-1}) on 127.B.2.1.
async fn cold_hierarchy(block: u8) -> Hierarchy {
    let leaf = net(block, 2, 1);
    let names: String = (0..NAMES)
        .map(|i| format!("n{i} A {}\n", address_of(block, i)))
        .collect();
    root_and_tld(
        block,
        &format!("cold          NS ns.cold.test.\nns.cold.test. A  {leaf}\n"),
    )
    .server(
        &leaf,
        vec![zone(
            "cold.test.",
            "ns.cold.test.",
            &format!("ns A {leaf}\n{names}"),
        )],
    )
    .start()
    .await
}

/// Asks `name` for A in a task of its own, so that many questions are in flight at once.
fn ask_in_background(ferret: &RunningServer, name: String) -> tokio::task::JoinHandle<Message> {
    let at = addr(ferret);
    tokio::spawn(async move {
        try_query_udp(at, &name, RecordType::A, QueryOpts::default(), CLIENT_WAIT)
            .await
            .unwrap_or_else(|| panic!("no answer for {name} within {CLIENT_WAIT:?}"))
    })
}

/// Queries a server received, other than root priming (`. NS`).
fn queries_below_root(hierarchy: &Hierarchy, ip: &str) -> Vec<String> {
    hierarchy
        .server(ip)
        .queries()
        .into_iter()
        .filter(|q| !(q.name.is_root() && q.rtype == RecordType::NS))
        .map(|q| format!("{} {}", q.name, q.rtype))
        .collect()
}

/// 30 distinct names under one cold zone, asked at once, with a root and a TLD that take 150 ms
/// to answer (well inside the 376 ms a first try at an untried server gets, even on a busy
/// machine): every one is answered right, yet the root is asked the minimised `test.` question
/// once and the TLD `cold.test.` once. Without merging each resolution walks down on its own,
/// and both servers see 30 of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_questions_share_the_walk_down() {
    let block = 230;
    let hierarchy = cold_hierarchy(block).await;
    let (root, tld, leaf) = (net(block, 0, 1), net(block, 1, 1), net(block, 2, 1));
    for ip in [&root, &tld] {
        hierarchy.server(ip).set_latency(Duration::from_millis(150));
    }
    let mut config = test_config(block, &hierarchy.root_hints_path());
    // Room for the slow servers' answers: a timed-out try would be asked again and counted.
    config.limits.upstream_timeout_ms = 2_000;
    config.limits.resolution_timeout_ms = 10_000;
    let ferret = start(&config).await;

    let questions: Vec<_> = (0..NAMES)
        .map(|i| ask_in_background(&ferret, format!("n{i}.cold.test.")))
        .collect();
    for (i, question) in questions.into_iter().enumerate() {
        let response = question.await.expect("query task");
        assert_eq!(rcode(&response), ResponseCode::NoError, "n{i}: {response}");
        assert_eq!(
            answer_strings(&response),
            [format!("n{i}.cold.test. A {}", address_of(block, i))],
            "n{i}"
        );
    }

    assert_eq!(
        queries_below_root(&hierarchy, &root),
        ["test. A"],
        "the root is asked the minimised question once"
    );
    assert_eq!(
        queries_below_root(&hierarchy, &tld),
        ["cold.test. A"],
        "the TLD is asked the minimised question once"
    );
    // The names themselves are distinct questions: each is asked once, none merged away.
    assert_eq!(hierarchy.server(&leaf).query_count(), NAMES);
    let stats = ferret.resolver().stats();
    assert!(
        stats.merged_upstream_queries >= 2 * (NAMES as u64 - 1),
        "{stats:?}"
    );
}

/// A resolution that waits on another's query whose server never answers is not stranded with
/// it: when the first resolution runs out of its own time (its query still unanswered), the one
/// waiting asks for itself, and, the server having recovered meanwhile, gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_asks_for_itself_when_the_leader_gives_up() {
    let block = 231;
    let hierarchy = cold_hierarchy(block).await;
    let tld = net(block, 1, 1);
    hierarchy.server(&tld).set_behaviour(Behaviour::Drop);
    let mut config = test_config(block, &hierarchy.root_hints_path());
    // Each client question gets 2 s: the first question's tries at the silent TLD (376, 752 and
    // 1504 ms, the last one cut short by the budget) outlive its resolution.
    config.limits.resolution_timeout_ms = 2_000;
    config.limits.upstream_timeout_ms = 5_000;
    let ferret = start(&config).await;
    let tld_asked = || {
        hierarchy
            .server(&tld)
            .count_for("cold.test.", RecordType::A)
    };

    let first = ask_in_background(&ferret, "n0.cold.test.".into());
    // The first resolution's third and last try at the TLD, which lasts until its budget runs
    // out: the second question comes while it is out.
    wait_until(|| tld_asked() >= 3).await;
    let second = ask_in_background(&ferret, "n1.cold.test.".into());
    wait_until(|| ferret.resolver().questions_in_flight() == 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        tld_asked(),
        3,
        "the second resolution waits on the first one's query instead of sending its own"
    );
    // The TLD recovers, but the queries it dropped stay unanswered.
    hierarchy.server(&tld).set_behaviour(Behaviour::Normal);

    let first = first.await.expect("query task");
    assert_eq!(rcode(&first), ResponseCode::ServFail, "{first}");
    let second = second.await.expect("query task");
    assert_eq!(rcode(&second), ResponseCode::NoError, "{second}");
    assert_eq!(
        answer_strings(&second),
        [format!("n1.cold.test. A {}", address_of(block, 1))]
    );
    assert_eq!(
        tld_asked(),
        4,
        "the follower asked once the leader was gone"
    );
    assert_eq!(ferret.resolver().stats().merged_upstream_queries, 0);
}

/// Every server of a zone failing is shared: resolutions waiting on the query that found out
/// get SERVFAIL in good time rather than waiting out their budgets or hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_of_a_failed_query_fail_in_good_time() {
    let block = 232;
    let hierarchy = cold_hierarchy(block).await;
    let tld = net(block, 1, 1);
    hierarchy.server(&tld).set_behaviour(Behaviour::ServFail);
    hierarchy
        .server(&tld)
        .set_latency(Duration::from_millis(300));
    let mut config = test_config(block, &hierarchy.root_hints_path());
    config.limits.resolution_timeout_ms = 10_000;
    let ferret = start(&config).await;

    let started = tokio::time::Instant::now();
    let questions: Vec<_> = (0..10)
        .map(|i| ask_in_background(&ferret, format!("n{i}.cold.test.")))
        .collect();
    for question in questions {
        let response = question.await.expect("query task");
        assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    }
    // Far less than the 10 s budget each question had.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(ferret.resolver().stats().merged_upstream_queries >= 1);
}

/// Polls `condition` every 10 ms for at most 10 s.
async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
