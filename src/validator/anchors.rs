//! Trust anchors: where every chain of trust starts (RFC 4033 §3.1, RFC 4035 §4.3), and negative
//! trust anchors, where one is deliberately cut (RFC 7646).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::txt::Parser;
use thiserror::Error;

/// IANA's root KSKs (KSK-2017, tag 20326; KSK-2024, tag 38696) as DS records, kept at the top of
/// the repository like `root.hints`.
const BUILT_IN: &str = include_str!("../../root.anchors");

#[derive(Debug, Error)]
pub enum AnchorError {
    #[error("cannot read trust anchor file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("trust anchor file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("trust anchor file {path} holds no DS or DNSKEY record")]
    Empty { path: PathBuf },
}

/// The anchors of one zone: DS records (a digest of a key) or DNSKEY records (the key itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustAnchor {
    pub zone: Name,
    pub ds: Vec<DS>,
    pub dnskeys: Vec<DNSKEY>,
}

/// Every configured trust anchor, by zone.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    by_zone: HashMap<Name, TrustAnchor>,
}

impl TrustAnchors {
    /// The root anchors built into ferret.
    pub fn built_in() -> Self {
        // The file is ours and checked by a test: it always parses.
        Self::parse(BUILT_IN, Path::new("root.anchors")).unwrap_or_default()
    }

    /// The anchors in `files`, or the built-in ones when none is given: a file replaces the
    /// built-in anchors rather than adding to them, so an operator can retire one.
    pub fn load(files: &[PathBuf]) -> Result<Self, AnchorError> {
        if files.is_empty() {
            return Ok(Self::built_in());
        }
        let mut anchors = TrustAnchors::default();
        for path in files {
            let text = std::fs::read_to_string(path).map_err(|source| AnchorError::Read {
                path: path.clone(),
                source,
            })?;
            anchors.merge(Self::parse(&text, path)?);
        }
        Ok(anchors)
    }

    /// DS and DNSKEY records in zone-file format (other records are ignored, as Unbound's
    /// trust-anchor-file does).
    pub fn parse(text: &str, path: &Path) -> Result<Self, AnchorError> {
        // Anchor files often give no TTL (nothing caches an anchor); a default keeps the zone
        // parser from refusing them.
        let text = format!("$TTL 3600\n{text}");
        let (_, rrsets) = Parser::new(text, None, Some(Name::root()))
            .parse()
            .map_err(|e| AnchorError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut anchors = TrustAnchors::default();
        for rrset in rrsets.into_values() {
            for record in rrset.records_without_rrsigs() {
                anchors.add(record);
            }
        }
        if anchors.by_zone.is_empty() {
            return Err(AnchorError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(anchors)
    }

    fn add(&mut self, record: &Record) {
        let zone = record.name.to_lowercase();
        let entry = self.by_zone.entry(zone.clone()).or_insert(TrustAnchor {
            zone,
            ..TrustAnchor::default()
        });
        match &record.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => entry.ds.push(ds.clone()),
            RData::DNSSEC(DNSSECRData::DNSKEY(key)) => entry.dnskeys.push(key.clone()),
            _ => {}
        }
        if entry.ds.is_empty() && entry.dnskeys.is_empty() {
            let zone = entry.zone.clone();
            self.by_zone.remove(&zone);
        }
    }

    fn merge(&mut self, other: TrustAnchors) {
        for (zone, anchor) in other.by_zone {
            let entry = self.by_zone.entry(zone).or_insert(TrustAnchor {
                zone: anchor.zone.clone(),
                ..TrustAnchor::default()
            });
            entry.ds.extend(anchor.ds);
            entry.dnskeys.extend(anchor.dnskeys);
        }
    }

    /// The anchor configured for exactly `zone`.
    pub fn at(&self, zone: &Name) -> Option<&TrustAnchor> {
        self.by_zone.get(&zone.to_lowercase())
    }

    /// The deepest anchor at or above `name`: the start of its chain of trust. `None`: no anchor
    /// covers the name, which is then insecure (RFC 4035 §4.3).
    pub fn closest(&self, name: &Name) -> Option<&TrustAnchor> {
        let mut candidate = name.to_lowercase();
        loop {
            if let Some(anchor) = self.by_zone.get(&candidate) {
                return Some(anchor);
            }
            if candidate.is_root() {
                return None;
            }
            candidate = candidate.base_name();
        }
    }

    pub fn zones(&self) -> impl Iterator<Item = &Name> {
        self.by_zone.keys()
    }
}

/// Zones an operator has declared unsigned whatever their parents say (RFC 7646): a zone whose
/// signatures broke is answered insecurely instead of with SERVFAIL until it is fixed.
#[derive(Debug, Clone, Default)]
pub struct NegativeAnchors {
    zones: Vec<Name>,
}

impl NegativeAnchors {
    pub fn new(zones: &[Name]) -> Self {
        NegativeAnchors {
            zones: zones.iter().map(Name::to_lowercase).collect(),
        }
    }

    /// Whether `name` is at or below a negative trust anchor.
    pub fn covers(&self, name: &Name) -> bool {
        self.zones.iter().any(|zone| zone.zone_of(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_anchors_are_the_two_root_ksks() {
        let anchors = TrustAnchors::built_in();
        let root = anchors.at(&Name::root()).expect("a root anchor");
        let mut tags: Vec<u16> = root.ds.iter().map(DS::key_tag).collect();
        tags.sort_unstable();
        assert_eq!(tags, [20326, 38696]);
        assert!(root.dnskeys.is_empty());
    }

    #[test]
    fn the_closest_anchor_is_the_deepest_above_the_name() {
        let text = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n\
                    lab.example. IN DS 1234 13 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";
        let anchors = TrustAnchors::parse(text, Path::new("t")).unwrap();
        let name = |s: &str| Name::from_ascii(s).unwrap();
        assert_eq!(
            anchors.closest(&name("www.LAB.example.")).unwrap().zone,
            name("lab.example.")
        );
        assert_eq!(
            anchors.closest(&name("www.example.")).unwrap().zone,
            Name::root()
        );
    }

    #[test]
    fn a_file_without_anchors_is_an_error() {
        let text = "www.example. 300 IN A 192.0.2.1\n";
        assert!(matches!(
            TrustAnchors::parse(text, Path::new("t")),
            Err(AnchorError::Empty { .. })
        ));
    }

    #[test]
    fn negative_anchors_cover_their_subtree_only() {
        let name = |s: &str| Name::from_ascii(s).unwrap();
        let nta = NegativeAnchors::new(&[name("Broken.example.")]);
        assert!(nta.covers(&name("www.broken.example.")));
        assert!(nta.covers(&name("broken.example.")));
        assert!(!nta.covers(&name("example.")));
        assert!(!nta.covers(&name("notbroken.example.")));
    }
}
