//! Per-server upstream counters with a bounded number of series.
//!
//! A resolver meets thousands of authoritative servers; a label per address would grow the
//! exposition without bound. The first [`TRACKED_SERVERS`] addresses seen get a slot of their own
//! (the root and TLD servers, asked first and most, are among them); every later one counts under
//! `server="other"`. Slots are claimed with a `OnceLock` and found by a linear scan, so recording
//! takes no lock; the scan over a few dozen addresses is nothing next to a network round trip.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::histogram::{AtomicHistogram, HistogramSnapshot, UPSTREAM_RTT_BOUNDS};

/// How many upstream addresses get series of their own.
pub const TRACKED_SERVERS: usize = 64;

/// How one upstream query ended, as far as metrics care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamOutcome {
    /// An answer arrived after this long (whatever its rcode).
    Answered(Duration),
    TimedOut,
    /// A network error or an answer that did not parse.
    Failed,
}

#[derive(Debug)]
pub struct ServerStats {
    queries: AtomicU64,
    timeouts: AtomicU64,
    errors: AtomicU64,
    rtt: AtomicHistogram,
}

impl ServerStats {
    fn new() -> Self {
        ServerStats {
            queries: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            rtt: AtomicHistogram::new(UPSTREAM_RTT_BOUNDS),
        }
    }

    fn record(&self, outcome: UpstreamOutcome) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        match outcome {
            UpstreamOutcome::Answered(rtt) => self.rtt.observe(rtt),
            UpstreamOutcome::TimedOut => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            UpstreamOutcome::Failed => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn snapshot(&self, server: String) -> ServerSnapshot {
        ServerSnapshot {
            server,
            queries: self.queries.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            rtt: self.rtt.snapshot(),
        }
    }
}

/// One server's counters at scrape time.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSnapshot {
    /// The address, or `other`.
    pub server: String,
    pub queries: u64,
    pub timeouts: u64,
    pub errors: u64,
    pub rtt: HistogramSnapshot,
}

struct Slot {
    server: OnceLock<IpAddr>,
    stats: ServerStats,
}

pub struct UpstreamStats {
    slots: Box<[Slot]>,
    other: ServerStats,
}

impl std::fmt::Debug for UpstreamStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamStats")
            .field(
                "tracked",
                &self
                    .slots
                    .iter()
                    .filter(|s| s.server.get().is_some())
                    .count(),
            )
            .finish()
    }
}

impl Default for UpstreamStats {
    fn default() -> Self {
        Self::with_capacity(TRACKED_SERVERS)
    }
}

impl UpstreamStats {
    pub fn with_capacity(servers: usize) -> Self {
        UpstreamStats {
            slots: (0..servers)
                .map(|_| Slot {
                    server: OnceLock::new(),
                    stats: ServerStats::new(),
                })
                .collect(),
            other: ServerStats::new(),
        }
    }

    pub fn record(&self, server: IpAddr, outcome: UpstreamOutcome) {
        self.stats_for(server).record(outcome);
    }

    /// The slot of `server`, claiming the first free one if it has none. Slots fill in order,
    /// so the first free slot ends the search.
    fn stats_for(&self, server: IpAddr) -> &ServerStats {
        for slot in self.slots.iter() {
            if *slot.server.get_or_init(|| server) == server {
                return &slot.stats;
            }
        }
        &self.other
    }

    /// Every tracked server, then `other` (only once it has counted something).
    pub fn snapshot(&self) -> Vec<ServerSnapshot> {
        let mut servers: Vec<ServerSnapshot> = self
            .slots
            .iter()
            .filter_map(|slot| {
                let server = slot.server.get()?;
                Some(slot.stats.snapshot(server.to_string()))
            })
            .collect();
        let other = self.other.snapshot("other".to_string());
        if other.queries > 0 {
            servers.push(other);
        }
        servers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn servers_beyond_the_cap_count_as_other() {
        let stats = UpstreamStats::with_capacity(2);
        stats.record(
            ip("192.0.2.1"),
            UpstreamOutcome::Answered(Duration::from_millis(3)),
        );
        stats.record(ip("192.0.2.2"), UpstreamOutcome::TimedOut);
        stats.record(ip("192.0.2.3"), UpstreamOutcome::Failed);
        stats.record(ip("192.0.2.4"), UpstreamOutcome::TimedOut);
        stats.record(
            ip("192.0.2.1"),
            UpstreamOutcome::Answered(Duration::from_millis(9)),
        );
        let snapshot = stats.snapshot();
        let names: Vec<&str> = snapshot.iter().map(|s| s.server.as_str()).collect();
        assert_eq!(names, ["192.0.2.1", "192.0.2.2", "other"]);
        assert_eq!(snapshot[0].queries, 2);
        assert_eq!(snapshot[0].rtt.count, 2);
        assert_eq!(snapshot[1].timeouts, 1);
        assert_eq!(snapshot[2].queries, 2);
        assert_eq!(snapshot[2].timeouts, 1);
        assert_eq!(snapshot[2].errors, 1);
    }
}
