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
        wall_ms() + self.skew_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward. Used by tests to expire cache entries.
    pub fn advance(&self, by: Duration) {
        self.skew_ms
            .fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }
}

/// The wall clock in milliseconds, as of the kernel's last timer tick (CLOCK_REALTIME_COARSE: 1
/// to 4 ms behind the precise clock, read without touching the TSC). Expiry is kept in
/// milliseconds but decided in whole seconds of TTL, and a cold resolution reads this clock
/// about 13 times per name (callgrind of benches/cold_wide.sh: 202,457 reads for 16,016 names,
/// with the conversion through `Duration` about as costly as the read itself).
#[cfg(target_os = "linux")]
fn wall_ms() -> Millis {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `now`, which outlives the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } == 0 {
        let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
        let millis = u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000;
        return seconds * 1000 + millis;
    }
    precise_wall_ms()
}

#[cfg(not(target_os = "linux"))]
fn wall_ms() -> Millis {
    precise_wall_ms()
}

fn precise_wall_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
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
    fn reads_the_wall_clock_to_within_a_few_ticks() {
        let precise = precise_wall_ms();
        let coarse = Clock::system().now_ms();
        // The coarse clock lags by at most a tick (4 ms at HZ=250); allow for a slow machine.
        assert!(
            coarse <= precise_wall_ms(),
            "{coarse} is ahead of the clock"
        );
        assert!(
            precise.saturating_sub(coarse) < 100,
            "{coarse} lags {precise}"
        );
    }

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
