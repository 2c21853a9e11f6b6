//! The cache's contents for an operator (`ferret ctl dump`), TTLs counted down to now.

use std::fmt;

use hickory_proto::rr::{Name, Record};

use super::{Cache, CacheKey, KeyKind, Rank};
use crate::clock::remaining_ttl;

/// One live cache entry as it stands now.
#[derive(Debug, Clone)]
pub struct DumpEntry {
    pub key: CacheKey,
    pub rank: Rank,
    /// Seconds the entry has left.
    pub ttl: u32,
    pub negative: bool,
    /// The RRset and its RRSIGs, or for a negative entry the SOA that proves it, with `ttl`.
    pub records: Vec<Record>,
}

impl Cache {
    /// Every live entry, sorted by name (canonical DNS order), then by type. Each shard is
    /// locked only while its entries are copied out (an `Arc` clone each), not while formatting.
    pub fn dump(&self) -> Vec<DumpEntry> {
        let now = self.clock.now_ms();
        let mut live = Vec::new();
        for shard in self.shards() {
            live.extend(
                shard
                    .iter()
                    .filter(|(_, entry)| entry.is_live(now))
                    .map(|(key, entry)| (key.clone(), entry.clone())),
            );
        }
        let mut entries: Vec<(Name, DumpEntry)> = live
            .into_iter()
            .map(|(key, entry)| {
                let dumped = DumpEntry {
                    rank: entry.rank,
                    ttl: remaining_ttl(entry.expires_ms, now),
                    negative: entry.is_negative(),
                    records: entry.records_at(now),
                    key,
                };
                (dumped.key.name(), dumped)
            })
            .collect();
        entries.sort_by(|(a_name, a), (b_name, b)| {
            a_name
                .cmp(b_name)
                .then_with(|| kind_order(a.key.kind()).cmp(&kind_order(b.key.kind())))
        });
        entries.into_iter().map(|(_, entry)| entry).collect()
    }
}

fn kind_order(kind: KeyKind) -> u32 {
    match kind {
        KeyKind::NameError => 0,
        KeyKind::Type(rtype) => 1 + u32::from(u16::from(rtype)),
    }
}

/// Zone-file lines for positive data; negative entries as `;` comment lines, since a zone file
/// has no syntax for "this does not exist".
impl fmt::Display for DumpEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rank = format!("{:?}", self.rank);
        let soa = |f: &mut fmt::Formatter<'_>| match self.records.first() {
            Some(soa) => write!(f, " soa={}", soa.name),
            None => Ok(()),
        };
        match self.key.kind() {
            KeyKind::NameError => {
                write!(
                    f,
                    "; NXDOMAIN {} ttl={} rank={rank}",
                    self.key.name(),
                    self.ttl
                )?;
                soa(f)
            }
            KeyKind::Type(rtype) if self.negative => {
                write!(
                    f,
                    "; NODATA {} {rtype} ttl={} rank={rank}",
                    self.key.name(),
                    self.ttl
                )?;
                soa(f)
            }
            KeyKind::Type(_) => {
                for (i, record) in self.records.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{record} ; rank={rank}")?;
                }
                Ok(())
            }
        }
    }
}
