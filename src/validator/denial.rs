//! Placeholder until the denial-of-existence proofs land: proves nothing.

use hickory_proto::dnssec::rdata::NSEC;
use hickory_proto::rr::{Name, Record, RecordType};

use super::work::{LimitReached, WorkBudget};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    NxDomain,
    NoData,
    WildcardNoData,
    OptOutInsecure,
    Insecure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DenialError {
    #[error("no proof")]
    NsecMissing,
    #[error("bogus proof")]
    Bogus,
    #[error("{0}")]
    Limit(LimitReached),
}

pub fn prove_nxdomain(
    _qname: &Name,
    _zone: &Name,
    _records: &[Record],
    _work: &WorkBudget,
) -> Result<Denial, DenialError> {
    Err(DenialError::NsecMissing)
}

pub fn prove_nodata(
    _qname: &Name,
    _qtype: RecordType,
    _zone: &Name,
    _records: &[Record],
    _work: &WorkBudget,
) -> Result<Denial, DenialError> {
    Err(DenialError::NsecMissing)
}

pub fn prove_wildcard_answer(
    _qname: &Name,
    _rrsig_labels: u8,
    _zone: &Name,
    _records: &[Record],
    _work: &WorkBudget,
) -> Result<Denial, DenialError> {
    Err(DenialError::NsecMissing)
}

pub fn nsec_covers(_nsec_owner: &Name, _nsec: &NSEC, _qname: &Name) -> bool {
    false
}
