//! Validated NSEC ranges, kept in canonical order per zone so that a name falling inside a range
//! that was already proven empty is answered NXDOMAIN or NODATA without asking upstream
//! (RFC 8198, "aggressive use of DNSSEC-validated cache"; Unbound's aggressive-nsec).
//!
//! Only NSEC is used: NSEC3 ranges are of hashes and would need the zone's parameters and a
//! hash per lookup; RFC 8198 §5.2 allows NSEC3 too, Unbound (1.17) uses NSEC only.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::rr::{Name, Record, RecordType};
use lru::LruCache;

use crate::clock::{Clock, Millis, remaining_ttl};

/// Zones whose ranges are kept, and ranges per zone: a zone walked by a flood of random names
/// holds at most this many, the oldest dropped first.
const ZONES: usize = 1_000;
const RANGES_PER_ZONE: usize = 1_000;

/// A name as the canonical order sorts it (RFC 4034 §6.1): labels from the root outward,
/// lowercased, each compared as bytes, a shorter label (or name) first.
type CanonicalKey = Vec<Vec<u8>>;

fn canonical_key(name: &Name) -> CanonicalKey {
    name.iter()
        .rev()
        .map(|label| label.to_ascii_lowercase())
        .collect()
}

/// One NSEC RRset with its RRSIGs, as validated.
#[derive(Debug, Clone)]
struct Range {
    records: Vec<Record>,
    expires_ms: Millis,
}

#[derive(Debug, Default)]
struct ZoneRanges {
    /// The zone's SOA with its RRSIGs, for the authority section of synthesized answers.
    soa: Vec<Record>,
    soa_expires_ms: Millis,
    ranges: BTreeMap<CanonicalKey, Range>,
}

/// Candidate proof records for a question, and the SOA to answer with.
#[derive(Debug, Clone)]
pub struct RangeProof {
    pub zone: Name,
    pub soa: Vec<Record>,
    /// NSEC records (with RRSIGs) that match or cover the name and its possible wildcard.
    pub nsecs: Vec<Record>,
}

pub struct NsecRanges {
    zones: Mutex<LruCache<Name, ZoneRanges>>,
    clock: Clock,
}

impl NsecRanges {
    pub fn new(clock: Clock) -> Self {
        let capacity = NonZeroUsize::new(ZONES).unwrap_or(NonZeroUsize::MIN);
        NsecRanges {
            zones: Mutex::new(crate::bounded_lru::new(capacity)),
            clock,
        }
    }

    /// Keeps the validated NSEC RRsets in `proof` (with their RRSIGs) and the zone's signed SOA,
    /// for `ttl` seconds (the negative TTL: RFC 8198 §5.4 caps synthesized answers by it).
    pub fn insert(&self, zone: &Name, soa: Vec<Record>, proof: &[Record], ttl: u32) {
        let now = self.clock.now_ms();
        let expires_ms = now + u64::from(ttl) * 1000;
        let zone = zone.to_lowercase();
        let mut zones = self.zones.lock().unwrap_or_else(|p| p.into_inner());
        if zones.get(&zone).is_none() {
            zones.put(zone.clone(), ZoneRanges::default());
        }
        let Some(ranges) = zones.get_mut(&zone) else {
            return;
        };
        ranges.soa = soa;
        ranges.soa_expires_ms = expires_ms;
        for nsec in proof.iter().filter(|r| r.record_type() == RecordType::NSEC) {
            if !zone.zone_of(&nsec.name) {
                continue;
            }
            let mut records = vec![nsec.clone()];
            records.extend(
                proof
                    .iter()
                    .filter(|r| {
                        r.name == nsec.name && crate::records::rrsig_covers(r, RecordType::NSEC)
                    })
                    .cloned(),
            );
            if ranges.ranges.len() >= RANGES_PER_ZONE {
                ranges.ranges.retain(|_, range| range.expires_ms > now);
                if ranges.ranges.len() >= RANGES_PER_ZONE {
                    continue;
                }
            }
            ranges.ranges.insert(
                canonical_key(&nsec.name),
                Range {
                    records,
                    expires_ms,
                },
            );
        }
    }

    /// The cached NSEC records that might prove `qname` absent (or its type absent) in the
    /// deepest zone holding ranges above it: the range at or before `qname`, and the one at or
    /// before each wildcard `*.ancestor` between the zone and `qname`. `None` when nothing is
    /// kept for an enclosing zone. The caller checks the proof.
    pub fn candidates(&self, qname: &Name) -> Option<RangeProof> {
        let now = self.clock.now_ms();
        let mut zones = self.zones.lock().unwrap_or_else(|p| p.into_inner());
        let mut zone = qname.to_lowercase();
        let ranges = loop {
            if zones.peek(&zone).is_some() {
                break zones.get(&zone)?;
            }
            if zone.is_root() {
                return None;
            }
            zone = zone.base_name();
        };
        if ranges.soa_expires_ms <= now || ranges.soa.is_empty() {
            return None;
        }
        let ttl = remaining_ttl(ranges.soa_expires_ms, now);
        let mut nsecs = Vec::new();
        let mut take = |name: &Name| {
            if let Some((_, range)) = ranges.ranges.range(..=canonical_key(name)).next_back()
                && range.expires_ms > now
            {
                for record in &range.records {
                    if !nsecs.contains(record) {
                        nsecs.push(record.clone());
                    }
                }
            }
        };
        take(qname);
        let mut ancestor = qname.base_name();
        while zone.zone_of(&ancestor) {
            if let Ok(wildcard) =
                Name::from_labels([&b"*"[..]]).and_then(|s| s.append_name(&ancestor))
            {
                take(&wildcard);
            }
            if ancestor.is_root() {
                break;
            }
            ancestor = ancestor.base_name();
        }
        if nsecs.is_empty() {
            return None;
        }
        let with_ttl = |mut record: Record| {
            record.ttl = record.ttl.min(ttl);
            record
        };
        Some(RangeProof {
            zone,
            soa: ranges.soa.iter().cloned().map(with_ttl).collect(),
            nsecs: nsecs.into_iter().map(with_ttl).collect(),
        })
    }

    pub fn clear(&self) {
        self.zones.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys_sort_as_rfc_4034_says() {
        // RFC 4034 §6.1's own example, in order (\001 and \200 are single-byte labels).
        let names: Vec<Vec<&[u8]>> = vec![
            vec![b"example"],
            vec![b"a", b"example"],
            vec![b"yljkjljk", b"a", b"example"],
            vec![b"Z", b"a", b"example"],
            vec![b"zABC", b"a", b"EXAMPLE"],
            vec![b"z", b"example"],
            vec![b"\x01", b"z", b"example"],
            vec![b"*", b"z", b"example"],
            vec![b"\xc8", b"z", b"example"],
        ];
        let keys: Vec<CanonicalKey> = names
            .into_iter()
            .map(|labels| canonical_key(&Name::from_labels(labels).unwrap()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
