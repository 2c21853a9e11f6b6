//! The shared second-tier cache (issue 12): ferrets sharing what they resolved through a real
//! Redis (standalone and Cluster), started on loopback by tests/common/redis.rs.
//!
//! Address blocks 127.180-184.x.y, one per test; 127.B.250.x are the Redis servers (and the
//! stalling proxy), 127.B.200.x the ferrets.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferret::Config;
use ferret::metrics::SharedCacheSnapshot;
use ferret::server::RunningServer;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::client::{
    DnssecQuery, authentic, min_ttl, query_dnssec, query_udp, rcode, record_strings,
};
use common::redis::{RedisCluster, RedisServer, free_redis_addr, redis_available};

fn ip(block: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, block, c, d))
}

/// A ferret of the fleet: the test config on `127.B.200.N`, sharing through `url`. The timeout
/// is far above the few-millisecond default: this is a loaded two-core machine, and the tests
/// need hits to be hits.
fn member(block: u8, n: u8, hints: &std::path::Path, url: &str) -> Config {
    let mut config = common::ferret::test_config(block, hints);
    config.listen = vec![SocketAddr::new(ip(block, 200, n), 0)];
    config.shared_cache = Some(url.to_string());
    config.shared_cache_timeout_ms = 250;
    config
}

fn shared(server: &RunningServer) -> SharedCacheSnapshot {
    server.resolver().metrics().shared_cache().snapshot()
}

/// Polls `done` every 20 ms for at most 10 s; panics with `what` if it never holds.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn answers(m: &Message) -> Vec<String> {
    record_strings(&m.answers)
}

/// The harness itself: a server that answers, loses its data when killed and comes back on the
/// same address; a cluster whose keys land on more than one master.
#[test]
fn redis_harness_starts_kills_and_restarts() {
    if !redis_available() {
        return;
    }
    let addr = free_redis_addr(ip(180, 250, 9));
    let mut redis = RedisServer::start(addr);
    assert_eq!(redis.cli(&["SET", "k", "v"]).trim(), "OK");
    assert_eq!(redis.cli(&["GET", "k"]).trim(), "v");
    redis.kill();
    assert!(
        redis.try_cli(&["PING"]).is_none(),
        "killed redis still answers"
    );
    redis.restart();
    assert_eq!(redis.addr(), addr);
    assert_eq!(
        redis.cli(&["GET", "k"]).trim(),
        "",
        "data survived a restart"
    );

    let addrs: Vec<SocketAddr> = (10..13).map(|d| free_redis_addr(ip(180, 250, d))).collect();
    let cluster = RedisCluster::start(&addrs);
    for i in 0..30 {
        let key = format!("key{i}");
        let reply = cluster.nodes()[0].cli(&["-c", "SET", &key, "v"]);
        assert_eq!(reply.trim(), "OK");
    }
    assert_eq!(cluster.key_count(), 30);
    let holding = cluster
        .nodes()
        .iter()
        .filter(|n| n.cli(&["DBSIZE"]).trim() != "0")
        .count();
    assert!(holding >= 2, "30 keys all on one master of three");
}

/// What the first ferret resolved, the second answers with no upstream query: positive (with a
/// CNAME chain), NXDOMAIN and NODATA alike, TTLs counted down across the two.
async fn second_answers_what_first_resolved(
    world: &common::hierarchy::Hierarchy,
    first: &RunningServer,
    second: &RunningServer,
) {
    let (a, b) = (common::ferret::addr(first), common::ferret::addr(second));
    let questions = [
        ("chain1.example.test.", RecordType::A, ResponseCode::NoError),
        ("www.example.test.", RecordType::AAAA, ResponseCode::NoError),
        (
            "nowhere.example.test.",
            RecordType::A,
            ResponseCode::NXDomain,
        ),
        ("www.example.test.", RecordType::TXT, ResponseCode::NoError),
    ];
    let mut from_first = Vec::new();
    for (name, rtype, expected) in questions {
        let m = query_udp(a, name, rtype).await;
        assert_eq!(rcode(&m), expected, "{name} {rtype} from the first");
        from_first.push(m);
    }
    wait_for("the first ferret's writes", || {
        shared(first).writes >= questions.len() as u64
    })
    .await;
    // Long enough for every TTL to lose at least a second.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    world.clear_queries();
    let hits_before = shared(second).hits;
    for ((name, rtype, expected), first_answer) in questions.iter().zip(&from_first) {
        let m = query_udp(b, name, *rtype).await;
        assert_eq!(rcode(&m), *expected, "{name} {rtype} from the second");
        assert_eq!(answers(&m), answers(first_answer), "{name} {rtype}");
        assert_eq!(
            record_strings(&m.authorities),
            record_strings(&first_answer.authorities),
            "{name} {rtype}: the negative answer's SOA"
        );
        let (before, after) = (min_ttl(first_answer), min_ttl(&m));
        assert!(
            after + 2 <= before && after + 10 >= before,
            "{name} {rtype}: TTL {before} on the first, {after} on the second 2 s later"
        );
    }
    assert_eq!(
        world.total_queries(),
        0,
        "the second ferret asked upstream: {:?}",
        world
            .servers()
            .flat_map(|s| s.queries())
            .collect::<Vec<_>>()
    );
    assert_eq!(shared(second).hits, hits_before + questions.len() as u64);
    // Now local hits: Redis is not asked again.
    let lookups = shared(second).hits + shared(second).misses;
    let m = query_udp(b, "chain1.example.test.", RecordType::A).await;
    assert_eq!(answers(&m), answers(&from_first[0]));
    assert_eq!(shared(second).hits + shared(second).misses, lookups);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ferrets_share_one_redis() {
    if !redis_available() {
        return;
    }
    let block = 180;
    let world = common::world::start(block).await;
    let redis = RedisServer::start(free_redis_addr(ip(block, 250, 1)));
    let first =
        common::ferret::start(&member(block, 1, &world.root_hints_path(), &redis.url())).await;
    let second =
        common::ferret::start(&member(block, 2, &world.root_hints_path(), &redis.url())).await;
    second_answers_what_first_resolved(&world, &first, &second).await;
    // The keys are the documented ones, with the default prefix.
    let keys = redis.cli(&["KEYS", "*"]);
    assert!(
        keys.lines()
            .any(|k| k == "ferret:v1:1:1:chain1.example.test."),
        "{keys}"
    );
    let ttl: i64 = redis
        .cli(&["PTTL", "ferret:v1:1:1:chain1.example.test."])
        .trim()
        .parse()
        .expect("PTTL is a number");
    assert!(ttl > 0 && ttl <= 3_600_000, "expiry {ttl} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ferrets_share_a_redis_cluster_and_flush_it() {
    if !redis_available() {
        return;
    }
    let block = 181;
    let world = common::world::start(block).await;
    let addrs: Vec<SocketAddr> = (1..4).map(|d| free_redis_addr(ip(block, 250, d))).collect();
    let cluster = RedisCluster::start(&addrs);
    let hints = world.root_hints_path();
    let first = common::ferret::start(&member(block, 1, &hints, &cluster.url())).await;
    let second = common::ferret::start(&member(block, 2, &hints, &cluster.url())).await;
    // The cluster connections are made in the background: ask fresh names until a lookup has
    // gone through on each ferret.
    let deadline = Instant::now() + Duration::from_secs(15);
    for (n, server) in [&first, &second].into_iter().enumerate() {
        let mut i = 0;
        while shared(server).misses == 0 {
            assert!(
                Instant::now() < deadline,
                "no cluster lookup: {:?}",
                shared(server)
            );
            let name = format!("probe{n}-{i}.wild.example.test.");
            let _ = query_udp(common::ferret::addr(server), &name, RecordType::A).await;
            i += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    second_answers_what_first_resolved(&world, &first, &second).await;
    assert!(cluster.key_count() >= 4, "keys in the cluster");

    // `ferret ctl flush --shared` empties this fleet's keys on every master, and no other keys.
    cluster.nodes()[0].cli(&["-c", "SET", "other-fleet:key", "v"]);
    let socket = world.dir().join("control.sock");
    let control = ferret::control::ControlSocket::bind(&socket).expect("control socket");
    let (reload, _reloads) = tokio::sync::mpsc::channel(1);
    tokio::spawn(control.serve(first.handle(), reload));
    let (ok, text) = common::process::ctl(&socket, &["flush", "--shared"]).await;
    assert!(ok && text.starts_with("ok:"), "{text}");
    assert_eq!(cluster.key_count(), 1, "{text}");
}

/// A TCP proxy in front of Redis that can be told to stall: while stalled it holds every byte
/// in both directions (the connection stays open), as a Redis stuck in a long command would.
struct StallingProxy {
    addr: SocketAddr,
    stalled: Arc<AtomicBool>,
}

impl StallingProxy {
    async fn start(listen: IpAddr, target: SocketAddr) -> StallingProxy {
        let listener = TcpListener::bind((listen, 0)).await.expect("proxy listens");
        let addr = listener.local_addr().expect("proxy address");
        let stalled = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stalled);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = Arc::clone(&flag);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::select! {
                        _ = pump(client_read, server_write, Arc::clone(&flag)) => {}
                        _ = pump(server_read, client_write, flag) => {}
                    }
                });
            }
        });
        StallingProxy { addr, stalled }
    }

    fn stall(&self, on: bool) {
        self.stalled.store(on, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        // Bounded by the test: it always lifts the stall before it ends.
        while stalled.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Asks `server` for `count` names nobody asked before (under the wildcard), each of which must
/// be answered NOERROR within `budget`; `start` numbers them.
async fn fresh_questions(server: SocketAddr, start: usize, count: usize, budget: Duration) {
    for i in start..start + count {
        let name = format!("n{i}.wild.example.test.");
        let began = Instant::now();
        let m = query_udp(server, &name, RecordType::A).await;
        let took = began.elapsed();
        assert_eq!(rcode(&m), ResponseCode::NoError, "{name}");
        assert!(took < budget, "{name} took {took:?}, over {budget:?}");
    }
}

/// Asks fresh questions of `server` (`n{start}.wild...` on), one every 200 ms, until `ferret`'s
/// breaker has closed again: each is a request that may be the probe. At most 15 s.
async fn until_the_breaker_closes(
    ferret: &RunningServer,
    server: SocketAddr,
    start: usize,
    budget: Duration,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut n = start;
    while shared(ferret).breaker_open {
        assert!(
            Instant::now() < deadline,
            "the breaker never closed: {:?}",
            shared(ferret)
        );
        fresh_questions(server, n, 1, budget).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_or_stalled_costs_nothing_and_is_used_again_when_back() {
    if !redis_available() {
        return;
    }
    let block = 182;
    let world = common::world::start(block).await;
    let mut redis = RedisServer::start(free_redis_addr(ip(block, 250, 1)));
    let proxy = StallingProxy::start(ip(block, 250, 2), redis.addr()).await;
    let hints = world.root_hints_path();
    let mut config = member(block, 1, &hints, &format!("redis://{}/0", proxy.addr));
    config.shared_cache_timeout_ms = 100;
    let first = common::ferret::start(&config).await;
    let second = common::ferret::start(&member(block, 2, &hints, &redis.url())).await;
    let a = common::ferret::addr(&first);
    // The budget of an answer: one resolution on loopback, plus the shared-cache timeout.
    let budget = Duration::from_millis(1_500);
    fresh_questions(a, 0, 2, budget).await;
    wait_for("writes through the proxy", || shared(&first).writes >= 2).await;

    // Down: every question still answered in time, and after a few failures Redis is left
    // alone (the breaker opens).
    redis.kill();
    fresh_questions(a, 100, 8, budget).await;
    let down = shared(&first);
    assert!(down.errors_total() >= 5, "{down:?}");
    assert!(down.breaker_open && down.breaker_trips >= 1, "{down:?}");
    fresh_questions(a, 200, 3, budget).await;
    assert!(
        shared(&first).skipped > down.skipped,
        "the breaker holds lookups back"
    );

    // Back: after the open time a probe goes through, the breaker closes, writes resume, and
    // the other ferret answers from what the first wrote.
    redis.restart();
    until_the_breaker_closes(&first, a, 300, budget).await;
    let writes = shared(&first).writes;
    fresh_questions(a, 400, 1, budget).await;
    wait_for("a write after recovery", || shared(&first).writes > writes).await;
    world.clear_queries();
    let m = query_udp(
        common::ferret::addr(&second),
        "n400.wild.example.test.",
        RecordType::A,
    )
    .await;
    assert_eq!(rcode(&m), ResponseCode::NoError);
    assert_eq!(world.total_queries(), 0, "the second ferret asked upstream");
    assert_eq!(shared(&second).hits, 1);

    // Stalled: lookups time out after 100 ms, answers still come in time, the breaker opens;
    // once the stall ends it closes again.
    proxy.stall(true);
    fresh_questions(a, 500, 7, budget).await;
    let stalled = shared(&first);
    assert!(
        stalled.errors[ferret::metrics::SharedCacheFailure::Timeout as usize] >= 5,
        "{stalled:?}"
    );
    assert!(stalled.breaker_open, "{stalled:?}");
    proxy.stall(false);
    until_the_breaker_closes(&first, a, 600, budget).await;
}

/// Writes `value` under `key` with the redis crate (binary-safe, unlike redis-cli arguments).
fn put_raw(redis: &RedisServer, key: &str, value: &[u8]) {
    let client = redis::Client::open(redis.url()).expect("redis client");
    let mut connection = client.get_connection().expect("redis connection");
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query(&mut connection)
        .expect("SET");
}

fn get_raw(redis: &RedisServer, key: &str) -> Vec<u8> {
    let client = redis::Client::open(redis.url()).expect("redis client");
    let mut connection = client.get_connection().expect("redis connection");
    redis::cmd("GET")
        .arg(key)
        .query(&mut connection)
        .expect("GET")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_under_ferrets_keys_is_a_counted_miss() {
    if !redis_available() {
        return;
    }
    let block = 183;
    let world = common::world::start(block).await;
    let redis = RedisServer::start(free_redis_addr(ip(block, 250, 1)));
    let mut ferret =
        common::ferret::start(&member(block, 1, &world.root_hints_path(), &redis.url())).await;
    let server = common::ferret::addr(&ferret);
    let example = world.server(&common::world::Addresses::new(block).example_test);

    // Not a value at all.
    put_raw(&redis, "ferret:v1:1:1:www.example.test.", b"garbage");
    let m = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(answers(&m), ["www.example.test. A 192.0.2.1"]);
    assert_eq!(example.count_for("www.example.test.", RecordType::A), 1);
    assert_eq!(shared(&ferret).rejected[1], 1, "{:?}", shared(&ferret));
    // ferret's own answer replaced the garbage.
    wait_for("the write", || shared(&ferret).writes >= 1).await;
    let good = get_raw(&redis, "ferret:v1:1:1:www.example.test.");
    assert_eq!(good[0], 1, "a version-1 value");

    // A real value, for another question.
    put_raw(&redis, "ferret:v1:1:1:sip.example.test.", &good);
    let m = query_udp(server, "sip.example.test.", RecordType::A).await;
    assert_eq!(answers(&m), ["sip.example.test. A 192.0.2.50"]);
    assert_eq!(example.count_for("sip.example.test.", RecordType::A), 1);
    assert_eq!(shared(&ferret).rejected[2], 1, "{:?}", shared(&ferret));

    // Too large to be one (never transferred whole: GETRANGE stops one byte past the bound).
    let mut huge = good.clone();
    huge.resize(200_000, 0);
    put_raw(&redis, "ferret:v1:1:1:mail.example.test.", &huge);
    let m = query_udp(server, "mail.example.test.", RecordType::A).await;
    assert_eq!(answers(&m), ["mail.example.test. A 192.0.2.25"]);
    assert_eq!(shared(&ferret).rejected[0], 1, "{:?}", shared(&ferret));

    // Truncated: a real value cut short.
    put_raw(
        &redis,
        "ferret:v1:28:1:www.example.test.",
        &good[..good.len() - 4],
    );
    let m = query_udp(server, "www.example.test.", RecordType::AAAA).await;
    assert_eq!(answers(&m), ["www.example.test. AAAA 2001:db8::1"]);
    let after = shared(&ferret);
    assert_eq!(after.rejected[1] + after.rejected[2], 3, "{after:?}");
    assert_eq!(after.hits, 0, "{after:?}");

    // A reload that changes the prefix reconnects, and writes go under the new one.
    let mut config = member(block, 1, &world.root_hints_path(), &redis.url());
    config.shared_cache_prefix = "fleet2:".into();
    ferret.reload(&config).expect("reload");
    let writes = shared(&ferret).writes;
    let m = query_udp(server, "n1.wild.example.test.", RecordType::A).await;
    assert_eq!(rcode(&m), ResponseCode::NoError);
    wait_for("a write after the reload", || {
        shared(&ferret).writes > writes
    })
    .await;
    let keys = redis.cli(&["KEYS", "fleet2:*"]);
    assert_eq!(keys.trim(), "fleet2:v1:1:1:n1.wild.example.test.", "{keys}");
}

/// AD from the shared cache only for entries validated under the same anchors: a second
/// validating ferret with the same anchor gets AD with no upstream query; one with the anchor
/// in another form (a DNSKEY, not a DS) or with validation off never takes the entry, and a
/// validating ferret never takes what a non-validating one wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ad_only_from_entries_validated_under_the_same_anchors() {
    if !redis_available() || !common::signed::require_tools_or_skip() {
        return;
    }
    let block = 184;
    let h = common::signed::SignedHierarchy::start_with_leaf_control(block, 8952)
        .unwrap_or_else(|e| panic!("signed hierarchy: {e}"));
    let redis = RedisServer::start(free_redis_addr(ip(block, 250, 1)));
    let validating = |n: u8| {
        let mut config = member(block, n, h.root_hints(), &redis.url());
        config.dnssec = true;
        config.trust_anchors = vec![h.trust_anchor().to_path_buf()];
        config
    };
    let writer = common::ferret::start(&validating(1)).await;
    let reader = common::ferret::start(&validating(2)).await;
    let mut other_anchor = validating(3);
    other_anchor.trust_anchors = vec![h.dnskey_trust_anchor().to_path_buf()];
    let other_anchor = common::ferret::start(&other_anchor).await;
    let mut off = member(block, 4, h.root_hints(), &redis.url());
    off.dnssec = false;
    let off = common::ferret::start(&off).await;
    let leaf_queries = || {
        h.leaves
            .queries_received()
            .unwrap_or_else(|e| panic!("NSD statistics: {e}"))
    };
    let ask = |server: &RunningServer, name: &'static str| {
        let addr = common::ferret::addr(server);
        async move { query_dnssec(addr, name, RecordType::A, DnssecQuery::ad_only()).await }
    };

    let m = ask(&writer, "www.secure.test.").await;
    assert!(authentic(&m), "validated where it was resolved");
    wait_for("the write", || shared(&writer).writes >= 1).await;

    let before = leaf_queries();
    let m = ask(&reader, "www.secure.test.").await;
    assert!(authentic(&m), "same anchors: AD from the shared entry");
    assert_eq!(leaf_queries(), before, "the reader asked the leaves");
    assert_eq!(shared(&reader).hits, 1);

    let m = ask(&other_anchor, "www.secure.test.").await;
    assert_eq!(shared(&other_anchor).hits, 0, "taken under other anchors");
    assert_eq!(shared(&other_anchor).rejected[3], 1);
    assert!(authentic(&m), "its own validation still gives AD");

    let m = ask(&off, "www.secure.test.").await;
    assert!(!authentic(&m), "no AD with validation off");
    assert_eq!(shared(&off).hits, 0, "taken with validation off");

    // What the non-validating ferret wrote is never secure for a validating one.
    let m = ask(&off, "www.ecdsa.test.").await;
    assert_eq!(rcode(&m), ResponseCode::NoError);
    wait_for("the unvalidated write", || shared(&off).writes >= 1).await;
    let m = ask(&reader, "www.ecdsa.test.").await;
    assert_eq!(shared(&reader).hits, 1, "an unvalidated entry was taken");
    assert!(authentic(&m), "validated by the reader itself");
}
