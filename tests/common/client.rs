//! A tiny DNS client for tests: real packets over UDP and TCP, plus helpers that turn
//! responses into comparable strings.
//!
//! Functions that must get an answer panic with a clear message after [`TIMEOUT`]; the
//! `try_`/`send_raw_` variants return `None` instead, for tests that expect silence.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout, timeout_at};

use super::authority::{dname_target, fqdn};

/// How long the panicking query functions wait for an answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Options for [`query_udp_opts`]. The default is what a stub resolver sends: EDNS with
/// a 1232-octet payload, RD=1, DO=0, CD=0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryOpts {
    /// EDNS payload size to advertise, or `None` to send no OPT record at all.
    pub edns: Option<u16>,
    /// DNSSEC OK bit (needs `edns`).
    pub dnssec_ok: bool,
    pub checking_disabled: bool,
    pub recursion_desired: bool,
}

impl Default for QueryOpts {
    fn default() -> Self {
        QueryOpts {
            edns: Some(1232),
            dnssec_ok: false,
            checking_disabled: false,
            recursion_desired: true,
        }
    }
}

/// Builds a query with a random ID.
pub fn build_query(name: &str, rtype: RecordType, opts: QueryOpts) -> Message {
    let mut query = Message::query();
    query.metadata.recursion_desired = opts.recursion_desired;
    query.metadata.checking_disabled = opts.checking_disabled;
    query.add_query(Query::query(fqdn(name), rtype));
    if let Some(payload) = opts.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        edns.set_dnssec_ok(opts.dnssec_ok);
        query.set_edns(edns);
    }
    query
}

/// Queries `server` over UDP with default [`QueryOpts`]; panics after [`TIMEOUT`].
pub async fn query_udp(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    query_udp_opts(server, name, rtype, QueryOpts::default()).await
}

/// Queries `server` over UDP; panics after [`TIMEOUT`].
pub async fn query_udp_opts(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    opts: QueryOpts,
) -> Message {
    try_query_udp(server, name, rtype, opts, TIMEOUT)
        .await
        .unwrap_or_else(|| {
            panic!(
                "no matching UDP answer from {server} for {name} {rtype} within {TIMEOUT:?} \
                 (replies with a wrong ID or question are ignored)"
            )
        })
}

/// Queries `server` over UDP and waits up to `wait` for a response with the right ID
/// and question. Replies that do not match (wrong ID, wrong question, undecodable) are
/// ignored, as a resolver would; `None` if nothing acceptable arrived in time.
pub async fn try_query_udp(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    opts: QueryOpts,
    wait: Duration,
) -> Option<Message> {
    let query = build_query(name, rtype, opts);
    let socket = bind_loopback_udp(server).await;
    let bytes = query.to_vec().expect("encoding a test query");
    socket
        .send_to(&bytes, server)
        .await
        .unwrap_or_else(|e| panic!("sending to {server}: {e}"));
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65535];
    loop {
        let (len, peer) = match timeout_at(deadline, socket.recv_from(&mut buf)).await {
            Err(_elapsed) => return None,
            Ok(Err(_)) => continue, // e.g. ICMP port unreachable: keep waiting until the deadline
            Ok(Ok(received)) => received,
        };
        if peer != server {
            continue;
        }
        if let Ok(response) = Message::from_vec(&buf[..len])
            && is_response_to(&response, &query)
        {
            return Some(response);
        }
    }
}

// ---------------------------------------------------------------------------------------
// DNSSEC queries: DO, CD and AD bits, and reading Extended DNS Errors
// ---------------------------------------------------------------------------------------

/// The DNSSEC-related bits of a query for [`query_dnssec`]. The default is a validating
/// stub's query: EDNS (4096, so signed answers fit in UDP), DO=1, CD=0, AD=0, RD=1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnssecQuery {
    /// EDNS payload size, or `None` for no OPT record (then DO cannot be set).
    pub edns: Option<u16>,
    /// DNSSEC OK (RFC 3225): the client wants RRSIGs and NSEC/NSEC3 records.
    pub dnssec_ok: bool,
    /// Checking Disabled (RFC 4035 §3.2.2): the client validates itself.
    pub checking_disabled: bool,
    /// Authentic Data in the query (RFC 6840 §5.7): the client understands AD in the answer.
    pub authentic_data: bool,
    pub recursion_desired: bool,
}

impl Default for DnssecQuery {
    fn default() -> Self {
        DnssecQuery {
            edns: Some(4096),
            dnssec_ok: true,
            checking_disabled: false,
            authentic_data: false,
            recursion_desired: true,
        }
    }
}

impl DnssecQuery {
    /// DO=1 (the default).
    pub fn do_bit() -> Self {
        Self::default()
    }

    /// DO=1, CD=1.
    pub fn cd() -> Self {
        DnssecQuery {
            checking_disabled: true,
            ..Self::default()
        }
    }

    /// EDNS without DO, AD=0: a plain stub.
    pub fn plain() -> Self {
        DnssecQuery {
            dnssec_ok: false,
            ..Self::default()
        }
    }

    /// EDNS without DO, AD=1 (RFC 6840 §5.7).
    pub fn ad_only() -> Self {
        DnssecQuery {
            dnssec_ok: false,
            authentic_data: true,
            ..Self::default()
        }
    }

    /// The same query to an authoritative server: DO=1, RD=0.
    pub fn authoritative() -> Self {
        DnssecQuery {
            recursion_desired: false,
            ..Self::default()
        }
    }
}

/// Builds a query with a random ID and the bits of `q`.
pub fn build_dnssec_query(name: &str, rtype: RecordType, q: DnssecQuery) -> Message {
    let mut query = build_query(
        name,
        rtype,
        QueryOpts {
            edns: q.edns,
            dnssec_ok: q.dnssec_ok,
            checking_disabled: q.checking_disabled,
            recursion_desired: q.recursion_desired,
        },
    );
    query.metadata.authentic_data = q.authentic_data;
    query
}

/// Queries `server` over UDP with the bits of `q`, retrying over TCP if the answer is truncated;
/// panics after [`TIMEOUT`].
pub async fn query_dnssec(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    q: DnssecQuery,
) -> Message {
    try_query_dnssec(server, name, rtype, q, TIMEOUT)
        .await
        .unwrap_or_else(|| {
            panic!("no matching answer from {server} for {name} {rtype} ({q:?}) within {TIMEOUT:?}")
        })
}

/// Like [`query_dnssec`], `None` if no matching answer came within `wait` (UDP and TCP each).
pub async fn try_query_dnssec(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    q: DnssecQuery,
    wait: Duration,
) -> Option<Message> {
    let query = build_dnssec_query(name, rtype, q);
    let response = try_exchange_udp(server, &query, wait).await?;
    if !response.metadata.truncation {
        return Some(response);
    }
    let bytes = query.to_vec().expect("encoding a test query");
    let reply = timeout(wait, send_raw_tcp(server, &bytes)).await.ok()??;
    let response = Message::from_vec(&reply).ok()?;
    is_response_to(&response, &query).then_some(response)
}

/// Sends `query` over UDP and waits up to `wait` for a response with its ID and question;
/// replies that do not match are ignored.
pub async fn try_exchange_udp(
    server: SocketAddr,
    query: &Message,
    wait: Duration,
) -> Option<Message> {
    let socket = bind_loopback_udp(server).await;
    let bytes = query.to_vec().expect("encoding a test query");
    socket
        .send_to(&bytes, server)
        .await
        .unwrap_or_else(|e| panic!("sending to {server}: {e}"));
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65535];
    loop {
        let (len, peer) = match timeout_at(deadline, socket.recv_from(&mut buf)).await {
            Err(_elapsed) => return None,
            Ok(Err(_)) => continue,
            Ok(Ok(received)) => received,
        };
        if peer != server {
            continue;
        }
        if let Ok(response) = Message::from_vec(&buf[..len])
            && is_response_to(&response, query)
        {
            return Some(response);
        }
    }
}

/// EDNS option code of Extended DNS Errors (RFC 8914 §2).
pub const EDE_OPTION: u16 = 15;

/// The Extended DNS Errors of a response as `(INFO-CODE, EXTRA-TEXT)`, in message order.
pub fn extended_errors(msg: &Message) -> Vec<(u16, String)> {
    let Some(edns) = msg.edns.as_ref() else {
        return Vec::new();
    };
    edns.options()
        .as_ref()
        .iter()
        .filter_map(|(code, option)| match option {
            EdnsOption::Unknown(EDE_OPTION, data) if u16::from(*code) == EDE_OPTION => {
                let info = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
                let text = String::from_utf8_lossy(data.get(2..).unwrap_or(&[])).into_owned();
                Some((info, text))
            }
            _ => None,
        })
        .collect()
}

/// Just the INFO-CODEs of [`extended_errors`].
pub fn ede_codes(msg: &Message) -> Vec<u16> {
    extended_errors(msg)
        .into_iter()
        .map(|(code, _)| code)
        .collect()
}

/// Whether the response has AD (Authentic Data) set.
pub fn authentic(msg: &Message) -> bool {
    msg.metadata.authentic_data
}

/// The types that the RRSIGs among `records` cover, in order.
pub fn rrsig_covered_types(records: &[Record]) -> Vec<RecordType> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().type_covered),
            _ => None,
        })
        .collect()
}

/// How many records of `rtype` are among `records`.
pub fn count_type(records: &[Record], rtype: RecordType) -> usize {
    records.iter().filter(|r| r.record_type() == rtype).count()
}

/// Queries `server` over TCP with EDNS and RD=1; panics on failure or after [`TIMEOUT`].
pub async fn query_tcp(server: SocketAddr, name: &str, rtype: RecordType) -> Message {
    let query = build_query(name, rtype, QueryOpts::default());
    let bytes = query.to_vec().expect("encoding a test query");
    let reply = send_raw_tcp(server, &bytes).await.unwrap_or_else(|| {
        panic!("no TCP answer from {server} for {name} {rtype} within {TIMEOUT:?}")
    });
    let response = Message::from_vec(&reply)
        .unwrap_or_else(|e| panic!("undecodable TCP answer from {server} for {name} {rtype}: {e}"));
    assert!(
        is_response_to(&response, &query),
        "TCP answer from {server} does not match the query (ID {} vs {}):\n{response}",
        response.metadata.id,
        query.metadata.id
    );
    response
}

/// Sends `bytes` as one UDP datagram and returns the first datagram `server` sends
/// back within `wait`, unparsed.
pub async fn send_raw_udp(server: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = bind_loopback_udp(server).await;
    socket.send_to(bytes, server).await.ok()?;
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65535];
    loop {
        match timeout_at(deadline, socket.recv_from(&mut buf)).await {
            Err(_elapsed) => return None,
            Ok(Ok((len, peer))) if peer == server => return Some(buf[..len].to_vec()),
            Ok(_) => continue,
        }
    }
}

/// Sends `bytes` over a new TCP connection with the 2-octet length prefix and returns
/// the first framed reply, unparsed. `None` if the connection fails, is closed, or
/// nothing arrives within [`TIMEOUT`].
pub async fn send_raw_tcp(server: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.ok()?;
        let len = u16::try_from(bytes.len()).ok()?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(bytes);
        stream.write_all(&framed).await.ok()?;
        let reply_len = stream.read_u16().await.ok()?;
        let mut reply = vec![0u8; usize::from(reply_len)];
        stream.read_exact(&mut reply).await.ok()?;
        Some(reply)
    };
    timeout(TIMEOUT, exchange).await.ok().flatten()
}

/// A UDP socket on the loopback address of `server`'s family, so that nothing we send
/// can leave the machine.
async fn bind_loopback_udp(server: SocketAddr) -> UdpSocket {
    assert!(
        server.ip().is_loopback(),
        "tests may only talk to loopback addresses, not {server}"
    );
    let local: IpAddr = match server {
        SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
        SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
    };
    UdpSocket::bind(SocketAddr::new(local, 0))
        .await
        .unwrap_or_else(|e| panic!("binding a client socket on {local}: {e}"))
}

/// Same ID, a response, and the same question (names compared case-insensitively).
fn is_response_to(response: &Message, query: &Message) -> bool {
    response.metadata.id == query.metadata.id
        && response.metadata.message_type == MessageType::Response
        && response.metadata.op_code == OpCode::Query
        && response.queries == query.queries
}

// ---------------------------------------------------------------------------------------
// Reading responses
// ---------------------------------------------------------------------------------------

/// The answer section as sorted `"owner TYPE rdata"` strings: names lowercased, TTLs
/// left out, so that answers from different resolvers (ferret, Unbound) compare equal.
pub fn answer_strings(msg: &Message) -> Vec<String> {
    record_strings(&msg.answers)
}

/// Like [`answer_strings`], for the authority section.
pub fn authority_strings(msg: &Message) -> Vec<String> {
    record_strings(&msg.authorities)
}

/// Sorted `"owner TYPE rdata"` strings for any list of records.
pub fn record_strings(records: &[Record]) -> Vec<String> {
    let mut strings: Vec<String> = records.iter().map(record_string).collect();
    strings.sort();
    strings
}

/// `"owner TYPE rdata"`, owner lowercased, no TTL or class.
pub fn record_string(record: &Record) -> String {
    format!(
        "{} {} {}",
        record.name.to_lowercase(),
        record.record_type(),
        rdata_string(&record.data)
    )
}

/// Presentation format of rdata, with domain names lowercased. TXT is rendered as quoted
/// strings (hickory's `Display` concatenates them, hiding the string boundaries).
fn rdata_string(rdata: &RData) -> String {
    match rdata {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| quote_character_string(s))
            .collect::<Vec<_>>()
            .join(" "),
        RData::CNAME(_)
        | RData::NS(_)
        | RData::PTR(_)
        | RData::MX(_)
        | RData::SRV(_)
        | RData::SOA(_) => rdata.to_string().to_lowercase(),
        _ => match dname_target(rdata) {
            Some(target) => target.to_lowercase().to_string(),
            None => rdata.to_string(),
        },
    }
}

/// `"..."` with `"` and `\` escaped and non-printable octets as `\DDD` (RFC 1035 §5.1).
fn quote_character_string(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

/// The response code, including EDNS extended bits.
pub fn rcode(msg: &Message) -> ResponseCode {
    msg.metadata.response_code
}

/// The smallest TTL in the answer section or, for negative answers (empty answer
/// section), in the authority section. Panics if both are empty.
pub fn min_ttl(msg: &Message) -> u32 {
    let section = if msg.answers.is_empty() {
        &msg.authorities
    } else {
        &msg.answers
    };
    section
        .iter()
        .map(|r| r.ttl)
        .min()
        .unwrap_or_else(|| panic!("min_ttl: no answer or authority records in\n{msg}"))
}
