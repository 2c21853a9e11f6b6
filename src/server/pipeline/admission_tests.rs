//! `admit`: access control, cookies and rate limiting in front of the parser, on messages built
//! with hickory-proto.

use std::net::IpAddr;

use clap::Parser;
use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, RecordType};

use super::{Admission, ClientPolicy, Transport, admit, encode};
use crate::answer::Answer;
use crate::clock::Clock;
use crate::config::Config;
use crate::cookie::{COOKIE_OPTION, Cookie, cookie_in};

const ID: u16 = 0x1234;
const CLIENT_COOKIE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The policy ferret runs with given these command-line flags.
fn policy(flags: &[&str]) -> ClientPolicy {
    let config = Config::parse_from(std::iter::once("ferret").chain(flags.iter().copied()));
    ClientPolicy::new(&config, Clock::system())
}

/// A query for `localhost. A` with EDNS and, if given, a raw COOKIE option.
fn query_bytes(cookie: Option<&[u8]>) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = ID;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(
        Name::from_ascii("localhost.").unwrap(),
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    if let Some(cookie) = cookie {
        edns.options_mut()
            .insert(EdnsOption::Unknown(COOKIE_OPTION, cookie.to_vec()));
    }
    message.set_edns(edns);
    message.to_vec().unwrap()
}

#[track_caller]
fn reply(admission: Admission) -> Message {
    match admission {
        Admission::Reply(bytes) => Message::from_vec(&bytes).unwrap(),
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn loopback_is_served_by_default_and_others_refused_with_a_bare_header() {
    let policy = policy(&[]);
    let bytes = query_bytes(None);
    assert!(matches!(
        admit(&bytes, ip("127.0.0.1"), Transport::Udp, &policy),
        Admission::Answer(_)
    ));
    let refused = reply(admit(&bytes, ip("192.0.2.1"), Transport::Udp, &policy));
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    assert_eq!(refused.metadata.id, ID);
    assert_eq!(refused.metadata.op_code, OpCode::Query);
    assert!(
        refused.queries.is_empty(),
        "the body of a refused query is never read"
    );
}

#[test]
fn refuse_silently_sends_nothing() {
    let policy = policy(&["--allow", "192.0.2.0/24", "--refuse-silently"]);
    let bytes = query_bytes(None);
    assert!(matches!(
        admit(&bytes, ip("192.0.2.9"), Transport::Udp, &policy),
        Admission::Answer(_)
    ));
    assert!(matches!(
        admit(&bytes, ip("127.0.0.1"), Transport::Udp, &policy),
        Admission::Nothing
    ));
}

#[test]
fn a_cookie_of_a_bad_length_is_formerr() {
    let policy = policy(&[]);
    for len in [1, 7, 9, 15, 41] {
        let bytes = query_bytes(Some(&vec![9; len]));
        let response = reply(admit(&bytes, ip("127.0.0.1"), Transport::Udp, &policy));
        assert_eq!(
            response.metadata.response_code,
            ResponseCode::FormErr,
            "{len}"
        );
        assert_eq!(response.metadata.id, ID);
    }
}

#[test]
fn a_client_cookie_gets_a_server_cookie_that_then_verifies() {
    let policy = policy(&[]);
    let client = ip("127.0.0.1");
    let Admission::Answer(query) = admit(
        &query_bytes(Some(&CLIENT_COOKIE)),
        client,
        Transport::Udp,
        &policy,
    ) else {
        panic!("a query with a client cookie is answered");
    };
    let response = Message::from_vec(&encode(&query, &Answer::servfail(), Transport::Udp)).unwrap();
    let cookie = cookie_in(response.edns.as_ref()).unwrap().unwrap();
    assert_eq!(cookie.client, CLIENT_COOKIE);
    assert_eq!(cookie.server.len(), 16);
    assert_eq!(cookie.server[0], 1, "RFC 9018 version 1");

    let mut query = match admit(
        &query_bytes(Some(&cookie.to_bytes())),
        client,
        Transport::Udp,
        &policy,
    ) {
        Admission::Answer(query) => query,
        other => panic!("{other:?}"),
    };
    assert!(policy.check_cookie(&mut query, client));
    assert!(
        !policy.check_cookie(&mut query, ip("127.0.0.2")),
        "bound to the address"
    );
    let forged = Cookie {
        client: CLIENT_COOKIE,
        server: vec![1, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
    };
    let mut query = match admit(
        &query_bytes(Some(&forged.to_bytes())),
        client,
        Transport::Udp,
        &policy,
    ) {
        Admission::Answer(query) => query,
        other => panic!("a forged server cookie is answered as if there were none: {other:?}"),
    };
    assert!(!policy.check_cookie(&mut query, client));
}

#[test]
fn over_the_rate_limit_udp_slips_and_drops_but_tcp_and_cookies_pass() {
    let policy = policy(&["--ratelimit", "1", "--ratelimit-slip", "2"]);
    let client = ip("127.0.0.1");
    let bytes = query_bytes(None);
    assert!(matches!(
        admit(&bytes, client, Transport::Udp, &policy),
        Admission::Answer(_)
    ));
    assert!(matches!(
        admit(&bytes, client, Transport::Udp, &policy),
        Admission::Nothing
    ));
    let slipped = reply(admit(&bytes, client, Transport::Udp, &policy));
    assert!(slipped.metadata.truncation);
    assert_eq!(slipped.metadata.response_code, ResponseCode::NoError);
    assert!(slipped.answers.is_empty());
    assert_eq!(
        slipped.queries.len(),
        1,
        "the question is echoed so the client can retry"
    );
    for _ in 0..5 {
        assert!(matches!(
            admit(&bytes, client, Transport::Tcp, &policy),
            Admission::Answer(_)
        ));
    }
    // Another /24 has its own allowance.
    assert!(matches!(
        admit(&bytes, ip("127.0.1.1"), Transport::Udp, &policy),
        Admission::Answer(_)
    ));
    // A client proving its address with a server cookie is not limited.
    let Admission::Answer(first) = admit(
        &query_bytes(Some(&CLIENT_COOKIE)),
        ip("127.9.0.1"),
        Transport::Udp,
        &policy,
    ) else {
        panic!("first query of a fresh network is answered");
    };
    let cookie = first.reply_cookie.clone().unwrap().to_bytes();
    for _ in 0..5 {
        assert!(matches!(
            admit(
                &query_bytes(Some(&cookie)),
                ip("127.9.0.1"),
                Transport::Udp,
                &policy
            ),
            Admission::Answer(_)
        ));
    }
}

#[test]
fn rate_limit_drops_and_slips_are_counted_as_limits_tripped() {
    use crate::metrics::labels::Limit;
    use crate::metrics::{LiveValues, Metrics};
    let metrics = std::sync::Arc::new(Metrics::default());
    let policy = policy(&["--ratelimit", "1", "--ratelimit-slip", "2"])
        .with_metrics(std::sync::Arc::clone(&metrics));
    let client = ip("127.0.0.1");
    let bytes = query_bytes(None);
    let limited = (0..4)
        .filter(|_| {
            !matches!(
                admit(&bytes, client, Transport::Udp, &policy),
                Admission::Answer(_)
            )
        })
        .count();
    assert!(limited >= 2, "a rate of 1 q/s lets at most 2 of 4 through");
    let tripped = metrics.snapshot(LiveValues::default()).limits[Limit::RateLimit.index()];
    assert_eq!(tripped, limited as u64);
}
