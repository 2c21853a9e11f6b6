//! Prefetch: a cached answer asked for in the last tenth of its TTL is refreshed in the
//! background, so a steady stream of queries for a short-TTL name is always answered from cache.
//!
//! Time is simulated with ferret's clock: each step moves it 100 ms and waits a few real
//! milliseconds, so the background refresh (a real round trip to the fake servers) has real time
//! to finish while the simulated TTL runs out.
//!
//! Address blocks 85–87 belong to this file.

mod common;

use std::time::{Duration, Instant};

use common::client::{answer_strings, query_udp};
use common::world::Addresses;
use hickory_proto::rr::RecordType;

/// Latency the zone's server adds: a query that waits for it is a cache miss.
const SERVER_LATENCY: Duration = Duration::from_millis(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_stream_for_a_5s_ttl_name_never_waits_for_upstream() {
    let block = 85;
    let world = common::world::start(block).await;
    let zone_server = world.server(&Addresses::new(block).example_test);
    let ferret = common::ferret::start(&common::ferret::test_config(
        block,
        &world.root_hints_path(),
    ))
    .await;
    let at = common::ferret::addr(&ferret);
    let name = "short.example.test."; // TTL 5
    let first = query_udp(at, name, RecordType::A).await;
    assert_eq!(answer_strings(&first), ["short.example.test. A 192.0.2.5"]);
    zone_server.set_latency(SERVER_LATENCY);

    // 20 simulated seconds: four TTLs, 200 queries.
    let mut slow = 0;
    for step in 0..200 {
        ferret.clock().advance(Duration::from_millis(100));
        let asked = Instant::now();
        let response = query_udp(at, name, RecordType::A).await;
        if asked.elapsed() >= SERVER_LATENCY {
            slow += 1;
        }
        assert_eq!(
            answer_strings(&response),
            ["short.example.test. A 192.0.2.5"],
            "step {step}: {response}"
        );
        assert!(response.answers[0].ttl >= 1, "never an expired answer");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refreshes = zone_server.count_for(name, RecordType::A);
    assert_eq!(slow, 0, "{slow} of 200 queries waited for upstream");
    assert!(
        (3..=6).contains(&refreshes),
        "one refresh per TTL, not one per query: {refreshes} upstream queries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_prefetch_the_answer_expires_and_is_fetched_again() {
    let block = 86;
    let world = common::world::start(block).await;
    let zone_server = world.server(&Addresses::new(block).example_test);
    let mut config = common::ferret::test_config(block, &world.root_hints_path());
    config.prefetch = false;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);
    let name = "short.example.test.";
    query_udp(at, name, RecordType::A).await;
    ferret.clock().advance(Duration::from_millis(4_700));
    query_udp(at, name, RecordType::A).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(zone_server.count_for(name, RecordType::A), 1, "no refresh");
    ferret.clock().advance(Duration::from_millis(500));
    query_udp(at, name, RecordType::A).await;
    assert_eq!(
        zone_server.count_for(name, RecordType::A),
        2,
        "fetched on expiry"
    );
}
