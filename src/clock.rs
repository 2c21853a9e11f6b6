//! Wall-clock time for cache expiry.
//!
//! Cache entries carry absolute expiry times on the wall clock (not a monotonic clock) so that TTLs
//! count down in real seconds and a test can move time forward with [`Clock::advance`] instead of
//! sleeping through a TTL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, the unit every expiry time in the cache is kept in.
pub type Millis = u64;

/// A shared wall clock that tests may skew forward.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    skew_ms: Arc<AtomicU64>,
}

impl Clock {
    /// The system wall clock with no skew.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, in milliseconds since the epoch, including any skew added by [`Clock::advance`].
    pub fn now_ms(&self) -> Millis {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        wall + self.skew_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward. Used by tests to expire cache entries.
    pub fn advance(&self, by: Duration) {
        self.skew_ms
            .fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }
}

/// The TTL to hand to a client for an entry expiring at `expires_ms`: whole seconds left, rounded
/// up so that an entry fresh from upstream shows its full TTL, and never 0 while it is still live.
pub fn remaining_ttl(expires_ms: Millis, now_ms: Millis) -> u32 {
    let left = expires_ms.saturating_sub(now_ms);
    left.div_ceil(1000).min(u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now_ms();
        clock.advance(Duration::from_secs(3600));
        assert!(other.now_ms() >= before + 3_600_000);
    }

    #[test]
    fn remaining_ttl_rounds_up_and_stops_at_zero() {
        assert_eq!(remaining_ttl(10_000, 0), 10);
        assert_eq!(remaining_ttl(10_000, 1), 10);
        assert_eq!(remaining_ttl(10_000, 9_001), 1);
        assert_eq!(remaining_ttl(10_000, 10_000), 0);
        assert_eq!(remaining_ttl(10_000, 20_000), 0);
    }
}
