//! DNS over QUIC (RFC 9250) end to end, through a DoQ client written here on quinn that trusts
//! only a certificate authority made for the test: answers from a fake hierarchy and from the
//! cache, several streams on one connection answered as they complete, padding, every protocol
//! error the server must catch, no 0-RTT, a refused ALPN, the access list, the handshake and idle
//! timeouts, the connection cap, a certificate replaced by a reload while a connection stays
//! open, the `doq` counters as the metrics endpoint shows them, and a socket-activated `doq`
//! socket.
//!
//! Debian 12's kdig (Knot 3.2.6) is built without libngtcp2: `kdig +quic` falls back to UDP, so
//! there is no kdig test here.
//!
//! Address blocks 243 and 244 (127.243.x.y, 127.244.x.y) belong to this file, one per test.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::client::{QueryOpts, TIMEOUT, answer_strings, build_query};
use common::ferret::test_config;
use common::hierarchy::{Hierarchy, net};
use common::tls::{CertificateFiles, SERVER_NAME, TestCa};
use ferret::Config;
use ferret::server::RunningServer;
use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::opt::EdnsOption;
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{Connection, ConnectionError, Endpoint, ReadError, ReadToEndError, VarInt};
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// `www.example.test. A` in the world.
const WWW: &str = "www.example.test. A 192.0.2.1";

/// RFC 9250 §4.3.
const DOQ_NO_ERROR: u32 = 0;
const DOQ_PROTOCOL_ERROR: u32 = 2;

struct Setup {
    world: Hierarchy,
    ca: TestCa,
    files: CertificateFiles,
    block: u8,
}

impl Setup {
    async fn new(block: u8) -> Setup {
        let world = common::world::start(block).await;
        let ca = TestCa::new("ferret DoQ test CA");
        let ip = net(block, 200, 1);
        let files = ca.issue(world.dir(), "server", &[SERVER_NAME, &ip]);
        Setup {
            world,
            ca,
            files,
            block,
        }
    }

    /// ferret serving UDP/TCP and DoQ on `127.B.200.1`, on ports the kernel picks.
    fn config(&self) -> Config {
        let mut config = test_config(self.block, &self.world.root_hints_path());
        let any_port: SocketAddr = format!("{}:0", net(self.block, 200, 1)).parse().unwrap();
        config.quic_listen = vec![any_port];
        config.tls_certificate = Some(self.files.chain.clone());
        config.tls_key = Some(self.files.key.clone());
        config
    }

    /// A client endpoint on `127.B.201.1` trusting the test CA and offering `alpn`. Each has its
    /// own TLS session store, so its first handshake is a full one.
    fn client(&self, alpn: &[&[u8]]) -> Endpoint {
        self.client_at(&net(self.block, 201, 1), alpn)
    }

    /// As [`Setup::client`], from `ip`.
    fn client_at(&self, ip: &str, alpn: &[&[u8]]) -> Endpoint {
        self.client_with(ip, self.ca.client_config(alpn))
    }

    /// A client endpoint on `ip` with the TLS configuration `tls`.
    fn client_with(&self, ip: &str, tls: Arc<rustls::ClientConfig>) -> Endpoint {
        let ip = ip.parse().unwrap();
        let mut endpoint = Endpoint::client(SocketAddr::new(ip, 0)).expect("client endpoint");
        let crypto = QuicClientConfig::try_from(tls).expect("QUIC TLS");
        let mut config = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        // Longer than ferret's, so that ferret is the one that closes an idle connection.
        transport.max_idle_timeout(Some(Duration::from_secs(30).try_into().unwrap()));
        config.transport_config(Arc::new(transport));
        endpoint.set_default_client_config(config);
        endpoint
    }

    async fn connect(&self, server: SocketAddr) -> Connection {
        try_connect(&self.client(&[b"doq"]), server)
            .await
            .unwrap_or_else(|error| panic!("DoQ to {server}: {error}"))
    }
}

async fn try_connect(endpoint: &Endpoint, server: SocketAddr) -> Result<Connection, String> {
    assert!(server.ip().is_loopback(), "tests talk to loopback only");
    let connecting = endpoint
        .connect(server, SERVER_NAME)
        .map_err(|e| e.to_string())?;
    match timeout(TIMEOUT, connecting).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

async fn start(config: &Config) -> RunningServer {
    RunningServer::start(config).await.expect("ferret starts")
}

fn doq_addr(server: &RunningServer) -> SocketAddr {
    server.quic_addrs()[0]
}

/// A query with Message ID 0, as RFC 9250 §4.2.1 requires.
fn query(name: &str, rtype: RecordType) -> Message {
    let mut message = build_query(name, rtype, QueryOpts::default());
    message.metadata.id = 0;
    message
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut stream = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
    stream.extend_from_slice(message);
    stream
}

/// Sends `bytes` on a new stream, then FIN; returns what comes back up to the server's FIN.
async fn exchange_raw(connection: &Connection, bytes: &[u8]) -> Result<Vec<u8>, ReadToEndError> {
    let (mut send, mut recv) = connection.open_bi().await.expect("a stream");
    // The server may close the connection before all of it is written (an oversized query).
    let _ = send.write_all(bytes).await;
    let _ = send.finish();
    timeout(TIMEOUT, recv.read_to_end(70_000))
        .await
        .expect("the server answers or resets within the timeout")
}

/// One query on its own stream; the answer, its framing checked, decoded.
async fn exchange(connection: &Connection, message: &Message) -> Message {
    let bytes = exchange_raw(connection, &framed(&message.to_vec().unwrap()))
        .await
        .expect("a DoQ answer");
    let (length, body) = bytes.split_at(2);
    assert_eq!(
        usize::from(u16::from_be_bytes([length[0], length[1]])),
        body.len(),
        "one framed answer, then FIN"
    );
    let response = Message::from_vec(body).expect("a DNS answer");
    assert_eq!(response.metadata.id, 0, "RFC 9250 §4.2.1");
    response
}

/// The error code the server closed `connection` with, within `limit`.
async fn closed_with(connection: &Connection, limit: Duration) -> Option<u32> {
    match timeout(limit, connection.closed()).await {
        Ok(ConnectionError::ApplicationClosed(close)) => {
            Some(u32::try_from(close.error_code.into_inner()).unwrap())
        }
        Ok(other) => panic!("closed otherwise: {other}"),
        Err(_) => None,
    }
}

fn stat(ferret: &RunningServer, key: &str) -> Option<String> {
    let stats = ferret.handle().snapshot().key_values();
    stats.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The metrics endpoint as main.rs serves it, on `addr`.
async fn serve_metrics(ferret: &RunningServer, addr: SocketAddr) -> SocketAddr {
    use ferret::metrics::{exposition, http};
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = ferret.handle();
    let render: http::Render = Arc::new(move || exposition::encode(handle.snapshot()));
    tokio::spawn(http::serve(listener, render, exposition::CONTENT_TYPE));
    addr
}

/// The samples of one scrape of `/metrics`: `name{labels}` to value.
async fn scrape(addr: SocketAddr) -> HashMap<String, f64> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    timeout(TIMEOUT, stream.read_to_string(&mut response))
        .await
        .expect("the metrics in time")
        .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Answers from the hierarchy and then from the cache; streams answered as they complete (a
/// quick one overtakes a slow one); padding; the `doq` counters on /metrics; every protocol
/// error closes the connection with DOQ_PROTOCOL_ERROR (a stream that is no query is reset) and
/// the server goes on; tickets allow no 0-RTT; a client offering another ALPN is refused and
/// counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doq_answers_streams_out_of_order_and_refuses_protocol_errors() {
    let setup = Setup::new(243).await;
    let ferret = start(&setup.config()).await;
    let addr = doq_addr(&ferret);
    let metrics = serve_metrics(&ferret, format!("{}:0", net(243, 200, 2)).parse().unwrap()).await;
    let before = scrape(metrics).await;

    let connection = setup.connect(addr).await;
    assert_eq!(
        connection
            .handshake_data()
            .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
            .and_then(|d| d.protocol),
        Some(b"doq".to_vec())
    );
    let upstream = setup.world.total_queries();
    let response = exchange(&connection, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answer_strings(&response), vec![WWW]);
    let resolved = setup.world.total_queries();
    assert!(resolved > upstream, "a miss goes to the hierarchy");
    let again = exchange(&connection, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(answer_strings(&again), vec![WWW]);
    assert_eq!(setup.world.total_queries(), resolved, "a hit does not");

    // Out of order: a slow miss first, then quick local answers, all on one connection.
    let slow = common::world::Addresses::new(243).example_test;
    setup
        .world
        .server(&slow)
        .set_latency(Duration::from_millis(200));
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for (i, name) in std::iter::once("slow.example.test.")
        .chain(std::iter::repeat_n("localhost.", 10))
        .enumerate()
    {
        let connection = connection.clone();
        let done = done.clone();
        let message = query(name, RecordType::A);
        tasks.push(tokio::spawn(async move {
            let response = exchange(&connection, &message).await;
            let _ = done.send((i, response));
        }));
        // Stream 0 must be open before the others.
        if i == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(done);
    let mut order = Vec::new();
    while let Some((i, response)) = finished.recv().await {
        assert_ne!(response.metadata.response_code, ResponseCode::ServFail);
        order.push(i);
    }
    assert_eq!(order.len(), 11, "every stream answered");
    assert_eq!(order.last(), Some(&0), "the slow one last: {order:?}");

    // RFC 9250 §5.4: a padded query gets a padded answer, as over DoT.
    let mut padded = query("www.example.test.", RecordType::A);
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.options_mut()
        .insert(EdnsOption::Unknown(12, vec![0; 90]));
    padded.set_edns(edns);
    let bytes = exchange_raw(&connection, &framed(&padded.to_vec().unwrap()))
        .await
        .unwrap();
    assert_eq!((bytes.len() - 2) % 468, 0, "{} octets", bytes.len() - 2);

    // A message that is no query (a response): that stream is reset, the connection stays.
    let mut response_bytes = query("localhost.", RecordType::A).to_vec().unwrap();
    response_bytes[2] |= 0x80;
    match exchange_raw(&connection, &framed(&response_bytes)).await {
        Err(ReadToEndError::Read(ReadError::Reset(code))) => {
            assert_eq!(code, VarInt::from_u32(DOQ_PROTOCOL_ERROR));
        }
        other => panic!("not reset: {other:?}"),
    }
    exchange(&connection, &query("localhost.", RecordType::A)).await;

    // The counters, as scraped: 2 + 11 + the padded one + the last one; the response sent as
    // a query is dropped, not counted as a query.
    let after = scrape(metrics).await;
    let moved = |prefix: &str| -> f64 {
        let sum = |samples: &HashMap<String, f64>| -> f64 {
            samples
                .iter()
                .filter(|(series, _)| series.starts_with(prefix))
                .map(|(_, value)| value)
                .sum()
        };
        sum(&after) - sum(&before)
    };
    assert_eq!(
        moved("ferret_queries_total{protocol=\"doq\""),
        15.0,
        "{after:?}"
    );
    assert_eq!(moved("ferret_responses_total{protocol=\"doq\""), 15.0);
    assert_eq!(moved("ferret_queries_total{protocol=\"udp\""), 0.0);

    // Protocol errors, each on a connection of its own, each closing it (§4.3.3).
    let mut nonzero = query("localhost.", RecordType::A);
    nonzero.metadata.id = 0x1234;
    let mut short = framed(&query("localhost.", RecordType::A).to_vec().unwrap());
    short.truncate(10);
    let two = framed(&query("localhost.", RecordType::A).to_vec().unwrap()).repeat(2);
    let mut oversize = vec![0x13, 0x88];
    oversize.resize(5_002, 0);
    let cases: [(&str, Vec<u8>); 5] = [
        ("a non-zero Message ID", framed(&nonzero.to_vec().unwrap())),
        ("FIN before the announced length", short),
        ("two messages on one stream", two),
        ("a 5000-octet message", oversize),
        ("one octet", vec![7]),
    ];
    for (what, bytes) in cases {
        let bad = setup.connect(addr).await;
        let reply = exchange_raw(&bad, &bytes).await;
        assert!(reply.is_err(), "{what}: answered {reply:?}");
        assert_eq!(
            closed_with(&bad, Duration::from_secs(3)).await,
            Some(DOQ_PROTOCOL_ERROR),
            "{what}"
        );
    }
    // Still serving, the first connection included.
    exchange(&connection, &query("localhost.", RecordType::A)).await;
    let fresh = setup.connect(addr).await;
    exchange(&fresh, &query("localhost.", RecordType::A)).await;

    // No 0-RTT (RFC 9250 §4.5): a client that asks for it and holds tickets from an earlier
    // connection gets tickets that allow no early data, and cannot send any.
    let tickets = Arc::new(Tickets::default());
    let mut early = Arc::unwrap_or_clone(setup.ca.client_config(&[b"doq"]));
    early.enable_early_data = true;
    early.resumption = rustls::client::Resumption::store(tickets.clone());
    let client = setup.client_with(&net(243, 201, 1), Arc::new(early));
    let first = try_connect(&client, addr).await.unwrap();
    exchange(&first, &query("localhost.", RecordType::A)).await;
    let issued = tickets.early_data_sizes();
    assert!(
        !issued.is_empty(),
        "no session tickets: resumption untested"
    );
    assert!(issued.iter().all(|size| *size == 0), "{issued:?}");
    match client.connect(addr, SERVER_NAME).unwrap().into_0rtt() {
        Ok(_) => panic!("0-RTT offered"),
        Err(connecting) => {
            let resumed = timeout(TIMEOUT, connecting).await.unwrap().unwrap();
            exchange(&resumed, &query("localhost.", RecordType::A)).await;
        }
    }

    // Another ALPN (DoT's) is refused in the handshake, and counted as a failed handshake.
    assert_eq!(
        stat(&ferret, "handshake_failures.doq").as_deref(),
        Some("0")
    );
    let refused = try_connect(&setup.client(&[b"dot"]), addr).await;
    assert!(refused.is_err(), "a connection without ALPN doq was served");
    let counted = async {
        while stat(&ferret, "handshake_failures.doq").as_deref() != Some("1") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    timeout(Duration::from_secs(3), counted)
        .await
        .expect("the failed handshake counted");
    let after = scrape(metrics).await;
    assert_eq!(
        after.get("ferret_tls_handshake_failures_total{protocol=\"doq\"}"),
        Some(&1.0),
        "{after:?}"
    );
    for task in tasks {
        task.await.unwrap();
    }
}

/// A client's TLS session store that notes how much early data each ticket it is given allows.
#[derive(Debug, Default)]
struct Tickets {
    store: std::sync::Mutex<Vec<rustls::client::Tls13ClientSessionValue>>,
    early_data: std::sync::Mutex<Vec<u32>>,
}

impl Tickets {
    fn early_data_sizes(&self) -> Vec<u32> {
        self.early_data.lock().unwrap().clone()
    }
}

impl rustls::client::ClientSessionStore for Tickets {
    fn set_kx_hint(&self, _: rustls::pki_types::ServerName<'static>, _: rustls::NamedGroup) {}

    fn kx_hint(&self, _: &rustls::pki_types::ServerName<'_>) -> Option<rustls::NamedGroup> {
        None
    }

    fn set_tls12_session(
        &self,
        _: rustls::pki_types::ServerName<'static>,
        _: rustls::client::Tls12ClientSessionValue,
    ) {
    }

    fn tls12_session(
        &self,
        _: &rustls::pki_types::ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &rustls::pki_types::ServerName<'static>) {}

    fn insert_tls13_ticket(
        &self,
        _: rustls::pki_types::ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.early_data
            .lock()
            .unwrap()
            .push(value.max_early_data_size());
        self.store.lock().unwrap().push(value);
    }

    fn take_tls13_ticket(
        &self,
        _: &rustls::pki_types::ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        self.store.lock().unwrap().pop()
    }
}

/// The server certificate a connection was given.
fn peer_certificate(connection: &Connection) -> CertificateDer<'static> {
    let identity = connection.peer_identity().expect("a peer identity");
    let chain = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .expect("a rustls chain");
    chain.first().expect("a certificate").clone()
}

/// Relays the first datagram a client sends (its Initial) to `server` and drops everything
/// after, both ways: the server has a handshake that never completes.
async fn start_half_open(setup: &Setup, server: SocketAddr) -> SocketAddr {
    let relay = tokio::net::UdpSocket::bind((net(setup.block, 201, 9).as_str(), 0))
        .await
        .unwrap();
    let addr = relay.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 2048];
        if let Ok(Ok((length, _))) = timeout(TIMEOUT, relay.recv_from(&mut buffer)).await {
            let _ = relay.send_to(&buffer[..length], server).await;
        }
        // Swallow the rest for a while, bounded.
        let _ = timeout(Duration::from_secs(3), async {
            loop {
                if relay.recv_from(&mut buffer).await.is_err() {
                    break;
                }
            }
        })
        .await;
    });
    addr
}

/// The access list (no handshake for a client outside it), the handshake timeout (counted), a
/// renewed certificate swapped in by a reload while a connection opened before keeps working,
/// the connection cap, the idle timeout; then socket activation through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doq_limits_and_certificate_reload() {
    let setup = Setup::new(244).await;
    let mut config = setup.config();
    config.limits.tls_handshake_timeout_ms = 300;
    config.limits.tcp_idle_timeout = 2;
    config.limits.max_tcp_connections = 3;
    // The clients here and the relay below; 127.244.202.0/24 is outside.
    config.allow = vec![format!("{}/24", net(244, 201, 0)).parse().unwrap()];
    let mut ferret = start(&config).await;
    let addr = doq_addr(&ferret);

    // A client outside the access list gets no answer at all, and is no handshake failure.
    let outside = setup.client_at(&net(244, 202, 1), &[b"doq"]);
    let connecting = outside.connect(addr, SERVER_NAME).unwrap();
    assert!(
        timeout(Duration::from_millis(1_500), connecting)
            .await
            .is_err(),
        "no handshake for a client outside the access list"
    );
    assert_eq!(
        stat(&ferret, "handshake_failures.doq").as_deref(),
        Some("0")
    );

    // A handshake that never finishes is given up after the handshake timeout.
    let relay = start_half_open(&setup, addr).await;
    let client = setup.client(&[b"doq"]);
    let _never = client.connect(relay, SERVER_NAME).unwrap();
    let started = Instant::now();
    let counted = async {
        while stat(&ferret, "handshake_failures.doq").as_deref() != Some("1") {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    timeout(Duration::from_secs(3), counted)
        .await
        .expect("the handshake timed out and was counted");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );

    // Renewed in place, as certbot does; a reload swaps it in for new connections only.
    let before = setup.connect(addr).await;
    assert_eq!(peer_certificate(&before), setup.files.der);
    let ip = net(setup.block, 200, 1);
    let renewed = setup
        .ca
        .issue(setup.world.dir(), "renewed", &[SERVER_NAME, &ip]);
    std::fs::copy(&renewed.chain, &setup.files.chain).unwrap();
    std::fs::copy(&renewed.key, &setup.files.key).unwrap();
    let done = ferret.reload(&config).expect("reload");
    assert!(!done.contains("not reloaded"), "{done}");
    let after = setup.connect(addr).await;
    assert_eq!(
        peer_certificate(&after),
        renewed.der,
        "new connections get the new one"
    );
    let response = exchange(&before, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(
        answer_strings(&response),
        vec![WWW],
        "the old connection still answers"
    );
    let last_query = Instant::now();
    exchange(&after, &query("localhost.", RecordType::A)).await;

    // The cap: three open, a fourth refused before its handshake.
    let third = setup.connect(addr).await;
    exchange(&third, &query("localhost.", RecordType::A)).await;
    let fourth = try_connect(&setup.client(&[b"doq"]), addr).await;
    assert!(fourth.is_err(), "a fourth connection was served");
    after.close(VarInt::from_u32(0), b"");
    third.close(VarInt::from_u32(0), b"");

    // Idle: two seconds after its last query, the old connection is closed without error.
    assert_eq!(
        closed_with(&before, Duration::from_secs(8)).await,
        Some(DOQ_NO_ERROR)
    );
    let idle = last_query.elapsed();
    assert!(idle >= Duration::from_millis(1_800), "{idle:?}");
    // Places freed: a new connection is served again.
    let again = setup.connect(addr).await;
    exchange(&again, &query("localhost.", RecordType::A)).await;

    // A reload that adds a DoQ address serves it too; one that takes it away again stops it.
    let mut more = config.clone();
    more.quic_listen
        .push(format!("{}:0", net(setup.block, 200, 2)).parse().unwrap());
    let done = ferret.reload(&more).expect("reload");
    assert!(done.contains("1 listen address(es) opened"), "{done}");
    let added = *ferret
        .quic_addrs()
        .iter()
        .find(|a| a.ip() != addr.ip())
        .expect("the new DoQ address");
    let other = setup.connect(added).await;
    exchange(&other, &query("localhost.", RecordType::A)).await;
    let done = ferret.reload(&config).expect("reload");
    assert!(done.contains("1 closed"), "{done}");
    assert_eq!(ferret.quic_addrs(), &[addr]);
    drop(ferret);

    socket_activation_passes_doq_sockets(&setup).await;
}

/// Socket activation through the real binary: a datagram socket named `doq` (LISTEN_FDNAMES,
/// from FileDescriptorName=) serves DoQ, another datagram socket plain DNS. Run inside the
/// test above, on its world and address block, on 127.244.200.3.
async fn socket_activation_passes_doq_sockets(setup: &Setup) {
    use std::os::fd::AsRawFd;

    let ip: std::net::IpAddr = net(setup.block, 200, 3).parse().unwrap();
    let plain = SocketAddr::new(ip, common::process::free_port(ip));
    let udp = std::net::UdpSocket::bind(plain).unwrap();
    let tcp = std::net::TcpListener::bind(plain).unwrap();
    let doq = std::net::UdpSocket::bind((ip, 0)).unwrap();
    let doq_addr = doq.local_addr().unwrap();
    let mut args = common::process::world_args(&setup.world);
    args.extend(
        [
            "--no-control-socket",
            "--tls-certificate",
            setup.files.chain.to_str().unwrap(),
            "--tls-key",
            setup.files.key.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let fds = [udp.as_raw_fd(), tcp.as_raw_fd(), doq.as_raw_fd()];
    let command = common::process::socket_activated_command(&args, &fds, Some("dns:dns:doq"));
    let mut ferret = common::process::FerretProcess::spawn(
        command,
        &setup.world.dir().join("ferret-activated.log"),
    );
    drop((udp, tcp, doq));
    ferret.wait_until_serving(plain).await;

    let connection = setup.connect(doq_addr).await;
    let response = exchange(&connection, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(answer_strings(&response), vec![WWW], "{}", ferret.log());
    ferret.assert_running();
}
