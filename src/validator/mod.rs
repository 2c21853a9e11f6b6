//! The DNSSEC validator (RFC 4033, 4034, 4035, 5155, 6840): between the resolver and the cache,
//! as Unbound's `validator/` sits after its `iterator/`. The resolver hands it an answer and the
//! keys it fetched; it returns a status ([`crate::cache::Validation`]), which is cached with the data. The hot path
//! only reads the status stored with an entry.
//!
//! Everything here is plain computation over records: no sockets, no tasks. Fetching DS and
//! DNSKEY sets is the resolver's job (`resolver::trust`).

mod anchors;
pub mod denial;
pub mod keys;
mod nsec;
mod nsec3;
pub mod signature;
#[cfg(test)]
pub(crate) mod testkit;
pub mod work;

pub use anchors::{AnchorError, NegativeAnchors, TrustAnchor, TrustAnchors, trust_fingerprint};
pub use denial::{Denial, DenialError, ProofFailure};
pub use work::{LimitReached, WorkBudget, WorkCaps, WorkLimit};

/// Why data is bogus, as the Extended DNS Error (RFC 8914 §4) a client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BogusReason {
    /// EDE 6: a signature does not verify, a DS does not match, a proof does not hold.
    Bogus,
    /// EDE 7: every signature has expired.
    SignatureExpired,
    /// EDE 8: no signature is valid yet.
    SignatureNotYetValid,
    /// EDE 9: no DNSKEY matches the DS set or the RRSIGs.
    DnskeyMissing,
    /// EDE 10: the RRset carries no RRSIG in a signed zone.
    RrsigsMissing,
    /// EDE 12: a negative answer without the NSEC/NSEC3 records that prove it.
    NsecMissing,
}

impl BogusReason {
    /// The INFO-CODE of the Extended DNS Error option (RFC 8914 §4).
    pub fn ede_code(self) -> u16 {
        match self {
            BogusReason::Bogus => 6,
            BogusReason::SignatureExpired => 7,
            BogusReason::SignatureNotYetValid => 8,
            BogusReason::DnskeyMissing => 9,
            BogusReason::RrsigsMissing => 10,
            BogusReason::NsecMissing => 12,
        }
    }
}
