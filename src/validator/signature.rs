//! Checking the RRSIGs over one RRset against a zone's DNSKEYs (RFC 4035 §5.3).

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG};
use hickory_proto::dnssec::{Algorithm, Verifier};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::BogusReason;
use super::work::{LimitReached, WorkBudget, WorkLimit};

/// Signatures are accepted this far outside their validity period, as Unbound does
/// (val-sig-skew-min/max): a tenth of the period, at least an hour and at most a day. Clocks
/// drift, and signers set inception to "now" on hosts whose clocks may run ahead of ours.
const SKEW_MIN: i64 = 3_600;
const SKEW_MAX: i64 = 86_400;

/// Algorithms ferret validates (RFC 8624 §3.1: MUST for 8 and 13, RECOMMENDED for 14 and 15;
/// 5, 7 and 10 are still in use and ring verifies them). Data signed only with others makes its
/// zone insecure, not bogus (RFC 4035 §5.2).
#[allow(deprecated)]
pub fn algorithm_supported(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::RSASHA1
            | Algorithm::RSASHA1NSEC3SHA1
            | Algorithm::RSASHA256
            | Algorithm::RSASHA512
            | Algorithm::ECDSAP256SHA256
            | Algorithm::ECDSAP384SHA384
            | Algorithm::ED25519
    )
}

/// An RRset whose signature checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The largest TTL the RRset may be cached with (RFC 4035 §5.3.3): no longer than the
    /// RRSIG's own TTL, its original TTL, or the time left until it expires.
    pub ttl: u32,
    /// The RRSIG's labels field when it is smaller than the owner's label count: the RRset was
    /// expanded from the wildcard `*.<owner's last labels labels>` (RFC 4035 §5.3.4), and the
    /// answer needs a proof that the owner itself does not exist.
    pub wildcard_labels: Option<u8>,
}

/// Why an RRset did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no RRSIG by the zone covers the RRset")]
    Missing,
    #[error("the signatures have expired")]
    Expired,
    #[error("the signatures are not valid yet")]
    NotYetValid,
    #[error("no DNSKEY of the zone matches the RRSIGs")]
    NoKey,
    #[error("no signature verifies")]
    Bad,
    #[error("{0}")]
    Limit(LimitReached),
}

impl SignatureError {
    /// What the failure says about the data, as a client is told (RFC 8914).
    pub fn reason(self) -> BogusReason {
        match self {
            SignatureError::Missing => BogusReason::RrsigsMissing,
            SignatureError::Expired => BogusReason::SignatureExpired,
            SignatureError::NotYetValid => BogusReason::SignatureNotYetValid,
            SignatureError::NoKey => BogusReason::DnskeyMissing,
            SignatureError::Bad | SignatureError::Limit(_) => BogusReason::Bogus,
        }
    }

    /// Which failure to report when several RRSIGs failed differently: the one that tells the
    /// operator most (a key mismatch over a plain bad signature, a time problem over both).
    fn rank(self) -> u8 {
        match self {
            SignatureError::Missing => 0,
            SignatureError::Bad => 1,
            SignatureError::NoKey => 2,
            SignatureError::NotYetValid => 3,
            SignatureError::Expired => 4,
            SignatureError::Limit(_) => 5,
        }
    }
}

/// The RRSIG data of `record` if it is an RRSIG.
pub fn rrsig_of(record: &Record) -> Option<&RRSIG> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) => Some(rrsig),
        _ => None,
    }
}

/// The DNSKEY data of `record` if it is a DNSKEY.
pub fn dnskey_of(record: &Record) -> Option<&DNSKEY> {
    match &record.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(key)) => Some(key),
        _ => None,
    }
}

/// Verifies `rrset` (one owner, type and class) with the RRSIGs among `rrsigs` made by `zone`,
/// using `keys` (the zone's authenticated DNSKEYs), at `now` (seconds since the epoch). The first
/// signature that verifies is enough (RFC 4035 §5.3.3); at most `rrsigs_per_rrset` RRSIGs and,
/// for each, `dnskeys_per_tag` keys are tried, each try charged to `work`.
pub fn verify_rrset(
    rrset: &[Record],
    rrsigs: &[Record],
    zone: &Name,
    keys: &[DNSKEY],
    now: u32,
    work: &WorkBudget,
) -> Result<Verified, SignatureError> {
    let Some(first) = rrset.first() else {
        return Err(SignatureError::Missing);
    };
    let rtype = first.record_type();
    let covering: Vec<(&Record, &RRSIG)> = rrsigs
        .iter()
        .filter(|r| r.dns_class == first.dns_class && r.name == first.name)
        .filter_map(|r| rrsig_of(r).map(|sig| (r, sig)))
        .filter(|(_, sig)| {
            let input = sig.input();
            input.type_covered == rtype && input.signer_name == *zone
        })
        .collect();
    if covering.is_empty() {
        return Err(SignatureError::Missing);
    }
    let caps = *work.caps();
    let mut worst: Option<SignatureError> = None;
    for (index, (record, sig)) in covering.iter().enumerate() {
        if index as u32 >= caps.rrsigs_per_rrset {
            return Err(SignatureError::Limit(LimitReached(
                WorkLimit::RrsigsPerRrset,
            )));
        }
        match verify_one(first, rrset, record, sig, keys, now, work) {
            Ok(verified) => return Ok(verified),
            Err(error @ SignatureError::Limit(_)) => return Err(error),
            Err(error) => {
                if worst.is_none_or(|w| error.rank() > w.rank()) {
                    worst = Some(error);
                }
            }
        }
    }
    Err(worst.unwrap_or(SignatureError::Bad))
}

/// One RRSIG against the keys it names (RFC 4035 §5.3.1 checks, then the signature itself).
fn verify_one(
    first: &Record,
    rrset: &[Record],
    record: &Record,
    sig: &RRSIG,
    keys: &[DNSKEY],
    now: u32,
    work: &WorkBudget,
) -> Result<Verified, SignatureError> {
    let input = sig.input();
    let owner_labels = first.name.num_labels();
    // The signer must be the owner or an ancestor of it, and the labels field no more than the
    // owner's labels (§5.3.1); a larger one would claim a name the RRset is not at.
    if !input.signer_name.zone_of(&first.name) || input.num_labels > owner_labels {
        return Err(SignatureError::Bad);
    }
    check_validity_period(input.sig_inception.get(), input.sig_expiration.get(), now)?;
    let caps = *work.caps();
    let candidates = keys.iter().filter(|key| {
        key.zone_key()
            && !key.revoke()
            && key.algorithm() == input.algorithm
            && key.calculate_key_tag().ok() == Some(input.key_tag)
    });
    let mut tried = 0;
    for key in candidates {
        if tried >= caps.dnskeys_per_tag {
            return Err(SignatureError::Limit(LimitReached(
                WorkLimit::DnskeysPerTag,
            )));
        }
        tried += 1;
        work.spend_signature().map_err(SignatureError::Limit)?;
        if key
            .verify_rrsig(&first.name, first.dns_class, sig, rrset.iter())
            .is_ok()
        {
            // Serial arithmetic again; a signature accepted within the skew after its
            // expiration may be used now but not cached.
            let expires_in =
                u32::try_from(input.sig_expiration.get().wrapping_sub(now) as i32).unwrap_or(0);
            let ttl = first
                .ttl
                .min(record.ttl)
                .min(input.original_ttl)
                .min(expires_in);
            let wildcard_labels = (input.num_labels < owner_labels).then_some(input.num_labels);
            return Ok(Verified {
                ttl,
                wildcard_labels,
            });
        }
    }
    if tried == 0 {
        return Err(SignatureError::NoKey);
    }
    Err(SignatureError::Bad)
}

/// Whether `now` lies in [inception, expiration], both read with serial number arithmetic
/// (RFC 4034 §3.1.5, RFC 1982: the timestamps wrap in 2106), widened by the skew allowance.
fn check_validity_period(inception: u32, expiration: u32, now: u32) -> Result<(), SignatureError> {
    let period = i64::from(expiration.wrapping_sub(inception) as i32);
    let skew = (period / 10).clamp(SKEW_MIN, SKEW_MAX);
    let since_inception = i64::from(now.wrapping_sub(inception) as i32);
    let until_expiration = i64::from(expiration.wrapping_sub(now) as i32);
    if since_inception + skew < 0 {
        return Err(SignatureError::NotYetValid);
    }
    if until_expiration + skew < 0 {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

/// The RRSIGs in `records` that cover `rtype` at `owner`.
pub fn rrsigs_covering<'a>(
    records: &'a [Record],
    owner: &'a Name,
    rtype: RecordType,
) -> impl Iterator<Item = &'a Record> + 'a {
    records.iter().filter(move |r| {
        r.dns_class == DNSClass::IN
            && r.name == *owner
            && rrsig_of(r).is_some_and(|sig| sig.input().type_covered == rtype)
    })
}

#[cfg(test)]
mod tests;
