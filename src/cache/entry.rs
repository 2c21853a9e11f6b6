//! What the cache stores: keys, RRsets with their RRSIGs, negative answers, trust ranks.

use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use crate::clock::{Millis, remaining_ttl};

/// What an entry is cached under. Names compare and hash case-insensitively (hickory's `Name`
/// does), so `WWW.Example.COM` and `www.example.com` share one entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub name: Name,
    pub kind: KeyKind,
    pub class: DNSClass,
}

/// A key is either one RRset type at a name, or the whole name (for NXDOMAIN, RFC 2308 §5: the
/// name does not exist, whatever the type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Type(RecordType),
    NameError,
}

impl CacheKey {
    pub fn rrset(name: &Name, rtype: RecordType) -> Self {
        CacheKey {
            name: name.clone(),
            kind: KeyKind::Type(rtype),
            class: DNSClass::IN,
        }
    }

    pub fn name_error(name: &Name) -> Self {
        CacheKey {
            name: name.clone(),
            kind: KeyKind::NameError,
            class: DNSClass::IN,
        }
    }
}

/// How much a piece of data is trusted, by where it came from (RFC 2181 §5.4.1), lowest first.
/// A cached entry is only replaced by data of the same or a higher rank, so glue can never
/// overwrite an authoritative answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// Additional section: glue addresses for a referral.
    Glue,
    /// The authority section of a referral (the parent's copy of a child's NS set).
    Referral,
    /// The answer section of a non-authoritative response.
    NonAuthAnswer,
    /// The authority section of an authoritative response.
    AuthAuthority,
    /// The answer section of an authoritative response.
    AuthAnswer,
}

impl Rank {
    /// Whether data of this rank may be handed to a client as an answer. Glue and referral NS
    /// sets are the parent's claims about a child and are only used to find servers.
    pub fn is_answer_grade(self) -> bool {
        self >= Rank::NonAuthAnswer
    }
}

/// DNSSEC status of an entry. Nothing validates yet; the field is here so a validator can mark
/// entries without changing the cache's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    #[default]
    Unchecked,
    Secure,
    Insecure,
    Bogus,
}

/// The records of one RRset and the RRSIGs that came with it, TTLs as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrsetData {
    pub records: Vec<Record>,
    pub rrsigs: Vec<Record>,
}

/// Proof that a name or type does not exist: the zone's SOA (and its RRSIGs), as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegativeData {
    pub soa: Record,
    pub soa_rrsigs: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedData {
    Rrset(RrsetData),
    /// NODATA for the key's type, or NXDOMAIN for a `NameError` key.
    Negative(Box<NegativeData>),
}

/// One cached item with its absolute expiry on the wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub data: CachedData,
    pub expires_ms: Millis,
    pub rank: Rank,
    pub validation: Validation,
}

impl CacheEntry {
    pub fn is_live(&self, now_ms: Millis) -> bool {
        now_ms < self.expires_ms
    }

    /// The entry's records (RRSIGs after the RRset they sign) with TTLs counted down to `now_ms`.
    pub fn records_at(&self, now_ms: Millis) -> Vec<Record> {
        let ttl = remaining_ttl(self.expires_ms, now_ms);
        let (records, rrsigs) = match &self.data {
            CachedData::Rrset(rrset) => (rrset.records.as_slice(), rrset.rrsigs.as_slice()),
            CachedData::Negative(neg) => {
                (std::slice::from_ref(&neg.soa), neg.soa_rrsigs.as_slice())
            }
        };
        records
            .iter()
            .chain(rrsigs)
            .map(|record| {
                let mut record = record.clone();
                record.ttl = ttl;
                record
            })
            .collect()
    }

    /// The RRset's records, without RRSIGs and with TTLs as received; empty for negative entries.
    pub fn rrset(&self) -> &[Record] {
        match &self.data {
            CachedData::Rrset(rrset) => &rrset.records,
            CachedData::Negative(_) => &[],
        }
    }

    pub fn is_negative(&self) -> bool {
        matches!(self.data, CachedData::Negative(_))
    }
}
