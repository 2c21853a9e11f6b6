//! Response rate limiting over UDP, so that ferret cannot be used as a reflector.
//!
//! UDP source addresses can be forged: an attacker sends queries "from" a victim and the
//! resolver's answers flood the victim. As BIND's RRL, ferret counts responses per client
//! *network* (IPv4 /24, IPv6 /56: one attacker rarely owns fewer addresses than that, one victim
//! network is protected as a whole) and, over the limit, answers only every Nth query, and that
//! with an empty TC=1 response (the "slip"): a real client behind the address retries over TCP,
//! which proves its address with the handshake, while a victim gets no amplification. TCP is
//! never limited here.
//!
//! Each network has a token bucket holding one second's worth of responses, in a bounded LRU
//! table: a flood from many networks evicts the oldest entries instead of growing memory.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use ipnet::IpNet;
use lru::LruCache;
use tokio::time::Instant;

/// Client networks tracked at once; the least recently seen are forgotten beyond this.
const TRACKED_NETWORKS: usize = 65_536;

/// The prefix lengths one "client" is counted by (BIND's `ipv4-prefix-length` and
/// `ipv6-prefix-length` defaults).
const IPV4_PREFIX: u8 = 24;
const IPV6_PREFIX: u8 = 56;

/// What to do with one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit: answer.
    Answer,
    /// Over the limit, but this one goes out as an empty TC=1 response.
    Slip,
    /// Over the limit: send nothing.
    Drop,
}

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    slip: u32,
    buckets: Mutex<LruCache<IpNet, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    /// Responses refused since the network went over its limit, to pick every `slip`th.
    over_limit: u32,
}

impl RateLimiter {
    /// A limiter of `per_second` responses per client network, or `None` for 0 (no limit).
    pub fn new(per_second: u32, slip: u32) -> Option<Self> {
        if per_second == 0 {
            return None;
        }
        let capacity = NonZeroUsize::new(TRACKED_NETWORKS).unwrap_or(NonZeroUsize::MIN);
        Some(RateLimiter {
            per_second: f64::from(per_second),
            slip,
            buckets: Mutex::new(crate::bounded_lru::new(capacity)),
        })
    }

    /// Takes one response from `client`'s network's allowance at `now`.
    pub fn check(&self, client: IpAddr, now: Instant) -> RateDecision {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.get_or_insert_mut(client_network(client), || Bucket {
            tokens: self.per_second,
            refilled: now,
            over_limit: 0,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.per_second);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.over_limit = 0;
            return RateDecision::Answer;
        }
        bucket.over_limit = bucket.over_limit.wrapping_add(1);
        if self.slip != 0 && bucket.over_limit.is_multiple_of(self.slip) {
            RateDecision::Slip
        } else {
            RateDecision::Drop
        }
    }
}

/// The network `client` is counted in.
fn client_network(client: IpAddr) -> IpNet {
    let client = client.to_canonical();
    let prefix = if client.is_ipv4() {
        IPV4_PREFIX
    } else {
        IPV6_PREFIX
    };
    IpNet::new(client, prefix)
        .map(|net| net.trunc())
        .unwrap_or_else(|_| IpNet::from(client))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn decisions(
        limiter: &RateLimiter,
        client: &str,
        count: usize,
        now: Instant,
    ) -> Vec<RateDecision> {
        (0..count).map(|_| limiter.check(ip(client), now)).collect()
    }

    #[test]
    fn zero_means_no_limiter() {
        assert!(RateLimiter::new(0, 2).is_none());
    }

    #[test]
    fn a_burst_of_one_second_then_every_second_limited_response_slips() {
        use RateDecision::*;
        let limiter = RateLimiter::new(3, 2).unwrap();
        let now = Instant::now();
        assert_eq!(
            decisions(&limiter, "192.0.2.1", 7, now),
            [Answer, Answer, Answer, Drop, Slip, Drop, Slip]
        );
    }

    #[test]
    fn tokens_come_back_with_time_up_to_one_second_of_them() {
        use RateDecision::*;
        let limiter = RateLimiter::new(2, 0).unwrap();
        let start = Instant::now();
        assert_eq!(
            decisions(&limiter, "192.0.2.1", 3, start),
            [Answer, Answer, Drop]
        );
        let later = start + Duration::from_millis(500);
        assert_eq!(decisions(&limiter, "192.0.2.1", 2, later), [Answer, Drop]);
        // A long silence refills the bucket, but only to its capacity.
        let much_later = later + Duration::from_secs(60);
        assert_eq!(
            decisions(&limiter, "192.0.2.1", 3, much_later),
            [Answer, Answer, Drop]
        );
    }

    #[test]
    fn clients_are_counted_by_network() {
        use RateDecision::*;
        let limiter = RateLimiter::new(1, 1).unwrap();
        let now = Instant::now();
        assert_eq!(limiter.check(ip("192.0.2.1"), now), Answer);
        // Same /24: same bucket. Slip 1 means every limited response slips.
        assert_eq!(limiter.check(ip("192.0.2.200"), now), Slip);
        assert_eq!(limiter.check(ip("192.0.3.1"), now), Answer);
        assert_eq!(limiter.check(ip("2001:db8:0:ff::1"), now), Answer);
        // Same /56.
        assert_eq!(limiter.check(ip("2001:db8:0:aa::2"), now), Slip);
        assert_eq!(limiter.check(ip("2001:db8:0:100::1"), now), Answer);
        // An IPv4-mapped address counts as the IPv4 address.
        assert_eq!(limiter.check(ip("::ffff:192.0.3.9"), now), Slip);
    }
}
