//! Self-test of the fake authoritative servers, the test DNS client and the hierarchy
//! builder in `tests/common`. It uses only those helpers, not the resolver.
//!
//! Address blocks 245-254 (127.245.x.x - 127.254.x.x) belong to this file.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::authority::{AuthorityServer, Behaviour, Zone};
use common::client::{
    QueryOpts, answer_strings, authority_strings, build_query, min_ttl, query_tcp, query_udp,
    query_udp_opts, rcode, record_strings, send_raw_tcp, send_raw_udp, try_query_udp,
};
use common::hierarchy::{Hierarchy, net};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn at(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 53)
}

fn root_zone(block: u8) -> Zone {
    Zone::parse(
        ".",
        &format!(
            "$TTL 86400
.                   SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 3600
.                   NS  a.root-servers.test.
a.root-servers.test. A  {root}
test.               NS  ns1.test.
ns1.test.           A   {tld}
",
            root = net(block, 0, 1),
            tld = net(block, 0, 2),
        ),
    )
}

fn test_zone(block: u8) -> Zone {
    Zone::parse(
        "test.",
        &format!(
            "$TTL 3600
@               SOA ns1 hostmaster ( 1 7200 3600 1209600 300 )
@               NS  ns1
ns1             A   {tld}
a.root-servers  A   {root}
example         NS  ns1.example
ns1.example     A   {example}
",
            root = net(block, 0, 1),
            tld = net(block, 0, 2),
            example = net(block, 0, 3),
        ),
    )
}

fn example_zone(block: u8) -> Zone {
    let big_txt: String = (0..20)
        .map(|i| format!("big TXT \"{i:02}-{}\"\n", "x".repeat(100)))
        .collect();
    Zone::parse(
        "example.test",
        &format!(
            "$TTL 300
$ORIGIN example.test.
@       IN SOA ns1 hostmaster.example.test. (
                2024010101 ; serial
                3600 600 86400
                60 )       ; minimum: caps the negative TTL
@       NS  ns1
ns1     A   {example}
www     A   192.0.2.1
        AAAA 2001:db8::1
alias   CNAME www
chain   CNAME alias
out     CNAME www.elsewhere.test.
loop1   CNAME loop2
loop2   CNAME loop1
*.wild  A   192.0.2.99
*.wild  TXT \"wild\" \"card\"
sub.wild A  192.0.2.50
a.b.c   A   192.0.2.7
dn      600 DNAME target.example.test.
dname   A   192.0.2.77 ; a label called dname, not the type
x.target A  192.0.2.8
mx      MX  10 mail
srv._tcp SRV 0 5 5060 www
deleg   NS  ns.deleg
ns.deleg A  {example}
{big_txt}",
            example = net(block, 0, 3),
        ),
    )
}

async fn hierarchy(block: u8) -> Hierarchy {
    Hierarchy::builder()
        .server(&net(block, 0, 1), vec![root_zone(block)])
        .server(&net(block, 0, 2), vec![test_zone(block)])
        .server(&net(block, 0, 3), vec![example_zone(block)])
        .start()
        .await
}

async fn example_server(block: u8) -> AuthorityServer {
    AuthorityServer::start(net(block, 0, 3).parse().unwrap(), vec![example_zone(block)]).await
}

// Multi-threaded, as resolver tests may be: the servers must not rely on one thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_walk_from_the_root() {
    let block = 250;
    let h = hierarchy(block).await;

    let hints = std::fs::read_to_string(h.root_hints_path()).unwrap();
    assert!(
        hints.contains(".\t3600000\tNS\ta.root-servers.test."),
        "{hints}"
    );
    assert!(
        hints.contains(&format!(
            "a.root-servers.test.\t3600000\tA\t{}",
            net(block, 0, 1)
        )),
        "{hints}"
    );

    let root = query_udp(at(&net(block, 0, 1)), "www.example.test.", RecordType::A).await;
    assert_eq!(rcode(&root), ResponseCode::NoError);
    assert!(
        !root.metadata.authoritative,
        "a referral is not authoritative"
    );
    assert!(root.answers.is_empty());
    assert_eq!(authority_strings(&root), ["test. NS ns1.test."]);
    assert_eq!(
        record_strings(&root.additionals),
        [format!("ns1.test. A {}", net(block, 0, 2))]
    );
    assert!(root.edns.is_some(), "EDNS query gets an EDNS answer");

    let tld = query_udp(at(&net(block, 0, 2)), "www.example.test.", RecordType::A).await;
    assert!(!tld.metadata.authoritative);
    assert_eq!(
        authority_strings(&tld),
        ["example.test. NS ns1.example.test."]
    );
    assert_eq!(
        record_strings(&tld.additionals),
        [format!("ns1.example.test. A {}", net(block, 0, 3))]
    );

    let leaf = query_udp(at(&net(block, 0, 3)), "www.example.test.", RecordType::A).await;
    assert!(leaf.metadata.authoritative);
    assert!(leaf.metadata.recursion_desired, "RD is echoed");
    assert!(!leaf.metadata.recursion_available);
    assert_eq!(answer_strings(&leaf), ["www.example.test. A 192.0.2.1"]);
    assert_eq!(min_ttl(&leaf), 300);

    // The root server also answers for names below its own zone's glue by referral.
    let glue = query_udp(at(&net(block, 0, 1)), "a.root-servers.test.", RecordType::A).await;
    assert!(!glue.metadata.authoritative);
    assert_eq!(authority_strings(&glue), ["test. NS ns1.test."]);

    // Not served here at all.
    let refused = query_udp(at(&net(block, 0, 3)), "example.org.", RecordType::A).await;
    assert_eq!(rcode(&refused), ResponseCode::Refused);

    assert_eq!(h.server(&net(block, 0, 1)).query_count(), 2);
    assert_eq!(h.total_queries(), 5);
}

#[tokio::test]
async fn authoritative_answers_follow_rfc_1034() {
    let block = 251;
    let server = example_server(block).await;
    let addr = server.addr();

    // CNAME chain is chased inside the zone.
    let chain = query_udp(addr, "chain.example.test.", RecordType::A).await;
    assert!(chain.metadata.authoritative);
    assert_eq!(
        answer_strings(&chain),
        [
            "alias.example.test. CNAME www.example.test.",
            "chain.example.test. CNAME alias.example.test.",
            "www.example.test. A 192.0.2.1",
        ]
    );
    // ...but not out of it.
    let out = query_udp(addr, "out.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&out),
        ["out.example.test. CNAME www.elsewhere.test."]
    );
    assert_eq!(rcode(&out), ResponseCode::NoError);
    // Asking for the CNAME itself does not chase.
    let cname = query_udp(addr, "alias.example.test.", RecordType::CNAME).await;
    assert_eq!(
        answer_strings(&cname),
        ["alias.example.test. CNAME www.example.test."]
    );
    // A loop terminates.
    let looped = query_udp(addr, "loop1.example.test.", RecordType::A).await;
    assert_eq!(looped.answers.len(), 2);

    // Wildcards synthesize records owned by the query name.
    let wild = query_udp(addr, "Foo.Wild.example.test.", RecordType::A).await;
    assert!(wild.metadata.authoritative);
    assert_eq!(
        answer_strings(&wild),
        ["foo.wild.example.test. A 192.0.2.99"]
    );
    let wild_txt = query_udp(addr, "foo.wild.example.test.", RecordType::TXT).await;
    assert_eq!(
        answer_strings(&wild_txt),
        [r#"foo.wild.example.test. TXT "wild" "card""#]
    );
    let wild_nodata = query_udp(addr, "foo.wild.example.test.", RecordType::MX).await;
    assert_eq!(rcode(&wild_nodata), ResponseCode::NoError);
    assert!(wild_nodata.answers.is_empty());
    // An existing name blocks the wildcard, and so does it for names below it.
    let exact = query_udp(addr, "sub.wild.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&exact),
        ["sub.wild.example.test. A 192.0.2.50"]
    );
    let below = query_udp(addr, "x.sub.wild.example.test.", RecordType::A).await;
    assert_eq!(rcode(&below), ResponseCode::NXDomain);

    // DNAME: the DNAME, a synthesized CNAME, then the chased target.
    let dname = query_udp(addr, "x.dn.example.test.", RecordType::A).await;
    assert!(dname.metadata.authoritative);
    assert_eq!(
        answer_strings(&dname),
        [
            "dn.example.test. DNAME target.example.test.",
            "x.dn.example.test. CNAME x.target.example.test.",
            "x.target.example.test. A 192.0.2.8",
        ]
    );
    // The DNAME keeps its own TTL and lends it to the synthesized CNAME.
    assert_eq!(dname.answers[0].ttl, 600);
    assert_eq!(dname.answers[1].ttl, 600);
    let dname_itself = query_udp(addr, "dn.example.test.", RecordType::DNAME).await;
    assert_eq!(
        answer_strings(&dname_itself),
        ["dn.example.test. DNAME target.example.test."]
    );
    let dname_label = query_udp(addr, "dname.example.test.", RecordType::A).await;
    assert_eq!(
        answer_strings(&dname_label),
        ["dname.example.test. A 192.0.2.77"]
    );

    // A substitution longer than 255 octets is YXDOMAIN (RFC 6672 §2.2).
    let long = format!(
        "{a}.{a}.{a}.{b}.dn.example.test.",
        a = "a".repeat(63),
        b = "b".repeat(45)
    );
    let overflow = query_udp(addr, &long, RecordType::A).await;
    assert_eq!(rcode(&overflow), ResponseCode::YXDomain);
    assert_eq!(
        answer_strings(&overflow),
        ["dn.example.test. DNAME target.example.test."]
    );

    // NXDOMAIN and NODATA carry the SOA, its TTL capped by MINIMUM (RFC 2308).
    let nx = query_udp(addr, "nope.example.test.", RecordType::A).await;
    assert_eq!(rcode(&nx), ResponseCode::NXDomain);
    assert!(nx.metadata.authoritative);
    assert!(nx.answers.is_empty());
    assert_eq!(nx.authorities.len(), 1);
    assert_eq!(nx.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(min_ttl(&nx), 60);
    let nodata = query_udp(addr, "www.example.test.", RecordType::MX).await;
    assert_eq!(rcode(&nodata), ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(min_ttl(&nodata), 60);
    // An empty non-terminal exists: NODATA, not NXDOMAIN.
    let ent = query_udp(addr, "b.c.example.test.", RecordType::A).await;
    assert_eq!(rcode(&ent), ResponseCode::NoError);
    assert!(ent.answers.is_empty());

    // Delegation inside the zone: referral with glue; DS is answered by the parent side.
    let deleg = query_udp(addr, "www.deleg.example.test.", RecordType::A).await;
    assert!(!deleg.metadata.authoritative);
    assert_eq!(
        authority_strings(&deleg),
        ["deleg.example.test. NS ns.deleg.example.test."]
    );
    assert_eq!(deleg.additionals.len(), 1);
    let ds = query_udp(addr, "deleg.example.test.", RecordType::DS).await;
    assert!(ds.metadata.authoritative);
    assert_eq!(ds.authorities[0].record_type(), RecordType::SOA);

    // Other types and ANY.
    let mx = query_udp(addr, "mx.example.test.", RecordType::MX).await;
    assert_eq!(
        answer_strings(&mx),
        ["mx.example.test. MX 10 mail.example.test."]
    );
    let srv = query_udp(addr, "srv._tcp.example.test.", RecordType::SRV).await;
    assert_eq!(
        answer_strings(&srv),
        ["srv._tcp.example.test. SRV 0 5 5060 www.example.test."]
    );
    let any = query_udp(addr, "www.example.test.", RecordType::ANY).await;
    assert_eq!(
        answer_strings(&any),
        [
            "www.example.test. A 192.0.2.1",
            "www.example.test. AAAA 2001:db8::1"
        ]
    );
}

#[tokio::test]
async fn large_answers_truncate_over_udp_and_fit_over_tcp() {
    let block = 252;
    let server = example_server(block).await;
    let addr = server.addr();

    let udp = query_udp(addr, "big.example.test.", RecordType::TXT).await;
    assert!(udp.metadata.truncation, "TC must be set");
    assert!(udp.answers.is_empty() && udp.authorities.is_empty() && udp.additionals.is_empty());
    assert_eq!(udp.queries.len(), 1);

    let tcp = query_tcp(addr, "big.example.test.", RecordType::TXT).await;
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 20);

    // Without EDNS the limit is 512 octets; a small answer still fits.
    let no_edns = QueryOpts {
        edns: None,
        ..QueryOpts::default()
    };
    let small = query_udp_opts(addr, "www.example.test.", RecordType::A, no_edns).await;
    assert!(!small.metadata.truncation);
    assert!(
        small.edns.is_none(),
        "no OPT in the answer to a query without one"
    );
    // A big EDNS buffer gets the whole answer over UDP.
    let big_buffer = QueryOpts {
        edns: Some(4096),
        ..QueryOpts::default()
    };
    let whole = query_udp_opts(addr, "big.example.test.", RecordType::TXT, big_buffer).await;
    assert!(!whole.metadata.truncation);
    assert_eq!(whole.answers.len(), 20);

    // The raw helper frames a query and returns the framed reply.
    let raw = build_query("www.example.test.", RecordType::AAAA, QueryOpts::default());
    let reply = send_raw_tcp(addr, &raw.to_vec().unwrap())
        .await
        .expect("TCP reply");
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.id, raw.metadata.id);
    assert_eq!(
        answer_strings(&reply),
        ["www.example.test. AAAA 2001:db8::1"]
    );

    // Several queries on one TCP connection, answered in order.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let queries: Vec<Message> = [RecordType::A, RecordType::AAAA]
        .into_iter()
        .map(|rtype| build_query("www.example.test.", rtype, QueryOpts::default()))
        .collect();
    for query in &queries {
        let bytes = query.to_vec().unwrap();
        stream.write_u16(bytes.len() as u16).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
    }
    for query in &queries {
        let len = stream.read_u16().await.unwrap();
        let mut reply = vec![0; usize::from(len)];
        stream.read_exact(&mut reply).await.unwrap();
        let reply = Message::from_vec(&reply).unwrap();
        assert_eq!(reply.metadata.id, query.metadata.id);
        assert_eq!(reply.answers.len(), 1);
    }
    assert_eq!(server.queries().iter().filter(|q| q.tcp).count(), 4);
}

#[tokio::test]
async fn queries_are_logged_and_counted() {
    let block = 253;
    let server = example_server(block).await;
    let addr = server.addr();

    query_udp(addr, "WwW.Example.TEST.", RecordType::A).await;
    query_udp(addr, "www.example.test", RecordType::A).await;
    query_tcp(addr, "www.example.test.", RecordType::AAAA).await;

    assert_eq!(server.query_count(), 3);
    assert_eq!(server.count_for("www.example.test", RecordType::A), 2);
    assert_eq!(server.count_for("WWW.EXAMPLE.TEST.", RecordType::AAAA), 1);
    assert_eq!(server.count_for("www.example.test.", RecordType::MX), 0);
    let log = server.queries();
    assert_eq!(
        log[0].name.to_string(),
        "WwW.Example.TEST.",
        "case is preserved"
    );
    assert!(!log[0].tcp);
    assert!(log[2].tcp);

    server.clear_queries();
    assert_eq!(server.query_count(), 0);
}

#[tokio::test]
async fn misbehaviour_can_be_switched_at_runtime() {
    let block = 254;
    let server = example_server(block).await;
    let addr = server.addr();
    let opts = QueryOpts::default();
    let short = Duration::from_millis(300);
    let raw_query = || build_query("www.example.test.", RecordType::A, opts);

    server.set_behaviour(Behaviour::Drop);
    assert!(
        try_query_udp(addr, "www.example.test.", RecordType::A, opts, short)
            .await
            .is_none()
    );
    assert_eq!(server.query_count(), 1, "dropped queries are still logged");

    for (behaviour, expected) in [
        (Behaviour::ServFail, ResponseCode::ServFail),
        (Behaviour::Refused, ResponseCode::Refused),
        (Behaviour::FormErr, ResponseCode::FormErr),
    ] {
        server.set_behaviour(behaviour);
        let msg = query_udp(addr, "www.example.test.", RecordType::A).await;
        assert_eq!(rcode(&msg), expected);
        assert!(msg.answers.is_empty());
    }

    server.set_behaviour(Behaviour::WrongId);
    let query = raw_query();
    let reply = send_raw_udp(addr, &query.to_vec().unwrap(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_ne!(
        Message::from_vec(&reply).unwrap().metadata.id,
        query.metadata.id
    );
    assert!(
        try_query_udp(addr, "www.example.test.", RecordType::A, opts, short)
            .await
            .is_none()
    );

    server.set_behaviour(Behaviour::Garbage);
    let query = raw_query();
    let reply = send_raw_udp(addr, &query.to_vec().unwrap(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reply[..2], query.metadata.id.to_be_bytes());
    assert!(Message::from_vec(&reply).is_err());

    server.set_behaviour(Behaviour::WrongQuestion);
    let query = raw_query();
    let reply = send_raw_udp(addr, &query.to_vec().unwrap(), Duration::from_secs(5))
        .await
        .unwrap();
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(reply.metadata.id, query.metadata.id);
    assert_ne!(reply.queries, query.queries);

    server.set_behaviour(Behaviour::AlwaysTruncate);
    let udp = query_udp(addr, "www.example.test.", RecordType::A).await;
    assert!(udp.metadata.truncation && udp.answers.is_empty());
    let tcp = query_tcp(addr, "www.example.test.", RecordType::A).await;
    assert_eq!(answer_strings(&tcp), ["www.example.test. A 192.0.2.1"]);

    server.set_behaviour(Behaviour::Delay(Duration::from_millis(400)));
    assert!(
        try_query_udp(
            addr,
            "www.example.test.",
            RecordType::A,
            opts,
            Duration::from_millis(150)
        )
        .await
        .is_none()
    );
    let started = Instant::now();
    let late = query_udp(addr, "www.example.test.", RecordType::A).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(answer_strings(&late), ["www.example.test. A 192.0.2.1"]);

    server.set_behaviour(Behaviour::Normal);
    server.set_latency(Duration::from_millis(100));
    let started = Instant::now();
    query_udp(addr, "www.example.test.", RecordType::A).await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    server.set_latency(Duration::ZERO);

    // Undecodable queries get FORMERR with the ID echoed.
    let reply = send_raw_udp(
        addr,
        &[0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff],
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let reply = Message::from_vec(&reply).unwrap();
    assert_eq!(
        (reply.metadata.id, rcode(&reply)),
        (0x1234, ResponseCode::FormErr)
    );
}

#[tokio::test]
async fn behaviour_from_the_builder_and_stopping() {
    let block = 249;
    let root = net(block, 0, 1);
    let h = Hierarchy::builder()
        .server(&root, vec![root_zone(block)])
        .behaviour(&root, Behaviour::Drop)
        .start()
        .await;
    let silent = try_query_udp(
        at(&root),
        "test.",
        RecordType::NS,
        QueryOpts::default(),
        Duration::from_millis(200),
    )
    .await;
    assert!(silent.is_none());
    assert_eq!(h.server(&root).query_count(), 1);
    h.stop().await;

    // stop() frees the address at once; after a plain drop, start() waits for it.
    let server = AuthorityServer::start(root.parse().unwrap(), vec![root_zone(block)]).await;
    drop(server);
    let server = AuthorityServer::start(root.parse().unwrap(), vec![root_zone(block)]).await;
    assert_eq!(
        rcode(&query_tcp(server.addr(), "test.", RecordType::NS).await),
        ResponseCode::NoError
    );
    server.stop().await;

    // A dead address (nobody listening) answers nothing, over UDP or TCP.
    let dead = try_query_udp(
        at(&root),
        "test.",
        RecordType::NS,
        QueryOpts::default(),
        Duration::from_millis(200),
    )
    .await;
    assert!(dead.is_none());
    assert!(
        send_raw_tcp(
            at(&root),
            &build_query("test.", RecordType::NS, QueryOpts::default())
                .to_vec()
                .unwrap()
        )
        .await
        .is_none()
    );
}

#[test]
#[should_panic(expected = "no SOA")]
fn zone_without_soa_is_rejected() {
    Zone::parse("example.test.", "$TTL 60\nwww A 192.0.2.1\n");
}

#[test]
#[should_panic(expected = "outside the zone")]
fn out_of_zone_data_is_rejected() {
    Zone::parse(
        "example.test.",
        "$TTL 60\n@ SOA ns hm 1 2 3 4 5\nwww.example.org. A 192.0.2.1\n",
    );
}

#[test]
#[should_panic(expected = "cannot parse")]
fn unparsable_zone_is_rejected() {
    Zone::parse(
        "example.test.",
        "$TTL 60\n@ SOA ns hm 1 2 3 4 5\nwww A not-an-address\n",
    );
}

#[test]
fn dname_presentation_variants_parse() {
    let zone = Zone::parse(
        "example.test.",
        "$TTL 60
@ SOA ns hm 1 2 3 4 5
a 120 IN DNAME elsewhere.test.
b IN dname relative
  TXT \"DNAME\" ; a TXT at b, not a DNAME
c TXT ( \"x\"
  ) ; parentheses spanning lines
dname CNAME a ; an owner called dname
",
    );
    let dname = |owner: &str| {
        let records = zone.rrset(&common::authority::fqdn(owner), RecordType::DNAME);
        assert_eq!(records.len(), 1, "one DNAME at {owner}");
        (
            common::authority::dname_target(&records[0].data)
                .unwrap()
                .to_string(),
            records[0].ttl,
        )
    };
    assert_eq!(dname("a.example.test"), ("elsewhere.test.".to_owned(), 120));
    assert_eq!(
        dname("b.example.test"),
        ("relative.example.test.".to_owned(), 60)
    );
    let b_txt = zone.rrset(&common::authority::fqdn("b.example.test"), RecordType::TXT);
    assert_eq!(record_strings(b_txt), [r#"b.example.test. TXT "DNAME""#]);
    assert_eq!(
        zone.rrset(
            &common::authority::fqdn("dname.example.test"),
            RecordType::CNAME
        )
        .len(),
        1
    );
}
