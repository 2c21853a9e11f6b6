//! The circuit breaker in front of Redis: after a run of failures ferret stops asking for a
//! while, so a Redis that is down or stalled costs the miss path nothing but a flag check, and
//! then lets one request through to see whether it is back.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::clock::{Clock, Millis};

/// Failures in a row (timeouts, connection errors) that open the breaker.
pub const FAILURES_TO_OPEN: u32 = 5;

/// How long the breaker stays open before one request may probe Redis again.
pub const OPEN_MS: Millis = 2_000;

/// Closed (`open_until_ms` 0: requests go through) or open until `open_until_ms`. Lock-free: the
/// miss path reads one atomic. The first caller after the open time is the probe: it moves the
/// time on by [`OPEN_MS`], so the others stay away until it reports, and a probe that never
/// reports (its task dropped) holds nothing back for longer than that.
#[derive(Debug)]
pub struct Breaker {
    clock: Clock,
    failures: AtomicU32,
    open_until_ms: AtomicU64,
}

impl Breaker {
    pub fn new(clock: Clock) -> Self {
        Breaker {
            clock,
            failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
        }
    }

    /// Whether a request may go to Redis now.
    pub fn allow(&self) -> bool {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.clock.now_ms();
        if now < until {
            return false;
        }
        self.open_until_ms
            .compare_exchange(until, now + OPEN_MS, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.open_until_ms.store(0, Ordering::Release);
    }

    /// Counts a failure; returns whether it opened the breaker just now. A failed probe needs
    /// nothing more: letting it through already moved the open time on.
    pub fn failure(&self) -> bool {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures < FAILURES_TO_OPEN {
            return false;
        }
        let until = self.clock.now_ms() + OPEN_MS;
        let tripped = self
            .open_until_ms
            .compare_exchange(0, until, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if tripped {
            tracing::warn!(
                failures,
                open_ms = OPEN_MS,
                "shared cache failing; not asking it for a while"
            );
        }
        tripped
    }

    /// Whether requests are being held back now.
    pub fn is_open(&self) -> bool {
        self.open_until_ms.load(Ordering::Acquire) != 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn opens_after_failures_probes_once_and_closes_on_success() {
        let clock = Clock::system();
        let open_time = Duration::from_millis(OPEN_MS);
        let breaker = Breaker::new(clock.clone());
        for _ in 0..FAILURES_TO_OPEN - 1 {
            assert!(breaker.allow());
            assert!(!breaker.failure());
        }
        assert!(!breaker.is_open());
        assert!(breaker.failure(), "this one opens it");
        assert!(breaker.is_open());
        assert!(!breaker.allow(), "open: nothing goes through");
        clock.advance(open_time);
        assert!(breaker.allow(), "one probe after the open time");
        assert!(!breaker.allow(), "only one");
        assert!(!breaker.failure(), "a failed probe is not a new trip");
        assert!(!breaker.allow(), "and keeps it open");
        clock.advance(open_time);
        assert!(breaker.allow(), "the next probe");
        breaker.success();
        assert!(!breaker.is_open());
        assert!(breaker.allow() && breaker.allow(), "closed again");
    }

    #[test]
    fn a_probe_that_never_reports_blocks_only_one_open_time() {
        let clock = Clock::system();
        let breaker = Breaker::new(clock.clone());
        for _ in 0..FAILURES_TO_OPEN {
            breaker.failure();
        }
        clock.advance(Duration::from_millis(OPEN_MS));
        assert!(breaker.allow(), "the probe, whose task is then dropped");
        assert!(!breaker.allow());
        clock.advance(Duration::from_millis(OPEN_MS));
        assert!(breaker.allow(), "another probe");
    }
}
