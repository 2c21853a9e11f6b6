//! Counters of work the resolver refused or skipped because a limit was reached, so that an
//! operator (and a test) can see the limits biting.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the resolver's counters and of the work in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResolverStats {
    /// Distinct client questions being resolved now.
    pub inflight: usize,
    /// Questions answered SERVFAIL at once because `max_inflight_resolutions` were running.
    pub inflight_refused: u64,
    /// Upstream queries outstanding now, all servers together.
    pub outstanding_queries: u64,
    /// Times a server was skipped because `max_queries_per_server` queries to it were outstanding.
    pub busy_server_skips: u64,
    /// Upstream questions not sent because an identical one to the same zone was outstanding,
    /// whose outcome was shared instead.
    pub merged_upstream_queries: u64,
    /// Negative answers synthesized from validated NSEC ranges, with no upstream query
    /// (RFC 8198).
    pub nsec_synthesized: u64,
}

/// The live counters behind [`ResolverStats`].
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub inflight_refused: AtomicU64,
    pub busy_server_skips: AtomicU64,
    pub merged_upstream_queries: AtomicU64,
    pub nsec_synthesized: AtomicU64,
}

impl Counters {
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
