//! Delegation points: a zone and the servers that answer for it.

use std::net::IpAddr;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::cache::{Cache, Rank};
use crate::records::ns_name;

/// Where to ask next: the closest enclosing zone known for a name, and its servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationPoint {
    pub zone: Name,
    pub ns_names: Vec<Name>,
    /// Addresses known without the cache: the root hints before priming, or a referral's glue.
    pub known_addresses: Vec<IpAddr>,
}

impl DelegationPoint {
    pub fn from_ns_records(zone: Name, ns: &[Record]) -> Self {
        DelegationPoint {
            zone,
            ns_names: ns.iter().filter_map(ns_name).cloned().collect(),
            known_addresses: Vec::new(),
        }
    }

    /// The delegation a referral just described. Its glue is used directly for the next step, so
    /// the walk does not depend on the glue surviving in the cache (it may be evicted at once).
    pub fn from_referral(zone: Name, ns: &[Record], glue: &[Record]) -> Self {
        DelegationPoint {
            known_addresses: glue.iter().filter_map(address_of).collect(),
            ..Self::from_ns_records(zone, ns)
        }
    }

    /// The closest delegation for `name` that the cache holds, walking up towards the root.
    pub fn closest_cached(cache: &Cache, name: &Name) -> Option<Self> {
        let mut candidate = name.clone();
        loop {
            if let Some(entry) = cache.get_rrset(&candidate, RecordType::NS, Rank::Glue) {
                return Some(Self::from_ns_records(candidate, entry.rrset()));
            }
            if candidate.is_root() {
                return None;
            }
            candidate = candidate.base_name();
        }
    }
}

/// Cached addresses of a server name, of any rank (glue included: this is for finding servers,
/// never for answering clients).
pub fn cached_addresses(cache: &Cache, name: &Name, ipv6: bool) -> Vec<IpAddr> {
    let mut addresses = Vec::new();
    let types: &[RecordType] = if ipv6 {
        &[RecordType::A, RecordType::AAAA]
    } else {
        &[RecordType::A]
    };
    for rtype in types {
        if let Some(entry) = cache.get_rrset(name, *rtype, Rank::Glue) {
            addresses.extend(entry.rrset().iter().filter_map(address_of));
        }
    }
    addresses
}

pub fn address_of(record: &Record) -> Option<IpAddr> {
    match &record.data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
        _ => None,
    }
}
