//! Trust anchors: where every chain of trust starts (RFC 4033 §3.1, RFC 4035 §4.3), and negative
//! trust anchors, where one is deliberately cut (RFC 7646).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::dnssec::{Algorithm, PublicKeyBuf};
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
        let bad = |message: String| AnchorError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let mut anchors = TrustAnchors::default();
        // hickory's zone-file parser will not read DNSKEY records (it expects to make them
        // itself), so those lines are read here and the rest handed to it.
        let mut others = String::new();
        for entry in entries(text) {
            match parse_dnskey_entry(&entry) {
                Some(Ok((zone, key))) => anchors.add(&Record::from_rdata(
                    zone,
                    0,
                    RData::DNSSEC(DNSSECRData::DNSKEY(key)),
                )),
                Some(Err(message)) => return Err(bad(message)),
                None => {
                    others.push_str(&entry);
                    others.push('\n');
                }
            }
        }
        // Anchor files often give no TTL (nothing caches an anchor); a default keeps the zone
        // parser from refusing them.
        let text = format!("$TTL 3600\n{others}");
        let (_, rrsets) = Parser::new(text, None, Some(Name::root()))
            .parse()
            .map_err(|e| AnchorError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
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

/// The file's entries, one per record: comments dropped and parenthesised continuations joined
/// into one line (RFC 1035 §5.1).
fn entries(text: &str) -> Vec<String> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for line in text.lines() {
        let line = line.split(';').next().unwrap_or_default();
        for c in line.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => current.push(c),
            }
        }
        current.push(' ');
        if depth == 0 {
            if !current.trim().is_empty() {
                entries.push(current.trim().to_string());
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        entries.push(current.trim().to_string());
    }
    entries
}

/// A DNSKEY entry, `owner [TTL] [IN] DNSKEY flags protocol algorithm base64...`; `None` for
/// any other record.
fn parse_dnskey_entry(entry: &str) -> Option<Result<(Name, DNSKEY), String>> {
    let words: Vec<&str> = entry.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("DNSKEY"))?;
    Some((|| {
        let owner = words
            .first()
            .filter(|_| at > 0)
            .ok_or("DNSKEY without an owner")?;
        let mut zone = Name::from_ascii(owner).map_err(|e| format!("bad owner {owner}: {e}"))?;
        zone.set_fqdn(true);
        let field = |i: usize| words.get(at + i).ok_or("DNSKEY record cut short");
        let flags: u16 = field(1)?.parse().map_err(|_| "bad DNSKEY flags")?;
        let protocol: u8 = field(2)?.parse().map_err(|_| "bad DNSKEY protocol")?;
        let algorithm: u8 = field(3)?.parse().map_err(|_| "bad DNSKEY algorithm")?;
        if protocol != 3 {
            return Err(format!(
                "DNSKEY protocol {protocol}, not 3 (RFC 4034 §2.1.2)"
            ));
        }
        let base64: String = words.get(at + 4..).unwrap_or_default().concat();
        let key = data_encoding::BASE64
            .decode(base64.as_bytes())
            .map_err(|e| format!("bad DNSKEY public key: {e}"))?;
        let public = PublicKeyBuf::new(key, Algorithm::from_u8(algorithm));
        Ok((zone, DNSKEY::with_flags(flags, public)))
    })())
}

/// Zones an operator has declared unsigned whatever their parents say (RFC 7646): a zone whose
/// signatures broke is answered insecurely instead of with SERVFAIL until it is fixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// A digest of what validation starts from: every anchor (zone, DS and DNSKEY records, in a
/// canonical order) and every negative anchor. Equal for two ferrets configured alike, whatever
/// the order of their files; stored with shared cache entries so that one validated under other
/// anchors is never taken as secure (docs/shared-cache.md). Never 0, which stands for
/// validation off.
pub fn trust_fingerprint(anchors: &TrustAnchors, negative: &NegativeAnchors) -> u64 {
    use std::hash::Hasher;
    let mut lines: Vec<String> = Vec::new();
    for anchor in anchors.by_zone.values() {
        let zone = anchor.zone.to_lowercase();
        lines.extend(anchor.ds.iter().map(|ds| format!("DS {zone} {ds}")));
        lines.extend(
            anchor
                .dnskeys
                .iter()
                .map(|key| format!("DNSKEY {zone} {key}")),
        );
    }
    lines.extend(negative.zones.iter().map(|zone| format!("NTA {zone}")));
    lines.sort_unstable();
    // Fixed keys: the digest must be the same in every process of the fleet. Not a secret.
    let mut hasher = siphasher::sip::SipHasher13::new_with_keys(0, 0);
    for line in &lines {
        hasher.write(line.as_bytes());
        hasher.write_u8(b'\n');
    }
    hasher.finish() | 1
}

#[cfg(test)]
mod tests {
    use hickory_proto::dnssec::PublicKey;

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
    fn dnskey_anchors_are_read_with_comments_and_parentheses() {
        let text = "; the lab root\n. 3600 IN DNSKEY 257 3 13 (\n  mdsswUyr3DPW132mOi8V9xESWE8jTo0d\n  xCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== ) ; KSK\n";
        let anchors = TrustAnchors::parse(text, Path::new("t")).unwrap();
        let root = anchors.at(&Name::root()).unwrap();
        assert_eq!(root.dnskeys.len(), 1);
        assert_eq!(root.dnskeys[0].flags(), 257);
        assert_eq!(root.dnskeys[0].public_key().public_bytes().len(), 64);
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
