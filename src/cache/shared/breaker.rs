//! The circuit breaker in front of Redis: after a run of failures ferret stops asking for a
//! while, so a Redis that is down or stalled costs the miss path nothing but a flag check, and
//! then lets one request through to see whether it is back.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::clock::{Clock, Millis};

/// Failures in a row (timeouts, connection errors) that open the breaker.
pub const FAILURES_TO_OPEN: u32 = 5;

/// How long the breaker stays open before one request may probe Redis again.
pub const OPEN_MS: Millis = 2_000;

/// Closed (requests go through), open (none until `open_until_ms`), or half-open (one probe
/// is out; the others wait for its outcome by staying away). Lock-free: the miss path reads two
/// atomics.
#[derive(Debug)]
pub struct Breaker {
    clock: Clock,
    failures: AtomicU32,
    /// 0 while closed; otherwise when the next probe may go.
    open_until_ms: AtomicU64,
    /// A probe is out, so nobody else is let through.
    probing: AtomicBool,
}

impl Breaker {
    pub fn new(clock: Clock) -> Self {
        Breaker {
            clock,
            failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    /// Whether a request may go to Redis now. While open, `false`; once the open time is over,
    /// `true` for one caller (the probe) until it reports.
    pub fn allow(&self) -> bool {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        if self.clock.now_ms() < until {
            return false;
        }
        self.probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.open_until_ms.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
    }

    /// Counts a failure; returns whether it opened the breaker just now.
    pub fn failure(&self) -> bool {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        let was_probing = self.probing.swap(false, Ordering::AcqRel);
        if failures >= FAILURES_TO_OPEN || was_probing {
            let until = self.clock.now_ms() + OPEN_MS;
            if self.open_until_ms.swap(until, Ordering::AcqRel) == 0 {
                tracing::warn!(
                    failures,
                    open_ms = OPEN_MS,
                    "shared cache failing; not asking it for a while"
                );
                return true;
            }
        }
        false
    }

    /// Whether requests are being held back now.
    pub fn is_open(&self) -> bool {
        self.open_until_ms.load(Ordering::Acquire) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_probes_once_and_closes_on_success() {
        let clock = Clock::system();
        let breaker = Breaker::new(clock.clone());
        for _ in 0..FAILURES_TO_OPEN - 1 {
            assert!(breaker.allow());
            assert!(!breaker.failure());
        }
        assert!(!breaker.is_open());
        assert!(breaker.failure(), "this one opens it");
        assert!(breaker.is_open());
        assert!(!breaker.allow(), "open: nothing goes through");
        clock.advance(std::time::Duration::from_millis(OPEN_MS));
        assert!(breaker.allow(), "one probe after the open time");
        assert!(!breaker.allow(), "only one");
        assert!(!breaker.failure(), "not a new trip");
        assert!(!breaker.allow(), "a failed probe opens it again");
        clock.advance(std::time::Duration::from_millis(OPEN_MS));
        assert!(breaker.allow());
        breaker.success();
        assert!(!breaker.is_open());
        assert!(breaker.allow() && breaker.allow(), "closed again");
    }
}
