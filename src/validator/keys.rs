//! Authenticating a zone's DNSKEY RRset from what vouches for it: the DS set its parent signed,
//! or a configured trust anchor (RFC 4035 §5.2).

use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{DigestType, Verifier};
use hickory_proto::rr::{Name, Record};

use super::signature::{SignatureError, algorithm_supported, dnskey_of, verify_rrset};
use super::work::{LimitReached, WorkBudget, WorkLimit};

/// What vouches for a zone's keys.
#[derive(Debug, Clone, Copy)]
pub struct Vouchers<'a> {
    /// DS records from the parent (already authenticated) or from a trust anchor.
    pub ds: &'a [DS],
    /// DNSKEYs configured as trust anchors.
    pub dnskeys: &'a [DNSKEY],
}

/// The outcome for a zone whose DNSKEY RRset was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyVerdict {
    /// The DNSKEY RRset is authentic: these are the zone's keys, good for `ttl` seconds.
    Secure { keys: Vec<DNSKEY>, ttl: u32 },
    /// Nothing vouching for the zone uses an algorithm and digest ferret can check: the zone is
    /// treated as unsigned (RFC 4035 §5.2, RFC 6840 §5.2).
    Insecure,
}

/// Whether ferret can compute a DS digest of this type (RFC 4509 SHA-256, RFC 6605 SHA-384; SHA-1
/// still appears in old delegations).
pub fn digest_supported(digest: DigestType) -> bool {
    matches!(
        digest,
        DigestType::SHA1 | DigestType::SHA256 | DigestType::SHA384
    )
}

/// Authenticates `dnskey_rrset` (the zone's DNSKEY records as received) with its `rrsigs`: some
/// key that a voucher names must sign the whole set. At most `ds_per_zone` DS records are
/// considered.
pub fn verify_dnskeys(
    zone: &Name,
    dnskey_rrset: &[Record],
    rrsigs: &[Record],
    vouchers: Vouchers<'_>,
    now: u32,
    work: &WorkBudget,
) -> Result<KeyVerdict, SignatureError> {
    let cap = work.caps().ds_per_zone as usize;
    let considered = &vouchers.ds[..vouchers.ds.len().min(cap)];
    let usable: Vec<&DS> = considered
        .iter()
        .filter(|ds| algorithm_supported(ds.algorithm()) && digest_supported(ds.digest_type()))
        .collect();
    if usable.is_empty() && vouchers.dnskeys.is_empty() {
        if vouchers.ds.len() > cap {
            return Err(SignatureError::Limit(LimitReached(WorkLimit::DsPerZone)));
        }
        return Ok(KeyVerdict::Insecure);
    }
    let published: Vec<DNSKEY> = dnskey_rrset.iter().filter_map(dnskey_of).cloned().collect();
    if published.is_empty() {
        return Err(SignatureError::NoKey);
    }
    let mut worst = SignatureError::NoKey;
    for entry in entry_points(zone, &published, &usable, vouchers.dnskeys) {
        match verify_rrset(
            dnskey_rrset,
            rrsigs,
            zone,
            std::slice::from_ref(entry),
            now,
            work,
        ) {
            Ok(verified) => {
                return Ok(KeyVerdict::Secure {
                    keys: published,
                    ttl: verified.ttl,
                });
            }
            Err(error @ SignatureError::Limit(_)) => return Err(error),
            Err(error) => {
                if worst == SignatureError::NoKey || error != SignatureError::NoKey {
                    worst = error;
                }
            }
        }
    }
    if vouchers.ds.len() > cap {
        return Err(SignatureError::Limit(LimitReached(WorkLimit::DsPerZone)));
    }
    // A key the parent vouches for is there, but it signed nothing: the RRSIG that should
    // carry the chain of trust is missing (as Unbound reports it), not the key.
    if worst == SignatureError::NoKey
        && !entry_points(zone, &published, &usable, vouchers.dnskeys).is_empty()
    {
        return Err(SignatureError::Missing);
    }
    Err(worst)
}

/// The published keys that some voucher names: a DS whose tag, algorithm and digest match
/// (RFC 4035 §5.2), or a key equal to an anchor's DNSKEY. A revoked key (RFC 5011) is never one.
fn entry_points<'k>(
    zone: &Name,
    published: &'k [DNSKEY],
    ds: &[&DS],
    anchors: &[DNSKEY],
) -> Vec<&'k DNSKEY> {
    published
        .iter()
        .filter(|key| key.zone_key() && !key.revoke())
        .filter(|key| {
            let tag = key.calculate_key_tag().ok();
            ds.iter().any(|ds| {
                Some(ds.key_tag()) == tag
                    && ds.algorithm() == key.algorithm()
                    && ds.covers(zone, key).unwrap_or(false)
            }) || anchors.iter().any(|anchor| anchor == *key)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use hickory_proto::dnssec::Algorithm;

    use super::*;
    use crate::validator::testkit::ZoneKey;
    use crate::validator::work::WorkCaps;

    const NOW: u32 = 1_800_000_000;

    fn budget() -> WorkBudget {
        WorkBudget::new(WorkCaps::default())
    }

    /// A KSK+ZSK zone: the DNSKEY RRset and its RRSIG by the KSK.
    fn zone_keys() -> (ZoneKey, ZoneKey, Vec<Record>, Vec<Record>) {
        let ksk = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, true);
        let zsk = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
        let rrset = vec![ksk.dnskey_record(), zsk.dnskey_record()];
        let sig = ksk.sign(&rrset, NOW - 3600, NOW + 86_400);
        (ksk, zsk, rrset, vec![sig])
    }

    #[test]
    fn a_matching_ds_authenticates_the_keys() {
        let (ksk, _, rrset, sigs) = zone_keys();
        let ds = [ksk.ds()];
        let vouchers = Vouchers {
            ds: &ds,
            dnskeys: &[],
        };
        let verdict = verify_dnskeys(&ksk.zone, &rrset, &sigs, vouchers, NOW, &budget()).unwrap();
        assert!(matches!(verdict, KeyVerdict::Secure { keys, .. } if keys.len() == 2));
    }

    #[test]
    fn an_anchor_dnskey_authenticates_the_keys() {
        let (ksk, _, rrset, sigs) = zone_keys();
        let anchors = [ksk.dnskey.clone()];
        let vouchers = Vouchers {
            ds: &[],
            dnskeys: &anchors,
        };
        assert!(verify_dnskeys(&ksk.zone, &rrset, &sigs, vouchers, NOW, &budget()).is_ok());
    }

    #[test]
    fn a_ds_for_another_key_leaves_the_zone_bogus() {
        let (ksk, zsk, rrset, sigs) = zone_keys();
        let stranger = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, true);
        let ds = [stranger.ds()];
        let vouchers = Vouchers {
            ds: &ds,
            dnskeys: &[],
        };
        assert_eq!(
            verify_dnskeys(&ksk.zone, &rrset, &sigs, vouchers, NOW, &budget()),
            Err(SignatureError::NoKey)
        );
        // Keys signed only by the ZSK, while the DS names the KSK: the KSK's RRSIG is missing.
        let zsk_sig = vec![zsk.sign(&rrset, NOW - 3600, NOW + 86_400)];
        let ds = [ksk.ds()];
        let vouchers = Vouchers {
            ds: &ds,
            dnskeys: &[],
        };
        assert_eq!(
            verify_dnskeys(&ksk.zone, &rrset, &zsk_sig, vouchers, NOW, &budget()),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn an_unsupported_algorithm_or_digest_is_insecure() {
        let (ksk, _, rrset, sigs) = zone_keys();
        let good = ksk.ds();
        let unknown_digest = DS::new(
            good.key_tag(),
            good.algorithm(),
            DigestType::Unknown(250),
            good.digest().to_vec(),
        );
        let unknown_algorithm = DS::new(
            good.key_tag(),
            Algorithm::Unknown(253),
            DigestType::SHA256,
            good.digest().to_vec(),
        );
        for ds in [unknown_digest, unknown_algorithm] {
            let ds = [ds];
            let vouchers = Vouchers {
                ds: &ds,
                dnskeys: &[],
            };
            assert_eq!(
                verify_dnskeys(&ksk.zone, &rrset, &sigs, vouchers, NOW, &budget()),
                Ok(KeyVerdict::Insecure)
            );
        }
    }

    #[test]
    fn ds_records_beyond_the_cap_are_not_considered() {
        let (ksk, _, rrset, sigs) = zone_keys();
        let junk: Vec<DS> = (0..8)
            .map(|_| ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, true).ds())
            .collect();
        let mut ds = junk;
        ds.push(ksk.ds());
        let vouchers = Vouchers {
            ds: &ds,
            dnskeys: &[],
        };
        assert_eq!(
            verify_dnskeys(&ksk.zone, &rrset, &sigs, vouchers, NOW, &budget()),
            Err(SignatureError::Limit(LimitReached(WorkLimit::DsPerZone)))
        );
        let generous = WorkBudget::new(WorkCaps {
            ds_per_zone: 9,
            ..WorkCaps::default()
        });
        assert!(verify_dnskeys(&ksk.zone, &rrset, &sigs, vouchers, NOW, &generous).is_ok());
    }
}
