//! Denial proofs over hand-built NSEC chains of one small zone, `example.`, holding
//! every case a proof must handle: an empty non-terminal, a wildcard, a DNAME, a signed and an
//! unsigned delegation, a CNAME, and a last name that wraps around to the apex.
//!
//! The tests pick the records an honest server would send (or a forger might) by hand, so each
//! failure names the record that was missing or misused. The fixtures compute coverage their own
//! way (a list in canonical order), not with the code under test.

mod nsec;
mod order;

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::super::{WorkBudget, WorkCaps};
use super::{Denial, DenialError, ProofFailure};

const TTL: u32 = 3600;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn budget() -> WorkBudget {
    WorkBudget::new(WorkCaps::default())
}

fn unproven(failure: ProofFailure) -> Result<Denial, DenialError> {
    Err(DenialError::Unproven(failure))
}

fn apex() -> Name {
    name("example.")
}

use RecordType::{A, CNAME, DNAME, DNSKEY, DS, NS, SOA as SOA_TYPE, TXT};

/// The names of `example.` with data, in canonical order (RFC 4034 §6.1; `order.rs` checks it),
/// and their types. `ent.example.` is an empty non-terminal above `x.ent.example.`;
/// `insecure.example.` is an unsigned delegation, `sub.example.` a signed one.
const ZONE: &[(&str, &[RecordType])] = &[
    ("example.", &[SOA_TYPE, NS, DNSKEY]),
    ("a.example.", &[A]),
    ("cname.example.", &[CNAME]),
    ("dname.example.", &[DNAME]),
    ("x.ent.example.", &[A]),
    ("insecure.example.", &[NS]),
    ("sub.example.", &[NS, DS]),
    ("wild.example.", &[A]),
    ("*.wild.example.", &[TXT]),
    ("z.example.", &[A]),
];

/// The types an NSEC lists at a name besides itself and its RRSIG: the name's data.
fn listed_types(types: &[RecordType]) -> Vec<RecordType> {
    types.to_vec()
}

fn soa() -> Record {
    let soa = SOA::new(
        name("ns.example."),
        name("hostmaster.example."),
        1,
        3600,
        600,
        86400,
        300,
    );
    Record::from_rdata(apex(), TTL, RData::SOA(soa))
}

fn nsec_record(owner: &str, next: &str, types: &[RecordType]) -> Record {
    let nsec = NSEC::new_cover_self(name(next), listed_types(types));
    Record::from_rdata(name(owner), TTL, RData::DNSSEC(DNSSECRData::NSEC(nsec)))
}

/// The NSEC at `owner` in [`ZONE`]'s chain: its next name is the following name, or the apex
/// for the last one.
fn nsec_at(owner: &str) -> Record {
    let index = ZONE
        .iter()
        .position(|(zone_name, _)| *zone_name == owner)
        .unwrap();
    let next = ZONE.get(index + 1).map_or("example.", |(next, _)| *next);
    nsec_record(owner, next, ZONE[index].1)
}

fn nsecs(owners: &[&str]) -> Vec<Record> {
    owners.iter().map(|owner| nsec_at(owner)).collect()
}

#[test]
fn failures_map_to_their_extended_dns_errors() {
    use super::super::BogusReason;
    let missing = DenialError::Unproven(ProofFailure::WildcardNotDenied);
    assert_eq!(missing.bogus_reason(), BogusReason::NsecMissing);
    assert_eq!(missing.bogus_reason().ede_code(), 12);
    let contradicted = DenialError::Unproven(ProofFailure::NameExists);
    assert_eq!(contradicted.bogus_reason(), BogusReason::Bogus);
    let spent = DenialError::LimitReached(super::super::WorkLimit::Nsec3Hashes);
    assert_eq!(spent.bogus_reason(), BogusReason::Bogus);
}

#[test]
fn without_nsec_or_nsec3_records_nothing_is_proven() {
    let records = vec![soa()];
    let qname = name("b.example.");
    assert_eq!(
        super::prove_nxdomain(&qname, &apex(), &records, &budget()),
        unproven(ProofFailure::NoRecords)
    );
    assert_eq!(
        super::prove_nodata(&qname, A, &apex(), &[], &budget()),
        unproven(ProofFailure::NoRecords)
    );
}

#[test]
fn a_name_outside_the_signers_zone_is_refused() {
    let records = nsecs(&["example.", "a.example."]);
    assert_eq!(
        super::prove_nxdomain(&name("b.example.org."), &apex(), &records, &budget()),
        unproven(ProofFailure::OutsideZone)
    );
}
