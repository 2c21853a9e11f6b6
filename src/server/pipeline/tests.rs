//! `parse` and `encode` on queries built with hickory-proto (and patched by hand where hickory
//! will not build the malformed thing), checked by decoding what comes back.

use std::net::Ipv4Addr;

use hickory_proto::dnssec::Algorithm;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, RRSIG, SigInput};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::SerialNumber;
use hickory_proto::rr::rdata::{A, NULL, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use super::{ClientQuery, Parsed, Transport, encode, parse};
use crate::answer::Answer;

const ID: u16 = 0xbeef;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A standard query with RD set, as a stub resolver sends it.
fn query(qname: &str, qtype: RecordType) -> Message {
    let mut message = Message::new(ID, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name(qname), qtype));
    message
}

fn with_edns(mut message: Message, payload: u16, dnssec_ok: bool) -> Message {
    let mut edns = Edns::new();
    edns.set_max_payload(payload);
    edns.set_dnssec_ok(dnssec_ok);
    message.set_edns(edns);
    message
}

fn bytes(message: &Message) -> Vec<u8> {
    message.to_vec().unwrap()
}

#[track_caller]
fn client_query(message: &Message) -> ClientQuery {
    match parse(&bytes(message)) {
        Parsed::Query(query) => query,
        other => panic!("expected a query, got {other:?}"),
    }
}

/// The bytes of an immediate error reply, and the reply decoded.
#[track_caller]
fn reply(parsed: Parsed) -> (Vec<u8>, Message) {
    match parsed {
        Parsed::Reply(bytes) => {
            let message = Message::from_vec(&bytes).unwrap();
            (bytes, message)
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[track_caller]
fn assert_reply(parsed: Parsed, rcode: ResponseCode) -> Message {
    let (bytes, message) = reply(parsed);
    assert_eq!(&bytes[..2], &ID.to_be_bytes(), "ID echoed");
    assert_eq!(message.metadata.id, ID);
    assert_eq!(message.metadata.message_type, MessageType::Response);
    assert_eq!(message.metadata.response_code, rcode);
    message
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
    )
}

fn soa(zone: &str) -> Record {
    let rdata = SOA::new(
        name(&format!("ns1.{zone}")),
        name(&format!("hostmaster.{zone}")),
        1,
        3600,
        600,
        86400,
        60,
    );
    Record::from_rdata(name(zone), 300, RData::SOA(rdata))
}

/// An RRSIG over the `covered` RRset at `owner`, signed by `example.` (the signature is filler:
/// nothing here validates).
fn rrsig(owner: &str, covered: RecordType) -> Record {
    let input = SigInput {
        type_covered: covered,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: name(owner).num_labels(),
        original_ttl: 300,
        sig_expiration: SerialNumber::new(u32::MAX),
        sig_inception: SerialNumber::new(0),
        key_tag: 12345,
        signer_name: name("example."),
    };
    Record::from_rdata(
        name(owner),
        300,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![0x5a; 64]))),
    )
}

/// An NSEC at `owner` whose next name is `next`, for the types given.
fn nsec(owner: &str, next: &str, types: &[RecordType]) -> Record {
    Record::from_rdata(
        name(owner),
        300,
        RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
            name(next),
            types.iter().copied(),
        ))),
    )
}

fn answer(rcode: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> Answer {
    Answer {
        rcode,
        answers,
        authorities,
        security: crate::cache::Validation::Unchecked,
    }
}

fn decode(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).unwrap()
}

// ---- parse ----

#[test]
fn shorter_than_a_header_is_dropped() {
    let full = bytes(&query("www.example.", RecordType::A));
    for len in [0, 1, 11] {
        assert!(matches!(parse(&full[..len]), Parsed::Drop), "{len} bytes");
    }
}

#[test]
fn header_alone_with_no_question_is_formerr() {
    let mut header = bytes(&query("www.example.", RecordType::A))[..12].to_vec();
    header[4..6].copy_from_slice(&[0, 0]);
    assert_reply(parse(&header), ResponseCode::FormErr);
}

#[test]
fn responses_are_dropped() {
    let mut message = query("www.example.", RecordType::A);
    message.metadata.message_type = MessageType::Response;
    assert!(matches!(parse(&bytes(&message)), Parsed::Drop));

    // Even one whose body would not parse: the QR bit alone decides.
    let mut garbage = bytes(&message)[..12].to_vec();
    garbage.extend_from_slice(&[0xff; 7]);
    assert!(matches!(parse(&garbage), Parsed::Drop));
}

#[test]
fn other_opcodes_are_notimp_with_id_and_opcode_echoed() {
    for opcode in [OpCode::Notify, OpCode::Update, OpCode::Status] {
        let mut message = query("example.", RecordType::SOA);
        message.metadata.op_code = opcode;
        let reply = assert_reply(parse(&bytes(&message)), ResponseCode::NotImp);
        assert_eq!(reply.metadata.op_code, opcode);
        assert!(reply.metadata.recursion_desired, "RD echoed");
        assert!(reply.queries.is_empty());
    }
}

#[test]
fn header_only_errors_echo_rd_and_cd() {
    for (rd, cd) in [(true, true), (false, true), (true, false), (false, false)] {
        let mut message = query("example.", RecordType::SOA);
        message.metadata.op_code = OpCode::Notify;
        message.metadata.recursion_desired = rd;
        message.metadata.checking_disabled = cd;
        let reply = assert_reply(parse(&bytes(&message)), ResponseCode::NotImp);
        assert_eq!(reply.metadata.recursion_desired, rd);
        assert_eq!(reply.metadata.checking_disabled, cd);
        assert!(!reply.metadata.authoritative);
        assert!(!reply.metadata.truncation);
    }
}

#[test]
fn unassigned_opcode_is_notimp_even_with_a_body_that_does_not_parse() {
    let mut raw = bytes(&query("example.", RecordType::SOA))[..12].to_vec();
    raw[2] = (raw[2] & 0x87) | (6 << 3);
    raw.extend_from_slice(&[0xff; 5]);
    let (reply_bytes, _) = reply(parse(&raw));
    assert_eq!(&reply_bytes[..2], &ID.to_be_bytes());
    assert_eq!(reply_bytes[2] & 0x80, 0x80, "QR");
    assert_eq!((reply_bytes[2] >> 3) & 0x0f, 6, "opcode echoed");
    assert_eq!(reply_bytes[3] & 0x0f, u16::from(ResponseCode::NotImp) as u8);
}

#[test]
fn garbage_after_a_valid_header_is_formerr_with_id_echoed() {
    let header = &bytes(&query("www.example.", RecordType::A))[..12];
    let bodies: [&[u8]; 4] = [
        // A label longer than the bytes left.
        &[0x3f, b'a', b'b'],
        // A compression pointer to itself.
        &[0xc0, 0x0c, 0, 1, 0, 1],
        // A name with no type and class.
        &[3, b'w', b'w', b'w', 0],
        // Nothing where the question should be.
        &[],
    ];
    for body in bodies {
        let mut raw = header.to_vec();
        raw.extend_from_slice(body);
        let (reply_bytes, message) = reply(parse(&raw));
        assert_eq!(&reply_bytes[..2], &ID.to_be_bytes());
        assert_eq!(message.metadata.response_code, ResponseCode::FormErr);
        assert!(
            message.queries.is_empty(),
            "no question in a header-only reply"
        );
    }
}

#[test]
fn zero_or_two_questions_are_formerr() {
    let none = Message::new(ID, MessageType::Query, OpCode::Query);
    assert_reply(parse(&bytes(&none)), ResponseCode::FormErr);

    let mut two = query("www.example.", RecordType::A);
    two.add_query(Query::query(name("www.example."), RecordType::AAAA));
    assert_reply(parse(&bytes(&two)), ResponseCode::FormErr);
}

#[test]
fn records_in_answer_or_authority_of_a_query_are_formerr() {
    let mut with_answer = query("www.example.", RecordType::A);
    with_answer.add_answer(a("www.example.", 1));
    assert_reply(parse(&bytes(&with_answer)), ResponseCode::FormErr);

    let mut with_authority = query("www.example.", RecordType::A);
    with_authority.add_authority(soa("example."));
    assert_reply(parse(&bytes(&with_authority)), ResponseCode::FormErr);
}

#[test]
fn two_opt_records_are_formerr() {
    // RFC 6891 §6.1.1: more than one OPT record is a FORMERR.
    let mut message = with_edns(query("www.example.", RecordType::A), 1232, false);
    let second = Record::from(message.edns.as_ref().unwrap());
    message.add_additional(second);
    assert_reply(parse(&bytes(&message)), ResponseCode::FormErr);
}

#[test]
fn edns_version_1_is_badvers() {
    let mut message = with_edns(query("www.example.", RecordType::A), 1232, true);
    message.edns.as_mut().unwrap().set_version(1);
    let (reply_bytes, reply) = reply(parse(&bytes(&message)));
    assert_eq!(reply.metadata.id, ID);
    // BADVERS is 16: nothing in the header's four bits, 1 in the OPT's upper eight.
    assert_eq!(reply_bytes[3] & 0x0f, 0);
    let edns = reply.edns.as_ref().expect("a BADVERS reply carries an OPT");
    assert_eq!(edns.rcode_high(), 1);
    assert_eq!(edns.version(), 0, "we answer with the version we speak");
    // 16 decodes as BADSIG (the TSIG meaning of the same number), so compare numbers.
    assert_eq!(
        u16::from(reply.metadata.response_code),
        u16::from(ResponseCode::BADVERS)
    );
}

#[test]
fn chaos_class_is_refused() {
    let mut message = Message::new(ID, MessageType::Query, OpCode::Query);
    let mut question = Query::query(name("version.bind."), RecordType::TXT);
    question.set_query_class(DNSClass::CH);
    message.add_query(question.clone());
    let reply = assert_reply(parse(&bytes(&message)), ResponseCode::Refused);
    assert_eq!(reply.queries, vec![question]);
}

#[test]
fn zone_transfers_are_refused() {
    for qtype in [RecordType::AXFR, RecordType::IXFR] {
        let message = query("example.", qtype);
        let reply = assert_reply(parse(&bytes(&message)), ResponseCode::Refused);
        assert_eq!(reply.queries[0].query_type(), qtype);
    }
}

#[test]
fn meta_types_as_questions_are_formerr() {
    for qtype in [RecordType::OPT, RecordType::TSIG] {
        let message = query("example.", qtype);
        assert_reply(parse(&bytes(&message)), ResponseCode::FormErr);
    }
}

#[test]
fn good_query_is_parsed() {
    let query = client_query(&with_edns(
        query("www.example.", RecordType::AAAA),
        4096,
        true,
    ));
    assert_eq!(query.name(), &name("www.example."));
    assert_eq!(query.rtype(), RecordType::AAAA);
}

#[test]
fn good_query_without_edns_is_parsed() {
    let query = client_query(&query("www.example.", RecordType::MX));
    assert_eq!(query.name(), &name("www.example."));
    assert_eq!(query.rtype(), RecordType::MX);
}

// ---- encode ----

#[test]
fn response_flags_echo_rd_and_cd_and_never_set_aa_or_ad() {
    for (rd, cd) in [(true, true), (false, false), (true, false), (false, true)] {
        let mut message = query("www.example.", RecordType::A);
        message.metadata.recursion_desired = rd;
        message.metadata.checking_disabled = cd;
        // RFC 6840 §5.7: AD in a query asks for AD in the answer; we validate nothing.
        message.metadata.authentic_data = true;
        let query = client_query(&message);
        let answer = answer(ResponseCode::NoError, vec![a("www.example.", 1)], vec![]);
        let response = decode(&encode(&query, &answer, Transport::Udp));
        let meta = &response.metadata;
        assert_eq!(meta.id, ID);
        assert_eq!(meta.message_type, MessageType::Response);
        assert_eq!(meta.op_code, OpCode::Query);
        assert!(meta.recursion_available);
        assert_eq!(meta.recursion_desired, rd);
        assert_eq!(meta.checking_disabled, cd);
        assert!(!meta.authoritative);
        assert!(!meta.authentic_data);
        assert!(!meta.truncation);
        assert_eq!(meta.response_code, ResponseCode::NoError);
        assert_eq!(response.answers, vec![a("www.example.", 1)]);
    }
}

#[test]
fn question_is_echoed_with_the_client_case() {
    // Clients using 0x20 case randomisation compare the question byte for byte.
    let message = query("WwW.ExAmPlE.", RecordType::A);
    let query = client_query(&message);
    let answer = answer(ResponseCode::NoError, vec![a("www.example.", 1)], vec![]);
    let response = encode(&query, &answer, Transport::Udp);
    let question = message.queries[0].to_bytes().unwrap();
    assert_eq!(&response[4..6], &[0, 1], "one question");
    assert_eq!(&response[12..12 + question.len()], &question[..]);
    assert_eq!(
        decode(&response).queries[0].name().to_ascii(),
        "WwW.ExAmPlE."
    );
}

#[test]
fn rcode_and_authority_are_carried() {
    let query = client_query(&query("nope.example.", RecordType::A));
    let answer = answer(ResponseCode::NXDomain, vec![], vec![soa("example.")]);
    let response = decode(&encode(&query, &answer, Transport::Udp));
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert!(response.answers.is_empty());
    assert_eq!(response.authorities, vec![soa("example.")]);
}

#[test]
fn opt_is_present_only_when_the_query_had_one() {
    let answer = answer(ResponseCode::NoError, vec![a("www.example.", 1)], vec![]);

    let plain = client_query(&query("www.example.", RecordType::A));
    let response = decode(&encode(&plain, &answer, Transport::Udp));
    assert!(response.edns.is_none());

    for (payload, dnssec_ok) in [(4096, false), (4096, true), (512, true), (1232, false)] {
        let message = with_edns(query("www.example.", RecordType::A), payload, dnssec_ok);
        let query = client_query(&message);
        let response = decode(&encode(&query, &answer, Transport::Udp));
        let edns = response.edns.expect("OPT echoed");
        assert_eq!(edns.max_payload(), 1232, "our payload, not the client's");
        assert_eq!(edns.flags().dnssec_ok, dnssec_ok, "DO echoed");
        assert_eq!(edns.version(), 0);
    }
}

#[test]
fn dnssec_records_are_removed_unless_the_client_set_do() {
    let answer = answer(
        ResponseCode::NoError,
        vec![a("www.example.", 1), rrsig("www.example.", RecordType::A)],
        vec![
            soa("example."),
            rrsig("example.", RecordType::SOA),
            nsec("www.example.", "zzz.example.", &[RecordType::A]),
        ],
    );
    for message in [
        query("www.example.", RecordType::A),
        with_edns(query("www.example.", RecordType::A), 1232, false),
    ] {
        let query = client_query(&message);
        let response = decode(&encode(&query, &answer, Transport::Tcp));
        assert_eq!(response.answers, vec![a("www.example.", 1)]);
        assert_eq!(response.authorities, vec![soa("example.")]);
    }

    let query = client_query(&with_edns(query("www.example.", RecordType::A), 1232, true));
    let response = decode(&encode(&query, &answer, Transport::Tcp));
    assert_eq!(response.answers, answer.answers);
    assert_eq!(response.authorities, answer.authorities);
}

#[test]
fn ad_cd_and_extended_errors_follow_the_validation_status() {
    use crate::cache::Validation;
    use crate::validator::BogusReason;
    let with = |security: Validation| Answer {
        security,
        ..answer(ResponseCode::NoError, vec![a("www.example.", 1)], vec![])
    };
    let plain = query("www.example.", RecordType::A);
    let with_do = with_edns(plain.clone(), 1232, true);
    let mut with_ad = plain.clone();
    with_ad.metadata.authentic_data = true;
    let mut with_cd = with_do.clone();
    with_cd.metadata.checking_disabled = true;
    let respond = |message: &Message, security| {
        decode(&encode(
            &client_query(message),
            &with(security),
            Transport::Udp,
        ))
    };
    // RFC 6840 §5.7: AD for DO=1 or AD=1 on secure data only, and never with CD=1.
    assert!(
        respond(&with_do, Validation::Secure)
            .metadata
            .authentic_data
    );
    assert!(
        respond(&with_ad, Validation::Secure)
            .metadata
            .authentic_data
    );
    assert!(!respond(&plain, Validation::Secure).metadata.authentic_data);
    assert!(
        !respond(&with_cd, Validation::Secure)
            .metadata
            .authentic_data
    );
    assert!(
        !respond(&with_do, Validation::Insecure)
            .metadata
            .authentic_data
    );
    assert!(
        !respond(&with_do, Validation::Unchecked)
            .metadata
            .authentic_data
    );
    // Bogus: SERVFAIL with the EDE (RFC 8914) unless CD=1, which gets the data.
    let bogus = Validation::Bogus(BogusReason::SignatureExpired);
    let failed = respond(&with_do, bogus);
    assert_eq!(failed.metadata.response_code, ResponseCode::ServFail);
    assert!(failed.answers.is_empty());
    let ede = failed.edns.as_ref().and_then(|e| {
        e.options()
            .as_ref()
            .iter()
            .find(|(code, _)| u16::from(*code) == 15)
            .map(|(_, o)| o.clone())
    });
    assert_eq!(
        ede,
        Some(hickory_proto::rr::rdata::opt::EdnsOption::Unknown(
            15,
            vec![0, 7]
        ))
    );
    let without_edns = respond(&plain, bogus);
    assert_eq!(without_edns.metadata.response_code, ResponseCode::ServFail);
    let checking_disabled = respond(&with_cd, bogus);
    assert_eq!(
        checking_disabled.metadata.response_code,
        ResponseCode::NoError
    );
    assert_eq!(checking_disabled.answers, vec![a("www.example.", 1)]);
    assert!(!checking_disabled.metadata.authentic_data);
}

#[test]
fn dnssec_records_asked_for_by_type_are_kept_without_do() {
    let answer = answer(
        ResponseCode::NoError,
        vec![rrsig("www.example.", RecordType::A)],
        vec![],
    );
    let query = client_query(&query("www.example.", RecordType::RRSIG));
    let response = decode(&encode(&query, &answer, Transport::Udp));
    assert_eq!(response.answers, answer.answers);
}

/// An answer to `query` whose encoded response is exactly `len` bytes: one A record and a NULL
/// record padded to fit.
fn answer_of_len(query: &ClientQuery, len: usize) -> Answer {
    let with_padding = |pad: usize| {
        answer(
            ResponseCode::NoError,
            vec![
                a("www.example.", 1),
                Record::from_rdata(
                    name("pad.example."),
                    300,
                    RData::NULL(NULL::with(vec![0; pad])),
                ),
            ],
            vec![],
        )
    };
    let base = encode(query, &with_padding(1), Transport::Tcp).len() - 1;
    let answer = with_padding(len - base);
    assert_eq!(encode(query, &answer, Transport::Tcp).len(), len);
    answer
}

#[track_caller]
fn assert_truncated(response: &[u8], limit: usize) -> Message {
    assert!(response.len() <= limit, "{} > {limit}", response.len());
    let message = decode(response);
    assert!(message.metadata.truncation, "TC set");
    assert_eq!(message.metadata.id, ID);
    assert_eq!(message.metadata.response_code, ResponseCode::NoError);
    assert_eq!(message.queries.len(), 1, "question kept");
    assert!(message.answers.is_empty());
    assert!(message.authorities.is_empty());
    assert!(message.additionals.is_empty());
    message
}

#[track_caller]
fn assert_whole(response: &[u8], len: usize) {
    assert_eq!(response.len(), len);
    let message = decode(response);
    assert!(!message.metadata.truncation);
    assert_eq!(message.answers.len(), 2);
}

#[test]
fn udp_without_edns_is_truncated_above_512_bytes() {
    let query = client_query(&query("www.example.", RecordType::A));
    let fits = answer_of_len(&query, 512);
    assert_whole(&encode(&query, &fits, Transport::Udp), 512);
    let too_big = answer_of_len(&query, 513);
    let truncated = assert_truncated(&encode(&query, &too_big, Transport::Udp), 512);
    assert!(truncated.edns.is_none());
}

#[test]
fn udp_with_edns_is_truncated_above_the_client_payload() {
    let query = client_query(&with_edns(
        query("www.example.", RecordType::A),
        1000,
        false,
    ));
    assert_whole(
        &encode(&query, &answer_of_len(&query, 1000), Transport::Udp),
        1000,
    );
    let response = encode(&query, &answer_of_len(&query, 1001), Transport::Udp);
    let truncated = assert_truncated(&response, 1000);
    assert!(truncated.edns.is_some(), "OPT kept in a truncated reply");
}

#[test]
fn udp_with_edns_is_truncated_above_our_payload_when_the_client_offers_more() {
    let query = client_query(&with_edns(query("www.example.", RecordType::A), 4096, true));
    assert_whole(
        &encode(&query, &answer_of_len(&query, 1232), Transport::Udp),
        1232,
    );
    let response = encode(&query, &answer_of_len(&query, 1233), Transport::Udp);
    assert_truncated(&response, 1232);
}

#[test]
fn edns_payload_below_512_counts_as_512() {
    // RFC 6891 §6.2.5. hickory will not build such an OPT, so patch its CLASS: the OPT is the
    // last record, with no options, and its CLASS sits 8 bytes from the end.
    let mut raw = bytes(&with_edns(
        query("www.example.", RecordType::A),
        1232,
        false,
    ));
    let class = raw.len() - 8;
    raw[class..class + 2].copy_from_slice(&100u16.to_be_bytes());
    let Parsed::Query(query) = parse(&raw) else {
        panic!("a query with a small payload is still a query");
    };
    assert_whole(
        &encode(&query, &answer_of_len(&query, 512), Transport::Udp),
        512,
    );
    let response = encode(&query, &answer_of_len(&query, 513), Transport::Udp);
    assert_truncated(&response, 512);
}

#[test]
fn tcp_is_never_truncated() {
    let query = client_query(&query("www.example.", RecordType::A));
    let answer = answer_of_len(&query, 5000);
    assert_whole(&encode(&query, &answer, Transport::Tcp), 5000);
}

// ---- the response made from the message cache entry ----

/// What [`super::remember`] hands back, if anything, is the response [`encode`] makes: for
/// queries with and without EDNS and DO, AD asked for or not, CD, a secure answer, DNSSEC records
/// shown or hidden, a negative answer, and an answer too big for the client's UDP limit.
#[test]
fn a_response_from_the_new_cache_entry_is_the_encoded_response() {
    use crate::cache::{MessageCache, Validation};
    use crate::clock::Clock;
    let plain = query("WWW.Example.", RecordType::A);
    let mut with_ad = plain.clone();
    with_ad.metadata.authentic_data = true;
    let mut with_cd = with_edns(plain.clone(), 1232, true);
    with_cd.metadata.checking_disabled = true;
    let queries = [
        plain.clone(),
        with_ad,
        with_cd,
        with_edns(plain.clone(), 1232, false),
        with_edns(plain.clone(), 4096, true),
        with_edns(plain.clone(), 512, false),
    ];
    let signed = answer(
        ResponseCode::NoError,
        vec![a("www.example.", 1), rrsig("www.example.", RecordType::A)],
        vec![],
    );
    let secure = Answer {
        security: Validation::Secure,
        ..signed.clone()
    };
    let negative = answer(ResponseCode::NXDomain, vec![], vec![soa("example.")]);
    let mut made = 0;
    for message in &queries {
        let query = client_query(message);
        let big = answer_of_len(&query, 600);
        for (answer, transport) in [
            (&signed, Transport::Udp),
            (&secure, Transport::Udp),
            (&negative, Transport::Udp),
            (&big, Transport::Udp),
            (&big, Transport::Tcp),
        ] {
            let messages = MessageCache::new(100, 1, Clock::system());
            let expected = decode(&encode(&query, answer, transport));
            if let Some(reply) = super::remember(&query, answer, transport, &messages) {
                assert_eq!(decode(&reply), expected, "{message:?} {answer:?}");
                made += 1;
            }
            assert_eq!(messages.len(), 1, "stored either way");
        }
    }
    assert!(made >= 20, "only {made} made from the cache entry");
}
