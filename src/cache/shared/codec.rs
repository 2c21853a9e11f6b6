//! The shared cache's keys and values: what one ferret writes to Redis and another reads back.
//!
//! A value is a short header and the answer as a DNS message:
//!
//! ```text
//! 0       version (1)
//! 1       validation: 0 unchecked (validation off), 1 secure, 2 insecure
//! 2..10   trust fingerprint, u64 big-endian: the anchors the entry was validated under, 0 off
//! 10..18  absolute expiry, milliseconds since the Unix epoch, u64 big-endian
//! 18..    the answer in DNS wire format: a response with the question, its rcode, the answer
//!         section (CNAME/DNAME chain, RRset, RRSIGs) and the authority section (SOA, NSEC/NSEC3
//!         and their RRSIGs for a negative answer or a wildcard proof)
//! ```
//!
//! Anyone who can write to the Redis can write anything under ferret's keys, so [`decode`]
//! treats a value as untrusted input: it must parse, answer exactly the question of its key,
//! carry only records on that question's CNAME/DNAME chain, be no larger than
//! [`MAX_VALUE_LEN`], and its TTLs are cut to what is left of its expiry and to `max-ttl`.

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use thiserror::Error;

use crate::answer::Answer;
use crate::cache::Validation;
use crate::clock::Millis;
use crate::records::cname_target;

/// The version byte of the value format written here; other versions are not read.
pub const VERSION: u8 = 1;

/// Header bytes before the message.
const HEADER_LEN: usize = 18;

/// The largest value read or written: the header and a message of at most 64 KiB (the most a
/// DNS message can be over TCP). Reads ask Redis for no more than one byte past this
/// (GETRANGE), so an oversized value is neither transferred whole nor parsed.
pub const MAX_VALUE_LEN: usize = HEADER_LEN + 65_535;

/// Most records in the answer and authority sections together; an answer needs far fewer (a
/// chain of 11 links with signatures and an NSEC3 proof is ~60).
const MAX_RECORDS: usize = 256;

/// The key of a question: the prefix, the format version, type and class numbers and the name
/// lowercased in presentation format (RFC 4343: names compare without regard to ASCII case),
/// e.g. `ferret:v1:1:1:www.example.test.`. The name comes last, so that whatever it holds, the
/// fields before it cannot be mistaken for part of it.
pub fn key(prefix: &str, qname: &Name, qtype: RecordType) -> String {
    format!(
        "{prefix}v{VERSION}:{}:{}:{}",
        u16::from(qtype),
        u16::from(DNSClass::IN),
        qname.to_lowercase().to_ascii()
    )
}

/// A value for `answer` to `qname`/`qtype`, and how long Redis should keep it (milliseconds), or
/// `None` for an answer that is not shared: SERVFAIL and other failures, bogus data, an empty
/// answer without the SOA that bounds its lifetime (RFC 2308 §5), or one that has expired.
pub fn encode(
    qname: &Name,
    qtype: RecordType,
    answer: &Answer,
    now_ms: Millis,
    fingerprint: u64,
) -> Option<(Vec<u8>, u64)> {
    let validation = match answer.security {
        Validation::Unchecked => 0,
        Validation::Secure => 1,
        Validation::Insecure => 2,
        Validation::Bogus(_) => return None,
    };
    let negative = match answer.rcode {
        ResponseCode::NXDomain => true,
        ResponseCode::NoError => answer.answers.is_empty(),
        _ => return None,
    };
    if negative && !answer.authorities.iter().any(is_soa) {
        return None;
    }
    if answer.answers.len() + answer.authorities.len() > MAX_RECORDS {
        return None;
    }
    // The answer's TTLs are already counted down: the smallest is what is left of the whole.
    let ttl = answer
        .answers
        .iter()
        .chain(&answer.authorities)
        .map(|record| record.ttl)
        .min()?;
    if ttl == 0 {
        return None;
    }
    let ttl_ms = u64::from(ttl) * 1000;
    let mut message = Message::new(0, MessageType::Response, OpCode::Query);
    message.metadata.response_code = answer.rcode;
    message.add_query(Query::query(qname.to_lowercase(), qtype));
    message.answers = answer.answers.clone();
    message.authorities = answer.authorities.clone();
    let wire = message.to_vec().ok()?;
    let mut value = Vec::with_capacity(HEADER_LEN + wire.len());
    value.push(VERSION);
    value.push(validation);
    value.extend_from_slice(&fingerprint.to_be_bytes());
    value.extend_from_slice(&(now_ms + ttl_ms).to_be_bytes());
    value.extend_from_slice(&wire);
    (value.len() <= MAX_VALUE_LEN).then_some((value, ttl_ms))
}

/// Why a value read from Redis was not used. Each is counted; none is ever an answer.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("larger than {MAX_VALUE_LEN} bytes")]
    Oversize,
    #[error("not a value ferret wrote: {0}")]
    Garbage(&'static str),
    #[error("the answer is for another question")]
    OtherQuestion,
    #[error("validated under other trust anchors, or with validation set otherwise")]
    OtherTrust,
    #[error("expired")]
    Expired,
}

impl Rejected {
    /// The label this is counted under.
    pub fn label(&self) -> &'static str {
        match self {
            Rejected::Oversize => "oversize",
            Rejected::Garbage(_) => "garbage",
            Rejected::OtherQuestion => "other_question",
            Rejected::OtherTrust => "other_trust",
            Rejected::Expired => "expired",
        }
    }
}

/// What bounds the TTLs of an entry read back.
#[derive(Debug, Clone, Copy)]
pub struct ReadPolicy {
    pub now_ms: Millis,
    pub fingerprint: u64,
    pub max_ttl: u32,
    pub max_negative_ttl: u32,
}

/// `value` as the answer to `qname`/`qtype`, with every TTL cut to what is left of the entry's
/// expiry and to the TTL bounds, or why it cannot be used.
pub fn decode(
    value: &[u8],
    qname: &Name,
    qtype: RecordType,
    policy: ReadPolicy,
) -> Result<Answer, Rejected> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Rejected::Oversize);
    }
    let Some((header, wire)) = value.split_at_checked(HEADER_LEN) else {
        return Err(Rejected::Garbage("shorter than the header"));
    };
    if header[0] != VERSION {
        return Err(Rejected::Garbage("unknown version"));
    }
    let security = match header[1] {
        0 => Validation::Unchecked,
        1 => Validation::Secure,
        2 => Validation::Insecure,
        _ => return Err(Rejected::Garbage("unknown validation status")),
    };
    let fingerprint = u64::from_be_bytes(header[2..10].try_into().unwrap_or_default());
    let expires_ms = u64::from_be_bytes(header[10..18].try_into().unwrap_or_default());
    let message = Message::from_vec(wire).map_err(|_| Rejected::Garbage("not a DNS message"))?;
    if message.metadata.message_type != MessageType::Response
        || message.metadata.op_code != OpCode::Query
    {
        return Err(Rejected::Garbage("not a response"));
    }
    match message.queries.as_slice() {
        [query]
            if query.query_type() == qtype
                && query.query_class() == DNSClass::IN
                && query.name() == qname => {}
        _ => return Err(Rejected::OtherQuestion),
    }
    // Checked after the question, so that a value under the wrong key counts as that.
    if fingerprint != policy.fingerprint {
        return Err(Rejected::OtherTrust);
    }
    let rcode = message.metadata.response_code;
    let negative = match rcode {
        ResponseCode::NXDomain => true,
        ResponseCode::NoError => message.answers.is_empty(),
        _ => return Err(Rejected::Garbage("an rcode that is never shared")),
    };
    if message.answers.len() + message.authorities.len() > MAX_RECORDS {
        return Err(Rejected::Garbage("too many records"));
    }
    if !message.additionals.is_empty() || message.signature.is_some() {
        return Err(Rejected::Garbage("an additional section"));
    }
    // Ferret writes only class IN data, and never a record whose TTL has run out (encode
    // refuses those answers): anything else was not written by a ferret.
    if !message
        .answers
        .iter()
        .chain(&message.authorities)
        .all(|r| r.dns_class == DNSClass::IN && r.ttl > 0)
    {
        return Err(Rejected::Garbage(
            "a record of another class, or with TTL 0",
        ));
    }
    check_chain(qname, qtype, &message.answers)?;
    if !message.authorities.iter().all(|r| {
        matches!(
            r.record_type(),
            RecordType::SOA | RecordType::NSEC | RecordType::NSEC3 | RecordType::RRSIG
        )
    }) {
        return Err(Rejected::Garbage("authority records that prove nothing"));
    }
    if negative && !message.authorities.iter().any(is_soa) {
        return Err(Rejected::Garbage("a negative answer without its SOA"));
    }
    let left_ms = expires_ms.saturating_sub(policy.now_ms);
    let cap = if negative {
        policy.max_negative_ttl
    } else {
        policy.max_ttl
    };
    let left = u32::try_from(left_ms / 1000).unwrap_or(u32::MAX).min(cap);
    if left == 0 {
        return Err(Rejected::Expired);
    }
    let bound = |mut record: Record| {
        record.ttl = record.ttl.min(left);
        record
    };
    Ok(Answer {
        rcode,
        answers: message.answers.into_iter().map(bound).collect(),
        authorities: message.authorities.into_iter().map(bound).collect(),
        security,
    })
}

fn is_soa(record: &Record) -> bool {
    record.record_type() == RecordType::SOA
}

/// Every answer record must be on the question's chain: a CNAME, the asked-for type or an
/// RRSIG at a name the chain reaches, or a DNAME (and its RRSIG) at an ancestor of one (RFC
/// 6672). Anything else would put data about unrelated names into the local cache.
fn check_chain(qname: &Name, qtype: RecordType, answers: &[Record]) -> Result<(), Rejected> {
    let mut chain = vec![qname.clone()];
    // Each CNAME adds its target; bounded by the record count.
    let mut grew = true;
    while grew {
        grew = false;
        for record in answers {
            if let Some(target) = cname_target(record).cloned()
                && chain.contains(&record.name)
                && !chain.contains(&target)
            {
                chain.push(target);
                grew = true;
            }
        }
    }
    let on_chain = |name: &Name| chain.iter().any(|n| n == name);
    let above_chain = |name: &Name| chain.iter().any(|n| name.zone_of(n));
    let fits = |record: &Record| match record.record_type() {
        RecordType::DNAME => above_chain(&record.name),
        RecordType::RRSIG => on_chain(&record.name) || above_chain(&record.name),
        rtype if rtype == qtype || rtype == RecordType::CNAME => on_chain(&record.name),
        _ => false,
    };
    if answers.iter().all(fits) {
        Ok(())
    } else {
        Err(Rejected::Garbage("answer records off the question's chain"))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::{A, CNAME, SOA};

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn a(owner: &str, ttl: u32) -> Record {
        Record::from_rdata(name(owner), ttl, RData::A(A(Ipv4Addr::new(192, 0, 2, 1))))
    }

    fn soa(ttl: u32) -> Record {
        Record::from_rdata(
            name("example.test."),
            ttl,
            RData::SOA(SOA::new(
                name("ns.example.test."),
                name("admin.example.test."),
                1,
                3600,
                600,
                86400,
                300,
            )),
        )
    }

    fn policy(now_ms: Millis) -> ReadPolicy {
        ReadPolicy {
            now_ms,
            fingerprint: 7,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
        }
    }

    fn positive() -> Answer {
        Answer {
            rcode: ResponseCode::NoError,
            answers: vec![
                Record::from_rdata(
                    name("www.example.test."),
                    300,
                    RData::CNAME(CNAME(name("host.example.test."))),
                ),
                a("host.example.test.", 120),
            ],
            authorities: Vec::new(),
            security: Validation::Secure,
        }
    }

    #[test]
    fn an_answer_reads_back_with_its_ttl_counted_down() {
        let qname = name("WWW.Example.test.");
        let (value, ttl_ms) = encode(&qname, RecordType::A, &positive(), 1_000_000, 7).unwrap();
        assert_eq!(ttl_ms, 120_000, "the smallest TTL bounds the entry");
        let later = policy(1_000_000 + 100_000);
        let answer = decode(&value, &name("www.example.TEST."), RecordType::A, later).unwrap();
        assert_eq!(answer.security, Validation::Secure);
        assert_eq!(answer.answers.len(), 2);
        assert!(answer.answers.iter().all(|r| r.ttl == 20), "{answer:?}");
    }

    #[test]
    fn the_key_ignores_case_and_names_type_and_class() {
        let key = key("fleet:", &name("WWW.Example.Test."), RecordType::AAAA);
        assert_eq!(key, "fleet:v1:28:1:www.example.test.");
    }

    #[test]
    fn failures_bogus_data_and_soa_less_negatives_are_not_shared() {
        let qname = name("www.example.test.");
        let mut answer = positive();
        answer.security = Validation::Bogus(crate::validator::BogusReason::Bogus);
        assert!(encode(&qname, RecordType::A, &answer, 0, 7).is_none());
        assert!(encode(&qname, RecordType::A, &Answer::servfail(), 0, 7).is_none());
        let empty = Answer::with_rcode(ResponseCode::NXDomain);
        assert!(encode(&qname, RecordType::A, &empty, 0, 7).is_none());
        let mut negative = Answer::with_rcode(ResponseCode::NXDomain);
        negative.authorities.push(soa(900));
        let (value, _) = encode(&qname, RecordType::A, &negative, 0, 7).unwrap();
        let read = decode(&value, &qname, RecordType::A, policy(0)).unwrap();
        assert_eq!(read.rcode, ResponseCode::NXDomain);
        assert_eq!(read.authorities[0].ttl, 900);
    }

    #[test]
    fn ttls_are_bounded_by_max_ttl() {
        let qname = name("host.example.test.");
        let answer = Answer {
            rcode: ResponseCode::NoError,
            answers: vec![a("host.example.test.", 7 * 86_400)],
            authorities: Vec::new(),
            security: Validation::Unchecked,
        };
        let (value, _) = encode(&qname, RecordType::A, &answer, 0, 7).unwrap();
        let mut bounded = policy(0);
        bounded.max_ttl = 60;
        let read = decode(&value, &qname, RecordType::A, bounded).unwrap();
        assert_eq!(read.answers[0].ttl, 60);
    }

    #[test]
    fn untrusted_values_are_rejected() {
        let qname = name("www.example.test.");
        let (value, _) = encode(&qname, RecordType::A, &positive(), 0, 7).unwrap();
        let at = policy(1_000);
        let other = name("other.example.test.");
        assert_eq!(
            decode(&value, &other, RecordType::A, at),
            Err(Rejected::OtherQuestion)
        );
        assert_eq!(
            decode(&value, &qname, RecordType::AAAA, at),
            Err(Rejected::OtherQuestion)
        );
        let mut other_anchors = at;
        other_anchors.fingerprint = 8;
        assert_eq!(
            decode(&value, &qname, RecordType::A, other_anchors),
            Err(Rejected::OtherTrust)
        );
        assert_eq!(
            decode(&value, &qname, RecordType::A, policy(200_000)),
            Err(Rejected::Expired)
        );
        assert!(matches!(
            decode(b"hello", &qname, RecordType::A, at),
            Err(Rejected::Garbage(_))
        ));
        let mut truncated = value.clone();
        truncated.truncate(value.len() - 3);
        assert!(matches!(
            decode(&truncated, &qname, RecordType::A, at),
            Err(Rejected::Garbage(_))
        ));
        let big = vec![VERSION; MAX_VALUE_LEN + 1];
        assert_eq!(
            decode(&big, &qname, RecordType::A, at),
            Err(Rejected::Oversize)
        );
    }

    /// Found by the shared_value fuzzer: an A record of class 251 with TTL 0 was taken, and
    /// the answer could not be written back. Neither is anything a ferret writes.
    #[test]
    fn records_of_another_class_or_without_ttl_are_refused() {
        let qname = name("www.example.test.");
        for (class, ttl) in [(DNSClass::Unknown(251), 300), (DNSClass::IN, 0)] {
            let mut record = a("www.example.test.", ttl);
            record.dns_class = class;
            let mut message = Message::new(0, MessageType::Response, OpCode::Query);
            message.add_query(Query::query(qname.clone(), RecordType::A));
            message.answers.push(record);
            let mut value = vec![VERSION, 0];
            value.extend_from_slice(&7u64.to_be_bytes());
            value.extend_from_slice(&600_000u64.to_be_bytes());
            value.extend_from_slice(&message.to_vec().unwrap());
            assert!(
                matches!(
                    decode(&value, &qname, RecordType::A, policy(0)),
                    Err(Rejected::Garbage(_))
                ),
                "{class:?} ttl {ttl}"
            );
        }
    }

    #[test]
    fn records_off_the_chain_are_refused() {
        let qname = name("www.example.test.");
        let mut answer = positive();
        answer.answers.push(a("victim.example.test.", 300));
        let (value, _) = encode(&qname, RecordType::A, &answer, 0, 7).unwrap();
        assert!(matches!(
            decode(&value, &qname, RecordType::A, policy(0)),
            Err(Rejected::Garbage(_))
        ));
    }
}
