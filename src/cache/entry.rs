//! What the cache stores: keys, RRsets with their RRSIGs, negative answers, trust ranks.

use std::net::IpAddr;

use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::stored::StoredRrset;
use crate::clock::{Millis, remaining_ttl};
use crate::validator::BogusReason;

/// What an entry is cached under: the kind of entry (one RRset type, or the whole name) and the
/// name. Names compare and hash without regard to ASCII case (RFC 4343 §3), so
/// `WWW.Example.COM` and `www.example.com` share one entry: the key holds the name lowercased,
/// in wire format, after the kind, in one allocation of exactly their length (a hickory `Name`
/// is ~100 bytes inline, and hashes label by label, one hasher call per label and field).
///
/// A key is its bytes ([`Borrow<[u8]>`]), so that a lookup can build them on the stack
/// ([`KeyBuf`]) and ask without allocating, and hashing them is two calls to the hasher.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// [`KIND_LEN`] bytes of kind, then length-prefixed labels, root label included, ASCII
    /// letters lowercased.
    bytes: Box<[u8]>,
}

/// A key is either one RRset type at a name, or the whole name (for NXDOMAIN, RFC 2308 §5: the
/// name does not exist, whatever the type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Type(RecordType),
    NameError,
}

/// The kind, as it starts a key: a tag (0 for a type, 1 for NameError) and the type's code.
const KIND_LEN: usize = 3;

/// The longest name in wire format (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 255;

impl KeyKind {
    fn bytes(self) -> [u8; KIND_LEN] {
        match self {
            KeyKind::Type(rtype) => {
                let [high, low] = u16::from(rtype).to_be_bytes();
                [0, high, low]
            }
            KeyKind::NameError => [1, 0, 0],
        }
    }
}

impl CacheKey {
    pub fn rrset(name: &Name, rtype: RecordType) -> Self {
        Self::new(KeyKind::Type(rtype), name)
    }

    pub fn name_error(name: &Name) -> Self {
        Self::new(KeyKind::NameError, name)
    }

    fn new(kind: KeyKind, name: &Name) -> Self {
        let mut bytes = Vec::with_capacity(KIND_LEN + wire_len(name));
        bytes.extend_from_slice(&kind.bytes());
        push_lowercase_wire(name, &mut bytes);
        CacheKey {
            bytes: bytes.into_boxed_slice(),
        }
    }

    pub fn kind(&self) -> KeyKind {
        match self.bytes[..KIND_LEN] {
            [0, high, low] => KeyKind::Type(RecordType::from(u16::from_be_bytes([high, low]))),
            _ => KeyKind::NameError,
        }
    }

    /// The key's name (lowercased, fully qualified).
    pub fn name(&self) -> Name {
        name_from_wire(&self.bytes[KIND_LEN..])
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the key's name is `zone` or below it: whether the lowercased `zone` is a whole
    /// number of labels at the end of the key's name.
    pub fn is_at_or_below(&self, zone: &Name) -> bool {
        let zone = lowercase_wire(zone);
        let name = &self.bytes[KIND_LEN..];
        let mut at = 0;
        while let Some(&length) = name.get(at) {
            if name[at..] == zone[..] {
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

impl std::borrow::Borrow<[u8]> for CacheKey {
    fn borrow(&self) -> &[u8] {
        &self.bytes
    }
}

/// The bytes of a key, built on the stack for a lookup: the name is lowercased once, and the
/// keys of its ancestors come from moving past its first label, so that walking up a name
/// (closest delegation, DNAME above a name) allocates nothing.
pub struct KeyBuf {
    /// The name's wire format from `start`, with room for the kind before it.
    buf: [u8; KIND_LEN + MAX_NAME_LEN],
    start: usize,
    end: usize,
}

impl KeyBuf {
    /// `None` for a name longer than a name may be (hickory does not make one).
    pub fn new(name: &Name) -> Option<Self> {
        let mut buf = [0u8; KIND_LEN + MAX_NAME_LEN];
        let mut end = KIND_LEN;
        for label in name.iter() {
            // The label, its length byte and the root label after it must fit.
            if end + 1 + label.len() >= buf.len() {
                return None;
            }
            // Labels are at most 63 bytes (RFC 1035 §2.3.4), which hickory enforces.
            buf[end] = label.len() as u8;
            for (to, from) in buf[end + 1..].iter_mut().zip(label) {
                *to = from.to_ascii_lowercase();
            }
            end += 1 + label.len();
        }
        buf[end] = 0;
        Some(KeyBuf {
            buf,
            start: KIND_LEN,
            end: end + 1,
        })
    }

    /// The key of `kind` at the current name.
    pub fn key(&mut self, kind: KeyKind) -> &[u8] {
        let at = self.start - KIND_LEN;
        self.buf[at..self.start].copy_from_slice(&kind.bytes());
        &self.buf[at..self.end]
    }

    /// Moves to the parent of the current name; `false` (staying put) at the root.
    pub fn up(&mut self) -> bool {
        let length = usize::from(self.buf[self.start]);
        if length == 0 {
            return false;
        }
        self.start += 1 + length;
        true
    }

    pub fn is_root(&self) -> bool {
        self.buf[self.start] == 0
    }

    /// The current name (lowercased).
    pub fn name(&self) -> Name {
        name_from_wire(&self.buf[self.start..self.end])
    }
}

/// The bytes were written from a valid `Name`, so they make one again; the root stands in should
/// that ever not hold, rather than a panic.
fn name_from_wire(wire: &[u8]) -> Name {
    Name::read(&mut BinDecoder::new(wire)).unwrap_or_else(|_| Name::root())
}

fn wire_len(name: &Name) -> usize {
    name.iter().map(|label| 1 + label.len()).sum::<usize>() + 1
}

/// Appends `name` in uncompressed wire format with ASCII letters lowercased.
pub(crate) fn push_lowercase_wire(name: &Name, wire: &mut Vec<u8>) {
    for label in name.iter() {
        // Labels are at most 63 bytes (RFC 1035 §2.3.4), which hickory enforces.
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
}

/// `name` in uncompressed wire format with ASCII letters lowercased.
fn lowercase_wire(name: &Name) -> Box<[u8]> {
    let mut wire = Vec::with_capacity(wire_len(name));
    push_lowercase_wire(name, &mut wire);
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
    /// An answer another ferret resolved, read from the shared cache (Redis): good enough to
    /// answer with, never good enough to replace an answer ferret fetched itself.
    Shared,
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
        self >= Rank::Shared
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

    /// The addresses of an A or AAAA RRset, read straight from the stored bytes (a server's
    /// addresses are looked up for every query to its zone); empty for negative entries.
    pub fn addresses(&self) -> Vec<IpAddr> {
        if self.negative {
            return Vec::new();
        }
        self.records
            .rdatas()
            .filter_map(|(rtype, rdata)| match (rtype, rdata.len()) {
                (RecordType::A, 4) => <[u8; 4]>::try_from(rdata).ok().map(IpAddr::from),
                (RecordType::AAAA, 16) => <[u8; 16]>::try_from(rdata).ok().map(IpAddr::from),
                _ => None,
            })
            .collect()
    }

    /// The server names of an NS RRset, read from the stored bytes without making `Record`s;
    /// empty for negative entries.
    pub fn ns_names(&self) -> Vec<Name> {
        if self.negative {
            return Vec::new();
        }
        self.records
            .rdatas()
            .filter(|(rtype, _)| *rtype == RecordType::NS)
            // Stored uncompressed, so each name reads on its own.
            .filter_map(|(_, rdata)| Name::read(&mut BinDecoder::new(rdata)).ok())
            .collect()
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
