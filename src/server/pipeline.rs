//! One client query, from bytes to response bytes: parse and check, answer, encode.
//!
//! The steps are separate functions so that the UDP listener can answer cache hits inline and
//! only hand misses to a task, and so that each step is tested on its own.

use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use super::Service;
use super::querylog::QueryLogLine;
use crate::answer::Answer;
use crate::metrics::labels::Protocol;
use crate::records::is_dnssec_type;
use crate::resolver::LocalSource;
use crate::upstream::EDNS_PAYLOAD;

/// Size of a DNS header; anything shorter is not a DNS message at all.
const HEADER_LEN: usize = 12;

/// The largest UDP answer for a client without EDNS (RFC 1035 §4.2.1).
const CLASSIC_UDP_LIMIT: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn protocol(self) -> Protocol {
        match self {
            Transport::Udp => Protocol::Udp,
            Transport::Tcp => Protocol::Tcp,
        }
    }
}

/// A well-formed standard query with one question.
#[derive(Debug, Clone)]
pub struct ClientQuery {
    id: u16,
    recursion_desired: bool,
    checking_disabled: bool,
    question: Query,
    /// The client's EDNS payload size and DO bit, when it sent an OPT record.
    edns: Option<(u16, bool)>,
}

impl ClientQuery {
    pub fn name(&self) -> &Name {
        self.question.name()
    }

    pub fn rtype(&self) -> RecordType {
        self.question.query_type()
    }

    fn dnssec_ok(&self) -> bool {
        self.edns.is_some_and(|(_, dnssec_ok)| dnssec_ok)
    }

    /// The largest response this client accepts over UDP: its EDNS payload size, capped at ours
    /// and never below 512 (RFC 6891 §6.2.5).
    fn udp_limit(&self) -> usize {
        match self.edns {
            Some((payload, _)) => usize::from(payload.min(EDNS_PAYLOAD)).max(CLASSIC_UDP_LIMIT),
            None => CLASSIC_UDP_LIMIT,
        }
    }
}

/// What to do with the bytes a client sent.
#[derive(Debug)]
pub enum Parsed {
    /// A query to answer.
    Query(ClientQuery),
    /// An error response to send at once (FORMERR, NOTIMP, REFUSED, BADVERS).
    Reply(Vec<u8>),
    /// Not worth an answer: too short to hold a header, or itself a response (answering
    /// responses would let two servers bounce packets at each other forever).
    Drop,
}

/// Parses and checks a query (RFC 1035 §4.1.1, RFC 6891 §6.1.1).
pub fn parse(bytes: &[u8]) -> Parsed {
    let Some(header) = RawHeader::read(bytes) else {
        return Parsed::Drop;
    };
    if header.is_response {
        return Parsed::Drop;
    }
    if header.opcode != 0 {
        return Parsed::Reply(header.error(ResponseCode::NotImp));
    }
    let Ok(request) = Message::from_vec(bytes) else {
        return Parsed::Reply(header.error(ResponseCode::FormErr));
    };
    let [question] = request.queries.as_slice() else {
        return Parsed::Reply(header.error(ResponseCode::FormErr));
    };
    if !request.answers.is_empty() || !request.authorities.is_empty() {
        return Parsed::Reply(header.error(ResponseCode::FormErr));
    }
    let query = ClientQuery {
        id: request.metadata.id,
        recursion_desired: request.metadata.recursion_desired,
        checking_disabled: request.metadata.checking_disabled,
        question: question.clone(),
        edns: request
            .edns
            .as_ref()
            .map(|edns| (edns.max_payload(), edns.flags().dnssec_ok)),
    };
    if let Some(edns) = &request.edns
        && edns.version() > 0
    {
        // RFC 6891 §6.1.3: we speak EDNS version 0 only.
        return Parsed::Reply(encode_error(&query, ResponseCode::BADVERS));
    }
    if let Some(rcode) = refusal(question) {
        return Parsed::Reply(encode_error(&query, rcode));
    }
    Parsed::Query(query)
}

/// Questions a recursive resolver does not take: other classes than IN, zone transfers, and
/// meta types that are not questions at all.
fn refusal(question: &Query) -> Option<ResponseCode> {
    if question.query_class() != DNSClass::IN {
        return Some(ResponseCode::Refused);
    }
    match question.query_type() {
        RecordType::AXFR | RecordType::IXFR => Some(ResponseCode::Refused),
        RecordType::OPT | RecordType::TSIG => Some(ResponseCode::FormErr),
        _ => None,
    }
}

/// Where a query came from and when it arrived, for the metrics and the query log.
#[derive(Debug, Clone, Copy)]
pub struct Exchange {
    pub client: SocketAddr,
    pub transport: Transport,
    pub received: Instant,
}

impl Exchange {
    /// A query from `client` that arrived just now.
    pub fn new(client: SocketAddr, transport: Transport) -> Self {
        Exchange {
            client,
            transport,
            received: Instant::now(),
        }
    }
}

/// [`parse`], counting every outcome: a query by its type, an immediate error reply by its
/// rcode, a dropped message as dropped.
pub(crate) fn accept(service: &Service, exchange: &Exchange, bytes: &[u8]) -> Parsed {
    let parsed = parse(bytes);
    let metrics = service.metrics();
    let protocol = exchange.transport.protocol();
    match &parsed {
        Parsed::Drop => metrics.record_dropped(protocol),
        Parsed::Reply(reply) => metrics.record_response(protocol, reply_rcode(reply)),
        Parsed::Query(query) => metrics.record_query(protocol, query.rtype()),
    }
    parsed
}

/// The response when no upstream query is needed (a local zone or a complete cache answer);
/// `None` on a cache miss. This is the hot path, run inline on the listener.
pub(crate) fn answer_inline(
    service: &Service,
    exchange: &Exchange,
    query: &ClientQuery,
) -> Option<Vec<u8>> {
    let found = service
        .resolver
        .lookup_without_upstream(query.name(), query.rtype());
    let Some((answer, source)) = found else {
        service.metrics().record_cache(false);
        return None;
    };
    let cache_hit = source == LocalSource::Cache;
    if cache_hit {
        service.metrics().record_cache(true);
    }
    Some(respond(service, exchange, query, &answer, cache_hit))
}

/// The response after resolving (or joining a resolution of) a query the cache cannot answer.
pub(crate) async fn answer_resolving(
    service: &Service,
    exchange: &Exchange,
    query: &ClientQuery,
) -> Vec<u8> {
    let answer = service.resolver.resolve(query.name(), query.rtype()).await;
    respond(service, exchange, query, &answer, false)
}

/// Bytes in, bytes out: the whole pipeline for one message (`None`: send nothing).
pub(crate) async fn handle(
    service: &Service,
    exchange: &Exchange,
    bytes: &[u8],
) -> Option<Vec<u8>> {
    match accept(service, exchange, bytes) {
        Parsed::Drop => None,
        Parsed::Reply(reply) => Some(reply),
        Parsed::Query(query) => match answer_inline(service, exchange, &query) {
            Some(response) => Some(response),
            None => Some(answer_resolving(service, exchange, &query).await),
        },
    }
}

/// Encodes the response and accounts for it: rcode, latency, and a query log line when the log
/// is on.
fn respond(
    service: &Service,
    exchange: &Exchange,
    query: &ClientQuery,
    answer: &Answer,
    cache_hit: bool,
) -> Vec<u8> {
    let bytes = encode(query, answer, exchange.transport);
    let latency = exchange.received.elapsed();
    let protocol = exchange.transport.protocol();
    let metrics = service.metrics();
    metrics.record_response(protocol, answer.rcode);
    metrics.record_latency(latency);
    if service.query_log.is_enabled() {
        service.query_log.write(&QueryLogLine {
            client: exchange.client,
            protocol,
            name: query.name(),
            rtype: query.rtype(),
            rcode: answer.rcode,
            latency,
            cache_hit,
        });
    }
    bytes
}

/// The rcode of an immediate error reply. Header-only replies carry it in the header; replies
/// with an OPT record may carry an extended one (BADVERS, RFC 6891 §6.1.3), which needs a parse.
fn reply_rcode(reply: &[u8]) -> ResponseCode {
    if reply.len() > HEADER_LEN
        && let Ok(message) = Message::from_vec(reply)
    {
        return message.metadata.response_code;
    }
    let low_bits = reply.get(3).map_or(0, |byte| byte & 0x0f);
    ResponseCode::from_low(low_bits)
}

/// Encodes `answer` as the response to `query`, the way trusted resolvers shape it: QR, RA set;
/// RD and CD echoed; AA never (we are not the authority) and AD never (nothing is validated);
/// DNSSEC records only for clients that set DO; truncated with TC=1 when too big for UDP.
pub fn encode(query: &ClientQuery, answer: &Answer, transport: Transport) -> Vec<u8> {
    let mut response = response_for(query, answer.rcode);
    response.answers = visible(&answer.answers, query);
    response.authorities = visible(&answer.authorities, query);
    let bytes = match response.to_vec() {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, name = %query.name(), "response does not encode");
            return encode_error(query, ResponseCode::ServFail);
        }
    };
    if transport == Transport::Udp && bytes.len() > query.udp_limit() {
        return truncated(response);
    }
    bytes
}

/// The response header and question for `query`, with no records yet.
fn response_for(query: &ClientQuery, rcode: ResponseCode) -> Message {
    let mut response = Message::new(query.id, MessageType::Response, OpCode::Query);
    let meta = &mut response.metadata;
    meta.recursion_desired = query.recursion_desired;
    meta.recursion_available = true;
    meta.checking_disabled = query.checking_disabled;
    meta.authoritative = false;
    meta.authentic_data = false;
    meta.response_code = rcode;
    response.add_query(query.question.clone());
    if let Some((_, dnssec_ok)) = query.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        edns.set_dnssec_ok(dnssec_ok);
        response.set_edns(edns);
    }
    response
}

/// RFC 4035 §3.2.1: RRSIGs and other DNSSEC records go only to clients that set DO, unless the
/// client asked for that very type.
fn visible(records: &[Record], query: &ClientQuery) -> Vec<Record> {
    records
        .iter()
        .filter(|r| {
            query.dnssec_ok()
                || !is_dnssec_type(r.record_type())
                || r.record_type() == query.rtype()
        })
        .cloned()
        .collect()
}

/// An empty response with TC=1: the client asks again over TCP (RFC 2181 §9).
fn truncated(mut response: Message) -> Vec<u8> {
    response.answers.clear();
    response.authorities.clear();
    response.additionals.clear();
    response.metadata.truncation = true;
    response.to_vec().unwrap_or_default()
}

fn encode_error(query: &ClientQuery, rcode: ResponseCode) -> Vec<u8> {
    response_for(query, rcode).to_vec().unwrap_or_default()
}

/// The fixed header fields, read by hand so that even a message whose body does not parse can
/// get a FORMERR with its ID.
struct RawHeader {
    id: u16,
    is_response: bool,
    opcode: u8,
    recursion_desired: bool,
    checking_disabled: bool,
}

impl RawHeader {
    fn read(bytes: &[u8]) -> Option<Self> {
        let header = bytes.get(..HEADER_LEN)?;
        Some(RawHeader {
            id: u16::from_be_bytes([header[0], header[1]]),
            is_response: header[2] & 0x80 != 0,
            opcode: (header[2] >> 3) & 0x0f,
            recursion_desired: header[2] & 0x01 != 0,
            checking_disabled: header[3] & 0x10 != 0,
        })
    }

    /// A header-only error response: ID, opcode and RD/CD echoed, no question (we could not, or
    /// will not, read it).
    fn error(&self, rcode: ResponseCode) -> Vec<u8> {
        let opcode = self.opcode;
        let mut bytes = vec![0u8; HEADER_LEN];
        bytes[..2].copy_from_slice(&self.id.to_be_bytes());
        bytes[2] = 0x80 | (opcode << 3) | u8::from(self.recursion_desired);
        bytes[3] =
            0x80 | if self.checking_disabled { 0x10 } else { 0 } | (u16::from(rcode) as u8 & 0x0f);
        bytes
    }
}
#[cfg(test)]
mod tests;
