//! How long an HTTP cache may keep a DoH response: RFC 8484 §5.1 says no longer than the
//! smallest TTL of the answer section; for a negative answer (no answer records) the SOA in the
//! authority section bounds it, as RFC 2308 §5 bounds negative caching.
//!
//! The response is ferret's own, but it is read with the care of a parser of untrusted bytes
//! (bounds checked at every step, no recursion) and fuzzed like one.

/// Size of a DNS header.
const HEADER_LEN: usize = 12;
/// A compression pointer's two top bits (RFC 1035 §4.1.4).
const POINTER: u8 = 0xc0;

/// The `max-age` for `response`: the smallest TTL among its answer records, or among its
/// authority records if it has no answer; `None` when it has neither (SERVFAIL, REFUSED...), or
/// does not parse.
pub fn max_age(response: &[u8]) -> Option<u32> {
    let header = response.get(..HEADER_LEN)?;
    let count = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    let (questions, answers, authorities) = (count(4), count(6), count(8));
    let mut at = HEADER_LEN;
    for _ in 0..questions {
        at = skip_name(response, at)?.checked_add(4)?;
    }
    // With no answer, the authority section comes right after the question.
    let records = if answers > 0 { answers } else { authorities };
    let mut smallest: Option<u32> = None;
    for _ in 0..records {
        at = skip_name(response, at)?;
        let fixed = response.get(at..at.checked_add(10)?)?;
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        at = at.checked_add(10 + rdlength)?;
        if at > response.len() {
            return None;
        }
        // RFC 2181 §8: a TTL with the top bit set is treated as zero.
        let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
        smallest = Some(smallest.map_or(ttl, |s| s.min(ttl)));
    }
    smallest
}

/// The offset just after the name at `at`: labels up to the root label, or up to (and
/// including) a compression pointer, which is not followed.
fn skip_name(message: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let length = *message.get(at)?;
        match length {
            0 => return Some(at + 1),
            l if l & POINTER == POINTER => {
                message.get(at + 1)?;
                return Some(at + 2);
            }
            l if l & POINTER != 0 => return None,
            l => at += 1 + usize::from(l),
        }
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{Name, RData, Record};

    use super::*;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn response() -> Message {
        let mut message = Message::query();
        message.metadata.message_type = MessageType::Response;
        message.add_query(hickory_proto::op::Query::query(
            name("www.example."),
            hickory_proto::rr::RecordType::A,
        ));
        message
    }

    #[test]
    fn smallest_answer_ttl() {
        let mut message = response();
        for (ttl, last) in [(300, 1), (60, 2), (3600, 3)] {
            message.add_answer(Record::from_rdata(
                name("www.example."),
                ttl,
                RData::A(A::new(192, 0, 2, last)),
            ));
        }
        message.add_authority(Record::from_rdata(
            name("example."),
            5,
            RData::A(A::new(192, 0, 2, 9)),
        ));
        assert_eq!(max_age(&message.to_vec().unwrap()), Some(60));
    }

    #[test]
    fn negative_answers_use_the_authority_section() {
        let mut message = response();
        let soa = SOA::new(name("ns.example."), name("h.example."), 1, 2, 3, 4, 300);
        message.add_authority(Record::from_rdata(name("example."), 900, RData::SOA(soa)));
        assert_eq!(max_age(&message.to_vec().unwrap()), Some(900));
        assert_eq!(max_age(&response().to_vec().unwrap()), None);
    }

    #[test]
    fn truncated_or_garbage_bytes_have_no_age() {
        let mut message = response();
        message.add_answer(Record::from_rdata(
            name("www.example."),
            300,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        let bytes = message.to_vec().unwrap();
        for cut in 0..bytes.len() {
            assert_eq!(max_age(&bytes[..cut]), None, "cut at {cut}");
        }
        assert_eq!(max_age(&[0xff; 64]), None);
    }
}
