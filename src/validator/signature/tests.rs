use std::net::Ipv4Addr;

use hickory_proto::dnssec::Algorithm;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};

use super::*;
use crate::validator::testkit::{ZoneKey, name};
use crate::validator::work::{WorkBudget, WorkCaps};

const NOW: u32 = 1_800_000_000;
const DAY: u32 = 86_400;

fn a_rrset(owner: &str) -> Vec<Record> {
    (1..=2)
        .map(|i| Record::from_rdata(name(owner), 300, RData::A(A(Ipv4Addr::new(192, 0, 2, i)))))
        .collect()
}

fn budget() -> WorkBudget {
    WorkBudget::new(WorkCaps::default())
}

#[test]
fn a_good_signature_verifies_with_each_algorithm() {
    for algorithm in [
        Algorithm::ECDSAP256SHA256,
        Algorithm::ECDSAP384SHA384,
        Algorithm::ED25519,
    ] {
        let key = ZoneKey::generate("example.", algorithm, false);
        let rrset = a_rrset("www.example.");
        let sig = key.sign(&rrset, NOW - DAY, NOW + 30 * DAY);
        let verified = verify_rrset(
            &rrset,
            &[sig],
            &key.zone,
            std::slice::from_ref(&key.dnskey),
            NOW,
            &budget(),
        )
        .unwrap_or_else(|e| panic!("{algorithm:?}: {e}"));
        assert_eq!(verified.ttl, 300);
        assert_eq!(verified.wildcard_labels, None);
    }
}

#[test]
fn the_ttl_is_capped_by_what_the_signature_allows() {
    let key = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
    let rrset = a_rrset("www.example.");
    let keys = std::slice::from_ref(&key.dnskey);
    // RFC 4035 §5.3.3: no longer than until the signature expires...
    let soon = key.sign(&rrset, NOW - DAY, NOW + 100);
    let verified = verify_rrset(&rrset, &[soon], &key.zone, keys, NOW, &budget()).unwrap();
    assert_eq!(verified.ttl, 100);
    // ... and not at all once it has (accepted within the skew, but not cached).
    let expired = key.sign(&rrset, NOW - 30 * DAY, NOW - 60);
    let verified = verify_rrset(&rrset, &[expired], &key.zone, keys, NOW, &budget()).unwrap();
    assert_eq!(verified.ttl, 0);
}

#[test]
fn records_in_another_order_or_case_still_verify() {
    let key = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
    let rrset = a_rrset("www.example.");
    let sig = key.sign(&rrset, NOW - DAY, NOW + DAY);
    let mut received: Vec<Record> = rrset.into_iter().rev().collect();
    for record in &mut received {
        record.name = name("WWW.Example.");
    }
    assert!(
        verify_rrset(
            &received,
            &[sig],
            &key.zone,
            std::slice::from_ref(&key.dnskey),
            NOW,
            &budget()
        )
        .is_ok()
    );
}

#[test]
fn changed_data_does_not_verify() {
    let key = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
    let rrset = a_rrset("www.example.");
    let sig = key.sign(&rrset, NOW - DAY, NOW + DAY);
    let mut forged = rrset.clone();
    forged[0].data = RData::A(A(Ipv4Addr::new(203, 0, 113, 66)));
    assert_eq!(
        verify_rrset(
            &forged,
            &[sig],
            &key.zone,
            std::slice::from_ref(&key.dnskey),
            NOW,
            &budget()
        ),
        Err(SignatureError::Bad)
    );
}

#[test]
fn time_outside_the_validity_period_fails_beyond_the_skew() {
    let key = ZoneKey::generate("example.", Algorithm::ED25519, false);
    let rrset = a_rrset("www.example.");
    let keys = [key.dnskey.clone()];
    // Period of 30 days: the skew is capped at one day.
    let expired = key.sign(&rrset, NOW - 32 * DAY, NOW - 2 * DAY);
    assert_eq!(
        verify_rrset(&rrset, &[expired], &key.zone, &keys, NOW, &budget()),
        Err(SignatureError::Expired)
    );
    let early = key.sign(&rrset, NOW + 2 * DAY, NOW + 32 * DAY);
    assert_eq!(
        verify_rrset(&rrset, &[early], &key.zone, &keys, NOW, &budget()),
        Err(SignatureError::NotYetValid)
    );
    // Within the skew: accepted.
    let just_expired = key.sign(&rrset, NOW - 30 * DAY, NOW - 600);
    assert!(verify_rrset(&rrset, &[just_expired], &key.zone, &keys, NOW, &budget()).is_ok());
}

#[test]
fn a_signature_by_another_zone_or_key_does_not_count() {
    let key = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
    let other = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
    let rrset = a_rrset("www.example.");
    let sig = other.sign(&rrset, NOW - DAY, NOW + DAY);
    assert_eq!(
        verify_rrset(
            &rrset,
            std::slice::from_ref(&sig),
            &key.zone,
            std::slice::from_ref(&key.dnskey),
            NOW,
            &budget()
        ),
        Err(SignatureError::NoKey)
    );
    assert_eq!(
        verify_rrset(
            &rrset,
            &[sig],
            &name("other."),
            std::slice::from_ref(&other.dnskey),
            NOW,
            &budget()
        ),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify_rrset(
            &rrset,
            &[],
            &key.zone,
            std::slice::from_ref(&key.dnskey),
            NOW,
            &budget()
        ),
        Err(SignatureError::Missing)
    );
}

#[test]
fn a_wildcard_expansion_is_reported() {
    let key = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
    let wildcard = a_rrset("*.wild.example.");
    let sig = key.sign(&wildcard, NOW - DAY, NOW + DAY);
    // The answer as a server expands it: owner replaced, RRSIG as signed.
    let expanded: Vec<Record> = wildcard
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.name = name("host.wild.example.");
            r
        })
        .collect();
    let mut sig = sig;
    sig.name = name("host.wild.example.");
    let verified = verify_rrset(
        &expanded,
        &[sig],
        &key.zone,
        std::slice::from_ref(&key.dnskey),
        NOW,
        &budget(),
    )
    .unwrap();
    assert_eq!(verified.wildcard_labels, Some(2));
}

#[test]
fn rrsigs_beyond_the_cap_are_not_tried() {
    let keys: Vec<ZoneKey> = (0..3)
        .map(|_| ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false))
        .collect();
    let rrset = a_rrset("www.example.");
    let dnskeys: Vec<_> = keys.iter().map(|k| k.dnskey.clone()).collect();
    // The first two signatures are by keys the zone does not publish... made bad by swapping
    // in the signature bytes of another RRset.
    let other = a_rrset("other.example.");
    let mut sigs: Vec<Record> = keys[..2]
        .iter()
        .map(|k| {
            let mut bad = k.sign(&other, NOW - DAY, NOW + DAY);
            bad.name = name("www.example.");
            bad
        })
        .collect();
    sigs.push(keys[2].sign(&rrset, NOW - DAY, NOW + DAY));
    assert_eq!(
        verify_rrset(&rrset, &sigs, &keys[0].zone, &dnskeys, NOW, &budget()),
        Err(SignatureError::Limit(LimitReached(
            WorkLimit::RrsigsPerRrset
        )))
    );
    let generous = WorkBudget::new(WorkCaps {
        rrsigs_per_rrset: 3,
        ..WorkCaps::default()
    });
    assert!(verify_rrset(&rrset, &sigs, &keys[0].zone, &dnskeys, NOW, &generous).is_ok());
}

#[test]
fn keys_sharing_a_tag_are_tried_up_to_the_cap() {
    let key = ZoneKey::generate("example.", Algorithm::ECDSAP256SHA256, false);
    let rrset = a_rrset("www.example.");
    let sig = key.sign(&rrset, NOW - DAY, NOW + DAY);
    // Two junk keys ahead of the real one, their bytes adjusted to the same key tag.
    let mut keys: Vec<_> = (0..2).map(|i| same_tag_junk(&key, i)).collect();
    keys.push(key.dnskey.clone());
    assert_eq!(
        verify_rrset(
            &rrset,
            std::slice::from_ref(&sig),
            &key.zone,
            &keys,
            NOW,
            &budget()
        ),
        Err(SignatureError::Limit(LimitReached(
            WorkLimit::DnskeysPerTag
        )))
    );
    let generous = WorkBudget::new(WorkCaps {
        dnskeys_per_tag: 3,
        ..WorkCaps::default()
    });
    assert!(verify_rrset(&rrset, &[sig], &key.zone, &keys, NOW, &generous).is_ok());
}

#[test]
fn every_try_is_charged_to_the_question() {
    let key = ZoneKey::generate("example.", Algorithm::ED25519, false);
    let rrset = a_rrset("www.example.");
    let sig = key.sign(&rrset, NOW - DAY, NOW + DAY);
    let tight = WorkBudget::new(WorkCaps {
        signature_validations: 1,
        ..WorkCaps::default()
    });
    let keys = [key.dnskey.clone()];
    assert!(
        verify_rrset(
            &rrset,
            std::slice::from_ref(&sig),
            &key.zone,
            &keys,
            NOW,
            &tight
        )
        .is_ok()
    );
    assert_eq!(
        verify_rrset(&rrset, &[sig], &key.zone, &keys, NOW, &tight),
        Err(SignatureError::Limit(LimitReached(
            WorkLimit::SignatureValidations
        )))
    );
}

/// A DNSKEY with `key`'s algorithm and key tag but other key bytes: the key tag is a 16-bit
/// one's-complement-style sum (RFC 4034 Appendix B), so two bytes fix it up.
pub(crate) fn same_tag_junk(key: &ZoneKey, seed: u8) -> hickory_proto::dnssec::rdata::DNSKEY {
    use hickory_proto::dnssec::{PublicKey, PublicKeyBuf};
    let target = key.tag();
    let mut bytes = key.dnskey.public_key().public_bytes().to_vec();
    bytes[0] ^= 0x55 ^ seed;
    bytes[1] ^= 0xaa;
    for last in 0..=u16::MAX {
        let n = bytes.len();
        bytes[n - 2..].copy_from_slice(&last.to_be_bytes());
        let candidate = hickory_proto::dnssec::rdata::DNSKEY::with_flags(
            256,
            PublicKeyBuf::new(bytes.clone(), key.dnskey.algorithm()),
        );
        if candidate.calculate_key_tag().ok() == Some(target) && candidate != key.dnskey {
            return candidate;
        }
    }
    panic!("no junk key with tag {target}");
}
