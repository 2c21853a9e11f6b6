//! The chain of trust: from a trust anchor down to the zone that signed an answer, one zone cut
//! at a time (RFC 4035 §5). The resolver fetches each DS set from the parent side of a cut and
//! each DNSKEY set from the zone's apex; the validator checks them. What a zone's keys turned out
//! to be (authentic keys, insecure, or bogus) is kept per zone, so a chain is walked once per key
//! TTL, not once per question.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use lru::LruCache;

use super::classify::Classified;
use super::iterate::Fetched;
use super::{Budget, ResolveError, Resolver};
use crate::cache::{Rank, Validation};
use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::validator::denial::{self, Denial};
use crate::validator::keys::{KeyVerdict, Vouchers, verify_dnskeys};
use crate::validator::signature::{SignatureError, rrsig_of, verify_rrset};
use crate::validator::{BogusReason, NegativeAnchors, TrustAnchors, WorkCaps, WorkLimit};

/// Zones whose key status is remembered at once.
const KEY_CACHE_ZONES: usize = 10_000;

/// How long a zone's bogus status is remembered (RFC 4035 §4.7): its data is bogus as long.
const BOGUS_KEYS_SECONDS: u32 = crate::cache::BOGUS_TTL;

/// What the chain of trust says about a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneSecurity {
    /// The zone's authenticated DNSKEYs.
    Secure(Arc<[DNSKEY]>),
    /// No chain of trust reaches the zone: an insecure delegation, no anchor above it, a
    /// negative trust anchor, or only algorithms ferret cannot check.
    Insecure,
    /// The chain is broken: the zone's data cannot be trusted.
    Bogus(BogusReason),
}

impl ZoneSecurity {
    /// The zone's keys, or what its data is when there are none to check it with: insecure, or
    /// bogus for the zone's reason.
    pub fn into_keys(self) -> Result<Arc<[DNSKEY]>, Validation> {
        match self {
            ZoneSecurity::Secure(keys) => Ok(keys),
            ZoneSecurity::Insecure => Err(Validation::Insecure),
            ZoneSecurity::Bogus(reason) => Err(Validation::Bogus(reason)),
        }
    }

    /// The status of data the zone failed to sign: bogus in a secure zone (RFC 4035 §5.5).
    pub fn for_unsigned_data(&self) -> Validation {
        match self {
            ZoneSecurity::Secure(_) => Validation::Bogus(BogusReason::RrsigsMissing),
            ZoneSecurity::Insecure => Validation::Insecure,
            ZoneSecurity::Bogus(reason) => Validation::Bogus(*reason),
        }
    }
}

/// A referral's word on the DS set of the cut it delegates.
#[derive(Debug, Clone)]
struct DelegationProof {
    /// The zone whose servers sent the referral, and signed what it says.
    parent: Name,
    records: Vec<Record>,
    expires_ms: Millis,
}

#[derive(Debug, Clone)]
struct KeyEntry {
    security: ZoneSecurity,
    expires_ms: Millis,
}

/// Validation settings and the per-zone key cache. Present only when DNSSEC is on.
pub struct Dnssec {
    anchors: TrustAnchors,
    negative: NegativeAnchors,
    keys: Mutex<LruCache<Name, KeyEntry>>,
    /// What referrals said about their cuts' DS sets (the DS records, or the NSEC/NSEC3 records
    /// proving there are none, with RRSIGs), unchecked until the chain of trust needs them.
    delegation_proofs: Mutex<LruCache<Name, DelegationProof>>,
    /// When each zone's last bogus answer was logged: once per zone and BAD-cache period.
    logged_bogus: Mutex<LruCache<Name, Millis>>,
    pub(super) caps: WorkCaps,
    pub(super) aggressive_nsec: bool,
    clock: Clock,
}

impl Dnssec {
    /// The validator's state for `config`, or `None` with validation off.
    pub fn from_config(
        config: &Config,
        clock: Clock,
    ) -> Result<Option<Self>, crate::validator::AnchorError> {
        if !config.dnssec {
            return Ok(None);
        }
        let capacity = NonZeroUsize::new(KEY_CACHE_ZONES).unwrap_or(NonZeroUsize::MIN);
        Ok(Some(Dnssec {
            anchors: TrustAnchors::load(&config.trust_anchors)?,
            negative: NegativeAnchors::new(&config.negative_trust_anchors),
            keys: Mutex::new(crate::bounded_lru::new(capacity)),
            logged_bogus: Mutex::new(crate::bounded_lru::new(capacity)),
            delegation_proofs: Mutex::new(crate::bounded_lru::new(capacity)),
            caps: WorkCaps::from_limits(&config.limits),
            aggressive_nsec: config.aggressive_nsec,
            clock,
        }))
    }

    /// The anchors and negative anchors, to tell whether a reload changed what validation
    /// starts from.
    pub fn trust_points(&self) -> (&TrustAnchors, &NegativeAnchors) {
        (&self.anchors, &self.negative)
    }

    /// A digest of the anchors and negative anchors, for the shared cache (never 0).
    pub fn fingerprint(&self) -> u64 {
        crate::validator::trust_fingerprint(&self.anchors, &self.negative)
    }

    /// Seconds since the epoch on the resolver's clock, for signature validity periods.
    pub fn now_seconds(&self) -> u32 {
        (self.clock.now_ms() / 1000) as u32
    }

    fn remembered(&self, zone: &Name) -> Option<ZoneSecurity> {
        let now = self.clock.now_ms();
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let entry = keys.get(zone)?;
        if entry.expires_ms <= now {
            keys.pop(zone);
            return None;
        }
        Some(entry.security.clone())
    }

    fn remember(&self, zone: Name, security: ZoneSecurity, ttl: u32) {
        let ttl = match security {
            ZoneSecurity::Bogus(_) => ttl.min(BOGUS_KEYS_SECONDS),
            _ => ttl,
        };
        let expires_ms = self.clock.now_ms() + u64::from(ttl) * 1000;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.put(
            zone,
            KeyEntry {
                security,
                expires_ms,
            },
        );
    }

    /// Keeps what a referral from `parent` to `cut` said about the cut's DS set, for as long as
    /// its shortest TTL.
    pub fn keep_delegation_proof(&self, cut: &Name, parent: &Name, records: Vec<Record>) {
        if records.is_empty() {
            return;
        }
        let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
        let expires_ms = self.clock.now_ms() + u64::from(ttl) * 1000;
        let mut proofs = self
            .delegation_proofs
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        proofs.put(
            cut.to_lowercase(),
            DelegationProof {
                parent: parent.clone(),
                records,
                expires_ms,
            },
        );
    }

    /// What a live referral said about `cut`'s DS set, as if it were the answer to a DS query.
    fn delegation_proof(&self, cut: &Name) -> Option<Fetched> {
        let now = self.clock.now_ms();
        let mut proofs = self
            .delegation_proofs
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let proof = proofs.get(cut).filter(|p| p.expires_ms > now)?.clone();
        let (ds, denial): (Vec<Record>, Vec<Record>) = proof.records.into_iter().partition(|r| {
            r.record_type() == RecordType::DS
                || rrsig_of(r).is_some_and(|sig| sig.input().type_covered == RecordType::DS)
        });
        let classified = if ds.iter().any(|r| r.record_type() == RecordType::DS) {
            Classified::Answer { chain: ds }
        } else if !denial.is_empty() {
            Classified::NoData {
                chain: Vec::new(),
                name: cut.clone(),
                soa: None,
            }
        } else {
            return None;
        };
        Some(Fetched {
            zone: proof.parent,
            classified,
            authoritative: true,
            proof: denial,
        })
    }

    /// Whether a bogus answer from `zone` should be logged now: the first in a BAD-cache
    /// period, so a broken zone that clients keep asking for does not flood the log.
    pub fn should_log_bogus(&self, zone: &Name) -> bool {
        let now = self.clock.now_ms();
        let mut logged = self.logged_bogus.lock().unwrap_or_else(|p| p.into_inner());
        let period = u64::from(BOGUS_KEYS_SECONDS) * 1000;
        if logged.get(zone).is_some_and(|at| now < at + period) {
            return false;
        }
        logged.put(zone.clone(), now);
        true
    }

    /// Forgets every zone's key status (`ferret ctl flush-bogus` and `flush`).
    pub fn forget_keys(&self, only_bogus: bool) -> usize {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if !only_bogus {
            let count = keys.len();
            keys.clear();
            return count;
        }
        let bogus: Vec<Name> = keys
            .iter()
            .filter(|(_, entry)| matches!(entry.security, ZoneSecurity::Bogus(_)))
            .map(|(zone, _)| zone.clone())
            .collect();
        for zone in &bogus {
            keys.pop(zone);
        }
        bogus.len()
    }
}

/// A status and how long it may be believed.
type Timed = (ZoneSecurity, u32);

impl Resolver {
    /// The security of `zone` (a zone apex), walking the chain of trust from the closest anchor
    /// as far as needed. Fails only when the resolution itself fails (time or query budget):
    /// a fetch that gets no usable answer makes the zone bogus.
    pub(super) async fn zone_security(
        self: &Arc<Self>,
        zone: &Name,
        budget: &Budget,
        depth: u32,
    ) -> Result<ZoneSecurity, ResolveError> {
        let Some(dnssec) = &self.dnssec else {
            return Ok(ZoneSecurity::Insecure);
        };
        let zone = zone.to_lowercase();
        if dnssec.negative.covers(&zone) {
            return Ok(ZoneSecurity::Insecure);
        }
        let Some(anchor) = dnssec.anchors.closest(&zone) else {
            return Ok(ZoneSecurity::Insecure);
        };
        if let Some(known) = dnssec.remembered(&zone) {
            return Ok(known);
        }
        let (security, ttl) = if anchor.zone == zone {
            let vouchers = (anchor.ds.clone(), anchor.dnskeys.clone());
            self.keys_vouched_for(&zone, &vouchers.0, &vouchers.1, budget, depth)
                .await?
        } else {
            Box::pin(self.keys_below_anchor(&zone, budget, depth)).await?
        };
        if let ZoneSecurity::Bogus(reason) = &security {
            self.log_bogus(&zone, &zone, RecordType::DNSKEY, *reason);
        }
        dnssec.remember(zone, security.clone(), ttl);
        Ok(security)
    }

    /// A zone under an anchor: its DS set from the parent, authenticated with the parent's keys,
    /// then its DNSKEY set against that DS set; or the parent's proof that there is no DS.
    async fn keys_below_anchor(
        self: &Arc<Self>,
        zone: &Name,
        budget: &Budget,
        depth: u32,
    ) -> Result<Timed, ResolveError> {
        let remembered = self.dnssec.as_ref().and_then(|d| d.delegation_proof(zone));
        let fetched = match remembered {
            Some(fetched) => fetched,
            None => self.fetch(zone, RecordType::DS, budget, depth).await?,
        };
        match &fetched.classified {
            Classified::Answer { chain } => {
                let ds_records: Vec<Record> = chain
                    .iter()
                    .filter(|r| r.record_type() == RecordType::DS && r.name == *zone)
                    .cloned()
                    .collect();
                let signer = signer_of(chain, RecordType::DS).unwrap_or(fetched.zone.clone());
                if signer == *zone || !signer.zone_of(zone) {
                    return Ok(bogus(BogusReason::Bogus));
                }
                let parent = self.zone_security(&signer, budget, depth).await?;
                let keys = match parent {
                    ZoneSecurity::Secure(keys) => keys,
                    other => return Ok((other, BOGUS_KEYS_SECONDS)),
                };
                let now = self.now_seconds();
                let verified =
                    match verify_rrset(&ds_records, chain, &signer, &keys, now, budget.work()) {
                        Ok(verified) => verified,
                        Err(error) => return Ok(self.bogus_signature(zone, error)),
                    };
                self.cache.insert_validated_rrset(
                    ds_records.clone(),
                    rrsigs_for(chain, zone, RecordType::DS),
                    Rank::AuthAnswer,
                    Validation::Secure,
                );
                let ds: Vec<DS> = ds_records.iter().filter_map(ds_of).cloned().collect();
                let (security, ttl) = self.keys_vouched_for(zone, &ds, &[], budget, depth).await?;
                Ok((security, ttl.min(verified.ttl)))
            }
            Classified::NoData { soa, .. } => {
                let parent_zone = soa
                    .as_ref()
                    .map_or(fetched.zone.clone(), |p| p.soa.name.clone());
                if parent_zone == *zone || !parent_zone.zone_of(zone) {
                    // The "parent" is the zone itself: no cut here, so no DS to prove.
                    return Ok(bogus(BogusReason::Bogus));
                }
                let parent = self.zone_security(&parent_zone, budget, depth).await?;
                let keys = match parent {
                    ZoneSecurity::Secure(keys) => keys,
                    other => return Ok((other, BOGUS_KEYS_SECONDS)),
                };
                let proof_ttl = fetched.proof.iter().map(|r| r.ttl).min();
                let ttl = soa
                    .as_ref()
                    .map(|p| p.soa.ttl)
                    .or(proof_ttl)
                    .unwrap_or(BOGUS_KEYS_SECONDS);
                let proof =
                    match self.authenticate_proof(&fetched.proof, &parent_zone, &keys, budget) {
                        Ok(proof) => proof,
                        Err(reason) => return Ok(bogus(reason)),
                    };
                match denial::prove_nodata(
                    zone,
                    RecordType::DS,
                    &parent_zone,
                    &proof,
                    budget.work(),
                ) {
                    Ok(Denial::InsecureDelegation | Denial::OptOutInsecure | Denial::Insecure) => {
                        Ok((ZoneSecurity::Insecure, ttl))
                    }
                    // No DS at a name that is no zone cut at all: the name is part of its
                    // parent zone and as secure as it is (RFC 6840 §4.4: only a delegation's
                    // NSEC, with NS, makes a child insecure).
                    Ok(Denial::NoData) => Ok((ZoneSecurity::Secure(keys), ttl)),
                    Ok(_) => Ok(bogus(BogusReason::Bogus)),
                    Err(error) => Ok(self.bogus_denial(zone, error)),
                }
            }
            _ => Ok(bogus(BogusReason::DnskeyMissing)),
        }
    }

    /// The zone's DNSKEY set, authenticated by `ds` or `anchor_keys`.
    async fn keys_vouched_for(
        self: &Arc<Self>,
        zone: &Name,
        ds: &[DS],
        anchor_keys: &[DNSKEY],
        budget: &Budget,
        depth: u32,
    ) -> Result<Timed, ResolveError> {
        let fetched = self.fetch(zone, RecordType::DNSKEY, budget, depth).await?;
        let Classified::Answer { chain } = &fetched.classified else {
            return Ok(bogus(BogusReason::DnskeyMissing));
        };
        let dnskeys: Vec<Record> = chain
            .iter()
            .filter(|r| r.record_type() == RecordType::DNSKEY && r.name == *zone)
            .cloned()
            .collect();
        let vouchers = Vouchers {
            ds,
            dnskeys: anchor_keys,
        };
        let now = self.now_seconds();
        match verify_dnskeys(zone, &dnskeys, chain, vouchers, now, budget.work()) {
            Ok(KeyVerdict::Secure { keys, ttl }) => {
                self.cache.insert_validated_rrset(
                    dnskeys,
                    rrsigs_for(chain, zone, RecordType::DNSKEY),
                    Rank::AuthAnswer,
                    Validation::Secure,
                );
                Ok((ZoneSecurity::Secure(keys.into()), ttl))
            }
            Ok(KeyVerdict::Insecure) => {
                let ttl = dnskeys.iter().map(|r| r.ttl).min().unwrap_or(0);
                Ok((ZoneSecurity::Insecure, ttl))
            }
            Err(error) => Ok(self.bogus_signature(zone, error)),
        }
    }

    /// The NSEC/NSEC3 RRsets of `proof` whose signatures by `zone` verify, or why not. Every
    /// RRset must verify: a proof with a forged part proves nothing.
    pub(super) fn authenticate_proof(
        &self,
        proof: &[Record],
        zone: &Name,
        keys: &[DNSKEY],
        budget: &Budget,
    ) -> Result<Vec<Record>, BogusReason> {
        let now = self.now_seconds();
        let mut authentic = Vec::new();
        for rrset in rrsets_of(proof) {
            if let Err(error) = verify_rrset(&rrset, proof, zone, keys, now, budget.work()) {
                self.note_work_limit(error);
                return Err(error.reason());
            }
            authentic.extend(rrset);
        }
        if authentic.is_empty() {
            return Err(BogusReason::NsecMissing);
        }
        Ok(authentic)
    }

    fn now_seconds(&self) -> u32 {
        self.dnssec.as_ref().map_or(0, Dnssec::now_seconds)
    }

    fn bogus_signature(&self, zone: &Name, error: SignatureError) -> Timed {
        self.note_work_limit(error);
        tracing::debug!(%zone, %error, "DNSKEY or DS set does not validate");
        bogus(error.reason())
    }

    fn bogus_denial(&self, zone: &Name, error: denial::DenialError) -> Timed {
        if let denial::DenialError::LimitReached(limit) = error {
            self.metrics.record_limit(work_limit_label(limit));
        }
        tracing::debug!(%zone, %error, "no proof that the zone has no DS");
        bogus(error.bogus_reason())
    }

    /// Counts a tripped KeyTrap bound in `ferret_limits_tripped_total`.
    pub(super) fn note_work_limit(&self, error: SignatureError) {
        if let SignatureError::Limit(limit) = error {
            self.metrics.record_limit(work_limit_label(limit.0));
        }
    }

    /// Logs bogus data from `zone` (`name`/`rtype` the question that found it) with the
    /// reason, once per zone and BAD-cache period.
    pub(super) fn log_bogus(
        &self,
        zone: &Name,
        name: &Name,
        rtype: RecordType,
        reason: BogusReason,
    ) {
        let zone = zone.to_lowercase();
        if self
            .dnssec
            .as_ref()
            .is_some_and(|d| d.should_log_bogus(&zone))
        {
            tracing::warn!(%zone, %name, %rtype, ?reason, ede = reason.ede_code(), "DNSSEC validation failed: bogus data");
        }
    }
}

fn bogus(reason: BogusReason) -> Timed {
    (ZoneSecurity::Bogus(reason), BOGUS_KEYS_SECONDS)
}

/// The metrics label of a validation work bound.
pub(super) fn work_limit_label(limit: WorkLimit) -> crate::metrics::labels::Limit {
    use crate::metrics::labels::Limit;
    match limit {
        WorkLimit::SignatureValidations => Limit::SignatureValidations,
        WorkLimit::Nsec3Hashes => Limit::Nsec3Hashes,
        WorkLimit::DnskeysPerTag => Limit::DnskeysPerTag,
        WorkLimit::RrsigsPerRrset => Limit::RrsigsPerRrset,
        WorkLimit::DsPerZone => Limit::DsPerZone,
    }
}

/// The signer named by the first RRSIG covering `rtype` in `records`.
pub(super) fn signer_of(records: &[Record], rtype: RecordType) -> Option<Name> {
    records
        .iter()
        .filter_map(rrsig_of)
        .find(|sig| sig.input().type_covered == rtype)
        .map(|sig| sig.input().signer_name.clone())
}

fn rrsigs_for(records: &[Record], owner: &Name, rtype: RecordType) -> Vec<Record> {
    records
        .iter()
        .filter(|r| {
            r.name == *owner && rrsig_of(r).is_some_and(|sig| sig.input().type_covered == rtype)
        })
        .cloned()
        .collect()
}

fn ds_of(record: &Record) -> Option<&DS> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds),
        _ => None,
    }
}

/// `records` without RRSIGs, grouped into RRsets by owner and type, in the order first seen.
pub(super) fn rrsets_of(records: &[Record]) -> Vec<Vec<Record>> {
    let mut rrsets: Vec<Vec<Record>> = Vec::new();
    for record in records
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
    {
        match rrsets
            .iter_mut()
            .find(|set| set[0].name == record.name && set[0].record_type() == record.record_type())
        {
            Some(set) => set.push(record.clone()),
            None => rrsets.push(vec![record.clone()]),
        }
    }
    rrsets
}
