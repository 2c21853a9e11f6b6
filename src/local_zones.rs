//! Names answered by ferret itself, never sent upstream.
//!
//! - `localhost.` and everything below it resolve to the loopback addresses (RFC 6761 §6.3).
//! - `test.` (RFC 6761 §6.2), `invalid.` (§6.4), `onion.` (RFC 7686) and `home.arpa.` (RFC 8375)
//!   do not exist in the global DNS: NXDOMAIN, as Unbound answers them by default.
//! - The reverse zones for private, loopback, link-local and documentation addresses (RFC 6303 §4)
//!   are answered as empty zones, so that PTR lookups for them do not leak to the public servers,
//!   with the two loopback PTRs (`127.0.0.1`, `::1` → `localhost.`) as Unbound serves them.
//!
//! The operator adds zones and records of their own (`local-zones`, `local-data`), with Unbound's
//! zone types: `static` (local data, else NXDOMAIN/NODATA), `refuse` (local data, else REFUSED),
//! `always-nxdomain`, and `transparent` (local data, else resolved as usual). The built-in empty
//! zones are `static` zones holding an SOA and an NS record at their apex.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, NS, PTR, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::answer::Answer;
use crate::config::{LocalZone, LocalZoneType};
use crate::records::cname_target;

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

/// `127.0.0.1` and `::1`, answered with `localhost.`.
const LOOPBACK_PTRS: &[&str] = &[
    "1.0.0.127.in-addr.arpa.",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
];

/// How a local zone answers names inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZoneKind {
    /// Every name resolves to loopback addresses (localhost).
    Loopback,
    /// One of the configured types (the built-in empty zones are `Static`).
    Configured(LocalZoneType),
}

#[derive(Debug, Clone)]
struct Zone {
    apex: Name,
    kind: ZoneKind,
}

/// What local data says about a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalAnswer {
    /// The whole answer.
    Final(Answer),
    /// A local CNAME: these records lead to `target`, which is resolved next (locally or not).
    Alias { chain: Vec<Record>, target: Name },
}

/// The built-in local zones, and the configured local zones and local data.
#[derive(Debug, Clone)]
pub struct LocalZones {
    zones: Vec<Zone>,
    /// Local data by owner name (`Name` compares and hashes case-insensitively).
    data: HashMap<Name, Vec<Record>>,
    /// Every owner of local data and its ancestors: names that exist, if only as empty
    /// non-terminals (NODATA rather than NXDOMAIN, RFC 8020).
    existing: HashSet<Name>,
    /// The top-level labels of the zones, lowercased: a name under any other is in no local
    /// zone, which every question outside them (nearly all) learns with one comparison or two
    /// instead of one per zone. `None` when a zone is the root itself.
    top_labels: Option<Vec<Box<[u8]>>>,
}

impl Default for LocalZones {
    fn default() -> Self {
        Self::without(&[])
    }
}

impl LocalZones {
    /// The built-in zones less those named in `exempt` (which are then resolved normally).
    pub fn without(exempt: &[Name]) -> Self {
        Self::new(exempt, &[], &[])
    }

    /// The built-in zones less `exempt`, with the configured `zones` and `records` (Unbound's
    /// `local-zone` and `local-data`). A configured zone replaces a built-in one of the same name;
    /// a record outside every zone gets a transparent zone at its own name, as in Unbound.
    pub fn new(exempt: &[Name], zones: &[LocalZone], records: &[Record]) -> Self {
        let mut local = LocalZones {
            zones: zones
                .iter()
                .map(|zone| Zone {
                    apex: zone.name.clone(),
                    kind: ZoneKind::Configured(zone.kind),
                })
                .collect(),
            data: HashMap::new(),
            existing: HashSet::new(),
            top_labels: None,
        };
        let builtins: Vec<Zone> = builtin_zones()
            .filter(|zone| !exempt.contains(&zone.apex))
            .filter(|zone| !local.zones.iter().any(|z| z.apex == zone.apex))
            .collect();
        local.zones.extend(builtins.iter().cloned());
        for record in records {
            local.add_record(record.clone());
        }
        for record in records {
            if local.deepest_zone(&record.name).is_none() {
                local.zones.push(Zone {
                    apex: record.name.clone(),
                    kind: ZoneKind::Configured(LocalZoneType::Transparent),
                });
            }
        }
        local.add_builtin_data(&builtins);
        local.top_labels = top_labels(&local.zones);
        local
    }

    /// The SOA and NS of each built-in zone, and the names of the loopback addresses as Unbound
    /// serves them; configured data of the same name and type wins.
    fn add_builtin_data(&mut self, builtins: &[Zone]) {
        let localhost = builtin_name("localhost.");
        for zone in builtins {
            self.add_if_absent(soa(&zone.apex));
            self.add_if_absent(record(&zone.apex, RData::NS(NS(localhost.clone()))));
        }
        for ptr in LOOPBACK_PTRS {
            let name = builtin_name(ptr);
            let in_builtin = self
                .deepest_zone(&name)
                .is_some_and(|zone| builtins.iter().any(|b| b.apex == zone.apex));
            if in_builtin {
                self.add_if_absent(record(&name, RData::PTR(PTR(localhost.clone()))));
            }
        }
    }

    fn add_record(&mut self, record: Record) {
        let mut name = record.name.clone();
        loop {
            self.existing.insert(name.clone());
            if name.is_root() {
                break;
            }
            name = name.base_name();
        }
        self.data
            .entry(record.name.clone())
            .or_default()
            .push(record);
    }

    /// Built-in data yields to configured data of the same name and type.
    fn add_if_absent(&mut self, record: Record) {
        let taken = self.data.get(&record.name).is_some_and(|records| {
            records
                .iter()
                .any(|r| r.record_type() == record.record_type())
        });
        if !taken {
            self.add_record(record);
        }
    }

    /// The deepest local zone containing `name`.
    fn zone_of(&self, name: &Name) -> Option<&Zone> {
        if let Some(tops) = &self.top_labels {
            let top = name.iter().next_back()?;
            if !tops.iter().any(|t| t.eq_ignore_ascii_case(top)) {
                return None;
            }
        }
        self.deepest_zone(name)
    }

    /// [`LocalZones::zone_of`] by looking at every zone.
    fn deepest_zone(&self, name: &Name) -> Option<&Zone> {
        self.zones
            .iter()
            .filter(|zone| zone.apex.zone_of(name))
            .max_by_key(|zone| zone.apex.num_labels())
    }

    /// The complete local answer for `qname`/`qtype`, or `None` when the name is resolved
    /// through the DNS or leads there through a local CNAME (see [`LocalZones::lookup`]).
    pub fn answer(&self, qname: &Name, qtype: RecordType) -> Option<Answer> {
        match self.lookup(qname, qtype)? {
            LocalAnswer::Final(answer) => Some(answer),
            LocalAnswer::Alias { .. } => None,
        }
    }

    /// What the local zones say about `qname`/`qtype`; `None` when it is not in a local zone or
    /// its zone is transparent and has no data for it.
    pub fn lookup(&self, qname: &Name, qtype: RecordType) -> Option<LocalAnswer> {
        let zone = self.zone_of(qname)?;
        let kind = match zone.kind {
            ZoneKind::Loopback => {
                return Some(LocalAnswer::Final(self.loopback(zone, qname, qtype)));
            }
            ZoneKind::Configured(kind) => kind,
        };
        if kind == LocalZoneType::AlwaysNxdomain {
            return Some(LocalAnswer::Final(
                self.negative(zone, ResponseCode::NXDomain),
            ));
        }
        if let Some(records) = self.data.get(qname) {
            return Some(self.answer_from_data(zone, records, qtype));
        }
        match kind {
            LocalZoneType::Transparent => None,
            LocalZoneType::Refuse => Some(LocalAnswer::Final(Answer::with_rcode(
                ResponseCode::Refused,
            ))),
            LocalZoneType::Static | LocalZoneType::AlwaysNxdomain => {
                let rcode = if self.existing.contains(qname) {
                    ResponseCode::NoError
                } else {
                    ResponseCode::NXDomain
                };
                Some(LocalAnswer::Final(self.negative(zone, rcode)))
            }
        }
    }

    /// The answer from the records at the name asked: the type asked for, else a CNAME to
    /// follow, else NODATA.
    fn answer_from_data(&self, zone: &Zone, records: &[Record], qtype: RecordType) -> LocalAnswer {
        let matching: Vec<Record> = records
            .iter()
            .filter(|r| r.record_type() == qtype || qtype == RecordType::ANY)
            .cloned()
            .collect();
        if !matching.is_empty() {
            return LocalAnswer::Final(Answer {
                rcode: ResponseCode::NoError,
                answers: matching,
                authorities: Vec::new(),
                security: crate::cache::Validation::Unchecked,
            });
        }
        if let Some(cname) = records
            .iter()
            .find(|r| r.record_type() == RecordType::CNAME)
            && let Some(target) = cname_target(cname)
        {
            return LocalAnswer::Alias {
                chain: vec![cname.clone()],
                target: target.clone(),
            };
        }
        LocalAnswer::Final(self.negative(zone, ResponseCode::NoError))
    }

    /// NXDOMAIN or NODATA with the zone's SOA (RFC 2308 §3): local data's own, or a made-up one.
    fn negative(&self, zone: &Zone, rcode: ResponseCode) -> Answer {
        let soa = self
            .data
            .get(&zone.apex)
            .and_then(|records| records.iter().find(|r| r.record_type() == RecordType::SOA))
            .cloned()
            .unwrap_or_else(|| soa(&zone.apex));
        Answer {
            rcode,
            answers: Vec::new(),
            authorities: vec![soa],
            security: crate::cache::Validation::Unchecked,
        }
    }

    /// localhost and every name below it: the loopback addresses (RFC 6761 §6.3).
    fn loopback(&self, zone: &Zone, qname: &Name, qtype: RecordType) -> Answer {
        let wants = |t: RecordType| qtype == t || qtype == RecordType::ANY;
        let mut records: Vec<Record> = self
            .data
            .get(qname)
            .into_iter()
            .flatten()
            .filter(|r| wants(r.record_type()))
            .cloned()
            .collect();
        if wants(RecordType::A) {
            records.push(record(qname, RData::A(A(Ipv4Addr::LOCALHOST))));
        }
        if wants(RecordType::AAAA) {
            records.push(record(qname, RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))));
        }
        if records.is_empty() {
            return self.negative(zone, ResponseCode::NoError);
        }
        Answer {
            rcode: ResponseCode::NoError,
            answers: records,
            authorities: Vec::new(),
            security: crate::cache::Validation::Unchecked,
        }
    }
}

/// localhost (loopback addresses) and the empty zones, all built in.
/// The distinct top-level labels of `zones`, lowercased; `None` if one of them is the root.
fn top_labels(zones: &[Zone]) -> Option<Vec<Box<[u8]>>> {
    let mut tops: Vec<Box<[u8]>> = Vec::new();
    for zone in zones {
        let top: Box<[u8]> = zone.apex.iter().next_back()?.to_ascii_lowercase().into();
        if !tops.contains(&top) {
            tops.push(top);
        }
    }
    Some(tops)
}

fn builtin_zones() -> impl Iterator<Item = Zone> {
    let loopback = Zone {
        apex: builtin_name("localhost."),
        kind: ZoneKind::Loopback,
    };
    let empty = RFC6303_ZONES.iter().chain(NXDOMAIN_ZONES).map(|apex| Zone {
        apex: builtin_name(apex),
        kind: ZoneKind::Configured(LocalZoneType::Static),
    });
    std::iter::once(loopback).chain(empty)
}

fn builtin_name(text: &str) -> Name {
    Name::from_ascii(text).unwrap_or_else(|_| Name::root())
}

fn record(name: &Name, data: RData) -> Record {
    Record::from_rdata(name.clone(), LOCAL_TTL, data)
}

fn soa(apex: &Name) -> Record {
    record(
        apex,
        RData::SOA(SOA::new(
            builtin_name("localhost."),
            builtin_name("nobody.invalid."),
            1,
            3_600,
            1_200,
            604_800,
            LOCAL_TTL,
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

    fn configured(zones: &[(&str, LocalZoneType)], data: &[&str]) -> LocalZones {
        let zones: Vec<LocalZone> = zones
            .iter()
            .map(|(name, kind)| LocalZone {
                name: Name::from_ascii(name).unwrap(),
                kind: *kind,
            })
            .collect();
        let records: Vec<Record> = data
            .iter()
            .map(|text| crate::config::parse_local_record(text).unwrap())
            .collect();
        LocalZones::new(&[], &zones, &records)
    }

    fn final_answer(zones: &LocalZones, name: &str, rtype: RecordType) -> Option<Answer> {
        match zones.lookup(&Name::from_ascii(name).unwrap(), rtype)? {
            LocalAnswer::Final(answer) => Some(answer),
            LocalAnswer::Alias { .. } => panic!("{name}: unexpected alias"),
        }
    }

    fn rcode(zones: &LocalZones, name: &str, rtype: RecordType) -> Option<ResponseCode> {
        final_answer(zones, name, rtype).map(|a| a.rcode)
    }

    #[test]
    fn zones_are_found_whatever_their_top_label() {
        // Local data outside every zone makes a transparent zone of its own (under `corp.`);
        // a zone at the root covers every name.
        let data = configured(&[], &["host.Corp. A 192.0.2.8"]);
        assert!(final_answer(&data, "HOST.corp.", RecordType::A).is_some());
        assert!(final_answer(&data, "other.corp.", RecordType::A).is_none());
        assert!(final_answer(&data, "x.invalid.", RecordType::A).is_some());
        assert!(final_answer(&data, "www.example.com.", RecordType::A).is_none());
        let root = configured(&[(".", LocalZoneType::Refuse)], &[]);
        assert_eq!(
            rcode(&root, "www.example.com.", RecordType::A),
            Some(ResponseCode::Refused)
        );
        assert!(final_answer(&root, "localhost.", RecordType::A).is_some());
    }

    #[test]
    fn static_zones_answer_data_and_deny_the_rest() {
        let zones = configured(
            &[("lan.", LocalZoneType::Static)],
            &["printer.lan. A 192.0.2.7", "a.b.lan. TXT hello"],
        );
        let answer = final_answer(&zones, "PRINTER.lan.", RecordType::A).unwrap();
        assert_eq!(answer.answers.len(), 1);
        assert_eq!(
            rcode(&zones, "printer.lan.", RecordType::AAAA),
            Some(ResponseCode::NoError)
        );
        assert_eq!(
            rcode(&zones, "other.lan.", RecordType::A),
            Some(ResponseCode::NXDomain)
        );
        // b.lan. exists as an empty non-terminal above a.b.lan.; lan. is the apex.
        assert_eq!(
            rcode(&zones, "b.lan.", RecordType::A),
            Some(ResponseCode::NoError)
        );
        assert_eq!(
            rcode(&zones, "lan.", RecordType::A),
            Some(ResponseCode::NoError)
        );
        let negative = final_answer(&zones, "other.lan.", RecordType::A).unwrap();
        assert_eq!(negative.authorities[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn refuse_and_always_nxdomain_zones() {
        let zones = configured(
            &[
                ("blocked.example.", LocalZoneType::Refuse),
                ("ads.example.", LocalZoneType::AlwaysNxdomain),
            ],
            &[
                "ok.blocked.example. A 192.0.2.1",
                "x.ads.example. A 192.0.2.2",
            ],
        );
        assert_eq!(
            rcode(&zones, "www.blocked.example.", RecordType::A),
            Some(ResponseCode::Refused)
        );
        assert_eq!(
            rcode(&zones, "ok.blocked.example.", RecordType::A),
            Some(ResponseCode::NoError)
        );
        for name in ["ads.example.", "x.ads.example.", "y.x.ads.example."] {
            assert_eq!(
                rcode(&zones, name, RecordType::A),
                Some(ResponseCode::NXDomain)
            );
        }
    }

    #[test]
    fn transparent_zones_answer_data_and_resolve_the_rest() {
        let zones = configured(
            &[("example.", LocalZoneType::Transparent)],
            &["www.example. A 192.0.2.1"],
        );
        assert_eq!(
            rcode(&zones, "www.example.", RecordType::A),
            Some(ResponseCode::NoError)
        );
        assert_eq!(
            rcode(&zones, "www.example.", RecordType::MX),
            Some(ResponseCode::NoError)
        );
        assert!(
            zones
                .lookup(&Name::from_ascii("mail.example.").unwrap(), RecordType::A)
                .is_none()
        );
        assert!(
            zones
                .lookup(&Name::from_ascii("example.").unwrap(), RecordType::A)
                .is_none()
        );
    }

    #[test]
    fn data_outside_every_zone_gets_a_transparent_zone_of_its_own() {
        let zones = configured(
            &[],
            &["host.corp. A 192.0.2.9", "printer.home.arpa. A 192.0.2.5"],
        );
        assert_eq!(
            rcode(&zones, "host.corp.", RecordType::A),
            Some(ResponseCode::NoError)
        );
        assert!(
            zones
                .lookup(&Name::from_ascii("x.host.corp.").unwrap(), RecordType::A)
                .is_none()
        );
        assert!(
            zones
                .lookup(&Name::from_ascii("corp.").unwrap(), RecordType::A)
                .is_none()
        );
        // Inside a built-in zone the data joins that zone: the rest of home.arpa stays local.
        assert_eq!(
            rcode(&zones, "printer.home.arpa.", RecordType::A),
            Some(ResponseCode::NoError)
        );
        assert_eq!(
            rcode(&zones, "x.printer.home.arpa.", RecordType::A),
            Some(ResponseCode::NXDomain)
        );
    }

    #[test]
    fn configured_zones_replace_builtin_ones() {
        let zones = configured(&[("10.in-addr.arpa.", LocalZoneType::Transparent)], &[]);
        assert!(
            zones
                .lookup(
                    &Name::from_ascii("1.0.0.10.in-addr.arpa.").unwrap(),
                    RecordType::PTR
                )
                .is_none()
        );
        let zones = configured(&[("127.in-addr.arpa.", LocalZoneType::Transparent)], &[]);
        assert!(
            zones
                .lookup(
                    &Name::from_ascii("1.0.0.127.in-addr.arpa.").unwrap(),
                    RecordType::PTR
                )
                .is_none()
        );
    }

    #[test]
    fn local_cnames_lead_on() {
        let zones = configured(&[], &["www.lan. CNAME web.example."]);
        let www = Name::from_ascii("www.lan.").unwrap();
        match zones.lookup(&www, RecordType::A) {
            Some(LocalAnswer::Alias { chain, target }) => {
                assert_eq!(chain.len(), 1);
                assert_eq!(target, Name::from_ascii("web.example.").unwrap());
            }
            other => panic!("expected an alias, got {other:?}"),
        }
        assert!(zones.answer(&www, RecordType::A).is_none());
        assert_eq!(
            rcode(&zones, "www.lan.", RecordType::CNAME),
            Some(ResponseCode::NoError)
        );
    }
}
