//! EDNS(0) padding (RFC 7830) on the encrypted transports: a client that pads its query gets a
//! response padded to a multiple of 468 octets, the block length RFC 8467 §4.1 recommends, so
//! that an observer of the encrypted stream learns little from the response's length.
//!
//! Padding is never added over plain UDP or TCP (RFC 7830 §6: it only helps when encrypted), and
//! only for clients that ask by padding their own query (RFC 8467 §4.1: "if and only if").

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};

/// RFC 8467 §4.1: responses are padded to a multiple of this.
pub const RESPONSE_BLOCK: usize = 468;

/// The Padding option's code (RFC 7830 §3).
const PADDING: u16 = 12;

/// Whether `query` carries a Padding option. Only queries with an additional record are parsed:
/// a query without OPT (most of them, the cache-hit fast path's) costs one comparison.
pub fn query_is_padded(query: &[u8]) -> bool {
    let Some(additional) = query.get(10..12) else {
        return false;
    };
    if additional == [0, 0] {
        return false;
    }
    Message::from_vec(query).is_ok_and(|message| {
        message
            .edns
            .is_some_and(|edns| edns.options().get(EdnsCode::Padding).is_some())
    })
}

/// `response` with a Padding option that brings it to a multiple of [`RESPONSE_BLOCK`] octets;
/// unchanged if it has no OPT record to carry the option (the client sent none either) or
/// would grow past what a stream can frame.
pub fn pad(response: Vec<u8>) -> Vec<u8> {
    let Ok(mut message) = Message::from_vec(&response) else {
        return response;
    };
    let Some(edns) = message.edns.as_mut() else {
        return response;
    };
    // Re-encoding may compress names differently from the encoding at hand, so the padding is
    // computed from the length of the message re-encoded with an empty option (whose four
    // octets of code and length are then already counted).
    let options = edns.options_mut();
    options.remove(EdnsCode::Padding);
    options.insert(EdnsOption::Unknown(PADDING, Vec::new()));
    let Ok(unpadded) = message.to_vec() else {
        return response;
    };
    let fill = (RESPONSE_BLOCK - unpadded.len() % RESPONSE_BLOCK) % RESPONSE_BLOCK;
    if unpadded.len() + fill > usize::from(u16::MAX) {
        return response;
    }
    if let Some(edns) = message.edns.as_mut() {
        let options = edns.options_mut();
        options.remove(EdnsCode::Padding);
        options.insert(EdnsOption::Unknown(PADDING, vec![0; fill]));
    }
    match message.to_vec() {
        Ok(padded) if padded.len() % RESPONSE_BLOCK == 0 => padded,
        _ => response,
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Query};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;

    fn query(padded: bool) -> Message {
        let mut message = Message::query();
        message.add_query(Query::query(
            Name::from_ascii("www.example.").unwrap(),
            RecordType::A,
        ));
        let mut edns = Edns::new();
        if padded {
            edns.options_mut()
                .insert(EdnsOption::Unknown(PADDING, vec![0; 40]));
        }
        message.set_edns(edns);
        message
    }

    #[test]
    fn only_padded_queries_count_as_padded() {
        assert!(query_is_padded(&query(true).to_vec().unwrap()));
        assert!(!query_is_padded(&query(false).to_vec().unwrap()));
        assert!(!query_is_padded(&[0; 12]));
        assert!(!query_is_padded(b"short"));
    }

    #[test]
    fn responses_grow_to_a_whole_number_of_blocks() {
        for padded in [false, true] {
            let mut response = query(padded);
            response.metadata.message_type = hickory_proto::op::MessageType::Response;
            let bytes = pad(response.to_vec().unwrap());
            assert_eq!(bytes.len(), RESPONSE_BLOCK, "padded={padded}");
            let decoded = Message::from_vec(&bytes).unwrap();
            assert!(
                decoded
                    .edns
                    .unwrap()
                    .options()
                    .get(EdnsCode::Padding)
                    .is_some()
            );
        }
        let mut bare = query(false);
        bare.edns = None;
        let bytes = bare.to_vec().unwrap();
        assert_eq!(pad(bytes.clone()), bytes, "no OPT, no padding");
    }
}
