//! ferret serving clients end to end, over real packets: failover around dead servers, TCP (the
//! upstream fallback for large answers, pipelining from clients), merging of identical questions,
//! malformed input, names answered locally, the upstream address policy, the cache bound, an IPv6
//! listener, and the real binary.
//!
//! Address blocks 40–59 (127.40.x.y – 127.59.x.y) belong to this file; every test has its own.

mod common;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::authority::Zone;
use common::client::{
    QueryOpts, TIMEOUT, answer_strings, build_query, query_tcp, query_udp, query_udp_opts, rcode,
    send_raw_tcp, send_raw_udp, try_query_udp,
};
use common::ferret::{addr, start, test_config};
use common::hierarchy::{Hierarchy, net};
use common::world::{Addresses, BIG_TXT_STRINGS};
use ferret::Config;
use ferret::server::{RunningServer, ServerError};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Answer data of the world (`www.example.test.` and `mail.example.test.`), built from octets:
/// these documentation addresses are only ever data, never a destination.
const WWW_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const MAIL_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 25);
const WWW_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const WILD_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 99);
const OTHER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);
const GLUELESS_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 60);

/// How long to listen for an answer that must not come. Everything ferret might wrongly answer
/// here (parse errors, cached or local names) it would answer inline, in microseconds.
const SILENCE: Duration = Duration::from_millis(500);

/// The world on `block` and a ferret resolving through it, with `adjust` applied to the test
/// configuration.
async fn world_and_ferret(
    block: u8,
    adjust: impl FnOnce(&mut Config),
) -> (Hierarchy, RunningServer) {
    let world = common::world::start(block).await;
    let mut config = test_config(block, &world.root_hints_path());
    adjust(&mut config);
    let ferret = start(&config).await;
    (world, ferret)
}

/// `"owner A address"` as [`answer_strings`] renders it.
fn a_record(owner: &str, ip: Ipv4Addr) -> String {
    format!("{owner} A {ip}")
}

/// The reverse-mapping name of `ip` (RFC 1035 §3.5).
fn reverse_name(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("{d}.{c}.{b}.{a}.in-addr.arpa.")
}

/// Every query any server of `world` received for `rtype`, as `"server: name"` strings (names
/// lowercased, so that case randomisation cannot hide a match).
fn queries_of_type(world: &Hierarchy, rtype: RecordType) -> Vec<String> {
    world
        .servers()
        .flat_map(|server| {
            server
                .queries()
                .into_iter()
                .filter(|q| q.rtype == rtype)
                .map(move |q| format!("{}: {}", server.ip(), q.name.to_lowercase()))
        })
        .collect()
}

/// Servers of `world` that received any query, with their logs, for assertion messages.
fn servers_queried(world: &Hierarchy) -> Vec<String> {
    world
        .servers()
        .filter(|server| server.query_count() > 0)
        .map(|server| format!("{}: {:?}", server.ip(), server.queries()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Raw headers (RFC 1035 §4.1.1), for replies hickory would not decode or hides details of
// ---------------------------------------------------------------------------------------

fn header_id(message: &[u8]) -> u16 {
    u16::from_be_bytes([message[0], message[1]])
}

fn header_is_response(message: &[u8]) -> bool {
    message[2] & 0x80 != 0
}

fn header_opcode(message: &[u8]) -> u8 {
    (message[2] >> 3) & 0x0f
}

fn header_rcode(message: &[u8]) -> u8 {
    message[3] & 0x0f
}

/// `query` with its opcode replaced.
fn with_opcode(mut query: Vec<u8>, opcode: u8) -> Vec<u8> {
    query[2] = (query[2] & 0x87) | (opcode << 3);
    query
}

/// A query whose header is sound (ID `id`, RD=1, one question) but whose question is cut off in
/// the middle of a label: it cannot be parsed past the header.
fn garbage_body_query(id: u16) -> Vec<u8> {
    let mut bytes = id.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&[63, b'a', b'b']);
    bytes
}

/// A well-formed query with two questions, which no server implements (RFC 9619).
fn two_question_query(id: u16) -> Vec<u8> {
    let mut query = build_query("www.example.test.", RecordType::A, QueryOpts::default());
    query.metadata.id = id;
    query.add_query(Query::query(
        common::authority::fqdn("mail.example.test."),
        RecordType::A,
    ));
    query.to_vec().expect("encoding a two-question query")
}

/// Checks that `reply` is a response to ID `id` with opcode `opcode` and rcode `expected`.
fn assert_error_reply(
    reply: Option<Vec<u8>>,
    id: u16,
    opcode: u8,
    expected: ResponseCode,
    what: &str,
) {
    let reply = reply.unwrap_or_else(|| panic!("{what}: no reply, expected {expected}"));
    assert!(
        reply.len() >= 12,
        "{what}: reply shorter than a header: {reply:?}"
    );
    assert_eq!(header_id(&reply), id, "{what}: the ID must be echoed");
    assert!(header_is_response(&reply), "{what}: QR must be set");
    assert_eq!(
        header_opcode(&reply),
        opcode,
        "{what}: the opcode must be echoed"
    );
    assert_eq!(
        header_rcode(&reply),
        u8::try_from(u16::from(expected)).expect("a 4-bit rcode"),
        "{what}: expected {expected}"
    );
}

// ---------------------------------------------------------------------------------------
// Dead servers
// ---------------------------------------------------------------------------------------

/// `example.test.` has two servers; 127.B.3.2 is dead (nothing listens there). ferret must find
/// the live one, quickly, whichever it tries first.
///
/// Server order is random among untried servers, and a failure is remembered (the infra cache,
/// `upstream::ServerSelection`) across cache clears. So each round starts a fresh ferret, for a
/// fresh random order: over eight rounds both orders occur with near certainty. Within a round the
/// cache is then cleared and the name resolved again, now with the dead server known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_server_beside_a_live_one_is_skipped_quickly() {
    let world = common::world::start(40).await;
    let a = Addresses::new(40);
    let config = test_config(40, &world.root_hints_path());
    let bound = config.resolution_timeout() / 2;
    for round in 0..8 {
        let ferret = start(&config).await;
        for attempt in ["fresh ferret", "after a cache clear"] {
            world.clear_queries();
            let started = Instant::now();
            let response = query_udp(addr(&ferret), "www.example.test.", RecordType::A).await;
            let elapsed = started.elapsed();
            assert_eq!(
                rcode(&response),
                ResponseCode::NoError,
                "round {round}, {attempt}:\n{response}"
            );
            assert_eq!(
                answer_strings(&response),
                vec![a_record("www.example.test.", WWW_V4)],
                "round {round}, {attempt}"
            );
            assert!(
                elapsed < bound,
                "round {round}, {attempt}: took {elapsed:?}, expected well under the \
                 resolution timeout (< {bound:?})"
            );
            assert_eq!(
                world
                    .server(&a.example_test)
                    .count_for("www.example.test.", RecordType::A),
                1,
                "round {round}, {attempt}: the live server answers the question"
            );
            ferret.resolver().cache().clear();
        }
    }
}

/// `dead.test.` has one address nobody serves and one server that swallows every query: ferret
/// answers SERVFAIL in bounded time, and again for a repeated question rather than hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_with_only_dead_servers_gets_servfail_in_bounded_time() {
    let (world, ferret) = world_and_ferret(41, |_| {}).await;
    let a = Addresses::new(41);
    let bound = Duration::from_secs(5);
    for attempt in ["first query", "second query"] {
        let started = Instant::now();
        let response = try_query_udp(
            addr(&ferret),
            "www.dead.test.",
            RecordType::A,
            QueryOpts::default(),
            bound,
        )
        .await
        .unwrap_or_else(|| panic!("{attempt}: no answer within {bound:?}"));
        assert_eq!(
            rcode(&response),
            ResponseCode::ServFail,
            "{attempt}:\n{response}"
        );
        assert!(response.answers.is_empty(), "{attempt}:\n{response}");
        assert!(started.elapsed() < bound, "{attempt}");
    }
    assert!(
        world
            .server(&a.dead_test_2)
            .count_for("www.dead.test.", RecordType::A)
            >= 1,
        "the swallowing server was asked: {:?}",
        world.server(&a.dead_test_2).queries()
    );
}

// ---------------------------------------------------------------------------------------
// Large answers and TCP
// ---------------------------------------------------------------------------------------

/// `big.example.test. TXT` is far over 1232 octets. Upstream, the truncated UDP answer is asked
/// again over TCP; to clients over UDP ferret sends TC=1 with no records (RFC 2181 §9), and over
/// TCP the whole RRset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_answer_truncates_over_udp_and_is_whole_over_tcp() {
    let (world, ferret) = world_and_ferret(42, |_| {}).await;
    let a = Addresses::new(42);
    let server = addr(&ferret);

    let edns = query_udp(server, "big.example.test.", RecordType::TXT).await;
    let upstream = world.server(&a.example_test).queries();
    assert!(
        upstream.iter().any(|q| q.tcp
            && q.rtype == RecordType::TXT
            && q.name == common::authority::fqdn("big.example.test.")),
        "the upstream leg must fall back to TCP: {upstream:?}"
    );
    assert!(edns.metadata.truncation, "EDNS 1232 over UDP: TC=1\n{edns}");
    assert!(
        edns.answers.is_empty() && edns.authorities.is_empty(),
        "a truncated answer carries no records:\n{edns}"
    );

    let no_edns = QueryOpts {
        edns: None,
        ..QueryOpts::default()
    };
    let classic = query_udp_opts(server, "big.example.test.", RecordType::TXT, no_edns).await;
    assert!(
        classic.metadata.truncation,
        "no EDNS over UDP: TC=1\n{classic}"
    );
    assert!(classic.answers.is_empty(), "{classic}");

    let tcp = query_tcp(server, "big.example.test.", RecordType::TXT).await;
    assert_eq!(rcode(&tcp), ResponseCode::NoError, "{tcp}");
    assert!(!tcp.metadata.truncation, "{tcp}");
    let strings: Vec<String> = tcp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(txt.txt_data.iter()),
            _ => None,
        })
        .flatten()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let expected: Vec<String> = (0..BIG_TXT_STRINGS).map(|i| format!("{i:0>50}")).collect();
    assert_eq!(strings, expected, "every TXT string, in order, over TCP");
}

/// Writes `message` to `stream` with the 2-octet length prefix (RFC 1035 §4.2.2).
fn framed(message: &Message) -> Vec<u8> {
    let bytes = message.to_vec().expect("encoding a test query");
    let mut frame = u16::try_from(bytes.len())
        .expect("a short query")
        .to_be_bytes()
        .to_vec();
    frame.extend_from_slice(&bytes);
    frame
}

/// Reads one length-prefixed message from `stream`, panicking after [`TIMEOUT`].
async fn read_framed(stream: &mut TcpStream) -> Message {
    let read = async {
        let len = stream.read_u16().await?;
        let mut bytes = vec![0u8; usize::from(len)];
        stream.read_exact(&mut bytes).await?;
        io::Result::Ok(bytes)
    };
    let bytes = tokio::time::timeout(TIMEOUT, read)
        .await
        .unwrap_or_else(|_| panic!("no TCP answer within {TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("reading a TCP answer: {e}"));
    Message::from_vec(&bytes).unwrap_or_else(|e| panic!("undecodable TCP answer: {e}"))
}

/// A plain TCP query; three queries written back to back on one connection, answered in any
/// order (RFC 7766 §6.2.1, query pipelining) and matched by ID; and a fourth query on the same
/// connection after a pause, which it must survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_serves_pipelined_queries_on_one_connection() {
    let (_world, ferret) = world_and_ferret(43, |_| {}).await;
    let server = addr(&ferret);

    let plain = query_tcp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&plain),
        vec![a_record("www.example.test.", WWW_V4)]
    );

    let questions = [
        (0x1111, "www.example.test.", RecordType::A),
        (0x2222, "www.example.test.", RecordType::AAAA),
        (0x3333, "mail.example.test.", RecordType::A),
    ];
    let expected = |id: u16| -> Vec<String> {
        match id {
            0x1111 => vec![a_record("www.example.test.", WWW_V4)],
            0x2222 => vec![format!("www.example.test. AAAA {WWW_V6}")],
            _ => vec![a_record("mail.example.test.", MAIL_V4)],
        }
    };
    let mut stream = TcpStream::connect(server)
        .await
        .expect("connecting to ferret");
    let mut burst = Vec::new();
    for (id, name, rtype) in questions {
        let mut query = build_query(name, rtype, QueryOpts::default());
        query.metadata.id = id;
        burst.extend(framed(&query));
    }
    stream
        .write_all(&burst)
        .await
        .expect("writing three queries");
    let mut answered = Vec::new();
    for _ in 0..questions.len() {
        let response = read_framed(&mut stream).await;
        let id = response.metadata.id;
        assert!(
            questions.iter().any(|(q, _, _)| *q == id),
            "answer with an unknown ID {id:#x}:\n{response}"
        );
        assert_eq!(answer_strings(&response), expected(id), "ID {id:#x}");
        answered.push(id);
    }
    answered.sort_unstable();
    assert_eq!(
        answered,
        vec![0x1111, 0x2222, 0x3333],
        "one answer per query"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = build_query("mail.example.test.", RecordType::A, QueryOpts::default());
    again.metadata.id = 0x4444;
    stream
        .write_all(&framed(&again))
        .await
        .expect("the connection stays open between queries");
    let response = read_framed(&mut stream).await;
    assert_eq!(response.metadata.id, 0x4444);
    assert_eq!(
        answer_strings(&response),
        vec![a_record("mail.example.test.", MAIL_V4)]
    );
}

// ---------------------------------------------------------------------------------------
// Merging identical questions
// ---------------------------------------------------------------------------------------

/// 20 clients ask for the same unseen name at once; the other.example server is slow, so the
/// questions overlap. One upstream query must serve them all (no thundering herd). With QNAME
/// minimisation the full name is only ever asked of that zone's own server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_concurrent_queries_cause_one_upstream_query() {
    let (world, ferret) = world_and_ferret(44, |config| {
        // Well above the latency below, so that a slow answer is never retried.
        config.limits.upstream_timeout_ms = 2_000;
    })
    .await;
    let a = Addresses::new(44);
    let other = world.server(&a.other_example);
    other.set_latency(Duration::from_millis(200));
    let server = addr(&ferret);

    let clients: Vec<_> = (0..20)
        .map(|_| tokio::spawn(query_udp(server, "www.other.example.", RecordType::A)))
        .collect();
    for client in clients {
        let response = client.await.expect("a client task");
        assert_eq!(
            answer_strings(&response),
            vec![a_record("www.other.example.", OTHER_V4)],
            "{response}"
        );
    }
    assert_eq!(
        other.count_for("www.other.example.", RecordType::A),
        1,
        "one upstream query for 20 identical questions: {:?}",
        other.queries()
    );
}

// ---------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------

/// Over UDP: garbage after a sound header and two questions get FORMERR, unknown opcodes NOTIMP,
/// each with the ID echoed (RFC 1035 §4.1.1); a runt shorter than a header and a packet that is
/// itself a response get no answer at all, and ferret keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_udp_queries_get_formerr_notimp_or_silence() {
    let (_world, ferret) = world_and_ferret(45, |_| {}).await;
    let server = addr(&ferret);

    let reply = send_raw_udp(server, &garbage_body_query(0xbeef), TIMEOUT).await;
    assert_error_reply(reply, 0xbeef, 0, ResponseCode::FormErr, "garbage body");

    let reply = send_raw_udp(server, &two_question_query(0xcafe), TIMEOUT).await;
    assert_error_reply(reply, 0xcafe, 0, ResponseCode::FormErr, "two questions");

    for (opcode, what) in [(2, "opcode 2 (STATUS)"), (5, "opcode 5 (UPDATE)")] {
        let mut query = build_query("www.example.test.", RecordType::A, QueryOpts::default());
        query.metadata.id = 0x0a00 + u16::from(opcode);
        let bytes = with_opcode(query.to_vec().expect("encoding"), opcode);
        let reply = send_raw_udp(server, &bytes, TIMEOUT).await;
        assert_error_reply(reply, query.metadata.id, opcode, ResponseCode::NotImp, what);
    }

    let mut runt = [0u8; 5];
    rand::fill(&mut runt);
    let reply = send_raw_udp(server, &runt, SILENCE).await;
    assert_eq!(reply, None, "5 bytes {runt:?} are not a message: no answer");

    // Cached first, so that were the response taken for a query, its answer would be immediate.
    let warm = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&warm),
        vec![a_record("www.example.test.", WWW_V4)],
        "ferret still answers normal queries"
    );
    let mut response = build_query("www.example.test.", RecordType::A, QueryOpts::default());
    response.metadata.message_type = hickory_proto::op::MessageType::Response;
    let bytes = response.to_vec().expect("encoding");
    assert!(header_is_response(&bytes));
    let reply = send_raw_udp(server, &bytes, SILENCE).await;
    assert_eq!(reply, None, "a response (QR=1) is never answered");

    let after = query_udp(server, "mail.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&after),
        vec![a_record("mail.example.test.", MAIL_V4)],
        "ferret still answers normal queries"
    );
}

/// The same malformed queries over TCP get the same error answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tcp_queries_get_formerr_or_notimp() {
    let (_world, ferret) = world_and_ferret(54, |_| {}).await;
    let server = addr(&ferret);

    let reply = send_raw_tcp(server, &garbage_body_query(0xbeef)).await;
    assert_error_reply(
        reply,
        0xbeef,
        0,
        ResponseCode::FormErr,
        "garbage body over TCP",
    );

    let reply = send_raw_tcp(server, &two_question_query(0xcafe)).await;
    assert_error_reply(
        reply,
        0xcafe,
        0,
        ResponseCode::FormErr,
        "two questions over TCP",
    );

    let mut query = build_query("www.example.test.", RecordType::A, QueryOpts::default());
    query.metadata.id = 0x0a05;
    let bytes = with_opcode(query.to_vec().expect("encoding"), 5);
    let reply = send_raw_tcp(server, &bytes).await;
    assert_error_reply(reply, 0x0a05, 5, ResponseCode::NotImp, "UPDATE over TCP");

    let fine = query_tcp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&fine),
        vec![a_record("www.example.test.", WWW_V4)]
    );
}

// ---------------------------------------------------------------------------------------
// Names answered locally
// ---------------------------------------------------------------------------------------

/// localhost (RFC 6761 §6.3), invalid (§6.4) and the private and loopback reverse zones
/// (RFC 6303 §4) are answered by ferret itself: no server of the world hears of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_use_names_are_answered_locally() {
    let (world, ferret) = world_and_ferret(46, |_| {}).await;
    let server = addr(&ferret);
    let loopback_ptr = reverse_name(Ipv4Addr::LOCALHOST);
    let cases: Vec<(&str, RecordType, ResponseCode, Vec<String>)> = vec![
        (
            "localhost.",
            RecordType::A,
            ResponseCode::NoError,
            vec![a_record("localhost.", Ipv4Addr::LOCALHOST)],
        ),
        (
            "localhost.",
            RecordType::AAAA,
            ResponseCode::NoError,
            vec![format!("localhost. AAAA {}", Ipv6Addr::LOCALHOST)],
        ),
        (
            "foo.localhost.",
            RecordType::A,
            ResponseCode::NoError,
            vec![a_record("foo.localhost.", Ipv4Addr::LOCALHOST)],
        ),
        ("x.invalid.", RecordType::A, ResponseCode::NXDomain, vec![]),
        (
            &loopback_ptr,
            RecordType::PTR,
            ResponseCode::NoError,
            vec![format!("{loopback_ptr} PTR localhost.")],
        ),
        (
            "1.1.10.in-addr.arpa.",
            RecordType::PTR,
            ResponseCode::NXDomain,
            vec![],
        ),
        (
            "1.168.192.in-addr.arpa.",
            RecordType::PTR,
            ResponseCode::NXDomain,
            vec![],
        ),
    ];
    for (name, rtype, expected_rcode, expected_answers) in cases {
        let response = query_udp(server, name, rtype).await;
        assert_eq!(
            rcode(&response),
            expected_rcode,
            "{name} {rtype}:\n{response}"
        );
        assert_eq!(
            answer_strings(&response),
            expected_answers,
            "{name} {rtype}"
        );
    }
    // test. too (RFC 6761 §6.2), unless exempted as test_config does for the fake world.
    let mut defaults = test_config(46, &world.root_hints_path());
    defaults.local_zone_nodefault.clear();
    let strict = start(&defaults).await;
    let response = query_udp(addr(&strict), "www.example.test.", RecordType::A).await;
    assert_eq!(rcode(&response), ResponseCode::NXDomain, "{response}");
    assert!(response.answers.is_empty(), "{response}");

    assert_eq!(
        world.total_queries(),
        0,
        "special-use names never go upstream: {:?}",
        servers_queried(&world)
    );
}

// ---------------------------------------------------------------------------------------
// Upstream address policy
// ---------------------------------------------------------------------------------------

/// With the default `allow_loopback_upstream = false`, a hierarchy on loopback is out of reach:
/// SERVFAIL, and not one packet reaches any of its servers. This is what keeps a misconfigured
/// ferret from querying itself or other services on its host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_upstreams_are_refused_by_default() {
    let (world, ferret) = world_and_ferret(47, |config| {
        // The default itself, so that this test fails if the default ever changes.
        config.allow_loopback_upstream = Config::default().allow_loopback_upstream;
    })
    .await;
    let server = addr(&ferret);
    let bound = Duration::from_secs(5);

    let started = Instant::now();
    let udp = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(rcode(&udp), ResponseCode::ServFail, "{udp}");
    let tcp = query_tcp(server, "www.other.example.", RecordType::A).await;
    assert_eq!(rcode(&tcp), ResponseCode::ServFail, "{tcp}");
    assert!(started.elapsed() < bound, "took {:?}", started.elapsed());

    // Anything sent late would still land in the logs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        world.total_queries(),
        0,
        "no loopback server may be queried: {:?}",
        servers_queried(&world)
    );
}

/// With `ipv6_upstream = false`, server names are looked up for A only: resolving the glueless
/// `www.glueless.test.` asks for `ns.hosting.example. A` and no server sees any AAAA query (the
/// client itself asks only for A, so any AAAA would be ferret's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_aaaa_lookups_for_server_names_without_ipv6_upstream() {
    let (world, ferret) = world_and_ferret(48, |config| config.ipv6_upstream = false).await;
    let a = Addresses::new(48);
    let response = query_udp(addr(&ferret), "www.glueless.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&response),
        vec![a_record("www.glueless.test.", GLUELESS_V4)],
        "{response}"
    );
    assert!(
        world
            .server(&a.hosting_example)
            .count_for("ns.hosting.example.", RecordType::A)
            >= 1,
        "the glueless server name was looked up: {:?}",
        servers_queried(&world)
    );
    assert_eq!(
        queries_of_type(&world, RecordType::AAAA),
        Vec::<String>::new(),
        "no AAAA queries without IPv6 upstreams"
    );
}

/// With `ipv6_upstream = true`, ferret looks up a glueless server name's A first and asks for
/// AAAA only when A yields no usable address (`Resolver::server_addresses`). `ns.hosting.example.`
/// has an A record, so A is asked and AAAA is not; the next test covers the AAAA lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ipv6_upstream_server_names_are_looked_up_a_first() {
    let (world, ferret) = world_and_ferret(49, |config| config.ipv6_upstream = true).await;
    let a = Addresses::new(49);
    let response = query_udp(addr(&ferret), "www.glueless.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&response),
        vec![a_record("www.glueless.test.", GLUELESS_V4)],
        "{response}"
    );
    assert!(
        world
            .server(&a.hosting_example)
            .count_for("ns.hosting.example.", RecordType::A)
            >= 1,
        "A is asked for the glueless server name: {:?}",
        servers_queried(&world)
    );
    let aaaa: Vec<String> = queries_of_type(&world, RecordType::AAAA)
        .into_iter()
        .filter(|q| q.ends_with("ns.hosting.example."))
        .collect();
    assert_eq!(aaaa, Vec::<String>::new(), "A sufficed: no AAAA lookup");
}

/// A hierarchy where `v6only.test.` is served (glueless) by `ns.v6host.example.`, which has an
/// AAAA record (::1, where no test server listens) and no A.
async fn v6_only_server_name_hierarchy(block: u8) -> Hierarchy {
    let root = net(block, 0, 1);
    let v6host = net(block, 2, 1);
    Hierarchy::builder()
        .server(
            &root,
            vec![Zone::parse(
                ".",
                &format!(
                    "$TTL 86400
.                    SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 86400
.                    NS  a.root-servers.test.
a.root-servers.test. A   {root}
v6only.test.         NS  ns.v6host.example.
v6host.example.      NS  ns1.v6host.example.
ns1.v6host.example.  A   {v6host}
"
                ),
            )],
        )
        .server(
            &v6host,
            vec![Zone::parse(
                "v6host.example.",
                &format!(
                    "$TTL 3600
@    SOA ns1.v6host.example. hostmaster.v6host.example. 1 3600 900 604800 300
@    NS  ns1
ns1  A   {v6host}
ns   AAAA ::1
"
                ),
            )],
        )
        .start()
        .await
}

/// When a glueless server name has no A record, ferret with `ipv6_upstream = true` asks for its
/// AAAA (after A); with `ipv6_upstream = false` it never does. Either way the zone's only server
/// is unreachable to the client's question, so the answer is SERVFAIL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aaaa_of_a_server_name_is_asked_only_with_ipv6_upstream() {
    let world = v6_only_server_name_hierarchy(50).await;
    let v6host = world.server(&net(50, 2, 1));
    let ns_name = common::authority::fqdn("ns.v6host.example.");

    for ipv6_upstream in [false, true] {
        world.clear_queries();
        let mut config = test_config(50, &world.root_hints_path());
        config.ipv6_upstream = ipv6_upstream;
        let ferret = start(&config).await;
        let response = query_udp(addr(&ferret), "www.v6only.test.", RecordType::A).await;
        assert_eq!(
            rcode(&response),
            ResponseCode::ServFail,
            "ipv6_upstream = {ipv6_upstream}:\n{response}"
        );
        let log = v6host.queries();
        let first = |rtype: RecordType| {
            log.iter()
                .position(|q| q.name == ns_name && q.rtype == rtype)
        };
        let a_at = first(RecordType::A);
        assert!(
            a_at.is_some(),
            "ipv6_upstream = {ipv6_upstream}: A is asked for the server name: {log:?}"
        );
        if ipv6_upstream {
            let aaaa_at = first(RecordType::AAAA);
            assert!(
                aaaa_at.is_some(),
                "an A-less server name is looked up for AAAA: {log:?}"
            );
            assert!(a_at < aaaa_at, "A before AAAA: {log:?}");
        } else {
            assert_eq!(
                queries_of_type(&world, RecordType::AAAA),
                Vec::<String>::new(),
                "no AAAA queries without IPv6 upstreams"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cache bound
// ---------------------------------------------------------------------------------------

/// With `cache_size = 16`, resolving 60 distinct (wildcard) names never lets the cache grow past
/// 16 entries, and every query is still answered. (Whether the answers stay correct is
/// `answers_stay_correct_under_cache_eviction`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_stays_within_its_size_bound() {
    let (_world, ferret) = world_and_ferret(51, |config| config.cache_size = 16).await;
    let server = addr(&ferret);
    let cache = Arc::clone(ferret.resolver().cache());
    for i in 0..60 {
        let name = format!("n{i}.wild.example.test.");
        let response = query_udp(server, &name, RecordType::A).await;
        assert!(
            matches!(
                rcode(&response),
                ResponseCode::NoError | ResponseCode::ServFail
            ),
            "{response}"
        );
        assert!(cache.len() <= 16, "after {name}: {} entries", cache.len());
    }
    let response = query_udp(server, "www.example.test.", RecordType::A).await;
    assert!(
        matches!(
            rcode(&response),
            ResponseCode::NoError | ResponseCode::ServFail
        ),
        "{response}"
    );
    assert!(cache.len() <= 16, "{} entries", cache.len());
}

/// With `cache_size = 16` (16 shards of one entry each), resolving 60 distinct names evicts
/// delegations and their glue all the time; every answer must still be right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_stay_correct_under_cache_eviction() {
    let (_world, ferret) = world_and_ferret(55, |config| config.cache_size = 16).await;
    let server = addr(&ferret);
    let cache = Arc::clone(ferret.resolver().cache());
    for i in 0..60 {
        let name = format!("n{i}.wild.example.test.");
        let response = query_udp(server, &name, RecordType::A).await;
        assert_eq!(
            answer_strings(&response),
            vec![a_record(&name, WILD_V4)],
            "{response}"
        );
        assert!(cache.len() <= 16, "after {name}: {} entries", cache.len());
    }
    let www = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&www),
        vec![a_record("www.example.test.", WWW_V4)]
    );
    let first = query_udp(server, "n0.wild.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&first),
        vec![a_record("n0.wild.example.test.", WILD_V4)]
    );
}

/// The same failure without a tiny cache: `lab.` is delegated for an hour, but its in-bailiwick
/// glue lives one second. Once the glue has expired, the delegation must be refreshed from the
/// parent (as Unbound and BIND do); a cached NS set whose servers cannot be found is no delegation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegation_outliving_its_glue_is_refreshed_from_the_parent() {
    let root = net(56, 0, 1);
    let lab = net(56, 1, 1);
    let world = Hierarchy::builder()
        .server(
            &root,
            vec![Zone::parse(
                ".",
                &format!(
                    "$TTL 86400
.                    SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 86400
.                    NS  a.root-servers.test.
a.root-servers.test. A   {root}
lab.            3600 NS  ns1.lab.
ns1.lab.           1 A   {lab}
"
                ),
            )],
        )
        .server(
            &lab,
            vec![Zone::parse(
                "lab.",
                &format!(
                    "$TTL 3600
@    SOA ns1.lab. hostmaster.lab. 1 3600 900 604800 300
@    NS  ns1
ns1  1 A {lab}
www  A   {WWW_V4}
mail A   {MAIL_V4}
"
                ),
            )],
        )
        .start()
        .await;
    let config = test_config(56, &world.root_hints_path());
    let clock = ferret::Clock::system();
    let ferret = RunningServer::start_with_clock(&config, clock.clone())
        .await
        .expect("ferret starts");
    let server = addr(&ferret);

    let www = query_udp(server, "www.lab.", RecordType::A).await;
    assert_eq!(answer_strings(&www), vec![a_record("www.lab.", WWW_V4)]);
    clock.advance(Duration::from_secs(10));
    let mail = query_udp(server, "mail.lab.", RecordType::A).await;
    assert_eq!(
        answer_strings(&mail),
        vec![a_record("mail.lab.", MAIL_V4)],
        "after the glue expired:\n{mail}"
    );
}

// ---------------------------------------------------------------------------------------
// Listeners and the binary
// ---------------------------------------------------------------------------------------

/// ferret listening on `[::1]` serves over UDP and TCP. Skipped (with a message) only where the
/// host has no ::1 to bind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_an_ipv6_listener() {
    let world = common::world::start(52).await;
    let mut config = test_config(52, &world.root_hints_path());
    config.listen = vec!["[::1]:0".parse().expect("an IPv6 listen address")];
    let ferret = match RunningServer::start(&config).await {
        Ok(ferret) => ferret,
        Err(ServerError::Bind { source, .. })
            if source.kind() == io::ErrorKind::AddrNotAvailable =>
        {
            eprintln!("skipping: cannot bind [::1] on this host ({source})");
            return;
        }
        Err(error) => panic!("ferret does not start on [::1]: {error}"),
    };
    let server = addr(&ferret);
    assert!(server.is_ipv6(), "{server}");
    let udp = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&udp),
        vec![a_record("www.example.test.", WWW_V4)]
    );
    let tcp = query_tcp(server, "www.example.test.", RecordType::AAAA).await;
    assert_eq!(
        answer_strings(&tcp),
        vec![format!("www.example.test. AAAA {WWW_V6}")]
    );
}

/// A child process, killed and reaped when the test ends however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free for both UDP and TCP on `ip`, as the kernel hands them out.
fn free_port(ip: IpAddr) -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind((ip, 0)).expect("binding a UDP probe");
        let port = udp.local_addr().expect("probe address").port();
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

async fn run_ferret_binary(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ferret"))
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("running ferret {args:?}: {e}"))
}

/// Waits until the ferret process answers on `server`, failing early if it exits.
async fn wait_until_serving(child: &mut KillOnDrop, server: SocketAddr, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "ferret exited with {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        let probe = try_query_udp(
            server,
            "localhost.",
            RecordType::A,
            QueryOpts::default(),
            Duration::from_millis(200),
        )
        .await;
        if probe.is_some() {
            return;
        }
    }
    panic!(
        "ferret does not answer on {server}:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// The `ferret` binary: `--version` and `--help` work and document the flags; started with the
/// flags an operator would use, it resolves through the world (asked with dig where installed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_help_and_serves_queries() {
    let version = run_ferret_binary(&["--version"]).await;
    assert!(version.status.success(), "--version: {version:?}");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")),
        "--version: {version:?}"
    );
    let help = run_ferret_binary(&["--help"]).await;
    assert!(help.status.success(), "--help: {help:?}");
    let help_text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--root-hints",
        "--cache-size",
        "--allow-loopback-upstream",
        "--no-qname-minimisation",
        "--no-ipv6-upstream",
        "--log-level",
        "--local-zone-nodefault",
    ] {
        assert!(
            help_text.contains(flag),
            "--help lacks {flag}:\n{help_text}"
        );
    }

    let world = common::world::start(53).await;
    let ip: IpAddr = net(53, 200, 1).parse().expect("listen address");
    let port = free_port(ip);
    let server = SocketAddr::new(ip, port);
    let log = world.dir().join("ferret.log");
    let log_file = std::fs::File::create(&log).expect("creating the ferret log");
    let hints = world.root_hints_path();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ferret"))
            .arg("--listen")
            .arg(server.to_string())
            .arg("--root-hints")
            .arg(&hints)
            .args(["--allow-loopback-upstream", "--no-ipv6-upstream"])
            // The world lives under test., which ferret answers NXDOMAIN by default (RFC 6761 §6.2).
            .args(["--local-zone-nodefault", "test."])
            // The world is unsigned; the built-in root anchors would make it all bogus.
            .arg("--no-dnssec")
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("starting the ferret binary"),
    );
    wait_until_serving(&mut child, server, &log).await;

    let dig = tokio::process::Command::new("dig")
        .arg(format!("@{ip}"))
        .args(["-p", &port.to_string(), "www.example.test.", "A", "+short"])
        .output()
        .await;
    match dig {
        Ok(output) => {
            assert!(output.status.success(), "dig: {output:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout).trim(),
                WWW_V4.to_string(),
                "dig +short: {output:?}\nferret log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "dig is required under CI=true"
            );
            eprintln!("dig is not installed; asking with the test client instead");
            let response = query_udp(server, "www.example.test.", RecordType::A).await;
            assert_eq!(
                answer_strings(&response),
                vec![a_record("www.example.test.", WWW_V4)]
            );
        }
        Err(error) => panic!("running dig: {error}"),
    }
    drop(child);
}
