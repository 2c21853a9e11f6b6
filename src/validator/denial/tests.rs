//! Denial proofs over hand-built NSEC and NSEC3 chains of one small zone, `example.`, holding
//! every case a proof must handle: an empty non-terminal, a wildcard, a DNAME, a signed and an
//! unsigned delegation, a CNAME, and a last name that wraps around to the apex.
//!
//! The tests pick the records an honest server would send (or a forger might) by hand, so each
//! failure names the record that was missing or misused. The fixtures compute coverage their own
//! way (sorted hashes, a list in canonical order), not with the code under test.

mod nsec;
mod nsec3;
mod order;

use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
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

fn budget_of(nsec3_hashes: u32) -> WorkBudget {
    WorkBudget::new(WorkCaps {
        nsec3_hashes,
        ..WorkCaps::default()
    })
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

/// The types an NSEC or NSEC3 lists at a name: its data, and the RRSIG over it, except at an
/// unsigned delegation, whose NS the parent does not sign (RFC 4035 §2.2).
fn listed_types(types: &[RecordType]) -> Vec<RecordType> {
    let mut listed = types.to_vec();
    if types != [NS] {
        listed.push(RecordType::RRSIG);
    }
    listed
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

/// The parameters of an NSEC3 chain.
#[derive(Clone)]
struct Params {
    iterations: u16,
    salt: Vec<u8>,
    opt_out: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            iterations: 1,
            salt: vec![0xaa, 0xbb, 0xcc, 0xdd],
            opt_out: false,
        }
    }
}

/// A whole NSEC3 chain: each record with the original name it stands for and its hash.
struct Nsec3Zone {
    params: Params,
    /// Sorted by hash.
    chain: Vec<(Name, Vec<u8>, Record)>,
}

/// [`ZONE`] with its empty non-terminal, as NSEC3 sees it (RFC 5155 §7.1: an empty non-terminal
/// has an NSEC3, with an empty bitmap).
fn nsec3_names() -> Vec<(&'static str, &'static [RecordType])> {
    let mut names = ZONE.to_vec();
    names.push(("ent.example.", &[]));
    names
}

/// [`nsec3_names`] without the unsigned delegation, whose hash falls in an opt-out span.
fn opt_out_names() -> Vec<(&'static str, &'static [RecordType])> {
    nsec3_names()
        .into_iter()
        .filter(|(owner, _)| *owner != "insecure.example.")
        .collect()
}

fn hash_of(params: &Params, owner: &Name) -> Vec<u8> {
    Nsec3HashAlgorithm::SHA1
        .hash(&params.salt, owner, params.iterations)
        .unwrap()
        .as_ref()
        .to_vec()
}

/// Unpadded lowercase base32hex (RFC 4648 §7), written here independently of the decoder.
fn base32hex(octets: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut text = String::new();
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for &octet in octets {
        buffer = (buffer << 8) | u64::from(octet);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        text.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    text
}

fn nsec3_zone(names: &[(&str, &[RecordType])], params: Params) -> Nsec3Zone {
    let mut hashed: Vec<(Name, Vec<u8>, Vec<RecordType>)> = names
        .iter()
        .map(|(owner, types)| {
            let owner = name(owner);
            let hash = hash_of(&params, &owner);
            let listed = if types.is_empty() {
                Vec::new()
            } else {
                listed_types(types)
            };
            (owner, hash, listed)
        })
        .collect();
    hashed.sort_by(|a, b| a.1.cmp(&b.1));
    let count = hashed.len();
    let chain = (0..count)
        .map(|index| {
            let (owner, hash, types) = &hashed[index];
            let next = hashed[(index + 1) % count].1.clone();
            let record = nsec3_record(&params, hash, next, types.clone(), "example.");
            (owner.clone(), hash.clone(), record)
        })
        .collect();
    Nsec3Zone { params, chain }
}

fn nsec3_record(
    params: &Params,
    hash: &[u8],
    next: Vec<u8>,
    types: Vec<RecordType>,
    zone: &str,
) -> Record {
    let nsec3 = NSEC3::new(
        Nsec3HashAlgorithm::SHA1,
        params.opt_out,
        params.iterations,
        params.salt.clone(),
        next,
        types,
    );
    let owner = name(&format!("{}.{zone}", base32hex(hash)));
    Record::from_rdata(owner, TTL, RData::DNSSEC(DNSSECRData::NSEC3(nsec3)))
}

impl Nsec3Zone {
    fn standard() -> Self {
        nsec3_zone(&nsec3_names(), Params::default())
    }

    fn hash(&self, owner: &str) -> Vec<u8> {
        hash_of(&self.params, &name(owner))
    }

    /// The NSEC3 standing for `owner`, which must be in the zone.
    fn matching(&self, owner: &str) -> Record {
        let owner = name(owner);
        let (_, _, record) = self
            .chain
            .iter()
            .find(|(original, _, _)| *original == owner)
            .unwrap();
        record.clone()
    }

    /// The NSEC3 whose span holds the hash of `absent`, which must not be in the zone: the one
    /// with the largest hash below it, or the last one (which wraps around) if none is below.
    fn covering(&self, absent: &str) -> Record {
        let hash = self.hash(absent);
        assert!(self.chain.iter().all(|(_, owned, _)| *owned != hash));
        let below = self.chain.iter().rev().find(|(_, owned, _)| *owned < hash);
        let (_, _, record) = below.unwrap_or_else(|| self.chain.last().unwrap());
        record.clone()
    }

    /// Whether the record covering `absent` is the chain's last, which wraps around.
    fn covered_by_last(&self, absent: &str) -> bool {
        self.covering(absent) == self.chain.last().unwrap().2
    }
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

#[test]
fn nsec_is_used_when_both_kinds_are_present() {
    let zone = Nsec3Zone::standard();
    let mut records = nsecs(&["a.example.", "example."]);
    records.push(zone.matching("example."));
    let work = budget();
    assert_eq!(
        super::prove_nxdomain(&name("b.example."), &apex(), &records, &work),
        Ok(Denial::NxDomain)
    );
    assert_eq!(work.nsec3_hashes_spent(), 0);
}
