//! Names answered by ferret itself, never sent upstream.
//!
//! - `localhost.` and everything below it resolve to the loopback addresses (RFC 6761 §6.3).
//! - `test.` (RFC 6761 §6.2), `invalid.` (§6.4), `onion.` (RFC 7686) and `home.arpa.` (RFC 8375)
//!   do not exist in the global DNS: NXDOMAIN, as Unbound answers them by default.
//! - The reverse zones for private, loopback, link-local and documentation addresses (RFC 6303 §4)
//!   are answered as empty zones, so that PTR lookups for them do not leak to the public servers,
//!   with the two loopback PTRs (`127.0.0.1`, `::1` → `localhost.`) as Unbound serves them.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, NS, PTR, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::answer::Answer;

/// TTL of locally generated data (Unbound uses the same).
const LOCAL_TTL: u32 = 10_800;

/// RFC 6303 §4: reverse zones that must be answered locally.
const RFC6303_ZONES: &[&str] = &[
    // IPv4: RFC 1918 private space.
    "10.in-addr.arpa.",
    "16.172.in-addr.arpa.",
    "17.172.in-addr.arpa.",
    "18.172.in-addr.arpa.",
    "19.172.in-addr.arpa.",
    "20.172.in-addr.arpa.",
    "21.172.in-addr.arpa.",
    "22.172.in-addr.arpa.",
    "23.172.in-addr.arpa.",
    "24.172.in-addr.arpa.",
    "25.172.in-addr.arpa.",
    "26.172.in-addr.arpa.",
    "27.172.in-addr.arpa.",
    "28.172.in-addr.arpa.",
    "29.172.in-addr.arpa.",
    "30.172.in-addr.arpa.",
    "31.172.in-addr.arpa.",
    "168.192.in-addr.arpa.",
    // IPv4: "this network", loopback, link-local, documentation, broadcast.
    "0.in-addr.arpa.",
    "127.in-addr.arpa.",
    "254.169.in-addr.arpa.",
    "2.0.192.in-addr.arpa.",
    "100.51.198.in-addr.arpa.",
    "113.0.203.in-addr.arpa.",
    "255.255.255.255.in-addr.arpa.",
    // IPv6: unspecified, loopback, unique local, link-local, documentation.
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
    "d.f.ip6.arpa.",
    "8.e.f.ip6.arpa.",
    "9.e.f.ip6.arpa.",
    "a.e.f.ip6.arpa.",
    "b.e.f.ip6.arpa.",
    "8.b.d.0.1.0.0.2.ip6.arpa.",
];

const NXDOMAIN_ZONES: &[&str] = &["test.", "invalid.", "onion.", "home.arpa."];

/// How a local zone answers names inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZoneKind {
    /// Every name resolves to loopback addresses (localhost).
    Loopback,
    /// Only the apex exists (SOA, NS) plus fixed PTRs; everything else is NXDOMAIN.
    Empty,
}

#[derive(Debug, Clone)]
struct LocalZone {
    apex: Name,
    kind: ZoneKind,
}

/// The built-in local zones.
#[derive(Debug, Clone)]
pub struct LocalZones {
    zones: Vec<LocalZone>,
    localhost: Name,
    loopback_ptrs: [Name; 2],
}

impl Default for LocalZones {
    fn default() -> Self {
        Self::without(&[])
    }
}

impl LocalZones {
    /// The built-in zones less those named in `exempt` (which are then resolved normally).
    pub fn without(exempt: &[Name]) -> Self {
        let name = |s: &str| Name::from_ascii(s).unwrap_or_else(|_| Name::root());
        let mut zones = vec![LocalZone {
            apex: name("localhost."),
            kind: ZoneKind::Loopback,
        }];
        zones.extend(
            RFC6303_ZONES
                .iter()
                .chain(NXDOMAIN_ZONES)
                .map(|apex| LocalZone {
                    apex: name(apex),
                    kind: ZoneKind::Empty,
                }),
        );
        zones.retain(|zone| !exempt.contains(&zone.apex));
        LocalZones {
            zones,
            localhost: name("localhost."),
            loopback_ptrs: [
                name("1.0.0.127.in-addr.arpa."),
                name("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."),
            ],
        }
    }

    /// The local answer for `qname`/`qtype`, or `None` when the name is not in a local zone.
    pub fn answer(&self, qname: &Name, qtype: RecordType) -> Option<Answer> {
        let zone = self
            .zones
            .iter()
            .filter(|zone| zone.apex.zone_of(qname))
            .max_by_key(|zone| zone.apex.num_labels())?;
        let records = self.records_at(zone, qname, qtype);
        let exists = zone.kind == ZoneKind::Loopback
            || *qname == zone.apex
            || self.loopback_ptrs.contains(qname);
        Some(if !records.is_empty() {
            Answer {
                rcode: ResponseCode::NoError,
                answers: records,
                authorities: Vec::new(),
            }
        } else {
            Answer {
                rcode: if exists {
                    ResponseCode::NoError
                } else {
                    ResponseCode::NXDomain
                },
                answers: Vec::new(),
                authorities: vec![soa(&zone.apex)],
            }
        })
    }

    fn records_at(&self, zone: &LocalZone, qname: &Name, qtype: RecordType) -> Vec<Record> {
        let mut records = Vec::new();
        let wants = |t: RecordType| qtype == t || qtype == RecordType::ANY;
        if *qname == zone.apex {
            if wants(RecordType::SOA) {
                records.push(soa(&zone.apex));
            }
            if wants(RecordType::NS) {
                records.push(record(qname, RData::NS(NS(self.localhost.clone()))));
            }
        }
        if zone.kind == ZoneKind::Loopback {
            if wants(RecordType::A) {
                records.push(record(qname, RData::A(A(Ipv4Addr::LOCALHOST))));
            }
            if wants(RecordType::AAAA) {
                records.push(record(qname, RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))));
            }
        }
        if self.loopback_ptrs.contains(qname) && wants(RecordType::PTR) {
            records.push(record(qname, RData::PTR(PTR(self.localhost.clone()))));
        }
        records
    }
}

fn record(name: &Name, data: RData) -> Record {
    Record::from_rdata(name.clone(), LOCAL_TTL, data)
}

fn soa(apex: &Name) -> Record {
    let localhost = Name::from_ascii("localhost.").unwrap_or_else(|_| Name::root());
    let nobody = Name::from_ascii("nobody.invalid.").unwrap_or_else(|_| Name::root());
    record(
        apex,
        RData::SOA(SOA::new(
            localhost, nobody, 1, 3_600, 1_200, 604_800, LOCAL_TTL,
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(name: &str, rtype: RecordType) -> Option<Answer> {
        LocalZones::default().answer(&Name::from_ascii(name).unwrap(), rtype)
    }

    #[test]
    fn localhost_and_below_are_loopback() {
        for name in ["localhost.", "LocalHost.", "foo.bar.localhost."] {
            let answer = ask(name, RecordType::A).unwrap();
            assert_eq!(answer.rcode, ResponseCode::NoError);
            assert_eq!(answer.answers[0].data, RData::A(A(Ipv4Addr::LOCALHOST)));
            let answer = ask(name, RecordType::AAAA).unwrap();
            assert_eq!(
                answer.answers[0].data,
                RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))
            );
        }
        let mx = ask("localhost.", RecordType::MX).unwrap();
        assert_eq!(
            (mx.rcode, mx.answers.len(), mx.authorities.len()),
            (ResponseCode::NoError, 0, 1)
        );
    }

    #[test]
    fn invalid_and_private_reverse_are_nxdomain() {
        for name in [
            "invalid.",
            "x.invalid.",
            "1.168.192.in-addr.arpa.",
            "1.1.10.in-addr.arpa.",
            "x.onion.",
        ] {
            let answer = ask(name, RecordType::PTR).unwrap();
            let expected = if name == "invalid." {
                ResponseCode::NoError
            } else {
                ResponseCode::NXDomain
            };
            assert_eq!(answer.rcode, expected, "{name}");
            assert_eq!(answer.authorities[0].record_type(), RecordType::SOA);
        }
    }

    #[test]
    fn loopback_reverse_names_point_at_localhost() {
        let answer = ask("1.0.0.127.in-addr.arpa.", RecordType::PTR).unwrap();
        assert_eq!(answer.answers.len(), 1);
    }

    #[test]
    fn public_names_are_not_local() {
        assert!(ask("example.com.", RecordType::A).is_none());
        assert!(ask("8.8.8.in-addr.arpa.", RecordType::PTR).is_none());
        assert!(ask("32.172.in-addr.arpa.", RecordType::PTR).is_none());
    }

    #[test]
    fn exempt_zones_are_resolved_normally() {
        let test = Name::from_ascii("test.").unwrap();
        let www = Name::from_ascii("www.example.test.").unwrap();
        assert_eq!(
            ask("www.example.test.", RecordType::A).unwrap().rcode,
            ResponseCode::NXDomain
        );
        assert!(
            LocalZones::without(&[test])
                .answer(&www, RecordType::A)
                .is_none()
        );
    }
}
