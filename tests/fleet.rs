//! A fleet of ferrets (issue 12): a real dnsdist in front of two ferret processes, which share one
//! real Redis as a second cache tier, against a fake hierarchy on loopback.
//!
//! What the fleet must do: answer exactly as one ferret does (rcode, answer RRsets, the SOA of a
//! negative answer), send upstream only the queries one ferret would send for the same questions
//! (not one resolution per node), and let a node that was killed and started again answer from
//! Redis at once, without asking the authorities. The test without Redis shows what the shared
//! tier buys: there, every node resolves each name itself.
//!
//! dnsdist runs with the round-robin policy, so two consecutive queries go to the two nodes; the
//! tests check that with dnsdist's own per-backend counters rather than assume it.
//!
//! Address blocks 185–187 (127.185.x.y – 127.187.x.y) belong to this file; benches/fleet.sh uses
//! 188 and 189.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::client::{
    QueryOpts, answer_strings, authority_strings, query_tcp, rcode, try_query_udp,
};
use common::dnsdist::{Backend, DnsdistServer, HEALTH_TIMEOUT, Policy, dnsdist_available};
use common::hierarchy::{Hierarchy, net, root_and_tld, zone};
use common::process::{FerretProcess, free_port, world_args};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::block_in_place;

/// The questions every test asks: positive answers, CNAMEs (in zone, chained, across zones, to a
/// name that does not exist), NXDOMAIN, NODATA, a wildcard and a few types.
const QUESTIONS: &[(&str, RecordType)] = &[
    ("www.fleet.test.", RecordType::A),
    ("www.fleet.test.", RecordType::AAAA),
    ("alias.fleet.test.", RecordType::A),
    ("chain.fleet.test.", RecordType::A),
    ("cross.fleet.test.", RecordType::A),
    ("tonx.fleet.test.", RecordType::A),
    ("missing.fleet.test.", RecordType::A),
    ("www.fleet.test.", RecordType::MX),
    ("fleet.test.", RecordType::MX),
    ("txt.fleet.test.", RecordType::TXT),
    ("host.wild.fleet.test.", RecordType::A),
    ("www.other.test.", RecordType::A),
];

/// How long one answer may take through dnsdist on a loaded machine.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// `.` → `test.` → `fleet.test.` and `other.test.`, one server each on `127.B.{0,1,2,3}.1`. One
/// server per zone, so that which server a resolver asks, and so its upstream query count, does
/// not depend on chance: two ferrets that resolve the same questions in the same order send the
/// same queries.
async fn fleet_world(block: u8) -> Hierarchy {
    let (fleet, other) = (net(block, 2, 1), net(block, 3, 1));
    root_and_tld(
        block,
        &format!(
            "fleet    NS ns.fleet
ns.fleet A  {fleet}
other    NS ns.other
ns.other A  {other}
"
        ),
    )
    .server(
        &fleet,
        vec![zone(
            "fleet.test.",
            "ns.fleet.test.",
            &format!(
                "ns     A     {fleet}
@      MX    10 mail
mail   A     192.0.2.25
www    A     192.0.2.1
www    AAAA  2001:db8::1
alias  CNAME www
chain  CNAME alias
cross  CNAME www.other.test.
tonx   CNAME missing.other.test.
txt    TXT   \"fleet\"
*.wild A     192.0.2.99
"
            ),
        )],
    )
    .server(
        &other,
        vec![zone(
            "other.test.",
            "ns.other.test.",
            &format!("ns A {other}\nwww A 192.0.2.80\n"),
        )],
    )
    .start()
    .await
}

/// What must be the same whoever answers: the rcode, the answer RRsets (TTLs aside), and the SOA
/// of a negative answer (RFC 2308 §3: it is what a client caches the denial by).
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    rcode: ResponseCode,
    answers: Vec<String>,
    soa: Vec<String>,
}

impl Answer {
    fn of(message: &Message) -> Answer {
        Answer {
            rcode: rcode(message),
            answers: answer_strings(message),
            soa: authority_strings(message)
                .into_iter()
                .filter(|record| record.contains(" SOA "))
                .collect(),
        }
    }
}

/// Asks `server` once over UDP; panics if no answer comes within [`ANSWER_TIMEOUT`].
async fn ask(server: SocketAddr, name: &str, rtype: RecordType) -> Answer {
    let message = try_query_udp(server, name, rtype, QueryOpts::default(), ANSWER_TIMEOUT)
        .await
        .unwrap_or_else(|| panic!("no answer from {server} for {name} {rtype}"));
    Answer::of(&message)
}

/// One ferret process of the fleet, on `127.B.200.N`, with its metrics on `127.B.202.N`.
struct Node {
    process: Option<FerretProcess>,
    args: Vec<String>,
    addr: SocketAddr,
    metrics: SocketAddr,
    log: PathBuf,
}

impl Node {
    /// Starts ferret against `world`; with `shared_cache` (a `--shared-cache` URL), on top of
    /// that tier.
    async fn start(world: &Hierarchy, block: u8, n: u8, shared_cache: Option<&str>) -> Node {
        let ip: IpAddr = net(block, 200, n).parse().expect("node address");
        let addr = SocketAddr::new(ip, free_port(ip));
        let metrics_ip: IpAddr = net(block, 202, n).parse().expect("metrics address");
        let metrics = SocketAddr::new(metrics_ip, free_port(metrics_ip));
        let mut args = world_args(world);
        args.extend([
            "--no-control-socket".to_string(),
            "--listen".to_string(),
            addr.to_string(),
            "--metrics-listen".to_string(),
            metrics.to_string(),
        ]);
        if let Some(url) = shared_cache {
            // A generous timeout: on a loaded machine Redis may take more than the default few
            // milliseconds, and a lookup that times out is a miss that resolves upstream, which
            // the tests would take for the fleet not sharing.
            args.extend([
                "--shared-cache".to_string(),
                url.to_string(),
                "--shared-cache-timeout-ms".to_string(),
                "1000".to_string(),
            ]);
        }
        let mut node = Node {
            process: None,
            args,
            addr,
            metrics,
            log: world.dir().join(format!("ferret-{n}.log")),
        };
        node.launch().await;
        node
    }

    async fn launch(&mut self) {
        assert!(self.process.is_none(), "node {} runs already", self.addr);
        let mut process = FerretProcess::spawn(FerretProcess::command(&self.args), &self.log);
        process.wait_until_serving(self.addr).await;
        self.process = Some(process);
    }

    /// Kills the process (SIGKILL: no goodbye to anyone) and reaps it.
    fn kill(&mut self) {
        self.process = None;
    }

    fn backend(&self, name: &str) -> Backend {
        Backend {
            name: name.to_string(),
            addr: self.addr,
        }
    }

    /// The sum of every sample of the counter `name` (all label sets); 0 if ferret has none.
    async fn counter(&self, name: &str) -> f64 {
        let mut stream = TcpStream::connect(self.metrics)
            .await
            .expect("connecting to metrics");
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\n\r\n",
            self.metrics
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("sending the metrics request");
        let mut response = String::new();
        tokio::time::timeout(ANSWER_TIMEOUT, stream.read_to_string(&mut response))
            .await
            .expect("the metrics response in time")
            .expect("reading the metrics response");
        let (_, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        body.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' '))
            .filter(|(series, _)| series.split('{').next() == Some(name))
            .filter_map(|(_, value)| value.parse::<f64>().ok())
            .sum()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Waits until the authorities have seen no new query, and the nodes have written nothing more to
/// the shared tier, for 150 ms (at most 5 s): a resolution may still have a query in flight after
/// its answer went out, and the write to Redis after an answer need not be done before it.
async fn settle(world: &Hierarchy, nodes: &[&Node]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = (usize::MAX, f64::NAN);
    while Instant::now() < deadline {
        let mut writes = 0.0;
        for node in nodes {
            writes += node.counter("ferret_shared_cache_writes_total").await;
        }
        let now = (world.total_queries(), writes);
        if now == last {
            return;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// dnsdist's per-backend query counters.
fn backend_queries(dnsdist: &DnsdistServer) -> Vec<u64> {
    block_in_place(|| dnsdist.backend_queries()).expect("reading dnsdist's counters")
}

/// `ferret_shared_cache_hits_total` summed over `nodes`.
async fn shared_hits(nodes: &[&Node]) -> f64 {
    let mut hits = 0.0;
    for node in nodes {
        hits += node.counter("ferret_shared_cache_hits_total").await;
    }
    hits
}

/// The shared-cache hits a node with an empty cache of its own, asked `questions` in order with
/// nothing upstream, must count for each: one, unless every record of the answer came in an
/// earlier answer (`www.other.test.` is the end of `cross.fleet.test.`'s CNAME chain, which the
/// node took from Redis with its records), so that it is a hit in its own cache. Negative answers
/// are never covered by earlier ones here.
fn expected_shared_hits(answers: &[Answer]) -> Vec<f64> {
    let mut seen = std::collections::HashSet::new();
    answers
        .iter()
        .map(|answer| {
            let covered =
                !answer.answers.is_empty() && answer.answers.iter().all(|r| seen.contains(r));
            seen.extend(answer.answers.iter().cloned());
            if covered { 0.0 } else { 1.0 }
        })
        .collect()
}

/// What happened to one question in [`ask_twice_through`].
struct Twice {
    first: Answer,
    second: Answer,
    /// Upstream queries the first and the second ask caused.
    first_upstream: usize,
    second_upstream: usize,
    /// Shared-cache hits (all nodes together) the second ask caused.
    second_shared_hits: f64,
}

/// Asks dnsdist the same question twice in a row and checks (from dnsdist's counters) that the two
/// asks went to different backends.
async fn ask_twice_through(
    world: &Hierarchy,
    dnsdist: &DnsdistServer,
    nodes: &[&Node],
    (name, rtype): (&str, RecordType),
) -> Twice {
    let before = backend_queries(dnsdist);
    let start = world.total_queries();
    let first = ask(dnsdist.addr(), name, rtype).await;
    settle(world, nodes).await;
    let middle = world.total_queries();
    let after_first = backend_queries(dnsdist);
    let hits_before = shared_hits(nodes).await;
    let second = ask(dnsdist.addr(), name, rtype).await;
    settle(world, nodes).await;
    let second_shared_hits = shared_hits(nodes).await - hits_before;
    let end = world.total_queries();
    let after_second = backend_queries(dnsdist);
    let went_to =
        |a: &[u64], b: &[u64]| -> Vec<usize> { (0..a.len()).filter(|&i| a[i] != b[i]).collect() };
    let (to_first, to_second) = (
        went_to(&before, &after_first),
        went_to(&after_first, &after_second),
    );
    assert!(
        to_first.len() == 1 && to_second.len() == 1 && to_first != to_second,
        "{name} {rtype}: the two asks should reach the two backends one each; dnsdist counted \
         {before:?} -> {after_first:?} -> {after_second:?}"
    );
    Twice {
        first,
        second,
        first_upstream: middle - start,
        second_upstream: end - middle,
        second_shared_hits,
    }
}

/// Asks `server` every question in order; returns the answers and the upstream queries they caused.
async fn ask_all(world: &Hierarchy, server: SocketAddr, nodes: &[&Node]) -> (Vec<Answer>, usize) {
    let start = world.total_queries();
    let mut answers = Vec::new();
    for &(name, rtype) in QUESTIONS {
        answers.push(ask(server, name, rtype).await);
        settle(world, nodes).await;
    }
    (answers, world.total_queries() - start)
}

/// Without a shared tier, a fleet behind dnsdist still answers as one ferret does, but each node
/// resolves every name it is asked itself: two nodes asked each question once each send twice the
/// upstream queries of one ferret. This is the cost the Redis tier removes (see the next tests),
/// and it shows that the second ask really reaches a node that has not seen the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_shared_cache_every_node_resolves_for_itself() {
    if !dnsdist_available() {
        return;
    }
    let block = 187;
    let world = fleet_world(block).await;
    let reference = Node::start(&world, block, 3, None).await;
    let a = Node::start(&world, block, 1, None).await;
    let mut b = Node::start(&world, block, 2, None).await;
    let nodes = [&reference, &a, &b];
    let dnsdist = start_dnsdist(block, &[a.backend("ferret-a"), b.backend("ferret-b")]);
    settle(&world, &nodes).await;

    let (expected, one_ferret) = ask_all(&world, reference.addr, &nodes).await;
    let mut fleet = 0;
    for (question, expected) in QUESTIONS.iter().zip(&expected) {
        let twice = ask_twice_through(&world, &dnsdist, &nodes, *question).await;
        assert_eq!(
            &twice.first, expected,
            "{question:?}, first ask, through dnsdist"
        );
        assert_eq!(
            &twice.second, expected,
            "{question:?}, second ask, through dnsdist"
        );
        fleet += twice.first_upstream + twice.second_upstream;
    }
    assert!(one_ferret > 0, "the reference ferret resolved nothing");
    assert_eq!(
        fleet,
        2 * one_ferret,
        "two nodes without a shared tier: each resolves every name once\n{}",
        upstream_log(&world)
    );

    // dnsdist carries TCP to the nodes too (a truncated answer's retry takes that road).
    let (name, rtype) = QUESTIONS[0];
    assert_eq!(
        &Answer::of(&query_tcp(dnsdist.addr(), name, rtype).await),
        &expected[0],
        "{name} {rtype} over TCP through dnsdist"
    );

    // A node that dies is taken out of rotation, and the fleet keeps answering.
    b.kill();
    block_in_place(|| dnsdist.wait_backend(1, false, HEALTH_TIMEOUT)).expect("node b marked down");
    for ((name, rtype), expected) in QUESTIONS.iter().zip(&expected) {
        assert_eq!(
            &ask(dnsdist.addr(), name, *rtype).await,
            expected,
            "{name} {rtype} with node b down"
        );
    }
}

/// The fleet on one Redis answers every question as one ferret does, whichever node answers, and
/// sends upstream what one ferret sends: the second ask of each name reaches the other node,
/// which answers from Redis without a single upstream query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_one_redis_resolves_each_name_once() {
    if !dnsdist_available() || !common::redis::redis_available() {
        return;
    }
    let block = 185;
    let world = fleet_world(block).await;
    let redis_ip: IpAddr = net(block, 250, 1).parse().expect("redis address");
    let redis = common::redis::RedisServer::start(common::redis::free_redis_addr(redis_ip));
    let reference = Node::start(&world, block, 3, None).await;
    let a = Node::start(&world, block, 1, Some(&redis.url())).await;
    let b = Node::start(&world, block, 2, Some(&redis.url())).await;
    let nodes = [&reference, &a, &b];
    let dnsdist = start_dnsdist(block, &[a.backend("ferret-a"), b.backend("ferret-b")]);
    settle(&world, &nodes).await;

    let (expected, one_ferret) = ask_all(&world, reference.addr, &nodes).await;
    let hits = expected_shared_hits(&expected);
    let mut fleet = 0;
    for ((question, expected), hits) in QUESTIONS.iter().zip(&expected).zip(hits) {
        let twice = ask_twice_through(&world, &dnsdist, &nodes, *question).await;
        assert_eq!(
            &twice.first, expected,
            "{question:?}, first ask, through dnsdist"
        );
        assert_eq!(
            &twice.second,
            expected,
            "{question:?}, second ask (the other node, from Redis), through dnsdist\n{}\n{}",
            a.log_text(),
            b.log_text()
        );
        assert_eq!(
            twice.second_upstream,
            0,
            "{question:?}: the second node should answer from Redis\n{}",
            upstream_log(&world)
        );
        assert_eq!(
            twice.second_shared_hits, hits,
            "{question:?}: shared-cache hits of the second ask"
        );
        fleet += twice.first_upstream + twice.second_upstream;
    }
    assert_eq!(
        fleet,
        one_ferret,
        "the fleet should send upstream what one ferret sends\n{}",
        upstream_log(&world)
    );
    drop(redis);
}

/// A node killed behind dnsdist is marked down and the rest of the fleet keeps answering; started
/// again, with an empty cache of its own, it answers every question from Redis at once: not one
/// upstream query, directly or through dnsdist. Then Redis goes, and the fleet still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_answers_from_redis_at_once() {
    if !dnsdist_available() || !common::redis::redis_available() {
        return;
    }
    let block = 186;
    let world = fleet_world(block).await;
    let redis_ip: IpAddr = net(block, 250, 1).parse().expect("redis address");
    let mut redis = common::redis::RedisServer::start(common::redis::free_redis_addr(redis_ip));
    let mut a = Node::start(&world, block, 1, Some(&redis.url())).await;
    let b = Node::start(&world, block, 2, Some(&redis.url())).await;
    let dnsdist = start_dnsdist(block, &[a.backend("ferret-a"), b.backend("ferret-b")]);

    // Warm the fleet (and so Redis) through dnsdist: the questions spread over both nodes.
    let (expected, warm_upstream) = ask_all(&world, dnsdist.addr(), &[&a, &b]).await;
    assert!(warm_upstream > 0, "warming resolved nothing");

    a.kill();
    block_in_place(|| dnsdist.wait_backend(0, false, HEALTH_TIMEOUT)).expect("node a marked down");
    // Every query now goes to b, which has all of it in its own cache or in Redis.
    world.clear_queries();
    for ((name, rtype), expected) in QUESTIONS.iter().zip(&expected) {
        assert_eq!(
            &ask(dnsdist.addr(), name, *rtype).await,
            expected,
            "{name} {rtype} with node a down"
        );
    }

    a.launch().await;
    block_in_place(|| dnsdist.wait_backend(0, true, HEALTH_TIMEOUT)).expect("node a back up");
    settle(&world, &[&a, &b]).await;
    world.clear_queries();
    let hits = expected_shared_hits(&expected);
    for (((name, rtype), expected), hits) in QUESTIONS.iter().zip(&expected).zip(hits) {
        let before = shared_hits(&[&a]).await;
        assert_eq!(
            &ask(a.addr, name, *rtype).await,
            expected,
            "{name} {rtype} asked directly of the restarted node\n{}",
            a.log_text()
        );
        assert_eq!(
            shared_hits(&[&a]).await - before,
            hits,
            "{name} {rtype}: shared-cache hits of the restarted node"
        );
    }
    for ((name, rtype), expected) in QUESTIONS.iter().zip(&expected) {
        for _ in 0..2 {
            assert_eq!(
                &ask(dnsdist.addr(), name, *rtype).await,
                expected,
                "{name} {rtype} through dnsdist after the restart"
            );
        }
    }
    settle(&world, &[&a, &b]).await;
    assert_eq!(
        world.total_queries(),
        0,
        "the restarted node should answer from Redis, not resolve again\n{}",
        upstream_log(&world)
    );
    assert!(
        backend_queries(&dnsdist).iter().all(|&n| n > 0),
        "dnsdist sent no query to one of the nodes"
    );

    // Without Redis the fleet goes on: what the nodes hold they answer, and a name nobody asked
    // yet is resolved (the lookup fails, counted as an error, and the node iterates).
    redis.kill();
    for ((name, rtype), expected) in QUESTIONS.iter().zip(&expected) {
        assert_eq!(
            &ask(dnsdist.addr(), name, *rtype).await,
            expected,
            "{name} {rtype} through dnsdist with Redis down"
        );
    }
    let errors_before = a.counter("ferret_shared_cache_errors_total").await
        + b.counter("ferret_shared_cache_errors_total").await;
    let fresh = ask(dnsdist.addr(), "mail.fleet.test.", RecordType::A).await;
    assert_eq!(
        (fresh.rcode, fresh.answers),
        (
            ResponseCode::NoError,
            vec!["mail.fleet.test. A 192.0.2.25".to_string()]
        ),
        "a new name with Redis down"
    );
    let errors = a.counter("ferret_shared_cache_errors_total").await
        + b.counter("ferret_shared_cache_errors_total").await
        - errors_before;
    assert!(errors >= 1.0, "the failed Redis lookup should be counted");
}

/// dnsdist on `127.B.201.1` (console on `127.B.201.2`) in front of `backends`, round robin.
fn start_dnsdist(block: u8, backends: &[Backend]) -> DnsdistServer {
    let ip: IpAddr = net(block, 201, 1).parse().expect("dnsdist address");
    let console_ip: IpAddr = net(block, 201, 2).parse().expect("console address");
    let listen = SocketAddr::new(ip, free_port(ip));
    let console = SocketAddr::new(console_ip, free_port(console_ip));
    block_in_place(|| DnsdistServer::start(listen, console, backends, Policy::RoundRobin))
        .unwrap_or_else(|e| panic!("starting dnsdist: {e}"))
}

/// Every query the authorities received, one per line, for failure messages.
fn upstream_log(world: &Hierarchy) -> String {
    let mut by_server: HashMap<String, Vec<String>> = HashMap::new();
    for server in world.servers() {
        for query in server.queries() {
            by_server
                .entry(server.ip().to_string())
                .or_default()
                .push(format!("{} {}", query.name, query.rtype));
        }
    }
    let mut lines: Vec<String> = by_server
        .into_iter()
        .map(|(server, queries)| format!("{server}: {}", queries.join(", ")))
        .collect();
    lines.sort();
    format!("upstream queries:\n{}", lines.join("\n"))
}

/// docker/compose.yaml, as PyYAML reads it (anchors and merge keys resolved), as JSON; `None`
/// (skip) when python3 or its yaml module is missing, a failure under CI=true.
fn compose_file() -> Option<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/compose.yaml");
    let script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)";
    let output = std::process::Command::new("python3")
        .args(["-c", script, path])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            Some(serde_json::from_slice(&out.stdout).expect("PyYAML's JSON"))
        }
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("No module named 'yaml'") => {
            assert!(
                !common::nsd::in_ci(),
                "python3-yaml is not installed, and CI=true (see .ci/run)"
            );
            eprintln!("skipping: python3 has no yaml module (apt-get install python3-yaml)");
            None
        }
        Ok(out) => panic!(
            "{path} does not parse:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            if !common::nsd::require_or_skip("python3") {
                return None;
            }
            panic!("running python3: {e}")
        }
    }
}

/// The fleet an operator deploys (docker/compose.yaml with docker/dnsdist.conf) hangs together:
/// every service has a health check; each ferret's command is flags this ferret takes, on the
/// shared tier at Redis's address, answering the fleet network dnsdist sits on; dnsdist's backends
/// are exactly the ferrets; its config never polls security status and passes
/// `dnsdist --check-config`. (`docker compose config` needs Docker, which CI does not have.)
#[test]
fn the_compose_fleet_hangs_together() {
    use clap::Parser;

    let Some(compose) = compose_file() else {
        return;
    };
    if !dnsdist_available() {
        return;
    }
    let services = compose["services"].as_object().expect("services");
    for (name, service) in services {
        assert!(
            service["healthcheck"]["test"].is_array(),
            "service {name} has no health check"
        );
    }
    let address = |service: &serde_json::Value, network: &str| -> String {
        service["networks"][network]["ipv4_address"]
            .as_str()
            .unwrap_or_else(|| panic!("no {network} address in {service}"))
            .to_string()
    };
    let redis = address(&services["redis"], "cache");
    let dnsdist = address(&services["dnsdist"], "fleet");
    let mut ferrets = Vec::new();
    for (name, service) in services.iter().filter(|(n, _)| n.starts_with("ferret-")) {
        let args: Vec<&str> = service["command"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no command"))
            .iter()
            .map(|a| a.as_str().expect("string arguments"))
            .collect();
        let config = ferret::Config::try_parse_from(std::iter::once("ferret").chain(args.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let shared = args
            .iter()
            .position(|a| *a == "--shared-cache")
            .and_then(|i| args.get(i + 1))
            .unwrap_or_else(|| panic!("{name} has no --shared-cache"));
        assert_eq!(*shared, format!("redis://{redis}:6379/0"), "{name}");
        let dnsdist_ip: IpAddr = dnsdist.parse().expect("dnsdist address");
        assert!(
            config.allow.iter().any(|net| net.contains(&dnsdist_ip)),
            "{name} does not --allow dnsdist ({dnsdist})"
        );
        assert!(config.listen.iter().all(|a| a.port() == 53), "{name}");
        ferrets.push(format!("{}:53", address(service, "fleet")));
    }
    assert!(ferrets.len() >= 2, "a fleet is two ferrets or more");

    let conf_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/dnsdist.conf");
    let conf = std::fs::read_to_string(conf_path).expect("docker/dnsdist.conf");
    let code: Vec<&str> = conf
        .lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect();
    assert!(
        code.iter()
            .any(|l| l.trim() == "setSecurityPollSuffix(\"\")"),
        "dnsdist.conf must say setSecurityPollSuffix(\"\")"
    );
    let mut backends: Vec<String> = code
        .iter()
        .filter_map(|l| l.split("address=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    backends.sort();
    ferrets.sort();
    assert_eq!(backends, ferrets, "dnsdist's backends are the ferrets");

    // --check-config only parses; still, nothing in a test names a non-loopback address to
    // dnsdist, so the backends are moved onto loopback in the copy that is checked.
    let dir = tempfile::tempdir().expect("tempdir");
    let checked = dir.path().join("dnsdist.conf");
    let mut text = conf.clone();
    for (i, backend) in ferrets.iter().enumerate() {
        text = text.replace(backend, &format!("127.185.203.{}:53", i + 1));
    }
    assert!(
        !text.contains("172.28."),
        "only the backends name fleet addresses"
    );
    std::fs::write(&checked, text).expect("writing the copy");
    let dnsdist_bin = common::nsd::find_binary("dnsdist").expect("dnsdist");
    let check = std::process::Command::new(dnsdist_bin)
        .arg("--check-config")
        .arg("-C")
        .arg(&checked)
        .output()
        .expect("running dnsdist --check-config");
    assert!(
        check.status.success(),
        "dnsdist --check-config:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}
