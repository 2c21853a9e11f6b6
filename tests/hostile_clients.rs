//! Hostile clients (issue 4): access control, response rate limiting, TCP resource bounds, and
//! DNS cookies in both directions, all with real packets over loopback.
//!
//! Clients send from sockets bound to chosen loopback addresses, so that "another network" is
//! just another 127.x.y.z: ferret is told to allow only part of the block, and a client outside
//! that part is the stranger.
//!
//! Address blocks 141–150 and 152–154 (127.141.x.y – 127.154.x.y but 127.151.x.y) belong to this
//! file; the rest of 140–159 belongs to tests/resilience.rs.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use common::authority::{Cookies, fake_server_cookie};
use common::client::{QueryOpts, build_query, rcode};
use common::hierarchy::net;
use common::world::{self, Addresses};
use ferret::Config;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::time::{Instant, sleep, timeout, timeout_at};

/// How long a test waits for an answer that must come.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// IANA's option code for COOKIE (RFC 7873 §8).
const COOKIE: u16 = 10;

const CLIENT_COOKIE: [u8; 8] = [0xc0, 0x0c, 0x1e, 0x5e, 0xed, 0xf0, 0x0d, 0x01];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A ferret config for tests that ask only for locally answered names (`localhost.`), with root
/// hints pointing at an address in `block` where nothing listens: nothing may go upstream.
fn local_only_config(block: u8) -> (TempDir, Config) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let hints = dir.path().join("root.hints");
    std::fs::write(
        &hints,
        format!(
            ". 3600000 NS a.root-servers.test.\na.root-servers.test. 3600000 A {}\n",
            net(block, 0, 1)
        ),
    )
    .expect("writing root hints");
    let config = common::ferret::test_config(block, &PathBuf::from(&hints));
    (dir, config)
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("IP address")
}

fn prefix(text: &str) -> ipnet::IpNet {
    text.parse().expect("CIDR prefix")
}

async fn udp_from(source: &str) -> UdpSocket {
    UdpSocket::bind(SocketAddr::new(ip(source), 0))
        .await
        .unwrap_or_else(|e| panic!("binding a UDP client on {source}: {e}"))
}

async fn tcp_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("TCP socket");
    socket
        .bind(SocketAddr::new(ip(source), 0))
        .unwrap_or_else(|e| panic!("binding a TCP client on {source}: {e}"));
    timeout(ANSWER_WAIT, socket.connect(server))
        .await
        .expect("connect in time")
        .unwrap_or_else(|e| panic!("connecting from {source} to {server}: {e}"))
}

/// `localhost. A`, which ferret answers itself, with EDNS and, if given, a raw COOKIE option.
fn localhost_query(cookie: Option<&[u8]>) -> Message {
    let mut query = build_query("localhost.", RecordType::A, QueryOpts::default());
    if let (Some(cookie), Some(edns)) = (cookie, query.edns.as_mut()) {
        edns.options_mut()
            .insert(EdnsOption::Unknown(COOKIE, cookie.to_vec()));
    }
    query
}

/// The content of a response's COOKIE option.
fn cookie_of(response: &Message) -> Option<Vec<u8>> {
    match response.edns.as_ref()?.option(EdnsCode::Cookie)? {
        EdnsOption::Unknown(_, bytes) => Some(bytes.clone()),
        other => panic!("COOKIE decoded as {other:?}"),
    }
}

/// Sends `query` from `socket` and waits up to `wait` for the response with its ID.
async fn exchange_udp(
    socket: &UdpSocket,
    server: SocketAddr,
    query: &Message,
    wait: Duration,
) -> Option<Message> {
    socket
        .send_to(&query.to_vec().expect("encoding"), server)
        .await
        .expect("sending a query");
    let deadline = Instant::now() + wait;
    let mut buffer = vec![0u8; 65_535];
    loop {
        let (len, peer) = timeout_at(deadline, socket.recv_from(&mut buffer))
            .await
            .ok()?
            .ok()?;
        if peer != server {
            continue;
        }
        if let Ok(response) = Message::from_vec(&buffer[..len])
            && response.metadata.id == query.metadata.id
        {
            return Some(response);
        }
    }
}

async fn must_answer_udp(socket: &UdpSocket, server: SocketAddr, query: &Message) -> Message {
    exchange_udp(socket, server, query, ANSWER_WAIT)
        .await
        .unwrap_or_else(|| panic!("no UDP answer from {server} within {ANSWER_WAIT:?}"))
}

/// Sends `query` framed on `stream` and reads one framed response; `None` if the connection is
/// closed (or nothing comes within [`ANSWER_WAIT`]).
async fn exchange_tcp(stream: &mut TcpStream, query: &Message) -> Option<Message> {
    let bytes = query.to_vec().expect("encoding");
    let mut frame = u16::try_from(bytes.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    frame.extend_from_slice(&bytes);
    let exchange = async {
        stream.write_all(&frame).await.ok()?;
        let len = stream.read_u16().await.ok()?;
        let mut reply = vec![0u8; usize::from(len)];
        stream.read_exact(&mut reply).await.ok()?;
        Message::from_vec(&reply).ok()
    };
    timeout(ANSWER_WAIT, exchange).await.ok().flatten()
}

/// Whether the server closes `stream` within `wait` (a read ends with EOF or a reset).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 512];
    let deadline = Instant::now() + wait;
    loop {
        match timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

fn is_localhost_answer(response: &Message) -> bool {
    rcode(response) == ResponseCode::NoError
        && !response.metadata.truncation
        && response.answers.len() == 1
}

// ---------------------------------------------------------------------------------------------
// Access control
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_outside_the_allowed_networks_are_refused_over_udp_and_cut_off_over_tcp() {
    let (_hints, mut config) = local_only_config(141);
    config.allow = vec![prefix("127.141.0.0/16")];
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);

    let friend = udp_from("127.141.1.1").await;
    let response = must_answer_udp(&friend, at, &localhost_query(None)).await;
    assert!(is_localhost_answer(&response), "{response}");

    let stranger = udp_from("127.142.0.1").await;
    let query = localhost_query(None);
    let response = must_answer_udp(&stranger, at, &query).await;
    assert_eq!(rcode(&response), ResponseCode::Refused);
    assert_eq!(response.metadata.id, query.metadata.id);
    assert!(response.answers.is_empty());

    // 127.0.0.1 is loopback, but an explicit --allow replaces the loopback default.
    let local = udp_from("127.0.0.1").await;
    let response = must_answer_udp(&local, at, &localhost_query(None)).await;
    assert_eq!(rcode(&response), ResponseCode::Refused);

    let mut refused = tcp_from("127.142.0.1", at).await;
    assert!(
        closed_within(&mut refused, ANSWER_WAIT).await,
        "a TCP client outside --allow is disconnected without a word"
    );
    let mut allowed = tcp_from("127.141.1.1", at).await;
    let response = exchange_tcp(&mut allowed, &localhost_query(None))
        .await
        .expect("an allowed TCP client is answered");
    assert!(is_localhost_answer(&response), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_silently_answers_strangers_with_nothing() {
    let (_hints, mut config) = local_only_config(143);
    config.allow = vec![prefix("127.143.0.0/16")];
    config.refuse_silently = true;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);

    let stranger = udp_from("127.144.0.1").await;
    let stranger_query = localhost_query(None);
    stranger
        .send_to(&stranger_query.to_vec().expect("encoding"), at)
        .await
        .expect("sending");
    // One listener task takes datagrams in order: once a later query from a friend is
    // answered, the stranger's has been dealt with.
    let friend = udp_from("127.143.1.1").await;
    let response = must_answer_udp(&friend, at, &localhost_query(None)).await;
    assert!(is_localhost_answer(&response), "{response}");
    let mut buffer = [0u8; 512];
    let heard = timeout(Duration::from_millis(500), stranger.recv_from(&mut buffer)).await;
    assert!(heard.is_err(), "a silently refused client got {heard:?}");
}

// ---------------------------------------------------------------------------------------------
// Response rate limiting
// ---------------------------------------------------------------------------------------------

/// What came back for a burst of queries from one socket.
#[derive(Debug, Default)]
struct BurstOutcome {
    answered: usize,
    slipped: usize,
    silent: usize,
}

/// Sends `count` queries for `localhost.` at once from `socket` (each with `cookie`, if given)
/// and sorts what comes back within two seconds.
async fn burst(
    socket: &UdpSocket,
    server: SocketAddr,
    count: usize,
    cookie: Option<&[u8]>,
) -> BurstOutcome {
    let queries: Vec<Message> = (0..count).map(|_| localhost_query(cookie)).collect();
    for query in &queries {
        socket
            .send_to(&query.to_vec().expect("encoding"), server)
            .await
            .expect("sending");
    }
    let mut outcome = BurstOutcome::default();
    let mut pending: Vec<u16> = queries.iter().map(|q| q.metadata.id).collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buffer = vec![0u8; 65_535];
    while !pending.is_empty() {
        let Ok(Ok((len, _))) = timeout_at(deadline, socket.recv_from(&mut buffer)).await else {
            break;
        };
        let Ok(response) = Message::from_vec(&buffer[..len]) else {
            continue;
        };
        let Some(at) = pending.iter().position(|id| *id == response.metadata.id) else {
            continue;
        };
        pending.swap_remove(at);
        if response.metadata.truncation {
            assert!(response.answers.is_empty(), "a slip carries no data");
            assert_eq!(response.queries.len(), 1, "a slip echoes the question");
            outcome.slipped += 1;
        } else {
            assert!(is_localhost_answer(&response), "{response}");
            outcome.answered += 1;
        }
    }
    outcome.silent = pending.len();
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_rate_limit_every_second_response_slips_and_the_rest_are_dropped() {
    let (_hints, mut config) = local_only_config(145);
    config.ratelimit = 5;
    config.ratelimit_slip = 2;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);

    let flooder = udp_from("127.145.1.1").await;
    let outcome = burst(&flooder, at, 40, None).await;
    // The bucket holds one second (5 responses) and refills at 5 a second: however slowly this
    // machine sends 40 datagrams, far fewer than 40 are answered.
    assert!(
        (5..=20).contains(&outcome.answered),
        "answered within the limit: {outcome:?}"
    );
    assert!(
        outcome.slipped >= 5,
        "every 2nd limited response slips: {outcome:?}"
    );
    assert!(outcome.silent >= 5, "the others are dropped: {outcome:?}");

    // The slip tells the client to come back over TCP, and TCP is not limited.
    let mut stream = tcp_from("127.145.1.1", at).await;
    for _ in 0..10 {
        let response = exchange_tcp(&mut stream, &localhost_query(None))
            .await
            .expect("answered over TCP");
        assert!(is_localhost_answer(&response), "{response}");
    }
    // The limit is per /24: a neighbour on another network is unaffected.
    let neighbour = udp_from("127.145.2.1").await;
    let response = must_answer_udp(&neighbour, at, &localhost_query(None)).await;
    assert!(is_localhost_answer(&response), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_server_cookie_exempts_a_client_from_the_rate_limit() {
    let (_hints, mut config) = local_only_config(146);
    config.ratelimit = 1;
    config.ratelimit_slip = 0;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);

    let client = udp_from("127.146.1.1").await;
    let first = must_answer_udp(&client, at, &localhost_query(Some(&CLIENT_COOKIE))).await;
    let cookie = cookie_of(&first).expect("a server cookie comes back");
    let outcome = burst(&client, at, 20, Some(&cookie)).await;
    assert_eq!(outcome.answered, 20, "{outcome:?}");

    // The limiter is on: the same network without a valid cookie is held to one a second...
    let outcome = burst(&client, at, 20, None).await;
    assert!(outcome.answered <= 5, "{outcome:?}");
    // ... and so is a forged server cookie.
    let mut forged = cookie.clone();
    forged[20] ^= 0xff;
    let outcome = burst(&client, at, 20, Some(&forged)).await;
    assert!(outcome.answered <= 5, "{outcome:?}");
}

// ---------------------------------------------------------------------------------------------
// DNS cookies, server side
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_cookies_are_issued_bound_to_the_client_and_bad_lengths_are_formerr() {
    let (_hints, config) = local_only_config(147);
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);
    let client = udp_from("127.147.1.1").await;

    // A client cookie alone: answered, with our client cookie and a fresh server cookie.
    let response = must_answer_udp(&client, at, &localhost_query(Some(&CLIENT_COOKIE))).await;
    assert!(is_localhost_answer(&response), "{response}");
    let issued = cookie_of(&response).expect("COOKIE in the response");
    assert_eq!(
        issued.len(),
        24,
        "8-octet client cookie, 16-octet server cookie"
    );
    assert_eq!(issued[..8], CLIENT_COOKIE);
    assert_eq!(
        issued[8..12],
        [1, 0, 0, 0],
        "RFC 9018 version 1, reserved zero"
    );

    // Presented again, it verifies and, being young, comes back unchanged.
    let response = must_answer_udp(&client, at, &localhost_query(Some(&issued))).await;
    assert!(is_localhost_answer(&response), "{response}");
    assert_eq!(cookie_of(&response), Some(issued.clone()));

    // From another address it is not ours: answered all the same, with a new server cookie.
    let other = udp_from("127.147.1.2").await;
    let response = must_answer_udp(&other, at, &localhost_query(Some(&issued))).await;
    assert!(is_localhost_answer(&response), "{response}");
    let reissued = cookie_of(&response).expect("COOKIE in the response");
    assert_eq!(reissued[..8], CLIENT_COOKIE);
    assert_ne!(reissued, issued);

    // A forged server cookie is replaced the same way.
    let mut forged = issued.clone();
    forged[23] ^= 1;
    let response = must_answer_udp(&client, at, &localhost_query(Some(&forged))).await;
    assert_eq!(rcode(&response), ResponseCode::NoError);
    assert_eq!(
        cookie_of(&response),
        Some(issued.clone()),
        "the real one, recomputed"
    );

    // Two hours on, the cookie has expired (RFC 9018 §4.3: an hour) and a new one is made.
    ferret.clock().advance(Duration::from_secs(2 * 3600));
    let response = must_answer_udp(&client, at, &localhost_query(Some(&issued))).await;
    let renewed = cookie_of(&response).expect("COOKIE in the response");
    assert_ne!(renewed[12..16], issued[12..16], "a new timestamp");

    // RFC 7873 §5.2.2: lengths other than 8 and 16–40 are FORMERR, over UDP and TCP.
    let mut stream = tcp_from("127.147.1.1", at).await;
    for len in [1, 7, 9, 15, 41] {
        let query = localhost_query(Some(&vec![0xab; len]));
        let response = must_answer_udp(&client, at, &query).await;
        assert_eq!(
            rcode(&response),
            ResponseCode::FormErr,
            "{len} octets over UDP"
        );
        assert_eq!(response.metadata.id, query.metadata.id);
        let response = exchange_tcp(&mut stream, &query)
            .await
            .expect("answered over TCP");
        assert_eq!(
            rcode(&response),
            ResponseCode::FormErr,
            "{len} octets over TCP"
        );
    }
    // Eight octets of server cookie are allowed by RFC 7873 (just never ours).
    let mut short_server = CLIENT_COOKIE.to_vec();
    short_server.extend_from_slice(&[7; 8]);
    let response = must_answer_udp(&client, at, &localhost_query(Some(&short_server))).await;
    assert!(is_localhost_answer(&response), "{response}");
}

// ---------------------------------------------------------------------------------------------
// TCP resource bounds
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_client_is_cut_off_while_a_normal_client_is_served() {
    let (_hints, mut config) = local_only_config(148);
    config.limits.tcp_read_timeout_ms = 1_000;
    config.limits.tcp_idle_timeout = 30;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);

    let query = localhost_query(None).to_vec().expect("encoding");
    let mut frame = u16::try_from(query.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    frame.extend_from_slice(&query);
    let mut slow = tcp_from("127.148.1.1", at).await;
    let started = Instant::now();
    // The length, then one byte every 250 ms: the whole frame would take many seconds, and the
    // connection is never idle for long, so only the read timeout can end it.
    slow.write_all(&frame[..2])
        .await
        .expect("writing the length");
    let mut sent = 2;
    let mut cut_off = false;
    let mut normal_served = false;
    while sent < frame.len() {
        if closed_within(&mut slow, Duration::from_millis(250)).await {
            cut_off = true;
            break;
        }
        if slow.write_all(&frame[sent..=sent]).await.is_err() {
            cut_off = true;
            break;
        }
        sent += 1;
        if !normal_served {
            let mut normal = tcp_from("127.148.2.1", at).await;
            let response = exchange_tcp(&mut normal, &localhost_query(None))
                .await
                .expect("a normal client is answered meanwhile");
            assert!(is_localhost_answer(&response), "{response}");
            normal_served = true;
        }
    }
    let elapsed = started.elapsed();
    assert!(
        cut_off,
        "sent the whole frame ({sent} bytes) in {elapsed:?} without being cut off"
    );
    assert!(normal_served);
    assert!(
        sent < frame.len() && elapsed < Duration::from_secs(8),
        "cut off after {elapsed:?} and {sent} of {} bytes; the read timeout is 1 s",
        frame.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_tcp_message_closes_the_connection_at_once() {
    let (_hints, mut config) = local_only_config(149);
    config.limits.tcp_read_timeout_ms = 30_000;
    config.limits.tcp_idle_timeout = 30;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);

    let mut stream = tcp_from("127.149.1.1", at).await;
    stream
        .write_all(&[0x10, 0x01]) // 4097 octets announced: one over the cap
        .await
        .expect("writing the length");
    stream.write_all(&[0u8; 100]).await.expect("writing");
    // Neither timeout is anywhere near: only the size cap closes it this soon.
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);

    let mut normal = tcp_from("127.149.1.1", at).await;
    let response = exchange_tcp(&mut normal, &localhost_query(None))
        .await
        .expect("a normal query is answered");
    assert!(is_localhost_answer(&response), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_cap_new_connections_are_closed_and_old_ones_keep_working() {
    let (_hints, mut config) = local_only_config(150);
    config.limits.max_tcp_connections = 3;
    config.limits.tcp_idle_timeout = 30;
    let ferret = common::ferret::start(&config).await;
    let at = common::ferret::addr(&ferret);

    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = tcp_from("127.150.1.1", at).await;
        // An answer means ferret has accepted the connection and holds a slot for it.
        let response = exchange_tcp(&mut stream, &localhost_query(None))
            .await
            .expect("answered within the cap");
        assert!(is_localhost_answer(&response), "{response}");
        held.push(stream);
    }
    let mut extra = tcp_from("127.150.1.2", at).await;
    assert!(
        exchange_tcp(&mut extra, &localhost_query(None))
            .await
            .is_none(),
        "a fourth connection is closed unanswered"
    );
    for stream in &mut held {
        let response = exchange_tcp(stream, &localhost_query(None))
            .await
            .expect("held connections still work");
        assert!(is_localhost_answer(&response), "{response}");
    }
    // Closing one frees its slot (once ferret notices the close).
    drop(held.pop());
    let deadline = Instant::now() + ANSWER_WAIT;
    loop {
        let mut stream = tcp_from("127.150.1.3", at).await;
        if exchange_tcp(&mut stream, &localhost_query(None))
            .await
            .is_some()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// DNS cookies, client side (ferret asking the fake hierarchy)
// ---------------------------------------------------------------------------------------------

/// Resolves `name` A through ferret over UDP.
async fn resolve(at: SocketAddr, name: &str) -> Message {
    let client = udp_from("127.0.0.1").await;
    let query = build_query(name, RecordType::A, QueryOpts::default());
    must_answer_udp(&client, at, &query).await
}

/// The COOKIE contents of the queries `server` received, oldest first.
fn cookies_received(hierarchy: &common::hierarchy::Hierarchy, server: &str) -> Vec<Vec<u8>> {
    hierarchy
        .server(server)
        .queries()
        .into_iter()
        .map(|q| q.cookie.expect("every upstream query carries a COOKIE"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferret_sends_client_cookies_upstream_and_returns_the_server_cookie() {
    let block = 152;
    let hierarchy = world::start(block).await;
    let a = Addresses::new(block);
    hierarchy
        .server(&a.example_test)
        .set_cookies(Cookies::Issue);
    let ferret = common::ferret::start(&common::ferret::test_config(
        block,
        &hierarchy.root_hints_path(),
    ))
    .await;
    let at = common::ferret::addr(&ferret);

    let response = resolve(at, "www.example.test.").await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    let response = resolve(at, "mail.example.test.").await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");

    let to_example = cookies_received(&hierarchy, &a.example_test);
    assert!(to_example.len() >= 2, "{to_example:?}");
    let client = to_example[0][..8].to_vec();
    assert_eq!(
        to_example[0].len(),
        8,
        "the first query has only a client cookie"
    );
    for cookie in &to_example[1..] {
        assert_eq!(cookie[..8], client[..], "one client cookie per server");
        assert_eq!(
            cookie[8..],
            fake_server_cookie(&client)[..],
            "server cookie returned"
        );
    }
    // The roots (which do no cookies) get client cookies of their own, and no server cookie.
    let mut to_root = cookies_received(&hierarchy, &a.root_a);
    to_root.extend(cookies_received(&hierarchy, &a.root_b));
    assert!(!to_root.is_empty());
    assert!(to_root.iter().all(|c| c.len() == 8 && c[..] != client[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_do_not_echo_our_client_cookie_are_ignored() {
    let block = 153;
    let hierarchy = world::start(block).await;
    let a = Addresses::new(block);
    let example = hierarchy.server(&a.example_test);
    example.set_cookies(Cookies::WrongClientCookie);
    let ferret = common::ferret::start(&common::ferret::test_config(
        block,
        &hierarchy.root_hints_path(),
    ))
    .await;
    let at = common::ferret::addr(&ferret);

    // The only live server of example.test. answers, but never with our cookie: as good as a
    // forger's packets, so there is no answer to be had.
    let response = resolve(at, "www.example.test.").await;
    assert_eq!(rcode(&response), ResponseCode::ServFail, "{response}");
    assert!(example.count_for("www.example.test.", RecordType::A) > 0);

    // The same server with cookies echoed properly is believed.
    example.set_cookies(Cookies::Issue);
    let response = resolve(at, "mail.example.test.").await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badcookie_is_answered_by_asking_again_with_the_server_cookie() {
    let block = 154;
    let hierarchy = world::start(block).await;
    let a = Addresses::new(block);
    let example = hierarchy.server(&a.example_test);
    example.set_cookies(Cookies::Require);
    let ferret = common::ferret::start(&common::ferret::test_config(
        block,
        &hierarchy.root_hints_path(),
    ))
    .await;
    let at = common::ferret::addr(&ferret);

    let response = resolve(at, "www.example.test.").await;
    assert_eq!(rcode(&response), ResponseCode::NoError, "{response}");
    let queries = example.queries();
    let first = &queries[0];
    let cookie = first.cookie.clone().expect("a COOKIE");
    assert_eq!(cookie.len(), 8, "no server cookie yet: BADCOOKIE");
    let second = &queries[1];
    assert_eq!(second.name, first.name, "the same question asked again");
    assert!(!second.tcp, "over UDP, now with the server cookie");
    let mut expected = cookie.clone();
    expected.extend(fake_server_cookie(&cookie));
    assert_eq!(second.cookie, Some(expected));
}
