//! What a client question resolves to, before it is encoded as a response.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Record;

use crate::cache::Validation;

/// The outcome of resolving one question: the rcode and the records of the answer and authority
/// sections, with TTLs already counted down to the moment the answer was produced.
///
/// RRSIG records travel inside the sections next to the RRsets they sign; the server removes them
/// when the client did not set the DO bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rcode: ResponseCode,
    /// The CNAME/DNAME chain, if any, then the RRset answering the question.
    pub answers: Vec<Record>,
    /// For NXDOMAIN and NODATA, the zone's SOA (RFC 2308 §3), and in a signed zone the
    /// NSEC/NSEC3 records that prove the denial.
    pub authorities: Vec<Record>,
    /// What DNSSEC validation found, for all of the answer: the weakest of its parts.
    pub security: Validation,
}

impl Answer {
    pub fn servfail() -> Self {
        Self::with_rcode(ResponseCode::ServFail)
    }

    pub fn with_rcode(rcode: ResponseCode) -> Self {
        Answer {
            rcode,
            answers: Vec::new(),
            authorities: Vec::new(),
            security: Validation::Unchecked,
        }
    }
}
