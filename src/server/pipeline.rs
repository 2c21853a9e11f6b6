//! One client query, from bytes to response bytes: access control, parse and check, DNS
//! cookies, rate limit, answer, encode.
//!
//! The steps are separate functions so that the UDP listener can answer cache hits inline and
//! only hand misses to a task, and so that each step is tested on its own.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use tokio::time::Instant;

use crate::clock::Millis;

use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::Service;
use super::acl::{Access, AccessControl};
use super::cookies::ServerCookies;
use super::fast_path;
use super::querylog::QueryLogLine;
use super::ratelimit::{RateDecision, RateLimiter};
use crate::answer::Answer;
use crate::cache::Validation;
use crate::cache::message::{QueryEcho, write_key};
use crate::cache::{CachedMessage, MessageCache};
use crate::clock::Clock;
use crate::config::Config;
use crate::cookie::{Cookie, cookie_in};
use crate::metrics::labels::{Limit, Protocol};
use crate::metrics::{Hit, Metrics};
use crate::records::is_dnssec_type;
use crate::resolver::LocalSource;
use crate::wire::EDNS_PAYLOAD;

/// Size of a DNS header; anything shorter is not a DNS message at all.
const HEADER_LEN: usize = 12;

/// The largest UDP answer for a client without EDNS (RFC 1035 §4.2.1).
const CLASSIC_UDP_LIMIT: usize = 512;

/// How a query reached us. Everything but UDP is a stream or a QUIC stream: the handshake has
/// proved the client's address (no rate limit, no reflection) and a response of any size fits
/// (never TC=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    /// DNS over TLS (RFC 7858): TCP framing inside TLS.
    Dot,
    /// DNS over HTTPS (RFC 8484).
    Doh,
    /// DNS over QUIC (RFC 9250).
    Doq,
}

impl Transport {
    pub fn protocol(self) -> Protocol {
        match self {
            Transport::Udp => Protocol::Udp,
            Transport::Tcp => Protocol::Tcp,
            Transport::Dot => Protocol::Dot,
            Transport::Doh => Protocol::Doh,
            Transport::Doq => Protocol::Doq,
        }
    }
}

/// A well-formed standard query with one question.
#[derive(Debug, Clone)]
pub struct ClientQuery {
    id: u16,
    recursion_desired: bool,
    checking_disabled: bool,
    /// AD in the query: the client understands AD without asking for DNSSEC records
    /// (RFC 6840 §5.7).
    authentic_data: bool,
    question: Query,
    /// The client's EDNS payload size and DO bit, when it sent an OPT record.
    edns: Option<(u16, bool)>,
    /// The COOKIE option the client sent (RFC 7873).
    cookie: Option<Cookie>,
    /// The COOKIE option for the response, once the cookie step has made it.
    reply_cookie: Option<Cookie>,
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

    /// Whether a secure answer gets AD: the client asked for DNSSEC (DO) or said it understands
    /// AD (RFC 6840 §5.7), and did not turn checking off (CD=1 answers are not vouched for).
    fn wants_ad(&self) -> bool {
        !self.checking_disabled && (self.dnssec_ok() || self.authentic_data)
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
        authentic_data: request.metadata.authentic_data,
        question: question.clone(),
        edns: request
            .edns
            .as_ref()
            .map(|edns| (edns.max_payload(), edns.flags().dnssec_ok)),
        cookie: None,
        reply_cookie: None,
    };
    if let Some(edns) = &request.edns
        && edns.version() > 0
    {
        // RFC 6891 §6.1.3: we speak EDNS version 0 only.
        return Parsed::Reply(encode_error(&query, ResponseCode::BADVERS));
    }
    let query = match cookie_in(request.edns.as_ref()) {
        None => query,
        Some(Ok(cookie)) => ClientQuery {
            cookie: Some(cookie),
            ..query
        },
        // RFC 7873 §5.2.2: a COOKIE option of the wrong length is a malformed query.
        Some(Err(_)) => return Parsed::Reply(encode_error(&query, ResponseCode::FormErr)),
    };
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

/// The checks a client message passes before it is answered, in pipeline order: who may ask
/// (access control), what it asks (parse), its DNS cookie, and how often (rate limit, UDP only).
#[derive(Debug)]
pub struct ClientPolicy {
    acl: AccessControl,
    cookies: ServerCookies,
    rate_limit: Option<RateLimiter>,
    clock: Clock,
    /// Where rate-limit drops and slips are counted.
    metrics: Arc<Metrics>,
}

/// What a listener does with one client message.
#[derive(Debug)]
pub enum Admission {
    /// Answer this query (from the cache or by resolving it).
    Answer(ClientQuery),
    /// Send these bytes back at once: an error, a refusal, or a rate-limit slip.
    Reply(Vec<u8>),
    /// Send nothing.
    Nothing,
}

impl ClientPolicy {
    pub fn new(config: &Config, clock: Clock) -> Self {
        let now = clock.now_ms() / 1000;
        ClientPolicy {
            acl: AccessControl::new(&config.allow, config.refuse_silently),
            cookies: ServerCookies::new(now),
            rate_limit: RateLimiter::new(config.ratelimit, config.ratelimit_slip),
            clock,
            metrics: Arc::new(Metrics::default()),
        }
    }

    /// Counts rate-limit decisions into `metrics` (shared with the rest of the server).
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        ClientPolicy { metrics, ..self }
    }

    pub fn acl(&self) -> &AccessControl {
        &self.acl
    }

    /// Whether `client` may be answered straight from the message cache. The fast path skips
    /// admission, so it is only taken for clients the access list serves and, over UDP, only when
    /// no rate limit needs counting. (Queries with a cookie never take it: it only reads
    /// option-free OPT records.)
    pub fn allows_fast_path(&self, client: IpAddr, transport: Transport) -> bool {
        self.acl.check(client) == Access::Allow
            && (transport != Transport::Udp || self.rate_limit.is_none())
    }

    /// Verifies the client's cookie and puts the one for the response on `query`. Returns
    /// whether the client proved its address with a server cookie we made.
    fn check_cookie(&self, query: &mut ClientQuery, client: IpAddr) -> bool {
        let Some(cookie) = &query.cookie else {
            return false;
        };
        let answer = self
            .cookies
            .answer(cookie, client, self.clock.now_ms() / 1000);
        query.reply_cookie = Some(answer.reply);
        answer.verified
    }

    /// The rate-limit step: `Answer` unless a limiter is configured and this client's network
    /// is over it.
    fn rate(&self, client: IpAddr) -> RateDecision {
        let decision = match &self.rate_limit {
            Some(limiter) => limiter.check(client, Instant::now()),
            None => RateDecision::Answer,
        };
        if decision != RateDecision::Answer {
            self.metrics.record_limit(Limit::RateLimit);
        }
        decision
    }
}

/// Runs every check of `policy` on a message from `client`.
pub fn admit(
    bytes: &[u8],
    client: IpAddr,
    transport: Transport,
    policy: &ClientPolicy,
) -> Admission {
    let parsed = match policy.acl.check(client) {
        Access::Allow => parse(bytes),
        Access::Refuse => refuse(bytes),
        Access::Ignore => return Admission::Nothing,
    };
    // Over TCP (and TLS, HTTPS, QUIC) the handshake has proved the client's address: there is
    // nothing to reflect.
    let limited = transport == Transport::Udp;
    match parsed {
        Parsed::Drop => Admission::Nothing,
        // Error replies are no bigger than the query, but a flood of them is still a flood.
        Parsed::Reply(reply) => match limited.then(|| policy.rate(client)) {
            Some(RateDecision::Drop) => Admission::Nothing,
            _ => Admission::Reply(reply),
        },
        Parsed::Query(mut query) => {
            let verified = policy.check_cookie(&mut query, client);
            // A valid server cookie proves the address as well as TCP does (RFC 7873 §1).
            if !limited || verified {
                return Admission::Answer(query);
            }
            match policy.rate(client) {
                RateDecision::Answer => Admission::Answer(query),
                RateDecision::Slip => {
                    Admission::Reply(truncated(response_for(&query, ResponseCode::NoError)))
                }
                RateDecision::Drop => Admission::Nothing,
            }
        }
    }
}

/// REFUSED for a client outside the access list: the header alone, without reading the rest
/// of a message from someone we do not serve.
fn refuse(bytes: &[u8]) -> Parsed {
    match RawHeader::read(bytes) {
        Some(header) if !header.is_response => Parsed::Reply(header.error(ResponseCode::Refused)),
        _ => Parsed::Drop,
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
        Exchange::received_at(client, transport, Instant::now())
    }

    /// A query from `client` that arrived at `received` (one reading of the clock serves a
    /// whole batch of datagrams).
    pub fn received_at(client: SocketAddr, transport: Transport, received: Instant) -> Self {
        Exchange {
            client,
            transport,
            received,
        }
    }
}

/// The cache-hit fast path ([`fast_path`]) for clients the policy lets take it, with the same
/// accounting as the full pipeline. `true`: `out` holds the response.
pub(crate) fn answer_fast(
    service: &Service,
    exchange: &Exchange,
    request: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    let now_ms = service.resolver.cache().messages().clock().now_ms();
    let Some(hit) = answer_fast_at(service, exchange, request, out, now_ms) else {
        return false;
    };
    service.metrics().record_hit(
        exchange.transport.protocol(),
        hit,
        exchange.received.elapsed(),
    );
    true
}

/// [`answer_fast`] with the wall clock already read (`now_ms`), for a batch of datagrams, and
/// the hit not yet counted: the caller adds it to the metrics, one by one or in a
/// [`crate::metrics::HitTally`] for a whole batch. `Some`: `out` holds the response.
pub(crate) fn answer_fast_at(
    service: &Service,
    exchange: &Exchange,
    request: &[u8],
    out: &mut Vec<u8>,
    now_ms: Millis,
) -> Option<Hit> {
    let client = exchange.client.ip();
    if !service.policy.allows_fast_path(client, exchange.transport) {
        return None;
    }
    let messages = service.resolver.cache().messages();
    match fast_path::answer(request, messages, exchange.transport, now_ms, out) {
        fast_path::Served::No => return None,
        fast_path::Served::Yes => {}
        fast_path::Served::YesRefresh => {
            // Once per entry and TTL, so the full parse is affordable here.
            if let Parsed::Query(query) = parse(request) {
                service
                    .resolver
                    .prefetch(query.name().clone(), query.rtype());
            }
        }
    }
    // The fast path only takes one plain question and only serves NOERROR and NXDOMAIN, so the
    // type and rcode are read straight off the bytes.
    let rcode = ResponseCode::from_low(out.get(3).map_or(0, |b| b & 0x0f));
    let rtype = plain_question_type(request).unwrap_or(RecordType::Unknown(0));
    if service.query_log.is_enabled()
        && let Ok(question) = Query::read(&mut BinDecoder::new(&request[HEADER_LEN..]))
    {
        service.query_log.write(&QueryLogLine {
            client: exchange.client,
            protocol: exchange.transport.protocol(),
            name: question.name(),
            rtype: question.query_type(),
            rcode,
            latency: exchange.received.elapsed(),
            cache_hit: true,
        });
    }
    Some(Hit { rtype, rcode })
}

/// The type of the one uncompressed question in a query the fast path accepted.
fn plain_question_type(request: &[u8]) -> Option<RecordType> {
    let mut at = HEADER_LEN;
    while *request.get(at)? != 0 {
        at += 1 + usize::from(request[at]);
    }
    let qtype = request.get(at + 1..at + 3)?;
    Some(RecordType::from(u16::from_be_bytes([qtype[0], qtype[1]])))
}

/// [`admit`] under the server's policy, counting every outcome: a query by its type, an
/// immediate reply by its rcode, silence as a dropped message.
pub(crate) fn accept(service: &Service, exchange: &Exchange, bytes: &[u8]) -> Admission {
    let admission = admit(
        bytes,
        exchange.client.ip(),
        exchange.transport,
        &service.policy,
    );
    let metrics = service.metrics();
    let protocol = exchange.transport.protocol();
    match &admission {
        Admission::Nothing => metrics.record_dropped(protocol),
        Admission::Reply(reply) => metrics.record_response(protocol, reply_rcode(reply)),
        Admission::Answer(query) => metrics.record_query(protocol, query.rtype()),
    }
    admission
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

/// The response after resolving (or joining a resolution of) a query the cache cannot answer:
/// [`answer_inline`] has just said so.
pub(crate) async fn answer_resolving(
    service: &Service,
    exchange: &Exchange,
    query: &ClientQuery,
) -> Vec<u8> {
    let answer = service
        .resolver
        .resolve_uncached(query.name(), query.rtype())
        .await;
    respond(service, exchange, query, &answer, false)
}

/// Bytes in, bytes out: the whole pipeline for one message, fast path included (`None`: send
/// nothing).
pub(crate) async fn handle(
    service: &Service,
    exchange: &Exchange,
    bytes: &[u8],
) -> Option<Vec<u8>> {
    let mut fast = Vec::new();
    if answer_fast(service, exchange, bytes, &mut fast) {
        return Some(fast);
    }
    match accept(service, exchange, bytes) {
        Admission::Nothing => None,
        Admission::Reply(reply) => Some(reply),
        Admission::Answer(query) => match answer_inline(service, exchange, &query) {
            Some(response) => Some(response),
            None => Some(answer_resolving(service, exchange, &query).await),
        },
    }
}

/// Encodes the response, keeps it in the message cache for the fast path, and accounts for it:
/// rcode, latency, and a query log line when the log is on.
pub(crate) fn respond(
    service: &Service,
    exchange: &Exchange,
    query: &ClientQuery,
    answer: &Answer,
    cache_hit: bool,
) -> Vec<u8> {
    let messages = service.resolver.cache().messages();
    let bytes = remember(query, answer, exchange.transport, messages)
        .unwrap_or_else(|| encode(query, answer, exchange.transport));
    let rcode = served_rcode(query, answer);
    let latency = exchange.received.elapsed();
    let protocol = exchange.transport.protocol();
    let metrics = service.metrics();
    metrics.record_response(protocol, rcode);
    metrics.record_latency(latency);
    if service.query_log.is_enabled() {
        service.query_log.write(&QueryLogLine {
            client: exchange.client,
            protocol,
            name: query.name(),
            rtype: query.rtype(),
            rcode,
            latency,
            cache_hit,
        });
    }
    bytes
}

/// The rcode of an immediate reply. Header-only replies carry it in the header; replies with an
/// OPT record may carry an extended one (BADVERS, RFC 6891 §6.1.3), which needs a parse.
fn reply_rcode(reply: &[u8]) -> ResponseCode {
    if reply.len() > HEADER_LEN
        && let Ok(message) = Message::from_vec(reply)
    {
        return message.metadata.response_code;
    }
    ResponseCode::from_low(reply.get(3).map_or(0, |byte| byte & 0x0f))
}

/// Stores the answer as the fast path will serve it: no OPT (so no cookie), DNSSEC records as
/// the DO bit says. Only real answers are kept; SERVFAIL and friends are retried every time.
///
/// Returns the client's response made from the stored entry, as the fast path would make it for
/// the next such query, when that is the response [`encode`] would give: the query carries no
/// cookie (the stored entry has no OPT to put one in) and the response fits. Encoding it again
/// was a fifth of the work of a cold resolution.
fn remember(
    query: &ClientQuery,
    answer: &Answer,
    transport: Transport,
    messages: &MessageCache,
) -> Option<Vec<u8>> {
    if !matches!(answer.rcode, ResponseCode::NoError | ResponseCode::NXDomain)
        || answer.security.is_bogus()
    {
        return None;
    }
    let bare = ClientQuery {
        edns: None,
        reply_cookie: None,
        ..query.clone()
    };
    let mut response = response_for(&bare, answer.rcode);
    response.answers = visible(&answer.answers, query);
    response.authorities = visible(&answer.authorities, query);
    let bytes = response.to_vec().ok()?;
    let question = question_bytes(query);
    let name = &question[..question.len() - 4];
    let mut key = [0u8; 258];
    let len = write_key(name, u16::from(query.rtype()), query.dnssec_ok(), &mut key)?;
    let now = messages.clock().now_ms();
    let secure = answer.security == Validation::Secure;
    let message = CachedMessage::from_response(&key[..len], &bytes, now, secure)?;
    let mut reply = None;
    if query.reply_cookie.is_none() {
        let echo = QueryEcho {
            id: query.id,
            recursion_desired: query.recursion_desired,
            checking_disabled: query.checking_disabled,
            authentic_data: query.authentic_data,
            question: &question,
            edns_dnssec_ok: query.edns.map(|(_, dnssec_ok)| dnssec_ok),
        };
        let mut out = Vec::with_capacity(bytes.len() + 11);
        message.write_response(&echo, now, &mut out);
        // The encrypted transports pad and frame their replies from `encode`'s; they take that.
        let limit = match transport {
            Transport::Udp => Some(query.udp_limit()),
            Transport::Tcp => Some(usize::MAX),
            Transport::Dot | Transport::Doh | Transport::Doq => None,
        };
        reply = limit.filter(|limit| out.len() <= *limit).map(|_| out);
    }
    messages.insert(message);
    reply
}

/// The question section of `query` as it would be written: the name uncompressed with its case
/// as the client sent it, the type and the class.
fn question_bytes(query: &ClientQuery) -> Vec<u8> {
    let name = query.name();
    let mut bytes = Vec::with_capacity(name.len() + 6);
    for label in name.iter() {
        // Labels are at most 63 bytes (RFC 1035 §2.3.4), which hickory enforces.
        bytes.push(label.len() as u8);
        bytes.extend_from_slice(label);
    }
    bytes.push(0);
    bytes.extend_from_slice(&u16::from(query.rtype()).to_be_bytes());
    bytes.extend_from_slice(&u16::from(query.question.query_class()).to_be_bytes());
    bytes
}

/// Encodes `answer` as the response to `query`, the way trusted resolvers shape it: QR, RA set;
/// RD and CD echoed; AA never (we are not the authority); AD when the answer validated and the
/// client wants it; DNSSEC records only for clients that set DO; truncated with TC=1 when too
/// big for UDP. Bogus data goes only to clients that set CD (RFC 4035 §3.2.2); the others get
/// SERVFAIL with the reason as an Extended DNS Error (RFC 8914).
pub fn encode(query: &ClientQuery, answer: &Answer, transport: Transport) -> Vec<u8> {
    if let Validation::Bogus(reason) = answer.security
        && served_rcode(query, answer) == ResponseCode::ServFail
    {
        let mut response = response_for(query, ResponseCode::ServFail);
        if let Some(edns) = response.edns.as_mut() {
            edns.options_mut().insert(extended_error(reason.ede_code()));
        }
        return response.to_vec().unwrap_or_default();
    }
    let mut response = response_for(query, answer.rcode);
    response.metadata.authentic_data = answer.security == Validation::Secure && query.wants_ad();
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

/// The rcode the client gets for `answer`: SERVFAIL for bogus data unless it set CD.
fn served_rcode(query: &ClientQuery, answer: &Answer) -> ResponseCode {
    if answer.security.is_bogus() && !query.checking_disabled {
        ResponseCode::ServFail
    } else {
        answer.rcode
    }
}

/// An Extended DNS Error option (RFC 8914 §2): option code 15, the INFO-CODE, no extra text.
fn extended_error(info_code: u16) -> hickory_proto::rr::rdata::opt::EdnsOption {
    const EDE_OPTION: u16 = 15;
    hickory_proto::rr::rdata::opt::EdnsOption::Unknown(EDE_OPTION, info_code.to_be_bytes().to_vec())
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
        if let Some(cookie) = &query.reply_cookie {
            edns.options_mut().insert(cookie.to_option());
        }
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
mod admission_tests;
#[cfg(test)]
mod tests;
