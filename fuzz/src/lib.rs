//! What the fuzz targets check. `tests/fuzz_regressions.rs` includes this file by path, so a saved
//! crashing input is replayed through exactly the code and the assertions that found it.
//!
//! The harnesses panic (which libFuzzer reports as a crash) when ferret breaks a promise: it
//! panics itself, sends back something that is not a DNS response to the query, sends more than a
//! client can take, or lets a record from outside a server's bailiwick into an answer or the cache;
//! or a denial-of-existence proof hashes beyond its bound or proves a name both absent and present.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ferret::cache::{NegativeProof, Rank, Validation};
use ferret::resolver::{Classified, SoaProof, classify};
use ferret::server::offline::OfflinePipeline;
use ferret::server::pipeline::{self, Parsed, Transport};
use ferret::upstream::response_matches;
use ferret::validator::denial::{
    nsec_covers, nsec_denies_type, prove_nodata, prove_nxdomain, prove_wildcard_answer,
};
use ferret::validator::{Denial, DenialError, WorkBudget, WorkCaps};
use ferret::{Answer, Clock, Config, Resolver};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, NULL, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

/// A TCP message carries a two-byte length (RFC 1035 §4.2.2): nothing longer can be sent.
const MAX_MESSAGE: usize = 65_535;
/// The largest UDP response to a client without EDNS (RFC 1035 §4.2.1).
const CLASSIC_UDP_LIMIT: usize = 512;
/// The EDNS payload size ferret itself advertises, and so the most it sends over UDP.
const FERRET_UDP_LIMIT: u16 = 1232;
const TTL: u32 = 86_400;
/// The zone every pre-filled cache entry and every fixed upstream question lives in.
const ZONE: &str = "example.test.";

fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("fixture name")
}

/// Settings for both harnesses: `test.` resolved rather than answered locally (the fixture lives
/// there), no prefetch (it would spawn a task, and the harness runs without a runtime), no upstream
/// over IPv6 or loopback (nothing here may reach a network anyway).
fn config() -> Config {
    Config {
        local_zone_nodefault: vec![name("test.")],
        prefetch: false,
        cache_size: 10_000,
        ..Config::default()
    }
}

/// The query path: client bytes through the whole pipeline of a server whose cache holds
/// [`fill`]'s records.
pub struct QueryPath {
    pipeline: OfflinePipeline,
    client: SocketAddr,
}

impl Default for QueryPath {
    fn default() -> Self {
        Self::new()
    }
}

impl QueryPath {
    pub fn new() -> Self {
        let pipeline = OfflinePipeline::new(&config(), Clock::system()).expect("pipeline");
        fill(pipeline.resolver());
        QueryPath {
            pipeline,
            client: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5353),
        }
    }

    /// The response to `query` over `transport`, unchecked (`None`: ferret sends nothing).
    pub fn answer(&self, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
        self.pipeline
            .answer_from_cache_only(query, self.client, transport)
    }

    /// Sends `query` over UDP and over TCP, twice each, and checks every response. The first
    /// time the message cache is empty, so the full pipeline answers; the second time a cache hit
    /// may come from the fast path, which must give the same response.
    pub fn check(&self, query: &[u8]) {
        let messages = self.pipeline.resolver().cache().messages();
        for transport in [Transport::Udp, Transport::Tcp] {
            messages.clear();
            let full = self.answer(query, transport);
            let again = self.answer(query, transport);
            for response in full.iter().chain(&again) {
                check_response(query, response, transport);
            }
            match (&full, &again) {
                (Some(full), Some(again)) => check_same_response(full, again),
                (None, None) => {}
                _ => panic!("answered only once of two times: {full:02x?} {again:02x?}"),
            }
        }
        // Each input starts from the same state: only the RRset cache, which queries only read.
        messages.clear();
    }
}

/// Two answers to one query, from the full pipeline and (perhaps) the message cache, must be the
/// same but for TTLs, which count down between the two.
fn check_same_response(full: &[u8], again: &[u8]) {
    let (Ok(first), Ok(second)) = (Message::from_vec(full), Message::from_vec(again)) else {
        panic!("a response does not parse");
    };
    assert_eq!(first.metadata, second.metadata, "the headers differ");
    assert_eq!(
        question_text(&first),
        question_text(&second),
        "the questions differ"
    );
    assert_eq!(first.edns, second.edns, "the OPT records differ");
    for (section, one, other) in [
        ("answer", &first.answers, &second.answers),
        ("authority", &first.authorities, &second.authorities),
        ("additional", &first.additionals, &second.additionals),
    ] {
        assert_eq!(
            without_ttls(one),
            without_ttls(other),
            "the {section} sections differ"
        );
    }
}

/// The question as sent, case included: clients (0x20 ones above all) compare it byte for byte.
fn question_text(message: &Message) -> Vec<String> {
    message
        .queries
        .iter()
        .map(|q| format!("{} {} {}", q.name(), q.query_class(), q.query_type()))
        .collect()
}

fn without_ttls(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .map(|record| {
            let mut record = record.clone();
            record.ttl = 0;
            record
        })
        .collect()
}

/// A response must be a DNS response to this very query that fits the transport.
fn check_response(query: &[u8], response: &[u8], transport: Transport) {
    assert!(
        response.len() <= MAX_MESSAGE,
        "a {} byte response cannot be sent",
        response.len()
    );
    if transport == Transport::Udp {
        let limit = udp_limit(query);
        assert!(
            response.len() <= limit,
            "a {} byte UDP response to a client that takes {limit}",
            response.len()
        );
    }
    assert!(query.len() >= 2, "an answer to a message without an ID");
    let message = Message::from_vec(response)
        .unwrap_or_else(|error| panic!("the response does not parse ({error}): {response:02x?}"));
    assert_eq!(message.metadata.message_type, MessageType::Response);
    assert_eq!(
        message.metadata.id,
        u16::from_be_bytes([query[0], query[1]]),
        "the response carries another ID"
    );
    // A response that repeats a question repeats the client's, case included (RFC 1035 §7.3
    // matching, and the 0x20 clients that compare case).
    if !message.queries.is_empty()
        && let Ok(request) = Message::from_vec(query)
    {
        assert_eq!(
            question_text(&message),
            question_text(&request),
            "the response repeats another question"
        );
    }
}

/// The most a client takes over UDP: its EDNS payload size when its query has a readable OPT
/// record (and never less than 512, nor more than ferret offers), else 512 (RFC 6891 §6.2.5).
fn udp_limit(query: &[u8]) -> usize {
    Message::from_vec(query)
        .ok()
        .and_then(|message| message.edns)
        .map_or(CLASSIC_UDP_LIMIT, |edns| {
            usize::from(edns.max_payload().min(FERRET_UDP_LIMIT)).max(CLASSIC_UDP_LIMIT)
        })
}

/// The cache the query path answers from: plain answers, every kind of chain (a CNAME, a loop,
/// one too long, a DNAME), negative answers, signed data, odd labels, and an RRset so big that a
/// chain in front of it makes the answer longer than any message may be.
fn fill(resolver: &Resolver) {
    let cache = resolver.cache();
    let auth = |records: Vec<Record>| cache.insert_rrset(records, Vec::new(), Rank::AuthAnswer);
    let www = name("www.example.test.");
    cache.insert_rrset(
        vec![a("www.example.test.", 1), a("www.example.test.", 2)],
        vec![rrsig("www.example.test.", RecordType::A)],
        Rank::AuthAnswer,
    );
    auth(vec![aaaa("www.example.test.", 1)]);
    auth(vec![Record::from_rdata(
        name("mx.example.test."),
        TTL,
        RData::MX(MX::new(10, www.clone())),
    )]);
    auth(vec![cname("alias.example.test.", "www.example.test.")]);
    auth(vec![cname("loop1.example.test.", "loop2.example.test.")]);
    auth(vec![cname("loop2.example.test.", "loop1.example.test.")]);
    for link in 0..13 {
        let next = format!("c{}.example.test.", link + 1);
        auth(vec![cname(&format!("c{link}.example.test."), &next)]);
    }
    auth(vec![a("c13.example.test.", 13)]);
    auth(vec![dname("d.example.test.", "other.example.test.")]);
    auth(vec![a("x.other.example.test.", 20)]);
    let weird = Name::from_labels(vec![&b"we\x00i.rd"[..], b"EXAMPLE", b"test"]).expect("name");
    auth(vec![Record::from_rdata(
        weird,
        TTL,
        RData::A(A::new(192, 0, 2, 30)),
    )]);
    auth(vec![soa(ZONE)]);
    auth(vec![Record::from_rdata(
        name(ZONE),
        TTL,
        RData::NS(NS(name("ns1.example.test."))),
    )]);
    cache.insert_nxdomain(
        &name("nx.example.test."),
        &NegativeProof::soa_only(soa(ZONE)),
        Rank::AuthAnswer,
        Validation::Unchecked,
    );
    auth(vec![a("nodata.example.test.", 40)]);
    cache.insert_nodata(
        &name("nodata.example.test."),
        RecordType::AAAA,
        &NegativeProof::soa_only(soa(ZONE)),
        Rank::AuthAnswer,
        Validation::Unchecked,
    );
    fill_big(resolver);
}

/// 236 TXT records of 255 bytes (about 64 KB, as much as one TCP response may bring) at `big`, and a
/// chain of long names leading to it that pushes the whole answer past 65,535 bytes.
fn fill_big(resolver: &Resolver) {
    let cache = resolver.cache();
    let text = "t".repeat(255);
    let txt: Vec<Record> = (0..236)
        .map(|i| {
            let mut string = text.clone();
            string.replace_range(..3, &format!("{i:03}"));
            Record::from_rdata(
                name("big.example.test."),
                TTL,
                RData::TXT(TXT::new(vec![string])),
            )
        })
        .collect();
    cache.insert_rrset(txt, Vec::new(), Rank::AuthAnswer);
    let long = |link: usize| {
        let label = "l".repeat(60);
        format!("{label}.{label}.{label}.n{link}.example.test.")
    };
    cache.insert_rrset(
        vec![cname("bigchain.example.test.", &long(0))],
        Vec::new(),
        Rank::AuthAnswer,
    );
    for link in 0..5 {
        let target = if link == 4 {
            "big.example.test.".to_string()
        } else {
            long(link + 1)
        };
        cache.insert_rrset(
            vec![cname(&long(link), &target)],
            Vec::new(),
            Rank::AuthAnswer,
        );
    }
}

/// The caching step for upstream responses: bytes as if from a server of a fixed zone, through
/// the scrubber and into a fresh cache.
pub struct UpstreamResponse {
    resolver: std::sync::Arc<Resolver>,
    questions: Vec<(Name, Name, RecordType)>,
}

impl Default for UpstreamResponse {
    fn default() -> Self {
        Self::new()
    }
}

impl UpstreamResponse {
    pub fn new() -> Self {
        let question = |zone: &str, qname: &str, qtype| (name(zone), name(qname), qtype);
        UpstreamResponse {
            resolver: Resolver::new(&config(), Clock::system()).expect("resolver"),
            questions: vec![
                question(ZONE, "www.example.test.", RecordType::A),
                question(ZONE, "www.example.test.", RecordType::AAAA),
                question(ZONE, "www.example.test.", RecordType::TXT),
                question(ZONE, "alias.example.test.", RecordType::CNAME),
                question(ZONE, "x.d.example.test.", RecordType::A),
                question(ZONE, "d.example.test.", RecordType::DNAME),
                question(ZONE, ZONE, RecordType::NS),
                question(ZONE, "www.example.test.", RecordType::ANY),
                question("test.", "www.example.test.", RecordType::A),
                question(".", "www.example.test.", RecordType::A),
                question("test.", "example.test.", RecordType::DS),
            ],
        }
    }

    /// The first byte picks the question (zone, name, type) the response answers; the rest is
    /// the response.
    pub fn check(&self, input: &[u8]) {
        let Some((&pick, bytes)) = input.split_first() else {
            return;
        };
        let (zone, qname, qtype) = &self.questions[usize::from(pick) % self.questions.len()];
        let Ok(response) = Message::from_vec(bytes) else {
            return;
        };
        let classified = classify(&response, zone, qname, *qtype);
        for record in classified_records(&classified) {
            assert_in_zone(record, zone, "the scrubber kept");
        }
        // Beyond this point only what the upstream transport lets through, as in ferret: an
        // answer to the question asked (the fuzzed ID stands for the one we sent).
        if !response_matches(&response, response.metadata.id, qname, *qtype) {
            return;
        }
        let cache = self.resolver.cache();
        cache.clear();
        // A chain over the limit is SERVFAIL for the client, as a resolution ends.
        let answer = self
            .resolver
            .absorb(*qtype, classified, response.metadata.authoritative)
            .unwrap_or_else(|_| Some(Answer::servfail()));
        let now = cache.clock().now_ms();
        for (key, entry) in cache.entries() {
            assert!(zone.zone_of(&key.name()), "cached {key:?} outside {zone}");
            for record in entry.records_at(now) {
                assert_in_zone(&record, zone, "cached");
            }
        }
        if let Some(answer) = &answer {
            check_answer(answer, zone, qname, *qtype);
        }
        // What was cached must answer later questions without breaking the pipeline either, and
        // the same way as the fresh answer did.
        let cached = self.resolver.answer_without_upstream(qname, *qtype);
        if let Some(cached) = &cached {
            check_answer(cached, zone, qname, *qtype);
        }
        if let (Some(fresh), Some(cached)) = (&answer, &cached) {
            check_same_answer(fresh, cached);
        }
    }
}

/// The answer made from a response and the one the cache gives right after must agree on the
/// rcode and the records (in any order: the cache groups records by RRset), TTLs aside, and the
/// letter case of owner names aside: the cache keeps one owner per RRset, and a server may spell
/// the owner of a signature differently from the RRset's (RFC 4343: the same name).
fn check_same_answer(fresh: &Answer, cached: &Answer) {
    assert_eq!(fresh.rcode, cached.rcode, "the cache answers another rcode");
    let records = |answer: &Answer| {
        let mut text: Vec<String> = without_ttls(&answer.answers)
            .iter()
            .chain(&without_ttls(&answer.authorities))
            .map(|record| {
                let mut record = record.clone();
                record.name = record.name.to_lowercase();
                record.to_string()
            })
            .collect();
        text.sort();
        text
    };
    assert_eq!(
        records(fresh),
        records(cached),
        "the cache answers other records than the response gave"
    );
}

/// An answer built from a server of `zone` holds only that zone's records, and encodes into a
/// response that parses and fits the transport.
fn check_answer(answer: &Answer, zone: &Name, qname: &Name, qtype: RecordType) {
    for record in answer.answers.iter().chain(&answer.authorities) {
        assert_in_zone(record, zone, "answered");
    }
    let query = client_query(qname, qtype);
    let Parsed::Query(parsed) = pipeline::parse(&query) else {
        panic!("the fixed question does not parse as a query");
    };
    for transport in [Transport::Udp, Transport::Tcp] {
        let response = pipeline::encode(&parsed, answer, transport);
        check_response(&query, &response, transport);
    }
}

/// A client's query for `qname`/`qtype` with EDNS and DO set, so every record is visible.
fn client_query(qname: &Name, qtype: RecordType) -> Vec<u8> {
    let mut message = Message::new(0x4242, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(qname.clone(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(FERRET_UDP_LIMIT);
    edns.set_dnssec_ok(true);
    message.set_edns(edns);
    message.to_vec().expect("query encodes")
}

/// The denial-of-existence proofs (`ferret::validator::denial`) on the authority section of any
/// message, its records taken as authenticated: the proofs are pure functions over records whose
/// signatures were checked, and a signed zone can put anything in them.
pub struct DenialProof {
    caps: WorkCaps,
}

impl Default for DenialProof {
    fn default() -> Self {
        Self::new()
    }
}

impl DenialProof {
    pub fn new() -> Self {
        // Few iterations keep an input fast; NSEC3 records with more prove nothing (Insecure)
        // and are not hashed with. Hashes are bounded by the check in `bounded`, not the budget.
        DenialProof {
            caps: WorkCaps {
                nsec3_iterations: 16,
                nsec3_hashes: 1_000,
                ..WorkCaps::default()
            },
        }
    }

    /// The proofs are about the message's first question (the root, type A, without one), in
    /// the zone [`denial_zone`] picks; a wildcard answer is tried with the labels field of the
    /// first RRSIG in the answer section.
    pub fn check(&self, input: &[u8]) {
        let Ok(message) = Message::from_vec(input) else {
            return;
        };
        let (qname, qtype) = message
            .queries
            .first()
            .map_or((Name::root(), RecordType::A), |query| {
                (query.name().clone(), query.query_type())
            });
        let records = &message.authorities;
        let zone = denial_zone(records);
        let nxdomain = self.bounded(&qname, |work| prove_nxdomain(&qname, &zone, records, work));
        let nodata = self.bounded(&qname, |work| {
            prove_nodata(&qname, qtype, &zone, records, work)
        });
        let labels =
            rrsig_labels(&message.answers).unwrap_or_else(|| qname.num_labels().saturating_sub(1));
        // No invariant ties a wildcard answer to the others; only its hashing bound is checked.
        let _ = self.bounded(&qname, |work| {
            prove_wildcard_answer(&qname, labels, &zone, records, work)
        });
        // The same records cannot prove qname absent and present: a proof must not pick the
        // records that suit it from a self-contradicting set.
        if nxdomain == Ok(Denial::NxDomain) {
            assert!(
                !matches!(
                    nodata,
                    Ok(Denial::NoData | Denial::InsecureDelegation | Denial::WildcardNoData { .. })
                ),
                "{qname} proven both absent and present ({nodata:?})"
            );
        }
        check_one_nsec_at_a_time(&zone, &qname, qtype, records);
    }

    /// Runs a proof with a budget of its own, and checks it hashed each name once at most: the
    /// ancestors of qname from qname to the root, a wildcard, no more.
    fn bounded(
        &self,
        qname: &Name,
        proof: impl FnOnce(&WorkBudget) -> Result<Denial, DenialError>,
    ) -> Result<Denial, DenialError> {
        let work = WorkBudget::new(self.caps);
        let result = proof(&work);
        let most = qname.iter().count() + 2;
        let spent = work.nsec3_hashes_spent() as usize;
        assert!(
            spent <= most,
            "{spent} NSEC3 hashes for {qname}: {result:?}"
        );
        result
    }
}

/// The zone the proofs are asked to trust: the SOA's owner if the authority section has one,
/// else the zone of its first NSEC3 record (its owner less the hash), else the root, where every
/// name is.
fn denial_zone(records: &[Record]) -> Name {
    let soa = records
        .iter()
        .find(|record| record.record_type() == RecordType::SOA);
    let nsec3 = || {
        records
            .iter()
            .find(|record| record.record_type() == RecordType::NSEC3)
    };
    soa.map(|record| record.name.clone())
        .or_else(|| nsec3().map(|record| record.name.base_name()))
        .unwrap_or_else(Name::root)
}

fn rrsig_labels(records: &[Record]) -> Option<u8> {
    records.iter().find_map(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) => Some(rrsig.input().num_labels),
        _ => None,
    })
}

/// One NSEC (RFC 8198, a cached one) never both proves a name absent and denies a type there.
fn check_one_nsec_at_a_time(zone: &Name, qname: &Name, qtype: RecordType, records: &[Record]) {
    for record in records {
        let RData::DNSSEC(DNSSECRData::NSEC(nsec)) = &record.data else {
            continue;
        };
        let covers = nsec_covers(zone, &record.name, nsec, qname);
        let denies = nsec_denies_type(zone, &record.name, nsec, qname, qtype);
        assert!(
            !(covers && denies),
            "{record} proves {qname} absent and present"
        );
    }
}

fn classified_records(classified: &Classified) -> Vec<&Record> {
    match classified {
        Classified::Answer { chain } | Classified::Alias { chain, .. } => chain.iter().collect(),
        Classified::NxDomain { chain, soa, .. } | Classified::NoData { chain, soa, .. } => {
            chain.iter().chain(soa_records(soa)).collect()
        }
        Classified::Referral { ns, glue, .. } => ns.iter().chain(glue).collect(),
        Classified::Unusable(_) => Vec::new(),
    }
}

fn soa_records(soa: &Option<SoaProof>) -> impl Iterator<Item = &Record> {
    soa.iter()
        .flat_map(|proof| std::iter::once(&proof.soa).chain(&proof.rrsigs))
}

fn assert_in_zone(record: &Record, zone: &Name, what: &str) {
    assert!(
        zone.zone_of(&record.name),
        "{what} a record outside {zone}: {record}"
    );
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(name(owner), TTL, RData::A(A::new(192, 0, 2, last)))
}

fn aaaa(owner: &str, last: u16) -> Record {
    let address = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last);
    Record::from_rdata(name(owner), TTL, RData::AAAA(AAAA(address)))
}

fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), TTL, RData::CNAME(CNAME(name(target))))
}

/// hickory-proto keeps DNAME data opaque: the uncompressed target name (RFC 6672 §2.5).
fn dname(owner: &str, target: &str) -> Record {
    let data = name(target).to_bytes().expect("name encodes");
    Record::from_rdata(
        name(owner),
        TTL,
        RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(data),
        },
    )
}

/// An RRSIG is opaque without hickory's DNSSEC feature; only the type covered (its first two
/// bytes, RFC 4034 §3.1) matters to ferret.
fn rrsig(owner: &str, covered: RecordType) -> Record {
    let mut data = u16::from(covered).to_be_bytes().to_vec();
    data.extend_from_slice(&[8, 2, 0, 0, 1, 44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    data.extend_from_slice(&name(ZONE).to_bytes().expect("name encodes"));
    data.extend_from_slice(&[0xaa; 64]);
    Record::from_rdata(
        name(owner),
        TTL,
        RData::Unknown {
            code: RecordType::RRSIG,
            rdata: NULL::with(data),
        },
    )
}

fn soa(zone: &str) -> Record {
    let data = SOA::new(
        name(&format!("ns1.{zone}")),
        name(&format!("hostmaster.{zone}")),
        1,
        3600,
        600,
        86_400,
        300,
    );
    Record::from_rdata(name(zone), 3600, RData::SOA(data))
}

/// The DoH request checks (RFC 8484 §4.1) and what the DoH and DoT listeners read from bytes
/// (the `max-age` of a response, the padding of a query and of a response).
///
/// The first byte picks the method (GET, POST, another) and whether the content type is right;
/// the bytes up to the first NUL are the URL's query string, the rest the body. A head the checks
/// take must lead to a message of a DNS header at least and at most the length limit; the body
/// checks agree with the limits; nothing panics on any bytes.
#[derive(Default)]
pub struct DohRequest;

/// The largest query the listeners take (tcp.rs's MAX_QUERY_LEN).
const DOH_MAX_LEN: usize = 4096;
const DOH_PATH: &str = "/dns-query";

impl DohRequest {
    pub fn new() -> Self {
        DohRequest
    }

    pub fn check(&self, input: &[u8]) {
        use ferret::server::doh::request::{self, Head, Wanted};
        let Some((&pick, rest)) = input.split_first() else {
            return;
        };
        let method = match pick % 3 {
            0 => http::Method::GET,
            1 => http::Method::POST,
            _ => http::Method::PUT,
        };
        let content_type: &[u8] = if pick & 0x80 != 0 {
            b"application/dns-message"
        } else {
            b"text/plain"
        };
        let (query, body) = match rest.iter().position(|b| *b == 0) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        };
        let query = String::from_utf8_lossy(query);
        let head = Head {
            method: &method,
            path: DOH_PATH,
            query: Some(&query),
            content_type: Some(content_type),
        };
        match request::check_head(head, DOH_PATH, DOH_MAX_LEN) {
            Ok(Wanted::Query(message)) => {
                assert!(
                    method == http::Method::GET,
                    "only GET carries the query in the URL"
                );
                assert!(
                    (12..=DOH_MAX_LEN).contains(&message.len()),
                    "{}",
                    message.len()
                );
            }
            Ok(Wanted::Body) => {
                assert!(method == http::Method::POST && pick & 0x80 != 0);
                let checked = request::check_body(body, DOH_MAX_LEN);
                assert_eq!(checked.is_ok(), (12..=DOH_MAX_LEN).contains(&body.len()));
            }
            Err(status) => assert!(status.is_client_error(), "{status}"),
        }
        if let Some(age) = ferret::server::doh::max_age(rest) {
            assert!(age <= i32::MAX as u32, "RFC 2181 §8: {age}");
        }
        let _ = ferret::server::padding::query_is_padded(rest);
        let padded = ferret::server::padding::pad(rest.to_vec());
        assert!(
            padded == rest
                || padded
                    .len()
                    .is_multiple_of(ferret::server::padding::RESPONSE_BLOCK),
            "padding gives whole blocks or leaves the message alone"
        );
    }
}

/// A value read from the shared cache (Redis), where anyone with access to it may have written
/// anything: through `cache::shared::codec::decode` and, if taken, into an empty cache.
///
/// The first byte picks the question (of a few at `www.example.test.`), the rest is the value.
/// A value taken must answer exactly that question, carry no TTL above what is left of its
/// expiry or above `max-ttl`, carry only records on the question's chain, encode back to a value
/// that decodes to the same answer, and once in the cache answer from there with no record
/// outside what it carried.
#[derive(Default)]
pub struct SharedValue;

const SHARED_NOW_MS: u64 = 1_800_000_000_000;
const SHARED_MAX_TTL: u32 = 3_600;
const SHARED_FINGERPRINT: u64 = 0x1234_5678_9abc_def1;

impl SharedValue {
    pub fn new() -> Self {
        SharedValue
    }

    pub fn check(&self, input: &[u8]) {
        use ferret::cache::shared::codec::{self, ReadPolicy};
        use ferret::cache::{Cache, CacheLookup, TtlPolicy};
        let Some((&pick, value)) = input.split_first() else {
            return;
        };
        let qtype = [
            RecordType::A,
            RecordType::AAAA,
            RecordType::TXT,
            RecordType::CNAME,
        ][usize::from(pick % 4)];
        let qname = name("www.example.test.");
        let policy = ReadPolicy {
            now_ms: SHARED_NOW_MS,
            fingerprint: SHARED_FINGERPRINT,
            max_ttl: SHARED_MAX_TTL,
            max_negative_ttl: SHARED_MAX_TTL / 2,
        };
        let Ok(answer) = codec::decode(value, &qname, qtype, policy) else {
            return;
        };
        let expires = u64::from_be_bytes(value[10..18].try_into().expect("header read"));
        let left = (expires.saturating_sub(SHARED_NOW_MS) / 1000) as u32;
        for record in answer.answers.iter().chain(&answer.authorities) {
            assert!(
                record.ttl <= SHARED_MAX_TTL && record.ttl <= left,
                "{record}"
            );
            assert!(
                record.name.zone_of(&qname)
                    || answer.answers.iter().any(
                        |r| ferret::records::cname_target(r).is_some_and(|t| *t == record.name)
                    )
                    || answer.authorities.contains(record),
                "off the chain: {record}"
            );
        }
        let (again, _) = codec::encode(&qname, qtype, &answer, SHARED_NOW_MS, SHARED_FINGERPRINT)
            .expect("a value taken encodes again");
        let reread = codec::decode(&again, &qname, qtype, policy).expect("and decodes again");
        assert_eq!(reread.rcode, answer.rcode);
        assert_eq!(reread.answers.len(), answer.answers.len());
        assert_eq!(reread.security, answer.security);
        let clock = Clock::system();
        let cache = Cache::new(
            1_000,
            TtlPolicy {
                min_ttl: 0,
                max_ttl: SHARED_MAX_TTL,
                max_negative_ttl: SHARED_MAX_TTL,
            },
            clock,
        );
        cache.insert_shared(&qname, qtype, &answer);
        if let CacheLookup::Hit(cached) = cache.lookup_answer(&qname, qtype, 11) {
            for record in &cached.answers {
                assert!(
                    answer.answers.iter().any(|r| r.name == record.name
                        && r.record_type() == record.record_type()
                        && r.data == record.data),
                    "the cache answered with a record the value did not carry: {record}"
                );
            }
        }
    }
}
