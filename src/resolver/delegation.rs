//! Delegation points: a zone and the servers that answer for it, found in the configuration
//! (forward and stub zones), in the cache, or in the root hints.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::cache::{Cache, KeyBuf, Rank};
use crate::config::{ForwardZone, StubZone};
use crate::records::ns_name;
use crate::wire::DNS_PORT;

/// How the servers of a delegation are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServerRole {
    /// Authoritative servers, found by iteration or named by a stub zone: iterative queries
    /// (RD=0), QNAME minimisation, and the upstream address policy.
    #[default]
    Authority,
    /// A forwarder the operator named: the whole question, RD as configured, loopback allowed.
    Forwarder { recursion_desired: bool },
}

/// Where to ask next: the closest enclosing zone known for a name, and its servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationPoint {
    pub zone: Name,
    pub ns_names: Vec<Name>,
    /// Addresses known without the cache: the root hints before priming, a referral's glue, or
    /// the servers of a configured zone (which may listen on other ports than 53).
    pub known_addresses: Vec<SocketAddr>,
    pub role: ServerRole,
    /// A stub or forward zone of the configuration. Its servers are the only ones to ask: when
    /// they fail, the zone fails, and is never looked up again through its parent, whose answer
    /// the operator chose to override (and which must not see private names).
    pub configured: bool,
}

impl DelegationPoint {
    pub fn from_ns_records(zone: Name, ns: &[Record]) -> Self {
        Self::from_ns_names(zone, ns.iter().filter_map(ns_name).cloned().collect())
    }

    pub fn from_ns_names(zone: Name, ns_names: Vec<Name>) -> Self {
        DelegationPoint {
            zone,
            ns_names,
            known_addresses: Vec::new(),
            role: ServerRole::Authority,
            configured: false,
        }
    }

    /// The delegation a referral just described. Its glue is used directly for the next step, so
    /// the walk does not depend on the glue surviving in the cache (it may be evicted at once).
    pub fn from_referral(zone: Name, ns: &[Record], glue: &[Record]) -> Self {
        DelegationPoint {
            known_addresses: glue
                .iter()
                .filter_map(address_of)
                .map(|ip| SocketAddr::new(ip, DNS_PORT))
                .collect(),
            ..Self::from_ns_records(zone, ns)
        }
    }

    /// The closest delegation for `name` that the cache holds, walking up towards the root (on
    /// the key's bytes: a `Name` per ancestor was most of what a delegation lookup cost).
    pub fn closest_cached(cache: &Cache, name: &Name) -> Option<Self> {
        let mut candidate = KeyBuf::new(name)?;
        loop {
            if let Some(entry) = cache.get_rrset_at(&mut candidate, RecordType::NS, Rank::Glue) {
                return Some(Self::from_ns_names(candidate.name(), entry.ns_names()));
            }
            if !candidate.up() {
                return None;
            }
        }
    }
}

/// The forward and stub zones of the configuration, as delegation points that need no cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfiguredDelegations {
    zones: Vec<DelegationPoint>,
}

impl ConfiguredDelegations {
    pub fn new(forward: &[ForwardZone], stub: &[StubZone]) -> Self {
        let forwards = forward.iter().map(|zone| DelegationPoint {
            zone: zone.name.clone(),
            ns_names: Vec::new(),
            known_addresses: zone.servers.clone(),
            role: ServerRole::Forwarder {
                recursion_desired: zone.recursion_desired,
            },
            configured: true,
        });
        let stubs = stub.iter().map(|zone| DelegationPoint {
            zone: zone.name.clone(),
            ns_names: Vec::new(),
            known_addresses: zone.servers.clone(),
            role: ServerRole::Authority,
            configured: true,
        });
        ConfiguredDelegations {
            zones: forwards.chain(stubs).collect(),
        }
    }

    /// Zones configured differently here and in `other` (added, removed, or other servers).
    pub fn changed_since(&self, other: &ConfiguredDelegations) -> Vec<Name> {
        let mut changed: Vec<Name> = self
            .zones
            .iter()
            .filter(|dp| !other.zones.contains(dp))
            .chain(other.zones.iter().filter(|dp| !self.zones.contains(dp)))
            .map(|dp| dp.zone.clone())
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    /// Where to start for `name`, given the closest delegation the cache holds. The deepest
    /// configured zone containing `name` wins, as in Unbound: a forward zone over anything the
    /// cache knows inside it (everything there goes to the forwarders), a stub zone unless the
    /// cache holds a delegation below it (learnt by iterating from the stub's own servers).
    pub fn choose(&self, name: &Name, cached: Option<DelegationPoint>) -> Option<DelegationPoint> {
        let configured = self
            .zones
            .iter()
            .filter(|dp| dp.zone.zone_of(name))
            .max_by_key(|dp| dp.zone.num_labels());
        match (configured, cached) {
            (Some(stub), Some(cached))
                if stub.role == ServerRole::Authority
                    && cached.zone != stub.zone
                    && stub.zone.zone_of(&cached.zone) =>
            {
                Some(cached)
            }
            (Some(configured), _) => Some(configured.clone()),
            (None, cached) => cached,
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
    let Some(mut key) = KeyBuf::new(name) else {
        return addresses;
    };
    for rtype in types {
        if let Some(entry) = cache.get_rrset_at(&mut key, *rtype, Rank::Glue) {
            addresses.extend(entry.addresses());
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
