//! The work one client query may cause, shared by every sub-query it spawns.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use hickory_proto::rr::Name;
use tokio::time::Instant;

use super::ResolveError;
use crate::validator::{WorkBudget, WorkCaps};

#[derive(Debug)]
pub struct Budget {
    deadline: Instant,
    queries_left: AtomicU32,
    /// What the question may spend on DNSSEC validation (signatures, NSEC3 hashes).
    work: WorkBudget,
    /// The zones whose glueless server names are being looked up for this question, outermost
    /// first. The sub-queries of one question run one after another, so this is the chain of
    /// delegations the current lookup depends on.
    finding_servers: Mutex<Vec<Name>>,
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
            finding_servers: Mutex::new(Vec::new()),
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

    /// Notes that the server names of `zone` are being looked up, until the returned guard is
    /// dropped. Fails if they already are, further out in this question: finding them needs
    /// `zone`'s own servers, through a chain of glueless delegations that leads back to it (a.
    /// served only by names under b., b. only by names under a.). No server of such a cycle can
    /// ever be reached, so the question fails at once instead of going round until a limit
    /// stops it; Unbound marks such targets the same way (`iter_mark_cycle_targets`).
    pub fn finding_servers_of(&self, zone: &Name) -> Result<FindingServers<'_>, ResolveError> {
        let mut zones = self.lock_finding();
        if zones.contains(zone) {
            return Err(ResolveError::DependencyCycle(zone.clone()));
        }
        zones.push(zone.clone());
        Ok(FindingServers { budget: self })
    }

    fn lock_finding(&self) -> std::sync::MutexGuard<'_, Vec<Name>> {
        // A list of names only: a panic while it was held leaves nothing worth refusing.
        self.finding_servers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Held while a zone's server names are looked up; see [`Budget::finding_servers_of`].
#[derive(Debug)]
pub struct FindingServers<'a> {
    budget: &'a Budget,
}

impl Drop for FindingServers<'_> {
    fn drop(&mut self) {
        self.budget.lock_finding().pop();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn a_zone_whose_server_lookup_needs_itself_is_a_cycle() {
        let budget = Budget::new(Instant::now() + Duration::from_secs(1), 10);
        let a = budget.finding_servers_of(&name("a.test.")).unwrap();
        let b = budget.finding_servers_of(&name("b.test.")).unwrap();
        assert!(matches!(
            budget.finding_servers_of(&name("a.test.")),
            Err(ResolveError::DependencyCycle(zone)) if zone == name("a.test.")
        ));
        drop(b);
        drop(a);
        // Once a lookup is over, the same zone may be looked up again (for another name).
        assert!(budget.finding_servers_of(&name("a.test.")).is_ok());
    }
}
