//! Configured delegations and local data, end to end with real packets: forward zones (RD=1 to a
//! fake recursive server on its own port, answers scrubbed to the zone), stub zones (iteration from
//! given servers), local zones of each type and local data, and reloading all of it without
//! losing the cache.
//!
//! Address blocks 170–177 (127.170.x.y – 127.177.x.y) belong to this file.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::authority::{AuthorityServer, Behaviour, Zone, fqdn};
use common::client::{QueryOpts, answer_strings, query_udp, try_query_udp};
use common::ferret::{addr, start, test_config};
use common::hierarchy::net;
use common::world;
use ferret::config::{ForwardZone, LocalZone, LocalZoneType, StubZone, parse_local_record};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

fn name(text: &str) -> Name {
    fqdn(text)
}

/// The zone a fake forwarder answers for: what a recursive server would have found.
fn corp_zone() -> Zone {
    Zone::parse(
        "corp.example.",
        "$TTL 3600
@      SOA ns.corp.example. hostmaster.corp.example. 1 3600 900 604800 300
@      NS  ns.corp.example.
ns     A   192.0.2.10
www    A   192.0.2.11
",
    )
}

/// A server on `ip` with a port the kernel picks: forward and stub servers need not be on 53.
async fn server_on_any_port(ip: &str, zones: Vec<Zone>) -> AuthorityServer {
    let addr: SocketAddr = format!("{ip}:0").parse().expect("address");
    AuthorityServer::start_at(addr, zones, Behaviour::Normal).await
}

/// `ADDR@PORT`, Unbound's notation, for a server started on any port.
fn at_port(server: &AuthorityServer) -> SocketAddr {
    assert_ne!(
        server.addr().port(),
        53,
        "the point is a port other than 53"
    );
    server.addr()
}

fn forward(zone: &str, server: SocketAddr) -> ForwardZone {
    ForwardZone {
        name: name(zone),
        servers: vec![server],
        recursion_desired: true,
        tls: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_zones_send_whole_questions_with_rd_to_their_port() {
    let hierarchy = world::start(170).await;
    let forwarder = server_on_any_port(&net(170, 50, 1), vec![corp_zone()]).await;
    let mut config = test_config(170, &hierarchy.root_hints_path());
    // Forwarders the operator named may be on loopback even when delegations there are refused.
    config.allow_loopback_upstream = false;
    config.forward_zones = vec![forward("corp.example.", at_port(&forwarder))];
    let ferret = start(&config).await;

    let response = query_udp(addr(&ferret), "www.corp.example.", RecordType::A).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        answer_strings(&response),
        vec!["www.corp.example. A 192.0.2.11"]
    );
    let missing = query_udp(addr(&ferret), "a.b.nowhere.corp.example.", RecordType::A).await;
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);

    let asked = forwarder.queries();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked.iter().all(|q| q.recursion_desired), "{asked:?}");
    // The whole question, never a minimised one: the forwarder resolves it itself.
    assert_eq!(asked[0].name, name("www.corp.example."));
    assert_eq!(asked[1].name, name("a.b.nowhere.corp.example."));
    assert_eq!(hierarchy.total_queries(), 0, "the root was asked");

    // The answer was cached like any other.
    let again = query_udp(addr(&ferret), "www.corp.example.", RecordType::A).await;
    assert_eq!(answer_strings(&again), answer_strings(&response));
    assert_eq!(forwarder.query_count(), 2);
}

/// A "recursive server" that answers every question with a CNAME into another zone plus a forged
/// address for the CNAME's target, as a poisoned or malicious forwarder would.
struct ForgingForwarder {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ForgingForwarder {
    async fn start(ip: &str, target: &str, forged: [u8; 4]) -> Self {
        let socket = UdpSocket::bind(format!("{ip}:0")).await.expect("bind");
        let addr = socket.local_addr().expect("local address");
        let target = name(target);
        let task = tokio::spawn(async move {
            let mut buffer = vec![0u8; 4096];
            loop {
                let Ok((length, client)) = socket.recv_from(&mut buffer).await else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buffer[..length]) else {
                    continue;
                };
                let Some(question) = query.queries.first().cloned() else {
                    continue;
                };
                let mut response =
                    Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                response.metadata.recursion_desired = query.metadata.recursion_desired;
                response.metadata.recursion_available = true;
                response.add_query(question.clone());
                response.add_answer(Record::from_rdata(
                    question.name().clone(),
                    300,
                    RData::CNAME(CNAME(target.clone())),
                ));
                response.add_answer(Record::from_rdata(
                    target.clone(),
                    300,
                    RData::A(A(forged.into())),
                ));
                if let Ok(bytes) = response.to_vec() {
                    let _ = socket.send_to(&bytes, client).await;
                }
            }
        });
        ForgingForwarder { addr, task }
    }
}

impl Drop for ForgingForwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_answers_are_scrubbed_to_the_forward_zone() {
    let hierarchy = world::start(171).await;
    let forger =
        ForgingForwarder::start(&net(171, 50, 1), "www.example.test.", [203, 0, 113, 66]).await;
    let mut config = test_config(171, &hierarchy.root_hints_path());
    config.forward_zones = vec![forward("corp.example.", forger.addr)];
    let ferret = start(&config).await;

    // The CNAME is the forward zone's own; the address of www.example.test is not the forwarder's
    // to give, so ferret looks it up through the hierarchy.
    let response = query_udp(addr(&ferret), "www.corp.example.", RecordType::A).await;
    assert_eq!(
        answer_strings(&response),
        vec![
            "www.corp.example. CNAME www.example.test.",
            "www.example.test. A 192.0.2.1",
        ]
    );
    let direct = query_udp(addr(&ferret), "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&direct),
        vec!["www.example.test. A 192.0.2.1"]
    );
    let example_test = hierarchy.server(&world::Addresses::new(171).example_test);
    assert!(example_test.count_for("www.example.test.", RecordType::A) >= 1);
}

fn internal_zone(sub_server: &str) -> Zone {
    Zone::parse(
        "internal.",
        &format!(
            "$TTL 3600
@       SOA ns.internal. hostmaster.internal. 1 3600 900 604800 300
@       NS  ns.internal.
ns      A   192.0.2.20
www     A   192.0.2.21
sub     NS  ns.sub.internal.
ns.sub  A   {sub_server}
"
        ),
    )
}

fn sub_internal_zone() -> Zone {
    Zone::parse(
        "sub.internal.",
        "$TTL 3600
@     SOA ns.sub.internal. hostmaster.internal. 1 3600 900 604800 300
@     NS  ns.sub.internal.
host  A   192.0.2.22
",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stub_zones_iterate_from_their_servers() {
    let hierarchy = world::start(172).await;
    let sub_ip = net(172, 51, 1);
    let stub = server_on_any_port(&net(172, 50, 1), vec![internal_zone(&sub_ip)]).await;
    let sub = AuthorityServer::start(sub_ip.parse().expect("ip"), vec![sub_internal_zone()]).await;
    // A stub zone also overrides what the public tree says: example.test from another server.
    let private_example = server_on_any_port(
        &net(172, 52, 1),
        vec![Zone::parse(
            "example.test.",
            "$TTL 3600
@    SOA ns.example.test. hostmaster.example.test. 1 3600 900 604800 300
@    NS  ns.example.test.
www  A   192.0.2.99
",
        )],
    )
    .await;
    let mut config = test_config(172, &hierarchy.root_hints_path());
    config.stub_zones = vec![
        StubZone {
            name: name("internal."),
            servers: vec![at_port(&stub)],
        },
        StubZone {
            name: name("example.test."),
            servers: vec![at_port(&private_example)],
        },
    ];
    let ferret = start(&config).await;

    let www = query_udp(addr(&ferret), "www.internal.", RecordType::A).await;
    assert_eq!(answer_strings(&www), vec!["www.internal. A 192.0.2.21"]);
    // Below the stub, the referral to sub.internal. is followed as in any iteration.
    let host = query_udp(addr(&ferret), "host.sub.internal.", RecordType::A).await;
    assert_eq!(
        answer_strings(&host),
        vec!["host.sub.internal. A 192.0.2.22"]
    );
    assert!(sub.count_for("host.sub.internal.", RecordType::A) >= 1);
    let private = query_udp(addr(&ferret), "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&private),
        vec!["www.example.test. A 192.0.2.99"]
    );

    let asked: Vec<_> = stub.queries().into_iter().chain(sub.queries()).collect();
    assert!(!asked.is_empty());
    assert!(asked.iter().all(|q| !q.recursion_desired), "{asked:?}");
    assert_eq!(hierarchy.total_queries(), 0, "the public tree was asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stub_servers_obey_the_loopback_policy_and_forwarders_do_not() {
    let hierarchy = world::start(173).await;
    let stub = server_on_any_port(&net(173, 50, 1), vec![internal_zone(&net(173, 51, 1))]).await;
    let forwarder = server_on_any_port(&net(173, 52, 1), vec![corp_zone()]).await;
    let mut config = test_config(173, &hierarchy.root_hints_path());
    config.allow_loopback_upstream = false;
    config.stub_zones = vec![StubZone {
        name: name("internal."),
        servers: vec![at_port(&stub)],
    }];
    config.forward_zones = vec![forward("corp.example.", at_port(&forwarder))];
    let ferret = start(&config).await;

    let stubbed = query_udp(addr(&ferret), "www.internal.", RecordType::A).await;
    assert_eq!(stubbed.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(stub.query_count(), 0, "a loopback stub server was queried");
    let forwarded = query_udp(addr(&ferret), "www.corp.example.", RecordType::A).await;
    assert_eq!(
        answer_strings(&forwarded),
        vec!["www.corp.example. A 192.0.2.11"]
    );
}

fn local_zone(zone: &str, kind: LocalZoneType) -> LocalZone {
    LocalZone {
        name: name(zone),
        kind,
    }
}

fn records(texts: &[&str]) -> Vec<Record> {
    texts
        .iter()
        .map(|t| parse_local_record(t).expect("local-data parses"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_zones_answer_by_their_type() {
    let hierarchy = world::start(174).await;
    let a = world::Addresses::new(174);
    let mut config = test_config(174, &hierarchy.root_hints_path());
    config.local_zones = vec![
        local_zone("lan.", LocalZoneType::Static),
        local_zone("blocked.test.", LocalZoneType::Refuse),
        local_zone("ads.example.test.", LocalZoneType::AlwaysNxdomain),
        local_zone("example.test.", LocalZoneType::Transparent),
    ];
    config.local_data = records(&[
        "printer.lan. 600 IN A 192.0.2.7",
        "alias.lan. CNAME www.example.test.",
        "ok.blocked.test. A 192.0.2.8",
        "x.ads.example.test. A 192.0.2.9",
        "override.example.test. A 192.0.2.123",
        "host.corp. A 192.0.2.77",
    ]);
    let ferret = start(&config).await;
    let at = addr(&ferret);
    let ask = |name: &'static str, rtype| async move { query_udp(at, name, rtype).await };

    let printer = ask("printer.lan.", RecordType::A).await;
    assert_eq!(answer_strings(&printer), vec!["printer.lan. A 192.0.2.7"]);
    assert_eq!(printer.answers[0].ttl, 600);
    let other = ask("other.lan.", RecordType::A).await;
    assert_eq!(other.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(other.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(
        ask("printer.lan.", RecordType::AAAA)
            .await
            .metadata
            .response_code,
        ResponseCode::NoError
    );

    assert_eq!(
        ask("www.blocked.test.", RecordType::A)
            .await
            .metadata
            .response_code,
        ResponseCode::Refused
    );
    let ok = ask("ok.blocked.test.", RecordType::A).await;
    assert_eq!(answer_strings(&ok), vec!["ok.blocked.test. A 192.0.2.8"]);
    for name in ["ads.example.test.", "x.ads.example.test."] {
        assert_eq!(
            ask(name, RecordType::A).await.metadata.response_code,
            ResponseCode::NXDomain,
            "{name}"
        );
    }

    // Transparent: local data where there is some, the DNS for the rest.
    let local = ask("override.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&local),
        vec!["override.example.test. A 192.0.2.123"]
    );
    let resolved = ask("www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&resolved),
        vec!["www.example.test. A 192.0.2.1"]
    );
    // A record outside every zone gets a transparent zone of its own.
    let host = ask("host.corp.", RecordType::A).await;
    assert_eq!(answer_strings(&host), vec!["host.corp. A 192.0.2.77"]);
    // A local CNAME is followed through the DNS.
    let alias = ask("alias.lan.", RecordType::A).await;
    assert_eq!(
        answer_strings(&alias),
        vec![
            "alias.lan. CNAME www.example.test.",
            "www.example.test. A 192.0.2.1",
        ]
    );

    let example_test = hierarchy.server(&a.example_test);
    for local_name in [
        "override.example.test.",
        "x.ads.example.test.",
        "ads.example.test.",
    ] {
        assert_eq!(
            example_test.count_for(local_name, RecordType::A),
            0,
            "{local_name} went upstream"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_the_cache() {
    let hierarchy = world::start(175).await;
    let mut config = test_config(175, &hierarchy.root_hints_path());
    config.local_data = records(&["changed.lan. A 192.0.2.50"]);
    let mut ferret = start(&config).await;
    let first = query_udp(addr(&ferret), "www.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&first),
        vec!["www.example.test. A 192.0.2.1"]
    );
    let old = query_udp(addr(&ferret), "changed.lan.", RecordType::A).await;
    assert_eq!(answer_strings(&old), vec!["changed.lan. A 192.0.2.50"]);
    hierarchy.clear_queries();

    let mut changed = config.clone();
    changed.limits.max_referrals = 20;
    changed.limits.upstream_timeout_ms = 400;
    changed.local_data = records(&["new.lan. A 192.0.2.55", "changed.lan. A 192.0.2.51"]);
    ferret.reload(&changed).expect("reload");
    // Local data changed under an answer the fast path had kept: the new data is served.
    let new_data = query_udp(addr(&ferret), "changed.lan.", RecordType::A).await;
    assert_eq!(answer_strings(&new_data), vec!["changed.lan. A 192.0.2.51"]);

    let again = query_udp(addr(&ferret), "www.example.test.", RecordType::A).await;
    assert_eq!(answer_strings(&again), answer_strings(&first));
    assert_eq!(hierarchy.total_queries(), 0, "the cache was dropped");
    let new = query_udp(addr(&ferret), "new.lan.", RecordType::A).await;
    assert_eq!(answer_strings(&new), vec!["new.lan. A 192.0.2.55"]);
    // The reloaded resolver still resolves what it has not cached.
    let mail = query_udp(addr(&ferret), "mail.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&mail),
        vec!["mail.example.test. A 192.0.2.25"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_forward_zones_and_forgets_what_they_replace() {
    let hierarchy = world::start(176).await;
    let forwarder = server_on_any_port(&net(176, 50, 1), vec![corp_zone()]).await;
    let config = test_config(176, &hierarchy.root_hints_path());
    let mut ferret = start(&config).await;
    // Before: the public tree has no corp.example (NXDOMAIN, cached).
    let before = query_udp(addr(&ferret), "www.corp.example.", RecordType::A).await;
    assert_eq!(before.metadata.response_code, ResponseCode::NXDomain);
    let kept = query_udp(addr(&ferret), "www.example.test.", RecordType::A).await;
    hierarchy.clear_queries();

    let mut with_forward = config.clone();
    with_forward.forward_zones = vec![forward("corp.example.", at_port(&forwarder))];
    ferret.reload(&with_forward).expect("reload");

    let after = query_udp(addr(&ferret), "www.corp.example.", RecordType::A).await;
    assert_eq!(
        answer_strings(&after),
        vec!["www.corp.example. A 192.0.2.11"]
    );
    assert_eq!(forwarder.query_count(), 1);
    // Only the forward zone's entries were dropped.
    let still = query_udp(addr(&ferret), "www.example.test.", RecordType::A).await;
    assert_eq!(answer_strings(&still), answer_strings(&kept));
    assert_eq!(hierarchy.total_queries(), 0);

    // And back: without the forward zone, the public tree answers again.
    ferret.reload(&config).expect("reload");
    let undone = query_udp(addr(&ferret), "www.corp.example.", RecordType::A).await;
    assert_eq!(undone.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(forwarder.query_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_binds_new_listeners_and_closes_removed_ones() {
    let hierarchy = world::start(177).await;
    let mut config = test_config(177, &hierarchy.root_hints_path());
    config.local_data = records(&["probe.lan. A 192.0.2.1"]);
    let mut ferret = start(&config).await;
    let old = addr(&ferret);

    let mut moved = config.clone();
    moved.listen = vec![format!("{}:0", net(177, 201, 1)).parse().expect("listen")];
    ferret.reload(&moved).expect("reload");
    assert_eq!(ferret.udp_addrs().len(), 1);
    let new = addr(&ferret);
    assert_ne!(new, old);
    let answer = query_udp(new, "probe.lan.", RecordType::A).await;
    assert_eq!(answer_strings(&answer), vec!["probe.lan. A 192.0.2.1"]);
    let silent = try_query_udp(
        old,
        "probe.lan.",
        RecordType::A,
        QueryOpts::default(),
        Duration::from_millis(500),
    )
    .await;
    assert!(silent.is_none(), "the removed listener still answers");

    // An address that cannot be bound (the one in use, under another entry) fails the reload,
    // and nothing changes.
    let mut unbindable = moved.clone();
    unbindable.listen.push(new);
    unbindable.local_data = records(&["probe.lan. A 192.0.2.2"]);
    assert!(ferret.reload(&unbindable).is_err());
    assert_eq!(ferret.udp_addrs(), &[new]);
    let still = query_udp(new, "probe.lan.", RecordType::A).await;
    assert_eq!(answer_strings(&still), vec!["probe.lan. A 192.0.2.1"]);
}
