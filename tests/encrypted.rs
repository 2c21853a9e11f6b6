//! The encrypted transports end to end (issue 11): DNS over TLS (RFC 7858) and over HTTPS
//! (RFC 8484) for clients, with a certificate authority made for the test, through a Rust
//! client and through kdig; pipelining and out-of-order answers; padding (RFC 7830/8467); every
//! DoH error status; the TCP limits and the handshake timeout; a certificate replaced by a
//! reload while a connection stays open; and TLS towards a forwarder (Unbound serving DoT).
//!
//! Address blocks 220–229, 235–239 and 246 (127.220.x.y – 127.229.x.y, 127.235.x.y –
//! 127.239.x.y, 127.246.x.y) belong to this file, one per test; 230–234 are
//! tests/upstream_merge.rs's.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::client::{QueryOpts, answer_strings, build_query};
use common::ferret::test_config;
use common::hierarchy::{Hierarchy, net};
use common::nsd::require_or_skip;
use common::tls::{
    CertificateFiles, Http, HttpClient, SERVER_NAME, TestCa, connect, dot_exchange,
    peer_certificate, read_framed, request, send_framed, try_connect,
};
use ferret::Config;
use ferret::server::RunningServer;
use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::opt::EdnsOption;
use http::{Method, StatusCode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// `www.example.test. A` in the world.
const WWW: &str = "www.example.test. A 192.0.2.1";

/// A world, a CA and a certificate for ferret on `127.B.200.1`.
struct Setup {
    world: Hierarchy,
    ca: TestCa,
    files: CertificateFiles,
}

impl Setup {
    async fn new(block: u8) -> Setup {
        let world = common::world::start(block).await;
        let ca = TestCa::new("ferret test CA");
        let ip = net(block, 200, 1);
        let files = ca.issue(world.dir(), "server", &[SERVER_NAME, &ip]);
        Setup { world, ca, files }
    }

    /// ferret serving UDP/TCP, DoT and DoH on `127.B.200.1`, each on a port the kernel picks.
    fn config(&self, block: u8) -> Config {
        let mut config = test_config(block, &self.world.root_hints_path());
        let any_port: SocketAddr = format!("{}:0", net(block, 200, 1)).parse().unwrap();
        config.tls_listen = vec![any_port];
        config.https_listen = vec![any_port];
        config.tls_certificate = Some(self.files.chain.clone());
        config.tls_key = Some(self.files.key.clone());
        config
    }

    fn dot_client(&self) -> std::sync::Arc<rustls::ClientConfig> {
        self.ca.client_config(&[b"dot"])
    }
}

async fn start(config: &Config) -> RunningServer {
    RunningServer::start(config).await.expect("ferret starts")
}

fn dot_addr(server: &RunningServer) -> SocketAddr {
    server.tls_addrs()[0]
}

fn doh_addr(server: &RunningServer) -> SocketAddr {
    server.https_addrs()[0]
}

fn query(name: &str, rtype: RecordType) -> Message {
    build_query(name, rtype, QueryOpts::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_answers_with_alpn_over_tls_1_2_and_1_3() {
    let block = 220;
    let setup = Setup::new(block).await;
    let ferret = start(&setup.config(block)).await;

    let mut stream = connect(dot_addr(&ferret), setup.dot_client()).await;
    let (_, session) = stream.get_ref();
    assert_eq!(session.alpn_protocol(), Some(&b"dot"[..]));
    assert_eq!(
        session.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let response = dot_exchange(&mut stream, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(answer_strings(&response), vec![WWW]);
    // The second time from the cache, on the same connection.
    let again = dot_exchange(&mut stream, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(answer_strings(&again), vec![WWW]);
    assert!(!again.metadata.truncation);

    // TLS 1.2 is served too.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_pki_types_certs(&setup.ca.pem()));
    let mut tls12 = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls12.alpn_protocols = vec![b"dot".to_vec()];
    let mut old = connect(dot_addr(&ferret), std::sync::Arc::new(tls12)).await;
    assert_eq!(
        old.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    let response = dot_exchange(&mut old, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(answer_strings(&response), vec![WWW]);

    // Answers are counted under their own protocol label.
    let stats = ferret.handle().snapshot().key_values();
    let get = |key: &str| stats.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    assert_eq!(get("queries.dot").as_deref(), Some("3"), "{stats:?}");
    assert_eq!(get("queries.tcp").as_deref(), Some("0"));
}

fn rustls_pki_types_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM")
}

/// Sessions are resumed (RFC 7858 §3.4): a second connection with the same client config
/// skips the full handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_sessions_are_resumed() {
    let block = 221;
    let setup = Setup::new(block).await;
    let ferret = start(&setup.config(block)).await;
    let client = setup.dot_client();
    let mut first = connect(dot_addr(&ferret), client.clone()).await;
    // TLS 1.3 tickets arrive after the handshake: one exchange makes sure they were read.
    dot_exchange(&mut first, &query("localhost.", RecordType::A)).await;
    let mut second = connect(dot_addr(&ferret), client).await;
    assert_eq!(
        second.get_ref().1.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
    let response = dot_exchange(&mut second, &query("localhost.", RecordType::A)).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
}

/// Queries sent back to back on one connection are all answered, and a quick one overtakes
/// a slow one (RFC 7766 §6.2.1.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_pipelines_and_answers_out_of_order() {
    let block = 222;
    let setup = Setup::new(block).await;
    let ferret = start(&setup.config(block)).await;
    let slow = common::world::Addresses::new(block).example_test;
    setup
        .world
        .server(&slow)
        .set_latency(Duration::from_millis(150));
    let mut stream = connect(dot_addr(&ferret), setup.dot_client()).await;

    let slow_query = query("www.example.test.", RecordType::A);
    let mut batch = slow_query.to_vec().unwrap();
    let mut frames = Vec::new();
    frames.push((slow_query.metadata.id, "slow"));
    let length = u16::try_from(batch.len()).unwrap().to_be_bytes();
    batch.splice(0..0, length);
    for i in 0..10 {
        let quick = query("localhost.", RecordType::A);
        frames.push((quick.metadata.id, if i == 0 { "quick" } else { "more" }));
        let bytes = quick.to_vec().unwrap();
        batch.extend_from_slice(&u16::try_from(bytes.len()).unwrap().to_be_bytes());
        batch.extend_from_slice(&bytes);
    }
    // All eleven in one write: pipelined, not one at a time.
    stream.write_all(&batch).await.unwrap();
    stream.flush().await.unwrap();
    let mut order = Vec::new();
    for _ in 0..frames.len() {
        let bytes = read_framed(&mut stream)
            .await
            .expect("every query answered");
        let response = Message::from_vec(&bytes).unwrap();
        let (_, which) = frames
            .iter()
            .find(|(id, _)| *id == response.metadata.id)
            .expect("an answer to a query sent");
        order.push(*which);
        if *which == "slow" {
            assert_eq!(answer_strings(&response), vec![WWW]);
        }
    }
    assert_eq!(order.len(), 11);
    assert_eq!(order.last(), Some(&"slow"), "{order:?}");
}

/// RFC 8467 §4.1: a padded query gets a response padded to a multiple of 468 octets; an
/// unpadded one is not padded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn padded_queries_get_padded_responses() {
    let block = 223;
    let setup = Setup::new(block).await;
    let ferret = start(&setup.config(block)).await;
    let mut stream = connect(dot_addr(&ferret), setup.dot_client()).await;
    let padded = |name: &str| {
        let mut message = query(name, RecordType::A);
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.options_mut()
            .insert(EdnsOption::Unknown(12, vec![0; 90]));
        message.set_edns(edns);
        message.to_vec().unwrap()
    };
    for name in [
        "www.example.test.",
        "www.example.test.",
        "nowhere.example.test.",
    ] {
        send_framed(&mut stream, &padded(name)).await;
        let bytes = read_framed(&mut stream).await.expect("an answer");
        assert_eq!(bytes.len() % 468, 0, "{name}: {} octets", bytes.len());
        let response = Message::from_vec(&bytes).unwrap();
        assert!(response.metadata.response_code != ResponseCode::ServFail);
    }
    let plain = query("www.example.test.", RecordType::A).to_vec().unwrap();
    send_framed(&mut stream, &plain).await;
    let bytes = read_framed(&mut stream).await.expect("an answer");
    assert_ne!(bytes.len() % 468, 0, "not padded unless asked");

    // Over DoH too.
    let mut client = HttpClient::connect(doh_addr(&ferret), &setup.ca, Http::H2).await;
    let reply = client
        .post(
            "/dns-query",
            Some("application/dns-message"),
            padded("www.example.test."),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body.len() % 468, 0);
}

/// An RSA key serves DoT as the EC keys above do, in both PEM forms operators have: PKCS#8
/// (`BEGIN PRIVATE KEY`) and PKCS#1 (`BEGIN RSA PRIVATE KEY`, what older certbot and
/// `openssl genrsa` write). The keys come from openssl (ring, under rcgen, cannot make RSA
/// keys); required under CI=true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_keys_in_pkcs8_and_pkcs1_serve_dot() {
    if !require_or_skip("openssl") {
        return;
    }
    let block = 246;
    let setup = Setup::new(block).await;
    let dir = setup.world.dir();
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("running openssl");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let pkcs8 = dir.join("rsa-pkcs8.key");
    let pkcs1 = dir.join("rsa-pkcs1.key");
    let pkcs8_arg = pkcs8.to_str().unwrap();
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        pkcs8_arg,
    ]);
    openssl(&[
        "pkey",
        "-in",
        pkcs8_arg,
        "-traditional",
        "-out",
        pkcs1.to_str().unwrap(),
    ]);
    let pkcs8_pem = std::fs::read_to_string(&pkcs8).unwrap();
    let pkcs1_pem = std::fs::read_to_string(&pkcs1).unwrap();
    assert!(pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(pkcs1_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let ip = net(block, 200, 1);
    for (form, key_file) in [("pkcs8", &pkcs8_pem), ("pkcs1", &pkcs1_pem)] {
        let files = setup.ca.issue_for_key(
            dir,
            &format!("rsa-{form}"),
            &[SERVER_NAME, &ip],
            &pkcs8_pem,
            key_file,
        );
        let mut config = setup.config(block);
        config.tls_certificate = Some(files.chain.clone());
        config.tls_key = Some(files.key.clone());
        let ferret = start(&config).await;
        let mut stream = connect(dot_addr(&ferret), setup.dot_client()).await;
        assert_eq!(peer_certificate(&stream), files.der, "{form}");
        let response = dot_exchange(&mut stream, &query("localhost.", RecordType::A)).await;
        assert_eq!(
            response.metadata.response_code,
            ResponseCode::NoError,
            "{form}"
        );
        assert_eq!(
            answer_strings(&response),
            vec!["localhost. A 127.0.0.1"],
            "{form}"
        );
    }
}

/// kdig, as an operator would test: `kdig +tls` and `kdig +https`, POST and GET, verified
/// against the test CA. Required under CI=true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kdig_queries_over_tls_and_https() {
    if !require_or_skip("kdig") {
        return;
    }
    let block = 224;
    let setup = Setup::new(block).await;
    let ferret = start(&setup.config(block)).await;
    let ca = setup.ca.write_pem(setup.world.dir(), "ca.pem");
    let dot = dot_addr(&ferret);
    let doh = doh_addr(&ferret);
    let tls = |addr: SocketAddr| {
        vec![
            format!("@{}", addr.ip()),
            "-p".to_string(),
            addr.port().to_string(),
            format!("+tls-ca={}", ca.display()),
            format!("+tls-hostname={SERVER_NAME}"),
        ]
    };
    let runs = [
        ("dot", tls(dot), vec!["+tls".to_string()]),
        ("doh post", tls(doh), vec!["+https".to_string()]),
        (
            "doh get",
            tls(doh),
            vec!["+https".to_string(), "+https-get".to_string()],
        ),
        (
            "dot padded",
            tls(dot),
            vec!["+tls".to_string(), "+padding".to_string()],
        ),
    ];
    for (what, mut args, extra) in runs {
        args.extend(extra);
        args.extend(
            ["+short", "+timeout=5", "+retry=0", "www.example.test.", "A"].map(String::from),
        );
        let output = tokio::task::spawn_blocking(move || Command::new("kdig").args(&args).output())
            .await
            .unwrap()
            .expect("running kdig");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.trim() == "192.0.2.1",
            "kdig {what}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stats = ferret.handle().snapshot().key_values();
    let get = |key: &str| stats.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    assert_eq!(get("queries.dot").as_deref(), Some("2"));
    assert_eq!(get("queries.doh").as_deref(), Some("2"));
}

/// The TCP limits hold for DoT, and a client that never completes its handshake is cut off
/// after the handshake timeout (and counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_limits_handshake_idle_and_slowloris() {
    let block = 225;
    let setup = Setup::new(block).await;
    let mut config = setup.config(block);
    config.limits.tls_handshake_timeout_ms = 300;
    config.limits.tcp_read_timeout_ms = 300;
    config.limits.tcp_idle_timeout = 1;
    config.limits.max_tcp_connections = 3;
    let ferret = start(&config).await;
    let addr = dot_addr(&ferret);

    // Handshake timeout: connect, say nothing.
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // A handshake that fails (garbage instead of a ClientHello).
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    assert!(closed_within(&mut garbage, Duration::from_secs(3)).await);
    let stats = ferret.handle().snapshot().key_values();
    let failures = stats
        .iter()
        .find(|(k, _)| k == "handshake_failures.dot")
        .map(|(_, v)| v.clone());
    assert_eq!(failures.as_deref(), Some("2"), "{stats:?}");

    // Slowloris: a started message that does not finish within the read timeout.
    let mut slow = connect(addr, setup.dot_client()).await;
    slow.write_all(&[0, 40, 0, 0]).await.unwrap();
    slow.flush().await.unwrap();
    let started = Instant::now();
    assert_eq!(read_framed(&mut slow).await, None, "cut off");
    assert!(started.elapsed() < Duration::from_secs(3));

    // Idle timeout: after an answer, silence closes the connection.
    let mut idle = connect(addr, setup.dot_client()).await;
    dot_exchange(&mut idle, &query("localhost.", RecordType::A)).await;
    let started = Instant::now();
    assert_eq!(read_framed(&mut idle).await, None);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    // The connection cap: three open, the fourth is closed at once.
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(addr, setup.dot_client()).await;
        dot_exchange(&mut stream, &query("localhost.", RecordType::A)).await;
        open.push(stream);
    }
    let refused = try_connect(addr, setup.dot_client()).await;
    assert!(refused.is_err(), "a fourth connection was served");
    drop(open);
}

/// Whether the peer closes `stream` (TCP or TLS) within `limit`: reading returns 0 or an error.
async fn closed_within(stream: &mut (impl tokio::io::AsyncRead + Unpin), limit: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A TLS alert: keep reading until the close.
            Ok(Ok(_)) => continue,
        }
    }
}

/// GET and POST over HTTP/2 and HTTP/1.1, with `cache-control: max-age` the smallest TTL
/// (RFC 8484 §5.1), and every error status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doh_answers_get_and_post_and_refuses_the_rest() {
    let block = 226;
    let setup = Setup::new(block).await;
    let ferret = start(&setup.config(block)).await;
    let addr = doh_addr(&ferret);
    use base64::Engine;
    let encode = |message: &Message| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message.to_vec().unwrap())
    };
    for http in [Http::H2, Http::H1] {
        let mut client = HttpClient::connect(addr, &setup.ca, http).await;
        let mut asked = query("www.example.test.", RecordType::A);
        // RFC 8484 §4.1: ID 0 makes GETs cacheable.
        asked.metadata.id = 0;
        let reply = client
            .get(&format!("/dns-query?dns={}", encode(&asked)))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{http:?}");
        assert_eq!(
            reply.headers.get("content-type").unwrap(),
            "application/dns-message"
        );
        let response = reply.message();
        assert_eq!(response.metadata.id, 0);
        assert_eq!(answer_strings(&response), vec![WWW]);
        let ttl = response.answers[0].ttl;
        let age = reply
            .headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap();
        let age: u32 = age.strip_prefix("max-age=").unwrap().parse().unwrap();
        assert!(age <= ttl && age + 5 >= ttl, "max-age={age}, TTL {ttl}");

        let posted = query("nowhere.example.test.", RecordType::A);
        let reply = client
            .post(
                "/dns-query",
                Some("application/dns-message"),
                posted.to_vec().unwrap(),
            )
            .await;
        let response = reply.message();
        assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
        assert!(reply.headers.get("cache-control").is_some(), "negative TTL");

        // Every refusal, on the same connection.
        let body = posted.to_vec().unwrap();
        let cases: Vec<(&str, http::Request<_>, StatusCode)> = vec![
            (
                "no dns",
                request(Method::GET, "/dns-query", None, vec![]),
                StatusCode::BAD_REQUEST,
            ),
            (
                "bad base64",
                request(Method::GET, "/dns-query?dns=%%%", None, vec![]),
                StatusCode::BAD_REQUEST,
            ),
            (
                "padded base64",
                request(
                    Method::GET,
                    &format!("/dns-query?dns={}==", encode(&asked)),
                    None,
                    vec![],
                ),
                StatusCode::BAD_REQUEST,
            ),
            (
                "short body",
                request(
                    Method::POST,
                    "/dns-query",
                    Some("application/dns-message"),
                    vec![1, 2, 3],
                ),
                StatusCode::BAD_REQUEST,
            ),
            (
                "a response, not a query",
                request(
                    Method::POST,
                    "/dns-query",
                    Some("application/dns-message"),
                    response.to_vec().unwrap(),
                ),
                StatusCode::BAD_REQUEST,
            ),
            (
                "oversize",
                request(
                    Method::POST,
                    "/dns-query",
                    Some("application/dns-message"),
                    vec![0; 5_000],
                ),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                "json",
                request(
                    Method::POST,
                    "/dns-query",
                    Some("application/json"),
                    body.clone(),
                ),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                "no type",
                request(Method::POST, "/dns-query", None, body.clone()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                "put",
                request(
                    Method::PUT,
                    "/dns-query",
                    Some("application/dns-message"),
                    body.clone(),
                ),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                "other path",
                request(
                    Method::GET,
                    &format!("/other?dns={}", encode(&asked)),
                    None,
                    vec![],
                ),
                StatusCode::NOT_FOUND,
            ),
        ];
        for (what, request, status) in cases {
            let reply = client
                .try_send(request)
                .await
                .unwrap_or_else(|| panic!("{http:?} {what}: no response"));
            assert_eq!(reply.status, status, "{http:?} {what}");
            if status == StatusCode::METHOD_NOT_ALLOWED {
                assert_eq!(reply.headers.get("allow").unwrap(), "GET, POST");
            }
        }
        // Still serving after all that.
        let reply = client
            .get(&format!("/dns-query?dns={}", encode(&asked)))
            .await;
        assert_eq!(answer_strings(&reply.message()), vec![WWW], "{http:?}");
    }
    let stats = ferret.handle().snapshot().key_values();
    let get = |key: &str| stats.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    assert_eq!(get("queries.doh").as_deref(), Some("6"), "{stats:?}");
}

/// `https-path` moves the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doh_serves_at_the_configured_path() {
    let block = 227;
    let setup = Setup::new(block).await;
    let mut config = setup.config(block);
    config.https_path = "/resolve".into();
    let ferret = start(&config).await;
    let mut client = HttpClient::connect(doh_addr(&ferret), &setup.ca, Http::H2).await;
    let body = query("localhost.", RecordType::A).to_vec().unwrap();
    let moved = client
        .post("/resolve", Some("application/dns-message"), body.clone())
        .await;
    assert_eq!(
        moved.message().metadata.response_code,
        ResponseCode::NoError
    );
    let old = client
        .post("/dns-query", Some("application/dns-message"), body)
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND);
}

/// A slowloris over HTTP: headers that never end, and a body that never comes, are cut off
/// after the read timeout; an idle connection is closed after the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doh_cuts_off_slow_and_idle_clients() {
    let block = 228;
    let setup = Setup::new(block).await;
    let mut config = setup.config(block);
    config.limits.tcp_read_timeout_ms = 300;
    config.limits.tcp_idle_timeout = 1;
    let ferret = start(&config).await;
    let addr = doh_addr(&ferret);

    // HTTP/1.1 headers trickled in, never finished.
    let mut tls = connect(addr, setup.ca.client_config(&[b"http/1.1"])).await;
    tls.write_all(b"POST /dns-query HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    let started = Instant::now();
    assert!(
        closed_within(&mut tls, Duration::from_secs(4)).await,
        "headers never end"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // A POST whose body never arrives: 408, or the connection closed.
    let mut tls = connect(addr, setup.ca.client_config(&[b"http/1.1"])).await;
    tls.write_all(
        b"POST /dns-query HTTP/1.1\r\nHost: x\r\nContent-Type: application/dns-message\r\nContent-Length: 40\r\n\r\n",
    )
    .await
    .unwrap();
    tls.flush().await.unwrap();
    let text = read_some(&mut tls, Duration::from_secs(4)).await;
    assert!(
        text.starts_with("HTTP/1.1 408") || text.is_empty(),
        "{text}"
    );

    // Idle: an HTTP/2 connection that asked once and then says nothing.
    let mut client = HttpClient::connect(addr, &setup.ca, Http::H2).await;
    let body = query("localhost.", RecordType::A).to_vec().unwrap();
    client
        .post("/dns-query", Some("application/dns-message"), body.clone())
        .await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let after = client
        .try_send(request(
            Method::POST,
            "/dns-query",
            Some("application/dns-message"),
            body,
        ))
        .await;
    assert!(after.is_none(), "the idle connection was kept: {after:?}");
}

/// Reads what the server sends within `limit`, as text.
async fn read_some(
    stream: &mut tokio_rustls::client::TlsStream<TcpStream>,
    limit: Duration,
) -> String {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 4096];
    match tokio::time::timeout(limit, stream.read(&mut buffer)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buffer[..n]).into_owned(),
        _ => String::new(),
    }
}

/// certbot renews the files; a reload makes new handshakes use the new certificate while a
/// connection opened before keeps working; a broken file keeps the one in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_the_certificate_without_dropping_connections() {
    let block = 229;
    let setup = Setup::new(block).await;
    let config = setup.config(block);
    let mut ferret = start(&config).await;
    let addr = dot_addr(&ferret);
    let mut before = connect(addr, setup.dot_client()).await;
    assert_eq!(peer_certificate(&before), setup.files.der);
    let mut h2 = HttpClient::connect(doh_addr(&ferret), &setup.ca, Http::H2).await;

    // Renewed in place, as certbot does (same paths, new key and certificate).
    let ip = net(block, 200, 1);
    let renewed = setup
        .ca
        .issue(setup.world.dir(), "renewed", &[SERVER_NAME, &ip]);
    std::fs::copy(&renewed.chain, &setup.files.chain).unwrap();
    std::fs::copy(&renewed.key, &setup.files.key).unwrap();
    let done = ferret.reload(&config).expect("reload");
    assert!(!done.contains("not reloaded"), "{done}");

    let mut after = connect(addr, setup.dot_client()).await;
    assert_eq!(
        peer_certificate(&after),
        renewed.der,
        "new handshakes get the new one"
    );
    let response = dot_exchange(&mut before, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(
        answer_strings(&response),
        vec![WWW],
        "the old connection still answers"
    );
    dot_exchange(&mut after, &query("localhost.", RecordType::A)).await;
    let body = query("localhost.", RecordType::A).to_vec().unwrap();
    let reply = h2
        .post("/dns-query", Some("application/dns-message"), body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "the DoH connection stays too");

    // A broken key: the reload says so, and the renewed certificate stays in use.
    std::fs::write(&setup.files.key, "-----BEGIN PRIVATE KEY-----\nbroken\n").unwrap();
    let done = ferret.reload(&config).expect("reload goes on");
    assert!(done.contains("not reloaded"), "{done}");
    let still = connect(addr, setup.dot_client()).await;
    assert_eq!(peer_certificate(&still), renewed.der);
    // A key of another certificate is refused as well.
    let other = setup.ca.issue(setup.world.dir(), "other", &[SERVER_NAME]);
    std::fs::copy(&other.key, &setup.files.key).unwrap();
    std::fs::copy(&renewed.chain, &setup.files.chain).unwrap();
    let done = ferret.reload(&config).expect("reload goes on");
    assert!(done.contains("not reloaded"), "{done}");
    drop(before);
}

/// Starting with an unusable certificate fails, naming the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_certificate_stops_the_start() {
    let block = 235;
    let setup = Setup::new(block).await;
    let mut config = setup.config(block);
    config.tls_certificate = Some(setup.world.dir().join("absent.pem"));
    let Err(error) = RunningServer::start(&config).await else {
        panic!("started without its certificate");
    };
    assert!(error.to_string().contains("absent.pem"), "{error}");
    let mut config = setup.config(block);
    config.tls_key = None;
    assert!(RunningServer::start(&config).await.is_err());
}

/// A forward zone over TLS to Unbound serving DoT on loopback with the test CA: answered when
/// the configured name is on the certificate, refused (SERVFAIL, nothing sent) when not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_zone_over_tls_to_unbound() {
    if !require_or_skip("unbound") {
        return;
    }
    let block = 236;
    let setup = Setup::new(block).await;
    // Clear of the world's addresses (127.B.0-9.x).
    let unbound_ip = net(block, 20, 1);
    let unbound_files = setup
        .ca
        .issue(setup.world.dir(), "unbound", &["dot.unbound.test"]);
    let ip: std::net::IpAddr = unbound_ip.parse().unwrap();
    let plain_port = common::process::free_port(ip);
    let tls_port = common::process::free_port(ip);
    let extra = format!(
        "    interface: {unbound_ip}@{tls_port}
    tls-port: {tls_port}
    tls-service-key: \"{}\"
    tls-service-pem: \"{}\"
    local-zone: \"example.test.\" transparent
    local-data: \"tls-only.example.test. 300 IN A 192.0.2.99\"",
        unbound_files.key.display(),
        unbound_files.chain.display()
    );
    let unbound = common::unbound::UnboundServer::start_with(
        ip,
        plain_port,
        &setup.world.root_hints_path(),
        &extra,
    )
    .expect("Unbound starts");
    let ca = setup.ca.write_pem(setup.world.dir(), "ca.pem");
    let zone = |name: &str| -> ferret::config::ForwardZone {
        let text = format!(
            "name = \"example.test.\"\ntls = true\nservers = [\"{unbound_ip}@{tls_port}#{name}\"]"
        );
        toml::from_str(&text).expect("a forward zone")
    };

    let mut config = setup.config(block);
    config.tls_ca_file = Some(ca.clone());
    config.forward_zones = vec![zone("dot.unbound.test")];
    let mut ferret = start(&config).await;
    let udp = ferret.udp_addrs()[0];
    // Twice: the second on the connection the first opened.
    for name in ["tls-only.example.test.", "tls-only.example.test."] {
        let response = common::client::query_udp(udp, name, RecordType::A).await;
        assert_eq!(
            response.metadata.response_code,
            ResponseCode::NoError,
            "{name}\n{}",
            unbound.log()
        );
        assert_eq!(response.answers.len(), 1, "{name}");
    }
    let only = common::client::query_udp(udp, "tls-only.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&only),
        vec!["tls-only.example.test. A 192.0.2.99"],
        "answered by Unbound, not by the world"
    );

    // The name the certificate does not carry: nothing is accepted.
    let mut wrong = config.clone();
    wrong.forward_zones = vec![zone("other.unbound.test")];
    ferret.reload(&wrong).expect("reload");
    let refused = common::client::query_udp(udp, "refused.example.test.", RecordType::A).await;
    assert_eq!(refused.metadata.response_code, ResponseCode::ServFail);

    // Nor without the test CA (the system's roots do not know it).
    let mut untrusted = config.clone();
    untrusted.tls_ca_file = None;
    ferret.reload(&untrusted).expect("reload");
    let refused = common::client::query_udp(udp, "untrusted.example.test.", RecordType::A).await;
    assert_eq!(refused.metadata.response_code, ResponseCode::ServFail);
    drop(unbound);
}

/// A DoT server of the test's own, answering A queries with 192.0.2.53: counts the
/// connections it accepts and closes each after `per_connection` answers.
struct FakeDotForwarder {
    addr: SocketAddr,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeDotForwarder {
    async fn start(ip: &str, files: &CertificateFiles, per_connection: usize) -> Self {
        use rustls::pki_types::pem::PemObject;
        let chain = rustls::pki_types::CertificateDer::pem_file_iter(&files.chain)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&files.key).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&connections);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    use tokio::io::AsyncReadExt;
                    for _ in 0..per_connection {
                        let Ok(length) = tls.read_u16().await else {
                            return;
                        };
                        let mut bytes = vec![0; usize::from(length)];
                        if tls.read_exact(&mut bytes).await.is_err() {
                            return;
                        }
                        let query = Message::from_vec(&bytes).unwrap();
                        let mut response = query.clone();
                        response.metadata.message_type = hickory_proto::op::MessageType::Response;
                        response.metadata.recursion_available = true;
                        let question = query.queries[0].clone();
                        response.add_answer(hickory_proto::rr::Record::from_rdata(
                            question.name().clone(),
                            60,
                            hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A::new(
                                192, 0, 2, 53,
                            )),
                        ));
                        let bytes = response.to_vec().unwrap();
                        let mut frame = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
                        frame.extend_from_slice(&bytes);
                        if tls.write_all(&frame).await.is_err() {
                            return;
                        }
                    }
                    let _ = tls.shutdown().await;
                });
            }
        });
        FakeDotForwarder {
            addr,
            connections,
            task,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FakeDotForwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The connection to a TLS forwarder is kept for the next queries, shared by queries in
/// flight together, and opened again when the forwarder closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_forwarder_connections_are_reused_and_reopened() {
    let block = 237;
    let setup = Setup::new(block).await;
    let ip = net(block, 20, 1);
    let files = setup
        .ca
        .issue(setup.world.dir(), "forwarder", &["fwd.ferret.test"]);
    let forwarder = FakeDotForwarder::start(&ip, &files, 20).await;
    let ca = setup.ca.write_pem(setup.world.dir(), "ca.pem");
    let text = format!(
        "name = \"corp.example.\"\ntls = true\nservers = [\"{}#fwd.ferret.test\"]",
        forwarder.addr
    );
    let mut config = setup.config(block);
    config.tls_ca_file = Some(ca);
    config.forward_zones = vec![toml::from_str(&text).unwrap()];
    let ferret = start(&config).await;
    let udp = ferret.udp_addrs()[0];

    // Ten at once, then five more one by one: one connection carries them all.
    let together: Vec<_> = (0..10)
        .map(|i| {
            tokio::spawn(async move {
                common::client::query_udp(udp, &format!("h{i}.corp.example."), RecordType::A).await
            })
        })
        .collect();
    for query in together {
        let response = query.await.unwrap();
        assert_eq!(response.answers.len(), 1, "{response}");
    }
    for i in 10..15 {
        let response =
            common::client::query_udp(udp, &format!("h{i}.corp.example."), RecordType::A).await;
        assert_eq!(response.answers.len(), 1);
    }
    assert_eq!(forwarder.connections(), 1, "the connection is reused");

    // The forwarder closes after its 20th answer: the queries after it go on a new one.
    for i in 15..30 {
        let response =
            common::client::query_udp(udp, &format!("h{i}.corp.example."), RecordType::A).await;
        assert_eq!(response.answers.len(), 1, "h{i}: {response}");
    }
    assert_eq!(forwarder.connections(), 2, "reopened once");
}

/// Socket activation: stream sockets named `dot` and `doh` (LISTEN_FDNAMES, from
/// FileDescriptorName= in the socket unit) serve DoT and DoH, through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_activation_passes_dot_and_doh_sockets() {
    use std::os::fd::AsRawFd;

    let block = 238;
    let setup = Setup::new(block).await;
    let ip: std::net::IpAddr = net(block, 200, 1).parse().unwrap();
    let plain = SocketAddr::new(ip, common::process::free_port(ip));
    let udp = std::net::UdpSocket::bind(plain).unwrap();
    let tcp = std::net::TcpListener::bind(plain).unwrap();
    let dot = std::net::TcpListener::bind((ip, 0)).unwrap();
    let doh = std::net::TcpListener::bind((ip, 0)).unwrap();
    let (dot_addr, doh_addr) = (dot.local_addr().unwrap(), doh.local_addr().unwrap());
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
    let fds = [
        udp.as_raw_fd(),
        tcp.as_raw_fd(),
        dot.as_raw_fd(),
        doh.as_raw_fd(),
    ];
    let command = common::process::socket_activated_command(&args, &fds, Some("dns:dns:dot:doh"));
    let mut ferret =
        common::process::FerretProcess::spawn(command, &setup.world.dir().join("ferret.log"));
    drop((udp, tcp, dot, doh));
    ferret.wait_until_serving(plain).await;

    let mut stream = connect(dot_addr, setup.dot_client()).await;
    let response = dot_exchange(&mut stream, &query("www.example.test.", RecordType::A)).await;
    assert_eq!(answer_strings(&response), vec![WWW], "{}", ferret.log());
    let mut client = HttpClient::connect(doh_addr, &setup.ca, Http::H2).await;
    let body = query("www.example.test.", RecordType::A).to_vec().unwrap();
    let reply = client
        .post("/dns-query", Some("application/dns-message"), body)
        .await;
    assert_eq!(answer_strings(&reply.message()), vec![WWW]);
    ferret.assert_running();
}
