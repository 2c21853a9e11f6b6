//! Authenticated denial of existence: what a set of NSEC (RFC 4035 §5.4) or NSEC3 (RFC 5155 §8)
//! records proves about a question.
//!
//! These are pure functions over records. Their input is the NSEC or NSEC3 records of one zone
//! whose signatures were verified before the call, with `zone` the signer's name: a proof is only
//! as good as those signatures, and a zone's key speaks only for names in that zone. Other records
//! (the SOA, RRSIGs, records of other zones) may be passed along and are ignored.
//!
//! Which kind of proof is used follows from the records: NSEC if any NSEC of `zone` is present,
//! NSEC3 otherwise. A zone serves one chain at a time, so a response holding both is odd; NSEC
//! wins because its proofs need no hashing.

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
use hickory_proto::rr::{Name, RData, Record, RecordType, RecordTypeSet};

use super::nsec::NsecChain;
use super::nsec3::{Nsec3Chain, Nsec3Setup};
use super::{BogusReason, LimitReached, WorkBudget, WorkLimit};

pub use super::nsec::{nsec_closest_encloser, nsec_covers, nsec_denies_type};
pub use super::nsec3::MAX_NSEC3_RECORDS;

/// What a set of authenticated NSEC or NSEC3 records proves about (qname, qtype).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// qname does not exist, and no wildcard could have produced it (RFC 4035 §5.4, RFC 5155
    /// §8.4).
    NxDomain,
    /// qname exists (perhaps as an empty non-terminal) but has neither qtype nor a CNAME (RFC 4035
    /// §5.4, RFC 5155 §8.5, RFC 6840 §4.3). For qtype DS: qname is not a delegation point, or is
    /// the root.
    NoData,
    /// qtype DS: qname is a delegation point (NS without SOA) without DS, so the child zone is
    /// unsigned (RFC 4035 §5.2, RFC 6840 §4.4, RFC 5155 §8.6 and §8.9). Kept apart from
    /// [`Denial::NoData`] because only this one may end a chain of trust as insecure: a DS
    /// NODATA at a name that is no delegation says nothing about a zone below it, and taking it
    /// as one lets a forged unsigned referral pass as insecure (RFC 6840 §4.4).
    InsecureDelegation,
    /// qname does not exist, and the wildcard at its closest encloser, `source_of_synthesis`,
    /// has neither qtype nor a CNAME (wildcard NODATA: RFC 4035 §3.1.3.4, RFC 5155 §8.7).
    WildcardNoData { source_of_synthesis: Name },
    /// The answer to [`prove_wildcard_answer`]: qname does not exist, so the wildcard at the
    /// closest encloser the RRSIG names rightly answered for it (RFC 4035 §5.3.4, RFC 5155 §8.8).
    WildcardAnswer,
    /// The proof rests on an opt-out NSEC3 span: the name may exist as an unsigned delegation (or
    /// an empty non-terminal above one), so the answer is insecure, not bogus (RFC 5155 §6, §7.1,
    /// §8.6).
    OptOutInsecure,
    /// NSEC3 records with more iterations than `WorkCaps::nsec3_iterations`: they prove nothing,
    /// and the answer is treated as insecure (RFC 9276 §3.2). Nothing is hashed.
    Insecure,
}

/// Why the records do not prove the denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DenialError {
    /// The records are missing a proof the claim needs, or contradict it.
    #[error("denial of existence not proven: {0}")]
    Unproven(ProofFailure),
    /// The question's NSEC3 hashing budget is spent (CVE-2023-50868): the step fails.
    #[error("validation work limit reached: {0:?}")]
    LimitReached(WorkLimit),
}

impl DenialError {
    /// The Extended DNS Error for the client (RFC 8914 §4). A spent budget is reported as plain
    /// Bogus, as any other failed validation step is.
    pub fn bogus_reason(self) -> BogusReason {
        match self {
            DenialError::Unproven(failure) => failure.bogus_reason(),
            DenialError::LimitReached(_) => BogusReason::Bogus,
        }
    }
}

impl From<ProofFailure> for DenialError {
    fn from(failure: ProofFailure) -> Self {
        DenialError::Unproven(failure)
    }
}

impl From<LimitReached> for DenialError {
    fn from(LimitReached(limit): LimitReached) -> Self {
        DenialError::LimitReached(limit)
    }
}

/// The hole in a proof, for the logs and the Extended DNS Error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofFailure {
    #[error("no NSEC or NSEC3 record of the zone")]
    NoRecords,
    #[error("the name is not in the signer's zone")]
    OutsideZone,
    #[error("a record shows that the name exists")]
    NameExists,
    #[error("the type, or a CNAME, exists at the name")]
    TypeExists,
    #[error("the wildcard at the closest encloser exists")]
    WildcardExists,
    #[error("no NSEC proves the name absent")]
    NotCovered,
    #[error("the name exists but no NSEC lists its types")]
    NameRecordMissing,
    #[error("nothing proves the wildcard at the closest encloser absent")]
    WildcardNotDenied,
    #[error("the name does not exist and no record shows the wildcard's types")]
    WildcardRecordMissing,
    #[error("the only proof comes from above a zone cut or a DNAME (RFC 6840 §4.1)")]
    BelowZoneCut,
    #[error("DS denied by the child zone's apex, not by the parent")]
    ChildSideDs,
    #[error("no NSEC3 matches an ancestor of the name (no closest encloser)")]
    NoClosestEncloser,
    #[error("no NSEC3 covers the next closer name")]
    NextCloserNotCovered,
    #[error("no DS proof: the NSEC3 covering the next closer name is not opt-out")]
    NoOptOut,
    #[error("the records show a closer encloser than the wildcard's")]
    WrongClosestEncloser,
    #[error("the RRSIG labels field does not describe a wildcard expansion of the name")]
    NotWildcardExpansion,
    #[error("a name could not be hashed for NSEC3")]
    Unhashable,
}

impl ProofFailure {
    /// EDE 12 (NSEC Missing) when a record the proof needs is absent, EDE 6 (Bogus) when the
    /// records present contradict the claim or may not be used for it (RFC 8914 §4.7, §4.13).
    pub fn bogus_reason(self) -> BogusReason {
        match self {
            ProofFailure::NoRecords
            | ProofFailure::NotCovered
            | ProofFailure::NameRecordMissing
            | ProofFailure::WildcardNotDenied
            | ProofFailure::WildcardRecordMissing
            | ProofFailure::NoClosestEncloser
            | ProofFailure::NextCloserNotCovered => BogusReason::NsecMissing,
            ProofFailure::OutsideZone
            | ProofFailure::NameExists
            | ProofFailure::TypeExists
            | ProofFailure::WildcardExists
            | ProofFailure::BelowZoneCut
            | ProofFailure::ChildSideDs
            | ProofFailure::NoOptOut
            | ProofFailure::WrongClosestEncloser
            | ProofFailure::NotWildcardExpansion
            | ProofFailure::Unhashable => BogusReason::Bogus,
        }
    }
}

/// Proves that `qname` does not exist in `zone` (an NXDOMAIN answer): a record proves it absent,
/// and another (or the same) proves absent the wildcard at its closest encloser, which would
/// otherwise have answered (RFC 4035 §5.4; RFC 5155 §8.4). With NSEC3, an opt-out span over the
/// next closer name makes the answer [`Denial::OptOutInsecure`].
pub fn prove_nxdomain(
    qname: &Name,
    zone: &Name,
    records: &[Record],
    work: &WorkBudget,
) -> Result<Denial, DenialError> {
    match Proof::select(qname, zone, records, work)? {
        Proof::Nsec(chain) => Ok(chain.prove_nxdomain(qname)?),
        Proof::Nsec3(mut chain) => chain.prove_nxdomain(qname),
        Proof::TooCostly => Ok(Denial::Insecure),
    }
}

/// Proves that `qname` exists in `zone` without `qtype` or a CNAME (a NODATA answer): the record
/// at qname, or the one showing qname an empty non-terminal, or a proof that qname does not
/// exist together with the wildcard's record (RFC 4035 §5.4; RFC 5155 §8.5–§8.7). For qtype DS
/// the answer tells an unsigned delegation ([`Denial::InsecureDelegation`]) from a name that is
/// no delegation ([`Denial::NoData`]).
pub fn prove_nodata(
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    records: &[Record],
    work: &WorkBudget,
) -> Result<Denial, DenialError> {
    match Proof::select(qname, zone, records, work)? {
        Proof::Nsec(chain) => Ok(chain.prove_nodata(qname, qtype)?),
        Proof::Nsec3(mut chain) => chain.prove_nodata(qname, qtype),
        Proof::TooCostly => Ok(Denial::Insecure),
    }
}

/// A positive answer synthesised from a wildcard (its RRSIG's labels field, `rrsig_labels`, is
/// smaller than qname's label count): proves that qname itself does not exist, so the wildcard
/// at the closest encloser `qname.trim_to(rrsig_labels)` rightly answered (RFC 4035 §5.3.4;
/// RFC 5155 §8.8). Without this an attacker could replay a wildcard answer for a name that has
/// data of its own.
pub fn prove_wildcard_answer(
    qname: &Name,
    rrsig_labels: u8,
    zone: &Name,
    records: &[Record],
    work: &WorkBudget,
) -> Result<Denial, DenialError> {
    let closest_encloser = wildcard_closest_encloser(qname, rrsig_labels, zone)?;
    match Proof::select(qname, zone, records, work)? {
        Proof::Nsec(chain) => Ok(chain.prove_wildcard_answer(qname, &closest_encloser)?),
        Proof::Nsec3(mut chain) => chain.prove_wildcard_answer(qname, &closest_encloser),
        Proof::TooCostly => Ok(Denial::Insecure),
    }
}

/// The closest encloser an RRSIG's labels field names for a wildcard expansion (RFC 4035 §5.3.4):
/// it must be a proper ancestor of qname (the labels field counts no leading `*`, RFC 4034
/// §3.1.3) and lie within the zone.
fn wildcard_closest_encloser(
    qname: &Name,
    rrsig_labels: u8,
    zone: &Name,
) -> Result<Name, ProofFailure> {
    let rrsig_labels = usize::from(rrsig_labels);
    if rrsig_labels >= usize::from(qname.num_labels()) || rrsig_labels < label_count(zone) {
        return Err(ProofFailure::NotWildcardExpansion);
    }
    Ok(qname.trim_to(rrsig_labels))
}

/// The chain a proof is made with, chosen from what the records hold.
enum Proof<'a> {
    Nsec(NsecChain<'a>),
    Nsec3(Nsec3Chain<'a>),
    /// NSEC3 records with more iterations than the cap (RFC 9276 §3.2).
    TooCostly,
}

impl<'a> Proof<'a> {
    fn select(
        qname: &Name,
        zone: &'a Name,
        records: &'a [Record],
        work: &'a WorkBudget,
    ) -> Result<Self, ProofFailure> {
        if !zone.zone_of(qname) {
            return Err(ProofFailure::OutsideZone);
        }
        if let Some(chain) = NsecChain::new(zone, nsec_records(records)) {
            return Ok(Proof::Nsec(chain));
        }
        match Nsec3Setup::new(zone, nsec3_records(records), work)? {
            Nsec3Setup::Usable(chain) => Ok(Proof::Nsec3(chain)),
            Nsec3Setup::TooManyIterations => Ok(Proof::TooCostly),
        }
    }
}

fn nsec_records(records: &[Record]) -> impl Iterator<Item = (&Name, &NSEC)> {
    records.iter().filter_map(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some((&record.name, nsec)),
        _ => None,
    })
}

fn nsec3_records(records: &[Record]) -> impl Iterator<Item = (&Name, &NSEC3)> {
    records.iter().filter_map(|record| match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) => Some((&record.name, nsec3)),
        _ => None,
    })
}

/// What the type bitmap of the NSEC or NSEC3 record at `owner` proves about `qtype` there.
///
/// Neither qtype nor a CNAME may be listed (RFC 6840 §4.3: a CNAME would have answered). A
/// delegation point's record is the parent's and speaks only for DS (RFC 6840 §4.1); a DS denial
/// from a record with the SOA bit is the child apex's, not the parent's, and says nothing about
/// the DS the parent holds (RFC 4035 §5.2, RFC 6840 §4.4) — except at the root, which has no
/// parent.
pub(super) fn nodata_at_owner(
    owner: &Name,
    types: &RecordTypeSet,
    qtype: RecordType,
) -> Result<Denial, ProofFailure> {
    if types.contains(qtype) || types.contains(RecordType::CNAME) {
        return Err(ProofFailure::TypeExists);
    }
    let delegation = is_delegation(types);
    if qtype == RecordType::DS {
        if types.contains(RecordType::SOA) && !owner.is_root() {
            return Err(ProofFailure::ChildSideDs);
        }
        return Ok(if delegation {
            Denial::InsecureDelegation
        } else {
            Denial::NoData
        });
    }
    if delegation {
        return Err(ProofFailure::BelowZoneCut);
    }
    Ok(Denial::NoData)
}

/// NS without SOA: the parent's side of a zone cut (RFC 6840 §4.1 "ancestor delegation").
pub(super) fn is_delegation(types: &RecordTypeSet) -> bool {
    types.contains(RecordType::NS) && !types.contains(RecordType::SOA)
}

/// A record at a zone cut or a DNAME denies nothing below its owner: the names there belong to
/// the child zone, or are redirected (RFC 6840 §4.1, RFC 6672 §5.3.4).
pub(super) fn speaks_only_for_owner(types: &RecordTypeSet) -> bool {
    is_delegation(types) || types.contains(RecordType::DNAME)
}

/// Labels in `name`, a leading `*` included (unlike `Name::num_labels`).
pub(super) fn label_count(name: &Name) -> usize {
    name.iter().count()
}

/// The longest name that is an ancestor of (or equal to) both, compared case-insensitively.
pub(super) fn common_ancestor(one: &Name, other: &Name) -> Name {
    let shared = one
        .iter()
        .rev()
        .zip(other.iter().rev())
        .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
        .count();
    one.trim_to(shared)
}

/// The ancestor of `qname` one label longer than `closest_encloser` (RFC 5155 §1.3 "next
/// closer name"). `closest_encloser` must be a proper ancestor of qname.
pub(super) fn next_closer(qname: &Name, closest_encloser: &Name) -> Name {
    qname.trim_to(label_count(closest_encloser) + 1)
}

/// `*.closest_encloser`, the wildcard that would answer for names below it (RFC 4592 §2.2.1).
/// Built from the next closer name, so it is never longer than qname and cannot overflow.
pub(super) fn wildcard_at(qname: &Name, closest_encloser: &Name) -> Name {
    next_closer(qname, closest_encloser).into_wildcard()
}

#[cfg(test)]
mod tests;
