//! Validating one upstream answer before it is cached (RFC 4035 §5): each RRset against the keys
//! of the zone that signed it, wildcard expansions and negative answers against their NSEC or
//! NSEC3 proofs. The chain of trust behind the keys is [`super::trust`]'s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use super::classify::{Classified, SoaProof};
use super::iterate::Fetched;
use super::trust::{ZoneSecurity, rrsets_of};
use super::{Budget, ResolveError, Resolver};
use crate::cache::Validation;
use crate::records::rrsig_type_covered;
use crate::validator::BogusReason;
use crate::validator::denial::{self, Denial, DenialError};
use crate::validator::signature::{rrsig_of, verify_rrset};

/// The NSEC and NSEC3 records of a response's authority section that lie inside `zone`, with
/// the RRSIGs over them: the denial (and wildcard) proofs a validator needs (RFC 4035 §3.1.3).
pub(super) fn proof_records(response: &Message, zone: &Name) -> Vec<Record> {
    let is_proof_type = |rtype: RecordType| matches!(rtype, RecordType::NSEC | RecordType::NSEC3);
    response
        .authorities
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN && zone.zone_of(&r.name))
        .filter(|r| {
            is_proof_type(r.record_type()) || rrsig_type_covered(r).is_some_and(is_proof_type)
        })
        .cloned()
        .collect()
}

/// The DS records of a referral's authority section inside `zone` (the parent's side of the cut,
/// RFC 4035 §3.1.4), with the RRSIGs over them.
pub(super) fn ds_records(response: &Message, zone: &Name) -> Vec<Record> {
    response
        .authorities
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN && zone.zone_of(&r.name))
        .filter(|r| {
            r.record_type() == RecordType::DS || rrsig_type_covered(r) == Some(RecordType::DS)
        })
        .cloned()
        .collect()
}

impl Resolver {
    /// The status of everything in `fetched`, the answer to `qtype` at `qname`. Referrals and
    /// unusable answers are not validated (they are never answers).
    ///
    /// `ttl_cap` is lowered to the longest time any verified signature allows the data to be
    /// cached (RFC 4035 §5.3.3: no longer than the RRSIG's TTL, its original TTL, or the time
    /// left until it expires).
    pub(super) async fn validate(
        self: &Arc<Self>,
        fetched: &Fetched,
        qtype: RecordType,
        budget: &Budget,
        depth: u32,
        ttl_cap: &AtomicU32,
    ) -> Result<Validation, ResolveError> {
        if self.dnssec.is_none() {
            return Ok(Validation::Unchecked);
        }
        let zone = &fetched.zone;
        let proof = &fetched.proof;
        match &fetched.classified {
            Classified::Answer { chain } | Classified::Alias { chain, .. } => {
                self.validate_rrsets(chain, zone, proof, budget, depth, ttl_cap)
                    .await
            }
            Classified::NxDomain { chain, name, soa } => {
                let links = self
                    .validate_rrsets(chain, zone, proof, budget, depth, ttl_cap)
                    .await?;
                let denial = self
                    .validate_denial(name, None, soa.as_ref(), zone, proof, budget, depth)
                    .await?;
                Ok(links.and(denial))
            }
            Classified::NoData { chain, name, soa } => {
                let links = self
                    .validate_rrsets(chain, zone, proof, budget, depth, ttl_cap)
                    .await?;
                let denial = self
                    .validate_denial(name, Some(qtype), soa.as_ref(), zone, proof, budget, depth)
                    .await?;
                Ok(links.and(denial))
            }
            Classified::Referral { .. } | Classified::Unusable(_) => Ok(Validation::Unchecked),
        }
    }

    /// Every RRset of an answer's chain, each with the keys of its signer.
    async fn validate_rrsets(
        self: &Arc<Self>,
        chain: &[Record],
        zone: &Name,
        proof: &[Record],
        budget: &Budget,
        depth: u32,
        ttl_cap: &AtomicU32,
    ) -> Result<Validation, ResolveError> {
        let mut status = Validation::Secure;
        for rrset in rrsets_of(chain) {
            if synthesized_from_dname(&rrset[0], chain) {
                // RFC 6672 §5.3.3: the CNAME a DNAME implies is unsigned; classify rebuilt it
                // from the DNAME, which is validated on its own.
                continue;
            }
            let verdict = self
                .validate_rrset(&rrset, chain, zone, proof, budget, depth, ttl_cap)
                .await?;
            status = status.and(verdict);
            if status.is_bogus() {
                break;
            }
        }
        Ok(status)
    }

    #[allow(clippy::too_many_arguments)]
    async fn validate_rrset(
        self: &Arc<Self>,
        rrset: &[Record],
        chain: &[Record],
        zone: &Name,
        proof: &[Record],
        budget: &Budget,
        depth: u32,
        ttl_cap: &AtomicU32,
    ) -> Result<Validation, ResolveError> {
        let owner = &rrset[0].name;
        let rtype = rrset[0].record_type();
        // The signer must be the zone asked or a zone below it that holds the owner; a
        // signature claiming to be a parent's is not the server's to give.
        let signer = chain
            .iter()
            .filter(|r| r.name == *owner)
            .filter_map(rrsig_of)
            .map(|sig| sig.input())
            .filter(|input| input.type_covered == rtype)
            .map(|input| input.signer_name.clone())
            .find(|signer| zone.zone_of(signer) && signer.zone_of(owner));
        let Some(signer) = signer else {
            return self.validate_unsigned(owner, zone, budget, depth).await;
        };
        let keys = match self
            .zone_security(&signer, budget, depth)
            .await?
            .into_keys()
        {
            Ok(keys) => keys,
            Err(status) => return Ok(status),
        };
        let now = self.dnssec.as_ref().map_or(0, |d| d.now_seconds());
        let verified = match verify_rrset(rrset, chain, &signer, &keys, now, budget.work()) {
            Ok(verified) => verified,
            Err(error) => {
                self.note_work_limit(error);
                tracing::debug!(%owner, %rtype, %error, "RRset does not validate");
                return Ok(Validation::Bogus(error.reason()));
            }
        };
        ttl_cap.fetch_min(verified.ttl, Ordering::Relaxed);
        let Some(labels) = verified.wildcard_labels else {
            return Ok(Validation::Secure);
        };
        // A wildcard expansion: the owner itself must be proven not to exist (RFC 4035 §5.3.4).
        let authentic = match self.authenticate_proof(proof, &signer, &keys, budget) {
            Ok(authentic) => authentic,
            Err(reason) => return Ok(Validation::Bogus(reason)),
        };
        Ok(
            match denial::prove_wildcard_answer(owner, labels, &signer, &authentic, budget.work()) {
                Ok(Denial::OptOutInsecure | Denial::Insecure) => Validation::Insecure,
                Ok(Denial::WildcardAnswer) => Validation::Secure,
                Ok(_) => Validation::Bogus(BogusReason::Bogus),
                Err(error) => self.bogus_from_denial(error),
            },
        )
    }

    /// An RRset without a usable RRSIG: insecure if its zone is, bogus in a signed zone. When
    /// the zone asked is signed, a zone cut between it and the owner may lead into an unsigned
    /// child served by the same servers; each candidate cut is checked for a proven-insecure
    /// delegation before calling the data bogus.
    async fn validate_unsigned(
        self: &Arc<Self>,
        owner: &Name,
        zone: &Name,
        budget: &Budget,
        depth: u32,
    ) -> Result<Validation, ResolveError> {
        let security = self.zone_security(zone, budget, depth).await?;
        if !matches!(security, ZoneSecurity::Secure(_)) {
            return Ok(security.for_unsigned_data());
        }
        let below = usize::from(owner.num_labels()).saturating_sub(usize::from(zone.num_labels()));
        for labels in 1..=below {
            let cut = owner.trim_to(usize::from(zone.num_labels()) + labels);
            if self.zone_security(&cut, budget, depth).await? == ZoneSecurity::Insecure {
                return Ok(Validation::Insecure);
            }
        }
        Ok(security.for_unsigned_data())
    }

    /// A negative answer: the SOA signed by its zone, and the NSEC/NSEC3 records proving that
    /// `name` (NXDOMAIN, `qtype` `None`) or `qtype` at `name` (NODATA) does not exist.
    #[allow(clippy::too_many_arguments)]
    async fn validate_denial(
        self: &Arc<Self>,
        name: &Name,
        qtype: Option<RecordType>,
        soa: Option<&SoaProof>,
        zone: &Name,
        proof: &[Record],
        budget: &Budget,
        depth: u32,
    ) -> Result<Validation, ResolveError> {
        let denying_zone = soa.map_or(zone.clone(), |p| p.soa.name.clone());
        let keys = match self
            .zone_security(&denying_zone, budget, depth)
            .await?
            .into_keys()
        {
            Ok(keys) => keys,
            Err(status) => return Ok(status),
        };
        let now = self.dnssec.as_ref().map_or(0, |d| d.now_seconds());
        if let Some(soa) = soa
            && let Err(error) = verify_rrset(
                std::slice::from_ref(&soa.soa),
                &soa.rrsigs,
                &denying_zone,
                &keys,
                now,
                budget.work(),
            )
        {
            self.note_work_limit(error);
            return Ok(Validation::Bogus(error.reason()));
        }
        let authentic = match self.authenticate_proof(proof, &denying_zone, &keys, budget) {
            Ok(authentic) => authentic,
            Err(reason) => return Ok(Validation::Bogus(reason)),
        };
        let work = budget.work();
        let proven = match qtype {
            None => denial::prove_nxdomain(name, &denying_zone, &authentic, work),
            Some(qtype) => denial::prove_nodata(name, qtype, &denying_zone, &authentic, work),
        };
        Ok(match (qtype, proven) {
            (_, Ok(Denial::OptOutInsecure | Denial::Insecure)) => Validation::Insecure,
            (None, Ok(Denial::NxDomain)) => Validation::Secure,
            // For a DS question, the proof of an insecure delegation is a proven NODATA.
            (
                Some(_),
                Ok(Denial::NoData | Denial::WildcardNoData { .. } | Denial::InsecureDelegation),
            ) => Validation::Secure,
            (_, Ok(_)) => Validation::Bogus(BogusReason::Bogus),
            (_, Err(error)) => self.bogus_from_denial(error),
        })
    }

    fn bogus_from_denial(&self, error: DenialError) -> Validation {
        if let DenialError::LimitReached(limit) = error {
            self.metrics
                .record_limit(super::trust::work_limit_label(limit));
        }
        Validation::Bogus(error.bogus_reason())
    }
}

/// Whether `record` is a CNAME that a DNAME elsewhere in `chain` implies.
fn synthesized_from_dname(record: &Record, chain: &[Record]) -> bool {
    record.record_type() == RecordType::CNAME
        && chain.iter().any(|r| {
            r.record_type() == RecordType::DNAME
                && r.name != record.name
                && r.name.zone_of(&record.name)
        })
}
