//! Bounds on the work one client question may cause the validator (KeyTrap, CVE-2023-50387, and
//! the NSEC3 hashing attack, CVE-2023-50868): a crafted zone can make every signature check try
//! every key and every NSEC3 proof hash the same name thousands of times. Each counter is charged
//! before the work is done; once one is spent the validation step fails (bogus, SERVFAIL), which
//! costs the attacker's zone its answer and nobody else anything.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::config::Limits;

/// Which bound a validation step ran into, for `ferret_limits_tripped_total` and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkLimit {
    /// Signature validations for one client question (`max-signature-validations`).
    SignatureValidations,
    /// NSEC3 hash computations for one client question (`max-nsec3-hash-computations`).
    Nsec3Hashes,
    /// DNSKEYs with one key tag and algorithm tried for one RRSIG (`max-dnskeys-per-tag`).
    DnskeysPerTag,
    /// RRSIGs of one RRset tried (`max-rrsigs-per-rrset`).
    RrsigsPerRrset,
    /// DS records of one zone considered (`max-ds-per-zone`).
    DsPerZone,
}

/// The per-item caps, read from the configured [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkCaps {
    pub dnskeys_per_tag: u32,
    pub rrsigs_per_rrset: u32,
    pub ds_per_zone: u32,
    pub signature_validations: u32,
    pub nsec3_hashes: u32,
    /// NSEC3 records with more iterations than this prove nothing (RFC 9276 §3.2).
    pub nsec3_iterations: u16,
}

impl WorkCaps {
    pub fn from_limits(limits: &Limits) -> Self {
        WorkCaps {
            dnskeys_per_tag: limits.max_dnskeys_per_tag,
            rrsigs_per_rrset: limits.max_rrsigs_per_rrset,
            ds_per_zone: limits.max_ds_per_zone,
            signature_validations: limits.max_signature_validations,
            nsec3_hashes: limits.max_nsec3_hash_computations,
            nsec3_iterations: limits.max_nsec3_iterations,
        }
    }
}

impl Default for WorkCaps {
    fn default() -> Self {
        WorkCaps::from_limits(&Limits::default())
    }
}

/// What one client question has left to spend on validation. Shared by every step of its
/// resolution (the answer, each link of a CNAME chain, the chain of trust), so it is atomic: the
/// steps may run on different threads.
#[derive(Debug)]
pub struct WorkBudget {
    caps: WorkCaps,
    signatures: AtomicU32,
    nsec3_hashes: AtomicU32,
}

/// A bound was reached; the step that hit it must fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("validation work limit reached: {0:?}")]
pub struct LimitReached(pub WorkLimit);

impl WorkBudget {
    pub fn new(caps: WorkCaps) -> Self {
        WorkBudget {
            caps,
            signatures: AtomicU32::new(0),
            nsec3_hashes: AtomicU32::new(0),
        }
    }

    pub fn caps(&self) -> &WorkCaps {
        &self.caps
    }

    /// Charges one signature validation.
    pub fn spend_signature(&self) -> Result<(), LimitReached> {
        charge(
            &self.signatures,
            self.caps.signature_validations,
            WorkLimit::SignatureValidations,
        )
    }

    /// Charges one NSEC3 hash computation (one name hashed with all its iterations).
    pub fn spend_nsec3_hash(&self) -> Result<(), LimitReached> {
        charge(
            &self.nsec3_hashes,
            self.caps.nsec3_hashes,
            WorkLimit::Nsec3Hashes,
        )
    }

    /// Signature validations charged so far.
    pub fn signatures_spent(&self) -> u32 {
        self.signatures.load(Ordering::Relaxed)
    }

    /// NSEC3 hash computations charged so far.
    pub fn nsec3_hashes_spent(&self) -> u32 {
        self.nsec3_hashes.load(Ordering::Relaxed)
    }
}

fn charge(counter: &AtomicU32, cap: u32, limit: WorkLimit) -> Result<(), LimitReached> {
    let spent = counter.fetch_add(1, Ordering::Relaxed);
    if spent >= cap {
        return Err(LimitReached(limit));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_counter_stops_at_its_cap() {
        let caps = WorkCaps {
            signature_validations: 2,
            nsec3_hashes: 1,
            ..WorkCaps::default()
        };
        let budget = WorkBudget::new(caps);
        assert!(budget.spend_signature().is_ok());
        assert!(budget.spend_signature().is_ok());
        assert_eq!(
            budget.spend_signature(),
            Err(LimitReached(WorkLimit::SignatureValidations))
        );
        assert!(budget.spend_nsec3_hash().is_ok());
        assert_eq!(
            budget.spend_nsec3_hash(),
            Err(LimitReached(WorkLimit::Nsec3Hashes))
        );
    }
}
