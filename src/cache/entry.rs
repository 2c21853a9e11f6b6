//! What the cache stores: keys, RRsets with their RRSIGs, negative answers, trust ranks.

use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::stored::StoredRrset;
use crate::clock::{Millis, remaining_ttl};
use crate::validator::BogusReason;

/// What an entry is cached under. Names compare and hash without regard to ASCII case (RFC 4343
/// §3), so `WWW.Example.COM` and `www.example.com` share one entry: the key holds the name
/// lowercased, in wire format, in one allocation of exactly its length (a hickory `Name` is ~100
/// bytes inline, and hashes label by label).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Length-prefixed labels, root label included, ASCII letters lowercased.
    name: Box<[u8]>,
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
            name: lowercase_wire(name),
            kind: KeyKind::Type(rtype),
            class: DNSClass::IN,
        }
    }

    pub fn name_error(name: &Name) -> Self {
        CacheKey {
            name: lowercase_wire(name),
            kind: KeyKind::NameError,
            class: DNSClass::IN,
        }
    }

    /// The key's name (lowercased, fully qualified).
    pub fn name(&self) -> Name {
        // The bytes were written from a valid `Name` by `lowercase_wire`, so they make one again;
        // the root stands in should that ever not hold, rather than a panic.
        Name::read(&mut BinDecoder::new(&self.name)).unwrap_or_else(|_| Name::root())
    }

    /// Whether the key's name is `zone` or below it: whether the lowercased `zone` is a whole
    /// number of labels at the end of the key's name.
    pub fn is_at_or_below(&self, zone: &Name) -> bool {
        let zone = lowercase_wire(zone);
        let mut at = 0;
        while let Some(&length) = self.name.get(at) {
            if self.name[at..] == zone[..] {
                return true;
            }
            if length == 0 {
                return false;
            }
            at += 1 + usize::from(length);
        }
        false
    }
}

/// `name` in uncompressed wire format with ASCII letters lowercased.
fn lowercase_wire(name: &Name) -> Box<[u8]> {
    let length = name.iter().map(|label| 1 + label.len()).sum::<usize>() + 1;
    let mut wire = Vec::with_capacity(length);
    for label in name.iter() {
        // Labels are at most 63 bytes (RFC 1035 §2.3.4), which hickory enforces.
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire.into_boxed_slice()
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

/// DNSSEC status of an entry, as the validator found it when the data came in (RFC 4035 §4.3).
/// A client sees AD only on answers that are `Secure` throughout; `Bogus` data answers only
/// queries with CD=1 (RFC 4035 §3.2.2), everyone else gets SERVFAIL with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Not validated: validation is off.
    #[default]
    Unchecked,
    Secure,
    Insecure,
    Bogus(BogusReason),
}

impl Validation {
    /// The status of data made of parts with `self` and `other`: the weakest of the two, so an
    /// answer is secure only if every RRset in it is.
    pub fn and(self, other: Validation) -> Validation {
        fn weakness(v: Validation) -> u8 {
            match v {
                Validation::Secure => 0,
                Validation::Insecure => 1,
                Validation::Unchecked => 2,
                Validation::Bogus(_) => 3,
            }
        }
        if weakness(other) > weakness(self) {
            other
        } else {
            self
        }
    }

    pub fn is_bogus(self) -> bool {
        matches!(self, Validation::Bogus(_))
    }
}

/// One cached item with its absolute expiry on the wall clock: an RRset with its RRSIGs, or the
/// SOA (and its RRSIGs) that proves a negative answer. Cloned out of the cache on a read, which
/// is cheap: the records are behind an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub(super) records: StoredRrset,
    pub expires_ms: Millis,
    pub rank: Rank,
    pub validation: Validation,
    /// NODATA for the key's type, or NXDOMAIN for a `NameError` key; `records` is then the SOA.
    pub(super) negative: bool,
}

impl CacheEntry {
    pub fn is_live(&self, now_ms: Millis) -> bool {
        now_ms < self.expires_ms
    }

    /// The entry's records (RRSIGs after the RRset they sign) with TTLs counted down to `now_ms`.
    pub fn records_at(&self, now_ms: Millis) -> Vec<Record> {
        self.records
            .decode(remaining_ttl(self.expires_ms, now_ms), true)
    }

    /// The RRset's records, without RRSIGs and with the TTL as received (the smallest of the
    /// set's, RFC 2181 §5.2); empty for negative entries.
    pub fn rrset(&self) -> Vec<Record> {
        if self.negative {
            return Vec::new();
        }
        self.records.decode(self.records.original_ttl(), false)
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The NSEC/NSEC3 records (and RRSIGs) that prove a negative entry or a wildcard-expanded
    /// RRset, with TTLs counted down to `now_ms`; empty for other entries.
    pub fn proof_at(&self, now_ms: Millis) -> Vec<Record> {
        self.records
            .decode_proof(remaining_ttl(self.expires_ms, now_ms))
    }
}
