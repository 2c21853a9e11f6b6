//! ferret run as a service, through the real binary: systemd readiness, stopping and watchdog
//! notifications, socket activation, a graceful drain on SIGTERM, Prometheus metrics over HTTP,
//! the control socket (`ferret ctl`), and the query log.
//!
//! Address blocks 190–199 (127.190.x.y – 127.199.x.y) belong to this file; every test has its own.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::client::{QueryOpts, answer_strings, query_tcp, query_udp, rcode, try_query_udp};
use common::hierarchy::net;
use common::process::{
    FerretProcess, PROCESS_TIMEOUT, ctl, free_port, world_args, world_args_with_timeouts,
};
use common::world::Addresses;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixDatagram};

/// `www.example.test. A` in the world: data only, never a destination.
const WWW_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const OTHER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);

fn www_answer() -> Vec<String> {
    vec![format!("www.example.test. A {WWW_V4}")]
}

/// The address ferret serves on in block `block`, with a free port.
fn listen_addr(block: u8) -> SocketAddr {
    let ip: IpAddr = net(block, 200, 1).parse().expect("listen address");
    SocketAddr::new(ip, free_port(ip))
}

/// The `THP_enabled:` line of a process's status (Linux 5.0): 1 unless the process turned
/// transparent huge pages off for itself.
fn thp_enabled(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("THP_enabled:"))
        .map(|value| value.trim().to_string())
        .expect("a THP_enabled line (Linux 5.0 or later)")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The datagrams ferret sends to `NOTIFY_SOCKET`, as the test's own socket receives them.
struct NotifySocket {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl NotifySocket {
    fn bind(path: &Path) -> NotifySocket {
        NotifySocket {
            socket: UnixDatagram::bind(path).expect("binding the notify socket"),
            seen: Vec::new(),
        }
    }

    /// Waits for a datagram carrying the line `line` (e.g. `READY=1`); returns everything received
    /// up to and including it.
    async fn wait_for(&mut self, line: &str, ferret: &FerretProcess) -> &[String] {
        self.wait_for_count(line, 1, ferret).await
    }

    /// Waits until `count` datagrams carrying `line` have arrived.
    async fn wait_for_count(
        &mut self,
        line: &str,
        count: usize,
        ferret: &FerretProcess,
    ) -> &[String] {
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        let mut buffer = vec![0u8; 4096];
        while self.count(line) < count {
            match tokio::time::timeout_at(deadline.into(), self.socket.recv(&mut buffer)).await {
                Ok(Ok(length)) => self
                    .seen
                    .push(String::from_utf8_lossy(&buffer[..length]).into_owned()),
                Ok(Err(error)) => panic!("notify socket: {error}"),
                Err(_) => panic!(
                    "not {count} times {line} within {PROCESS_TIMEOUT:?}; got {:?}\nferret log:\n{}",
                    self.seen,
                    ferret.log()
                ),
            }
        }
        &self.seen
    }

    fn count(&self, line: &str) -> usize {
        self.seen
            .iter()
            .filter(|m| m.lines().any(|l| l == line))
            .count()
    }
}

/// systemd's Type=notify protocol end to end: READY=1 once ferret answers, WATCHDOG=1 pings at
/// half of WATCHDOG_USEC, and on SIGTERM STOPPING=1, no new queries taken, the query already in
/// flight (held up by a slow authoritative server) still answered, and exit status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifies_systemd_and_drains_on_sigterm() {
    let block = 190;
    let world = common::world::start(block).await;
    let slow = Addresses::new(block).example_test;
    let server = listen_addr(block);
    let notify_path = world.dir().join("notify.sock");
    let mut notify = NotifySocket::bind(&notify_path);
    // Room for the slow server: its answer takes 1.5 s, well inside these timeouts.
    let mut args = world_args_with_timeouts(&world, 4_000, 6_000);
    let control = world.dir().join("control.sock");
    args.push("--control-socket".into());
    args.push(control.display().to_string());
    args.push("--listen".into());
    args.push(server.to_string());
    let mut command = FerretProcess::command(&args);
    command
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "400000");
    let mut ferret = FerretProcess::spawn(command, &world.dir().join("ferret.log"));

    let before_ready = notify.wait_for("READY=1", &ferret).await.to_vec();
    assert!(control.exists(), "the control socket is open by READY=1");
    assert!(
        !before_ready.iter().any(|m| m.contains("STOPPING=1")),
        "{before_ready:?}"
    );
    // READY=1 is sent once the listeners are up: a query is answered straight away.
    let first = try_query_udp(
        server,
        "localhost.",
        RecordType::A,
        QueryOpts::default(),
        Duration::from_secs(5),
    )
    .await;
    assert!(first.is_some(), "no answer right after READY=1");

    // Watchdog pings every 200 ms (half of WATCHDOG_USEC) while ferret runs.
    notify.wait_for_count("WATCHDOG=1", 3, &ferret).await;

    // A query whose answer is held up at example.test's server.
    world.server(&slow).set_latency(Duration::from_millis(1500));
    let in_flight = tokio::spawn(async move {
        try_query_udp(
            server,
            "www.example.test.",
            RecordType::A,
            QueryOpts::default(),
            Duration::from_secs(10),
        )
        .await
    });
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    while world.server(&slow).query_count() == 0 {
        assert!(
            Instant::now() < deadline,
            "the query never reached example.test's server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ferret.signal(libc::SIGTERM);
    notify.wait_for("STOPPING=1", &ferret).await;

    // Stopped taking queries: a new one gets no answer, even one answered locally.
    let late = try_query_udp(
        server,
        "localhost.",
        RecordType::A,
        QueryOpts::default(),
        Duration::from_millis(500),
    )
    .await;
    assert!(late.is_none(), "a query sent after STOPPING=1 was answered");

    let answer = in_flight
        .await
        .expect("query task")
        .expect("the query in flight at SIGTERM was answered");
    assert_eq!(answer_strings(&answer), www_answer());
    let status = ferret.wait_exit(PROCESS_TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "log:\n{}", ferret.log());
    assert!(
        ferret.log().contains("every query answered"),
        "{}",
        ferret.log()
    );
    assert!(!control.exists(), "the control socket is removed on exit");
}

/// Socket activation: a bound UDP socket and a listening TCP socket passed as fds 3 and 4 with
/// LISTEN_FDS=2 and LISTEN_PID set to ferret's pid are served, and --listen is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_sockets_passed_by_systemd() {
    let block = 191;
    let world = common::world::start(block).await;
    let server = listen_addr(block);
    let udp = std::net::UdpSocket::bind(server).expect("binding the activated UDP socket");
    let tcp = std::net::TcpListener::bind(server).expect("binding the activated TCP socket");
    // --listen names an address that must stay unused: the passed sockets replace it.
    let ignored = listen_addr(block);
    let mut args = world_args(&world);
    args.extend(strings(&["--no-control-socket", "--listen"]));
    args.push(ignored.to_string());

    let fds = [udp.as_raw_fd(), tcp.as_raw_fd()];
    let command = common::process::socket_activated_command(&args, &fds, None);
    let mut ferret = FerretProcess::spawn(command, &world.dir().join("ferret.log"));
    // ferret holds the only copies from here on.
    drop(udp);
    drop(tcp);

    ferret.wait_until_serving(server).await;
    let over_udp = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(answer_strings(&over_udp), www_answer());
    let over_tcp = query_tcp(server, "www.other.example.", RecordType::A).await;
    assert_eq!(
        answer_strings(&over_tcp),
        vec![format!("www.other.example. A {OTHER_V4}")]
    );
    assert!(
        ferret.log().contains("socket-activated"),
        "{}",
        ferret.log()
    );
    let elsewhere = try_query_udp(
        ignored,
        "localhost.",
        RecordType::A,
        QueryOpts::default(),
        Duration::from_millis(300),
    )
    .await;
    assert!(
        elsewhere.is_none(),
        "ferret also bound its --listen address"
    );
    ferret.assert_running();
}

/// One HTTP GET, the whole response (status line, headers, body) as text.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connecting to metrics");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("sending the request");
    let mut response = String::new();
    tokio::time::timeout(PROCESS_TIMEOUT, stream.read_to_string(&mut response))
        .await
        .expect("the metrics response in time")
        .expect("reading the response");
    response
}

/// The samples of a scrape: `name{labels}` to value.
async fn scrape(addr: SocketAddr) -> HashMap<String, f64> {
    let response = http_get(addr, "/metrics").await;
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("value in {line:?}"));
            (series.to_string(), value)
        })
        .collect()
}

fn sample(samples: &HashMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} among {:?}", samples.keys()))
}

/// /metrics over HTTP: counters move with traffic, by type, protocol and rcode; a repeated
/// question is a cache hit; upstream queries and RTTs are counted per server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_traffic() {
    let block = 192;
    let world = common::world::start(block).await;
    let addresses = Addresses::new(block);
    let server = listen_addr(block);
    let metrics = listen_addr(block);
    let mut args = world_args(&world);
    args.extend(strings(&["--no-control-socket", "--listen"]));
    args.push(server.to_string());
    args.push("--metrics-listen".into());
    args.push(metrics.to_string());
    let mut ferret = FerretProcess::spawn(
        FerretProcess::command(&args),
        &world.dir().join("ferret.log"),
    );
    ferret.wait_until_serving(server).await;

    let before = scrape(metrics).await;
    let udp_a = "ferret_queries_total{protocol=\"udp\",type=\"A\"}";
    let tcp_mx = "ferret_queries_total{protocol=\"tcp\",type=\"MX\"}";
    let nxdomain = "ferret_responses_total{protocol=\"udp\",rcode=\"NXDOMAIN\"}";
    let noerror = "ferret_responses_total{protocol=\"udp\",rcode=\"NOERROR\"}";
    let upstream = |ip: &str| format!("ferret_upstream_queries_total{{server=\"{ip}\"}}");
    let hits = "ferret_cache_hits_total";
    let misses = "ferret_cache_misses_total";
    let latency = "ferret_query_duration_seconds_count";

    let first = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(answer_strings(&first), www_answer());
    let again = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(answer_strings(&again), www_answer());
    let missing = query_udp(server, "nowhere.example.test.", RecordType::A).await;
    assert_eq!(rcode(&missing), ResponseCode::NXDomain);
    let mx = query_tcp(server, "example.test.", RecordType::MX).await;
    assert_eq!(rcode(&mx), ResponseCode::NoError);

    let after = scrape(metrics).await;
    let delta = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(delta(udp_a), 3.0);
    assert_eq!(delta(tcp_mx), 1.0);
    assert_eq!(delta(nxdomain), 1.0);
    assert_eq!(delta(noerror), 2.0);
    assert_eq!(
        delta(hits),
        1.0,
        "the repeated question came from the cache"
    );
    assert_eq!(delta(misses), 3.0);
    assert_eq!(delta(latency), 4.0);
    // The probe's `localhost.` is answered locally: neither a hit nor a miss.
    // Either root server may be asked first (ties in SRTT are broken at random).
    let roots = [&addresses.root_a, &addresses.root_b]
        .iter()
        .filter_map(|ip| after.get(&upstream(ip)))
        .sum::<f64>();
    assert!(roots >= 1.0, "a root server was asked");
    let rtt = format!(
        "ferret_upstream_rtt_seconds_count{{server=\"{}\"}}",
        addresses.example_test
    );
    assert!(sample(&after, &rtt) >= 1.0);
    assert!(sample(&after, "ferret_cache_entries") >= 3.0);
    // The answers went into the message cache too; the repeat was served from there.
    assert!(sample(&after, "ferret_message_cache_entries") >= 1.0);
    assert_eq!(sample(&after, "ferret_queries_in_progress"), 0.0);

    let missing_page = http_get(metrics, "/nothing").await;
    assert!(missing_page.starts_with("HTTP/1.1 404"), "{missing_page}");
    ferret.assert_running();
}

fn dump_lines(dump: &str, owner: &str) -> Vec<String> {
    dump.lines()
        .filter(|line| line.starts_with(&format!("{owner} ")))
        .map(str::to_string)
        .collect()
}

/// `ferret ctl` end to end: dump shows cached records with TTLs counting down, flush NAME drops a
/// subtree (and the next query goes upstream again), flush empties the cache, stats counts,
/// reload answers, and the socket is mode 0600. Nonsense gets an error, not a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_socket_flushes_dumps_and_reports() {
    let block = 193;
    let world = common::world::start(block).await;
    let addresses = Addresses::new(block);
    let server = listen_addr(block);
    let socket = world.dir().join("control.sock");
    let mut args = world_args(&world);
    args.push("--control-socket".into());
    args.push(socket.display().to_string());
    args.push("--listen".into());
    args.push(server.to_string());
    let mut ferret = FerretProcess::spawn(
        FerretProcess::command(&args),
        &world.dir().join("ferret.log"),
    );
    ferret.wait_until_serving(server).await;
    let mode = std::fs::metadata(&socket)
        .expect("the control socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let (ok, stats_before) = ctl(&socket, &["stats"]).await;
    assert!(ok, "{stats_before}");
    query_udp(server, "www.example.test.", RecordType::A).await;
    let other = query_udp(server, "www.other.example.", RecordType::A).await;
    assert_eq!(
        answer_strings(&other),
        vec![format!("www.other.example. A {OTHER_V4}")]
    );

    let (ok, dump) = ctl(&socket, &["dump"]).await;
    assert!(ok, "{dump}");
    let www = dump_lines(&dump, "www.example.test.");
    assert_eq!(www.len(), 1, "{dump}");
    let fields: Vec<&str> = www[0].split_whitespace().collect();
    let ttl: u32 = fields[1].parse().expect("a TTL");
    assert!((3000..=3600).contains(&ttl), "TTL left: {}", www[0]);
    assert_eq!(&fields[2..5], ["IN", "A", "192.0.2.1"], "{}", www[0]);
    assert_eq!(dump_lines(&dump, "www.other.example.").len(), 1, "{dump}");

    let (ok, stats) = ctl(&socket, &["stats"]).await;
    assert!(ok, "{stats}");
    let stat = |text: &str, key: &str| -> u64 {
        let prefix = format!("{key}=");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {key} in\n{text}"))
            .parse()
            .expect("a number")
    };
    for key in ["queries.udp.type.A", "cache.misses"] {
        assert_eq!(
            stat(&stats, key) - stat(&stats_before, key),
            2,
            "{key}:\n{stats}"
        );
    }
    assert!(stat(&stats, "cache.entries") >= 2, "{stats}");

    let (ok, flushed) = ctl(&socket, &["flush", "example.test"]).await;
    assert!(ok, "{flushed}");
    assert!(
        flushed.starts_with("ok: flushed example.test."),
        "{flushed}"
    );
    let (_, dump) = ctl(&socket, &["dump"]).await;
    assert!(dump_lines(&dump, "www.example.test.").is_empty(), "{dump}");
    assert!(
        !dump
            .lines()
            .any(|l| l.contains(".example.test. ") || l.starts_with("example.test.")),
        "nothing at or below example.test. is left:\n{dump}"
    );
    assert_eq!(dump_lines(&dump, "www.other.example.").len(), 1, "{dump}");
    // Flushed for real: the next question is asked upstream again.
    let example = world.server(&addresses.example_test);
    let asked_before = example.query_count();
    let refetched = query_udp(server, "www.example.test.", RecordType::A).await;
    assert_eq!(answer_strings(&refetched), www_answer());
    assert!(example.query_count() > asked_before);

    let (ok, flushed) = ctl(&socket, &["flush"]).await;
    assert!(ok, "{flushed}");
    let (_, dump) = ctl(&socket, &["dump"]).await;
    assert_eq!(dump.trim(), "; 0 entries");

    let (ok, reloaded) = ctl(&socket, &["reload"]).await;
    assert!(ok && reloaded.starts_with("ok: "), "{reloaded}");
    ferret.signal(libc::SIGHUP);

    let (ok, refused) = ctl(&socket, &["flush", "bad..name"]).await;
    assert!(!ok, "{refused}");
    let mut raw = tokio::net::UnixStream::connect(&socket)
        .await
        .expect("connecting");
    raw.write_all(b"selfdestruct now\n").await.expect("sending");
    let mut reply = String::new();
    raw.read_to_string(&mut reply).await.expect("reading");
    assert!(reply.starts_with("error: unknown command"), "{reply}");

    // SIGHUP and ctl reload took the same path; ferret is still serving.
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    while ferret.log().matches("reload done").count() < 2 {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload:\n{}",
            ferret.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    query_udp(server, "localhost.", RecordType::A).await;
    ferret.assert_running();
}

/// The query log lines in a JSON log: (name, rcode, cache_hit).
fn query_log(log: &str) -> Vec<(String, String, bool)> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["target"] == "ferret::query")
        .map(|entry| {
            let fields = &entry["fields"];
            (
                fields["name"].as_str().unwrap_or_default().to_string(),
                fields["rcode"].as_str().unwrap_or_default().to_string(),
                fields["cache_hit"].as_bool().unwrap_or_default(),
            )
        })
        .collect()
}

/// `--log-format json` writes one JSON object per line; the query log is off until
/// `ferret ctl querylog on`, logs client questions with rcode and cache hit even at
/// `--log-level warn`, and stops again with `querylog off`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_log_switches_at_runtime_in_json() {
    let block = 194;
    let world = common::world::start(block).await;
    let server = listen_addr(block);
    let socket = world.dir().join("control.sock");
    let mut args = world_args(&world);
    args.extend(strings(&["--log-format", "json", "--log-level", "warn"]));
    args.push("--control-socket".into());
    args.push(socket.display().to_string());
    args.push("--listen".into());
    args.push(server.to_string());
    let mut ferret = FerretProcess::spawn(
        FerretProcess::command(&args),
        &world.dir().join("ferret.log"),
    );
    ferret.wait_until_serving(server).await;

    query_udp(server, "mail.example.test.", RecordType::A).await;
    let (ok, reply) = ctl(&socket, &["querylog", "on"]).await;
    assert!(ok && reply.starts_with("ok: query log on"), "{reply}");
    query_udp(server, "www.example.test.", RecordType::A).await;
    query_udp(server, "www.example.test.", RecordType::A).await;
    query_udp(server, "nowhere.example.test.", RecordType::A).await;
    let (ok, reply) = ctl(&socket, &["querylog", "off"]).await;
    assert!(ok, "{reply}");
    query_udp(server, "txt.example.test.", RecordType::TXT).await;

    let expected = vec![
        (
            "www.example.test.".to_string(),
            "NOERROR".to_string(),
            false,
        ),
        ("www.example.test.".to_string(), "NOERROR".to_string(), true),
        (
            "nowhere.example.test.".to_string(),
            "NXDOMAIN".to_string(),
            false,
        ),
    ];
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    loop {
        let logged = query_log(&ferret.log());
        if logged.len() >= expected.len() {
            assert_eq!(logged, expected, "log:\n{}", ferret.log());
            break;
        }
        assert!(Instant::now() < deadline, "query log:\n{}", ferret.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every line of the log is JSON, not just the query log's.
    let log = ferret.log();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
    ferret.assert_running();
}

/// Transparent huge pages are off for ferret's memory unless `--transparent-hugepages` says
/// otherwise; either way ferret answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_transparent_huge_pages_off_unless_asked() {
    let block = 195;
    let world = common::world::start(block).await;
    for (extra, expected) in [(None, "0"), (Some("--transparent-hugepages"), "1")] {
        let server = listen_addr(block);
        let mut args = world_args(&world);
        args.extend(strings(&["--no-control-socket", "--listen"]));
        args.push(server.to_string());
        args.extend(extra.map(String::from));
        let mut ferret = FerretProcess::spawn(
            FerretProcess::command(&args),
            &world.dir().join(format!("ferret-{expected}.log")),
        );
        ferret.wait_until_serving(server).await;
        assert_eq!(thp_enabled(ferret.pid()), expected, "flags {extra:?}");
        let answer = query_udp(server, "www.example.test.", RecordType::A).await;
        assert_eq!(answer_strings(&answer), www_answer());
        ferret.assert_running();
    }
}
