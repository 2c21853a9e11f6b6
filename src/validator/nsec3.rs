//! NSEC3 proofs (RFC 5155 §8, RFC 9276): the records name hashes of the zone's names, so every
//! name a proof asks about is hashed (with the records' salt and iterations) and compared with
//! their owner hashes and next hashes.
//!
//! Hashing is the costly part and an attacker's lever (CVE-2023-50868): every name hashed is
//! charged to the question's [`WorkBudget`] first, a name is hashed at most once per proof, and
//! records with more iterations than the cap are not hashed with at all (RFC 9276 §3.2).

use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::dnssec::rdata::NSEC3;
use hickory_proto::rr::{Name, RecordType};

use super::WorkBudget;
use super::denial::{
    Denial, DenialError, ProofFailure, label_count, next_closer, nodata_at_owner,
    speaks_only_for_owner, wildcard_at,
};

/// Most NSEC3 records of one zone that one proof looks at; the rest are ignored. An honest proof
/// needs three at most (closest encloser, next closer, wildcard); a few more cover a response
/// that carries several. Each hash is compared with every record considered, so the bound keeps
/// a response stuffed with NSEC3s cheap. PowerDNS Recursor's max-nsec3s-per-record is 10.
pub const MAX_NSEC3_RECORDS: usize = 10;

/// The NSEC3 records of a zone, ready for proofs or useless for them.
pub(super) enum Nsec3Setup<'a> {
    Usable(Nsec3Chain<'a>),
    /// A record has more iterations than `WorkCaps::nsec3_iterations` (RFC 9276 §3.2).
    TooManyIterations,
}

impl<'a> Nsec3Setup<'a> {
    /// Takes the first [`MAX_NSEC3_RECORDS`] well-formed NSEC3 records of `zone`, and of those the
    /// ones with the first one's hash parameters: a zone hashes with one parameter set at a time,
    /// and a record hashed with other parameters cannot match or cover a name hashed with these
    /// (RFC 5155 §8.2 allows calling such a mix bogus; ignoring it is enough).
    ///
    /// NSEC3 records with an unknown hash algorithm or flags, which RFC 5155 §8.1–§8.2 says to
    /// ignore, never get here: hickory-proto refuses to decode them.
    pub(super) fn new(
        zone: &'a Name,
        records: impl IntoIterator<Item = (&'a Name, &'a NSEC3)>,
        work: &'a WorkBudget,
    ) -> Result<Self, ProofFailure> {
        let mut records: Vec<Hashed<'a>> = records
            .into_iter()
            .filter_map(|(owner, nsec3)| Hashed::of_zone(zone, owner, nsec3))
            .take(MAX_NSEC3_RECORDS)
            .collect();
        let Some(first) = records.first() else {
            return Err(ProofFailure::NoRecords);
        };
        let cap = work.caps().nsec3_iterations;
        if records.iter().any(|record| record.nsec3.iterations() > cap) {
            return Ok(Nsec3Setup::TooManyIterations);
        }
        let parameters = Parameters::of(first.nsec3);
        records.retain(|record| Parameters::of(record.nsec3) == parameters);
        Ok(Nsec3Setup::Usable(Nsec3Chain {
            zone,
            records,
            parameters,
            hashes: Vec::new(),
            work,
        }))
    }
}

/// NSEC3 records of one zone with one parameter set, and the names hashed for this proof.
pub(super) struct Nsec3Chain<'a> {
    zone: &'a Name,
    records: Vec<Hashed<'a>>,
    parameters: Parameters<'a>,
    /// Every name hashed so far, so none is hashed (and charged) twice.
    hashes: Vec<(Name, Vec<u8>)>,
    work: &'a WorkBudget,
}

/// The closest encloser proof (RFC 5155 §8.3).
struct ClosestEncloser {
    name: Name,
    /// The NSEC3 covering the next closer name has the opt-out flag: names in its span may exist
    /// as unsigned delegations (RFC 5155 §6).
    next_closer_opt_out: bool,
}

impl<'a> Nsec3Chain<'a> {
    /// NXDOMAIN (RFC 5155 §8.4): a closest encloser proof, and an NSEC3 covering the wildcard at
    /// the closest encloser. If the next closer name is covered by an opt-out NSEC3, qname may
    /// exist as an unsigned delegation: insecure.
    pub(super) fn prove_nxdomain(&mut self, qname: &Name) -> Result<Denial, DenialError> {
        let closest_encloser = self.closest_encloser(qname)?;
        let wildcard = wildcard_at(qname, &closest_encloser.name);
        let wildcard_hash = self.hash(&wildcard)?;
        if self.matching(&wildcard_hash).is_some() {
            return Err(ProofFailure::WildcardExists.into());
        }
        if self.covering(&wildcard_hash).is_none() {
            return Err(ProofFailure::WildcardNotDenied.into());
        }
        Ok(if closest_encloser.next_closer_opt_out {
            Denial::OptOutInsecure
        } else {
            Denial::NxDomain
        })
    }

    /// NODATA: the NSEC3 matching qname lacks qtype and CNAME (RFC 5155 §8.5, §8.6; an empty
    /// non-terminal has an NSEC3 with an empty bitmap), or qname does not exist and the NSEC3 at
    /// the wildcard of its closest encloser lacks them (§8.7). Without either, an opt-out span
    /// over the next closer name makes the answer insecure: for DS that is the unsigned
    /// delegation of §8.6, for other types an empty non-terminal above one, which has no NSEC3
    /// (§7.1).
    pub(super) fn prove_nodata(
        &mut self,
        qname: &Name,
        qtype: RecordType,
    ) -> Result<Denial, DenialError> {
        let qname_hash = self.hash(qname)?;
        if let Some(record) = self.matching(&qname_hash) {
            return Ok(nodata_at_owner(qname, record.type_set(), qtype)?);
        }
        let closest_encloser = self.closest_encloser(qname)?;
        let wildcard = wildcard_at(qname, &closest_encloser.name);
        let wildcard_hash = self.hash(&wildcard)?;
        if let Some(record) = self.matching(&wildcard_hash) {
            nodata_at_owner(&wildcard, record.type_set(), qtype)?;
            return Ok(if closest_encloser.next_closer_opt_out {
                Denial::OptOutInsecure
            } else {
                Denial::WildcardNoData {
                    source_of_synthesis: wildcard,
                }
            });
        }
        if closest_encloser.next_closer_opt_out {
            return Ok(Denial::OptOutInsecure);
        }
        Err(if qtype == RecordType::DS {
            ProofFailure::NoOptOut
        } else {
            ProofFailure::WildcardRecordMissing
        }
        .into())
    }

    /// A wildcard answer (RFC 5155 §8.8): an NSEC3 covers the next closer name below the closest
    /// encloser the RRSIG names, so no closer name could have answered. An opt-out cover leaves
    /// room for an unsigned delegation there: insecure.
    pub(super) fn prove_wildcard_answer(
        &mut self,
        qname: &Name,
        closest_encloser: &Name,
    ) -> Result<Denial, DenialError> {
        let next_closer_hash = self.hash(&next_closer(qname, closest_encloser))?;
        if self.matching(&next_closer_hash).is_some() {
            return Err(ProofFailure::NameExists.into());
        }
        let cover = self
            .covering(&next_closer_hash)
            .ok_or(ProofFailure::NextCloserNotCovered)?;
        Ok(if cover.opt_out() {
            Denial::OptOutInsecure
        } else {
            Denial::WildcardAnswer
        })
    }

    /// The closest encloser proof (RFC 5155 §8.3): the longest ancestor of qname with a matching
    /// NSEC3, whose child towards qname (the next closer name) has a covering one. Walks up from
    /// qname, as the proof may hold only the closest encloser's record and none of its ancestors'.
    /// The closest encloser's record must not be a zone cut or a DNAME: names below those are not
    /// this zone's to deny (§8.3, RFC 6840 §4.1).
    fn closest_encloser(&mut self, qname: &Name) -> Result<ClosestEncloser, DenialError> {
        let mut next_closer_hash: Option<Vec<u8>> = None;
        for labels in (label_count(self.zone)..=label_count(qname)).rev() {
            let candidate = qname.trim_to(labels);
            let hash = self.hash(&candidate)?;
            let Some(record) = self.matching(&hash) else {
                next_closer_hash = Some(hash);
                continue;
            };
            let Some(next_closer_hash) = next_closer_hash else {
                return Err(ProofFailure::NameExists.into());
            };
            if speaks_only_for_owner(record.type_set()) {
                return Err(ProofFailure::BelowZoneCut.into());
            }
            let cover = self
                .covering(&next_closer_hash)
                .ok_or(ProofFailure::NextCloserNotCovered)?;
            return Ok(ClosestEncloser {
                name: candidate,
                next_closer_opt_out: cover.opt_out(),
            });
        }
        Err(ProofFailure::NoClosestEncloser.into())
    }

    /// The NSEC3 hash of `name`, charged to the budget unless this proof hashed it already.
    fn hash(&mut self, name: &Name) -> Result<Vec<u8>, DenialError> {
        if let Some((_, hash)) = self.hashes.iter().find(|(hashed, _)| hashed == name) {
            return Ok(hash.clone());
        }
        self.work.spend_nsec3_hash()?;
        let Parameters {
            algorithm,
            iterations,
            salt,
        } = self.parameters;
        let digest = algorithm
            .hash(salt, name, iterations)
            .map_err(|_| ProofFailure::Unhashable)?;
        let hash = digest.as_ref().to_vec();
        self.hashes.push((name.clone(), hash.clone()));
        Ok(hash)
    }

    /// The NSEC3 whose owner is this hash: the name exists.
    fn matching(&self, hash: &[u8]) -> Option<&'a NSEC3> {
        self.records
            .iter()
            .find(|record| record.owner_hash == hash)
            .map(|record| record.nsec3)
    }

    /// The NSEC3 whose span holds this hash: no name with it exists.
    fn covering(&self, hash: &[u8]) -> Option<&'a NSEC3> {
        self.records
            .iter()
            .find(|record| record.covers(hash))
            .map(|record| record.nsec3)
    }
}

/// The hash parameters of an NSEC3 record (RFC 5155 §3.1.1, §3.1.3, §3.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parameters<'a> {
    algorithm: Nsec3HashAlgorithm,
    iterations: u16,
    salt: &'a [u8],
}

impl<'a> Parameters<'a> {
    fn of(nsec3: &'a NSEC3) -> Self {
        Parameters {
            algorithm: nsec3.hash_algorithm(),
            iterations: nsec3.iterations(),
            salt: nsec3.salt(),
        }
    }
}

/// An NSEC3 record with its owner's hash decoded.
struct Hashed<'a> {
    owner_hash: Vec<u8>,
    nsec3: &'a NSEC3,
}

impl<'a> Hashed<'a> {
    /// The record, if its owner is `<base32hex hash>.zone` (RFC 5155 §3) and both hashes are as
    /// long as its algorithm's digest. A record anywhere else is not part of this zone's chain.
    fn of_zone(zone: &Name, owner: &Name, nsec3: &'a NSEC3) -> Option<Self> {
        if owner.base_name() != *zone {
            return None;
        }
        let label = owner.iter().next()?;
        let length = digest_length(nsec3.hash_algorithm());
        if label.len() != base32hex_length(length) || nsec3.next_hashed_owner_name().len() != length
        {
            return None;
        }
        let owner_hash = base32hex_decode(label)?;
        Some(Hashed { owner_hash, nsec3 })
    }

    /// Whether `hash` lies strictly between the owner hash and the next hash. The last record
    /// of the chain wraps around to the first (RFC 5155 §3.1.7): its span runs past the largest
    /// hash and on from the smallest.
    fn covers(&self, hash: &[u8]) -> bool {
        let owner = self.owner_hash.as_slice();
        let next = self.nsec3.next_hashed_owner_name();
        if owner < next {
            owner < hash && hash < next
        } else {
            owner < hash || hash < next
        }
    }
}

/// Octets in a hash of this algorithm (RFC 5155 §11: SHA-1, 20). A new variant in hickory-proto
/// fails to compile here, which is where it must be thought about.
fn digest_length(algorithm: Nsec3HashAlgorithm) -> usize {
    match algorithm {
        Nsec3HashAlgorithm::SHA1 => 20,
    }
}

/// Characters of unpadded base32 for `octets` octets: 5 bits each.
fn base32hex_length(octets: usize) -> usize {
    (octets * 8).div_ceil(5)
}

/// Decodes RFC 4648 §7 "base32hex" without padding, either case: the encoding of NSEC3 owner
/// labels (RFC 5155 §3.3), chosen because it keeps the hashes' sort order. `None` for a
/// character outside the alphabet or leftover bits that are not zero.
fn base32hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut octets = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &character in text {
        let value = match character {
            b'0'..=b'9' => character - b'0',
            b'a'..=b'v' => character - b'a' + 10,
            b'A'..=b'V' => character - b'A' + 10,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            octets.push(u8::try_from(buffer >> bits).ok()?);
            buffer &= (1 << bits) - 1;
        }
    }
    (buffer == 0).then_some(octets)
}

#[cfg(test)]
mod tests;
