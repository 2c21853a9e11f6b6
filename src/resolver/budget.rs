//! The work one client query may cause, shared by every sub-query it spawns.

use std::sync::atomic::{AtomicU32, Ordering};

use tokio::time::Instant;

use super::ResolveError;
use crate::validator::{WorkBudget, WorkCaps};

#[derive(Debug)]
pub struct Budget {
    deadline: Instant,
    queries_left: AtomicU32,
    /// What the question may spend on DNSSEC validation (signatures, NSEC3 hashes).
    work: WorkBudget,
}

impl Budget {
    pub fn new(deadline: Instant, max_queries: u32) -> Self {
        Self::with_caps(deadline, max_queries, WorkCaps::default())
    }

    /// A budget whose validation work is bounded by `caps`.
    pub fn with_caps(deadline: Instant, max_queries: u32, caps: WorkCaps) -> Self {
        Budget {
            deadline,
            queries_left: AtomicU32::new(max_queries),
            work: WorkBudget::new(caps),
        }
    }

    pub fn work(&self) -> &WorkBudget {
        &self.work
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Takes one upstream query from the budget, or fails when none (or no time) is left.
    pub fn spend_query(&self) -> Result<(), ResolveError> {
        if Instant::now() >= self.deadline {
            return Err(ResolveError::Timeout);
        }
        self.queries_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .map(|_| ())
            .map_err(|_| ResolveError::QueryLimit)
    }
}
