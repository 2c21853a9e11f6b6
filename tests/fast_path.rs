//! The message-cache fast path must answer exactly as the full pipeline does.
//!
//! Each question is asked twice: the first answer comes through the full pipeline (and fills the
//! message cache), the second from the fast path. Both are compared field by field, TTLs aside.
//!
//! Address blocks 80–84 belong to this file.

mod common;

use common::client::{QueryOpts, query_udp_opts};
use hickory_proto::op::Message;
use hickory_proto::rr::{Record, RecordType};

/// The response with every TTL zeroed and the ID cleared, for comparison.
fn normalised(mut response: Message) -> Message {
    response.metadata.id = 0;
    let zero = |records: &mut Vec<Record>| records.iter_mut().for_each(|r| r.ttl = 0);
    zero(&mut response.answers);
    zero(&mut response.authorities);
    zero(&mut response.additionals);
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answers_are_identical_to_full_pipeline_answers() {
    let world = common::world::start(80).await;
    let ferret =
        common::ferret::start(&common::ferret::test_config(80, &world.root_hints_path())).await;
    let at = common::ferret::addr(&ferret);
    let plain = QueryOpts::default();
    let variants = [
        plain,
        QueryOpts {
            edns: None,
            ..plain
        },
        QueryOpts {
            dnssec_ok: true,
            ..plain
        },
        QueryOpts {
            recursion_desired: false,
            checking_disabled: true,
            ..plain
        },
    ];
    let questions = [
        ("www.example.test.", RecordType::A),
        ("WwW.eXaMpLe.TeSt.", RecordType::AAAA),
        ("chain1.example.test.", RecordType::A),
        ("x.legacy.example.test.", RecordType::A),
        ("nope.example.test.", RecordType::A),
        ("www.example.test.", RecordType::MX),
        ("tonx.example.test.", RecordType::A),
        ("signed.example.test.", RecordType::A),
        ("localhost.", RecordType::A),
    ];
    for (name, rtype) in questions {
        for opts in variants {
            let cached_before = ferret.resolver().cache().messages().len();
            let first = query_udp_opts(at, name, rtype, opts).await;
            let second = query_udp_opts(at, name, rtype, opts).await;
            assert!(
                ferret.resolver().cache().messages().len() >= cached_before,
                "message cache lost entries"
            );
            assert_eq!(
                normalised(first.clone()),
                normalised(second.clone()),
                "{name} {rtype} {opts:?}"
            );
            // The question is echoed exactly, case included, from the client's own bytes.
            assert_eq!(second.queries[0].name().to_string(), name);
        }
    }
    let cached = ferret.resolver().cache().messages().len();
    assert!(cached >= questions.len(), "{cached} cached answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answers_count_down_and_expire() {
    let world = common::world::start(81).await;
    let ferret =
        common::ferret::start(&common::ferret::test_config(81, &world.root_hints_path())).await;
    let at = common::ferret::addr(&ferret);
    let name = "short.example.test.";
    let first = query_udp_opts(at, name, RecordType::A, QueryOpts::default()).await;
    assert_eq!(first.answers[0].ttl, 5);
    ferret.clock().advance(std::time::Duration::from_secs(3));
    let later = query_udp_opts(at, name, RecordType::A, QueryOpts::default()).await;
    assert!(
        later.answers[0].ttl <= 2,
        "TTL counted down: {}",
        later.answers[0].ttl
    );
    let server = common::world::Addresses::new(81).example_test;
    assert_eq!(world.server(&server).count_for(name, RecordType::A), 1);
    ferret.clock().advance(std::time::Duration::from_secs(10));
    let refreshed = query_udp_opts(at, name, RecordType::A, QueryOpts::default()).await;
    assert_eq!(
        refreshed.answers[0].ttl, 5,
        "expired entries are never served"
    );
    assert_eq!(world.server(&server).count_for(name, RecordType::A), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_cached_answers_still_truncate_for_small_clients() {
    let world = common::world::start(82).await;
    let ferret =
        common::ferret::start(&common::ferret::test_config(82, &world.root_hints_path())).await;
    let at = common::ferret::addr(&ferret);
    let name = "big.example.test.";
    // Fill the caches over TCP, then ask over UDP with and without EDNS.
    let full = common::client::query_tcp(at, name, RecordType::TXT).await;
    assert!(!full.answers.is_empty());
    for opts in [
        QueryOpts::default(),
        QueryOpts {
            edns: None,
            ..QueryOpts::default()
        },
    ] {
        let response = query_udp_opts(at, name, RecordType::TXT, opts).await;
        assert!(response.metadata.truncation, "{opts:?}");
        assert!(response.answers.is_empty());
    }
    let again = common::client::query_tcp(at, name, RecordType::TXT).await;
    assert_eq!(normalised(full).answers, normalised(again).answers);
}

/// More queries at once than one receive batch holds (32): every one is answered, each with its
/// own ID, whether it took the fast path or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_larger_than_a_batch_is_answered_in_full() {
    let world = common::world::start(83).await;
    let ferret =
        common::ferret::start(&common::ferret::test_config(83, &world.root_hints_path())).await;
    let at = common::ferret::addr(&ferret);
    query_udp_opts(at, "www.example.test.", RecordType::A, QueryOpts::default()).await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut ids = std::collections::HashSet::new();
    for i in 0..100u16 {
        let name = if i % 10 == 0 {
            "localhost."
        } else {
            "www.example.test."
        };
        let mut query = common::client::build_query(name, RecordType::A, QueryOpts::default());
        query.metadata.id = i;
        socket
            .send_to(&query.to_vec().expect("encodes"), at)
            .await
            .expect("sends");
        ids.insert(i);
    }
    let mut buffer = vec![0u8; 4096];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !ids.is_empty() && std::time::Instant::now() < deadline {
        let wait = std::time::Duration::from_millis(500);
        let Ok(Ok(length)) = tokio::time::timeout(wait, socket.recv(&mut buffer)).await else {
            break;
        };
        let response = Message::from_vec(&buffer[..length]).expect("a DNS response");
        assert!(!response.answers.is_empty(), "{response}");
        ids.remove(&response.metadata.id);
    }
    assert!(ids.is_empty(), "{} queries unanswered", ids.len());
}
