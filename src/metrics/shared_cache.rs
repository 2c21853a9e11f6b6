//! Counters of the shared second-tier cache (Redis): lookups, writes, failures, and values that
//! were refused. Kept in [`super::Metrics`] so they survive a reload that reconnects.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::histogram::{AtomicHistogram, HistogramSnapshot};

/// Bucket bounds for one Redis round trip, in seconds: a LAN Redis answers in well under a
/// millisecond; anything past the few-millisecond timeout is cut off there.
pub const SHARED_CACHE_RTT_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
];

/// Why a request to the shared cache failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedCacheFailure {
    /// No answer within `shared-cache-timeout-ms`.
    Timeout,
    /// Not connected, the connection broke, or Redis answered with an error.
    Connection,
}

impl SharedCacheFailure {
    pub const ALL: [SharedCacheFailure; 2] =
        [SharedCacheFailure::Timeout, SharedCacheFailure::Connection];

    pub fn label(self) -> &'static str {
        match self {
            SharedCacheFailure::Timeout => "timeout",
            SharedCacheFailure::Connection => "connection",
        }
    }
}

/// Labels of refused values, as `codec::Rejected::label` gives them.
pub const REJECTED_LABELS: [&str; 5] = [
    "oversize",
    "garbage",
    "other_question",
    "other_trust",
    "expired",
];

#[derive(Debug)]
pub struct SharedCacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: [AtomicU64; SharedCacheFailure::ALL.len()],
    rejected: [AtomicU64; REJECTED_LABELS.len()],
    writes: AtomicU64,
    dropped_writes: AtomicU64,
    /// Lookups not sent because the breaker was open.
    skipped: AtomicU64,
    breaker_trips: AtomicU64,
    breaker_open: AtomicU64,
    rtt: AtomicHistogram,
}

impl Default for SharedCacheStats {
    fn default() -> Self {
        SharedCacheStats {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
            writes: AtomicU64::new(0),
            dropped_writes: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            breaker_trips: AtomicU64::new(0),
            breaker_open: AtomicU64::new(0),
            rtt: AtomicHistogram::new(SHARED_CACHE_RTT_BOUNDS),
        }
    }
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl SharedCacheStats {
    pub fn hit(&self) {
        add(&self.hits);
    }

    /// No usable entry: none under the key, or one that was refused (counted there too).
    pub fn miss(&self) {
        add(&self.misses);
    }

    pub fn error(&self, failure: SharedCacheFailure) {
        add(&self.errors[failure as usize]);
    }

    /// A value under one of ferret's keys that was not used; `label` from `Rejected::label`.
    pub fn rejected(&self, label: &str) {
        if let Some(index) = REJECTED_LABELS.iter().position(|l| *l == label) {
            add(&self.rejected[index]);
        }
    }

    pub fn write(&self) {
        add(&self.writes);
    }

    pub fn dropped_write(&self) {
        add(&self.dropped_writes);
    }

    pub fn skipped(&self) {
        add(&self.skipped);
    }

    pub fn breaker(&self, open: bool, tripped: bool) {
        self.breaker_open.store(u64::from(open), Ordering::Relaxed);
        if tripped {
            add(&self.breaker_trips);
        }
    }

    pub fn round_trip(&self, elapsed: Duration) {
        self.rtt.observe(elapsed);
    }

    pub fn snapshot(&self) -> SharedCacheSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SharedCacheSnapshot {
            hits: load(&self.hits),
            misses: load(&self.misses),
            errors: std::array::from_fn(|i| load(&self.errors[i])),
            rejected: std::array::from_fn(|i| load(&self.rejected[i])),
            writes: load(&self.writes),
            dropped_writes: load(&self.dropped_writes),
            skipped: load(&self.skipped),
            breaker_trips: load(&self.breaker_trips),
            breaker_open: load(&self.breaker_open) != 0,
            rtt: self.rtt.snapshot(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SharedCacheSnapshot {
    pub hits: u64,
    pub misses: u64,
    pub errors: [u64; SharedCacheFailure::ALL.len()],
    pub rejected: [u64; REJECTED_LABELS.len()],
    pub writes: u64,
    pub dropped_writes: u64,
    pub skipped: u64,
    pub breaker_trips: u64,
    pub breaker_open: bool,
    pub rtt: HistogramSnapshot,
}

impl SharedCacheSnapshot {
    pub fn errors_total(&self) -> u64 {
        self.errors.iter().sum()
    }
}
