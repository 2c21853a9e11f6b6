//! Building upstream queries and checking that an answer belongs to the query.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};

use super::UpstreamError;
use crate::cookie::{CLIENT_COOKIE_LEN, COOKIE_OPTION, Cookie};
use crate::wire::EDNS_PAYLOAD;

/// An iterative query (RD=0) with a random ID, EDNS0 and the DO bit, so that RRSIGs reach the
/// cache for clients that ask with DO=1, and our DNS cookie for the server.
pub fn build_query(
    name: &Name,
    rtype: RecordType,
    cookie: &Cookie,
) -> Result<(u16, Vec<u8>), UpstreamError> {
    build_query_with(name, rtype, false, cookie)
}

/// As [`build_query`], with RD set as given: RD=1 asks a forwarder to recurse for us.
///
/// Written byte by byte (RFC 1035 §4.1, RFC 6891 §6.1.2, RFC 7873 §4): the message is always the
/// same shape, and building a hickory `Message` to encode it was a twentieth of a cold
/// resolution's work. The name goes out as given, uncompressed, with its 0x20 case.
pub fn build_query_with(
    name: &Name,
    rtype: RecordType,
    recursion_desired: bool,
    cookie: &Cookie,
) -> Result<(u16, Vec<u8>), UpstreamError> {
    let id: u16 = rand::random();
    let option_len = CLIENT_COOKIE_LEN + cookie.server.len();
    let mut bytes = Vec::with_capacity(12 + 255 + 4 + 11 + 4 + option_len);
    bytes.extend_from_slice(&id.to_be_bytes());
    // QR=0, opcode QUERY, AA, TC clear; RD as asked; RA, Z, AD, CD and RCODE clear.
    bytes.push(u8::from(recursion_desired));
    bytes.push(0);
    // One question, no answer or authority records, the OPT record.
    bytes.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.iter() {
        // Labels are at most 63 bytes (RFC 1035 §2.3.4), which hickory enforces.
        bytes.push(label.len() as u8);
        bytes.extend_from_slice(label);
    }
    bytes.push(0);
    bytes.extend_from_slice(&u16::from(rtype).to_be_bytes());
    bytes.extend_from_slice(&u16::from(DNSClass::IN).to_be_bytes());
    // OPT: root owner, our payload size, extended RCODE 0, version 0, DO set.
    bytes.push(0);
    bytes.extend_from_slice(&u16::from(RecordType::OPT).to_be_bytes());
    bytes.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0x80, 0]);
    let rdata_len = u16::try_from(4 + option_len)
        .map_err(|_| UpstreamError::Encode("server cookie too long".into()))?;
    bytes.extend_from_slice(&rdata_len.to_be_bytes());
    bytes.extend_from_slice(&COOKIE_OPTION.to_be_bytes());
    bytes.extend_from_slice(&(option_len as u16).to_be_bytes());
    bytes.extend_from_slice(&cookie.client);
    bytes.extend_from_slice(&cookie.server);
    Ok((id, bytes))
}

/// Whether `response` answers our query: same ID, marked as a response, opcode QUERY (RFC 1035
/// §4.1.1: the opcode is copied into the response), and the same single question (names
/// compared without regard to case, RFC 4343). Error answers (FORMERR and
/// friends) from servers that drop the question section are accepted when the ID matches, so that
/// the caller can move on at once instead of timing out; they carry no data. NOERROR and NXDOMAIN
/// must carry the question: they are what a forger wants accepted, and the question (with 0x20,
/// its case) is part of what a forger has to get right.
pub fn response_matches(response: &Message, id: u16, name: &Name, rtype: RecordType) -> bool {
    if response.metadata.id != id || response.metadata.message_type != MessageType::Response {
        return false;
    }
    // Not only a matter of form: hickory-proto reads a record with no data in an UPDATE message
    // (RFC 2136 prerequisites), so an "answer" with opcode UPDATE could put records with empty
    // data into the cache, which would make every response carrying them unreadable to clients.
    if response.metadata.op_code != OpCode::Query {
        return false;
    }
    match response.queries.as_slice() {
        [question] => {
            question.query_type() == rtype
                && question.query_class() == DNSClass::IN
                && question.name() == name
        }
        [] => !matches!(
            response.metadata.response_code,
            ResponseCode::NoError | ResponseCode::NXDomain
        ),
        _ => false,
    }
}

/// Whether the question in `response` spells `name` with exactly the same case (the 0x20 check).
/// An error answer without a question has nothing to check and passes.
pub fn question_case_matches(response: &Message, name: &Name) -> bool {
    response
        .queries
        .iter()
        .all(|question| question.name().eq_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query written by hand is the one hickory would build: same header, question (with
    /// its case), EDNS payload, DO bit and COOKIE option.
    #[test]
    fn the_query_is_what_hickory_would_build() {
        use hickory_proto::op::{Edns, Query};
        for (name, rd, server) in [
            ("wWw.ExAmPle.TEST.", false, vec![]),
            (".", true, vec![9u8; 16]),
            ("a.b.c.d.e.f.example.", false, vec![1u8; 32]),
        ] {
            let name = Name::from_ascii(name).unwrap();
            let cookie = Cookie {
                client: [1, 2, 3, 4, 5, 6, 7, 8],
                server,
            };
            let (id, bytes) = build_query_with(&name, RecordType::AAAA, rd, &cookie).unwrap();
            let mut expected = Message::new(id, MessageType::Query, OpCode::Query);
            expected.metadata.recursion_desired = rd;
            let mut query = Query::query(name.clone(), RecordType::AAAA);
            query.set_query_class(DNSClass::IN);
            expected.add_query(query);
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_PAYLOAD);
            edns.set_dnssec_ok(true);
            edns.options_mut().insert(cookie.to_option());
            expected.set_edns(edns);
            let decoded = Message::from_vec(&bytes).unwrap();
            assert_eq!(decoded, expected);
            assert!(decoded.queries[0].name().eq_case(&name), "case kept");
            assert_eq!(bytes, expected.to_vec().unwrap(), "byte for byte");
        }
    }

    #[test]
    fn answer_must_match_id_and_question() {
        let name = Name::from_ascii("www.example.test.").unwrap();
        let cookie = Cookie::client_only([1, 2, 3, 4, 5, 6, 7, 8]);
        let (id, bytes) = build_query(&name, RecordType::A, &cookie).unwrap();
        let mut response = Message::from_vec(&bytes).unwrap();
        response.metadata.message_type = MessageType::Response;
        assert!(response_matches(&response, id, &name, RecordType::A));
        let upper = Name::from_ascii("WWW.EXAMPLE.TEST.").unwrap();
        assert!(response_matches(&response, id, &upper, RecordType::A));
        assert!(!response_matches(
            &response,
            id.wrapping_add(1),
            &name,
            RecordType::A
        ));
        assert!(!response_matches(&response, id, &name, RecordType::AAAA));
        let other = Name::from_ascii("evil.test.").unwrap();
        assert!(!response_matches(&response, id, &other, RecordType::A));
        response.metadata.message_type = MessageType::Query;
        assert!(!response_matches(&response, id, &name, RecordType::A));
    }

    #[test]
    fn answer_must_be_to_a_standard_query() {
        let name = Name::from_ascii("www.example.test.").unwrap();
        let (id, bytes) = build_query(&name, RecordType::A, &Cookie::client_only([0; 8])).unwrap();
        let mut response = Message::from_vec(&bytes).unwrap();
        response.metadata.message_type = MessageType::Response;
        for (op_code, accepted) in [
            (OpCode::Query, true),
            (OpCode::Update, false),
            (OpCode::Notify, false),
            (OpCode::Status, false),
        ] {
            response.metadata.op_code = op_code;
            assert_eq!(
                response_matches(&response, id, &name, RecordType::A),
                accepted,
                "{op_code:?}"
            );
        }
    }

    #[test]
    fn only_error_answers_may_drop_the_question() {
        let name = Name::from_ascii("www.example.test.").unwrap();
        let (id, _) = build_query(&name, RecordType::A, &Cookie::client_only([0; 8])).unwrap();
        let mut response = Message::new(id, MessageType::Response, OpCode::Query);
        for (rcode, accepted) in [
            (ResponseCode::FormErr, true),
            (ResponseCode::ServFail, true),
            (ResponseCode::Refused, true),
            (ResponseCode::NoError, false),
            (ResponseCode::NXDomain, false),
        ] {
            response.metadata.response_code = rcode;
            assert_eq!(
                response_matches(&response, id, &name, RecordType::A),
                accepted,
                "{rcode}"
            );
        }
    }

    #[test]
    fn case_check_is_exact() {
        let sent = Name::from_ascii("wWw.ExAmPle.TEST.").unwrap();
        let (id, bytes) = build_query(&sent, RecordType::A, &Cookie::client_only([0; 8])).unwrap();
        let mut response = Message::from_vec(&bytes).unwrap();
        response.metadata.message_type = MessageType::Response;
        assert!(question_case_matches(&response, &sent));
        let lower = Name::from_ascii("www.example.test.").unwrap();
        assert!(response_matches(&response, id, &lower, RecordType::A));
        assert!(!question_case_matches(&response, &lower));
    }
}
