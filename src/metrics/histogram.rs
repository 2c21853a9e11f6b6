//! A histogram that records with atomics alone, for the hot path.
//!
//! prometheus-client's own `Histogram` takes a mutex on every observation; a resolver answering
//! from cache on several threads would meet on that lock for every query. Here an observation is
//! a bucket search over a short fixed array and three relaxed atomic additions. Readers may see a
//! count and a sum from slightly different instants, which Prometheus tolerates (rates over a
//! scrape interval smooth it out).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket bounds for client-side answer latency, in seconds: cache hits take microseconds,
/// resolutions tens to thousands of milliseconds.
pub const CLIENT_LATENCY_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Bucket bounds for one upstream round trip, in seconds.
pub const UPSTREAM_RTT_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug)]
pub struct AtomicHistogram {
    /// Upper bounds in microseconds, ascending; the last bucket (+Inf) has no bound.
    bounds_us: Box<[u64]>,
    bounds: &'static [f64],
    /// One more bucket than bounds: the last one counts everything above the largest bound.
    buckets: Box<[AtomicU64]>,
    sum_us: AtomicU64,
    count: AtomicU64,
}

/// A consistent-enough copy of a histogram for encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub sum_seconds: f64,
    pub count: u64,
    /// (upper bound, observations in this bucket alone), the last bound being +Inf.
    pub buckets: Vec<(f64, u64)>,
}

impl AtomicHistogram {
    /// `bounds` are upper bounds in seconds, ascending.
    pub fn new(bounds: &'static [f64]) -> Self {
        AtomicHistogram {
            bounds_us: bounds.iter().map(|b| (b * 1e6).round() as u64).collect(),
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        self.observe_many(elapsed, 1);
    }

    /// `count` observations, each of `elapsed`.
    pub fn observe_many(&self, elapsed: Duration, count: u64) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let index = self
            .bounds_us
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(self.bounds_us.len());
        self.buckets[index].fetch_add(count, Ordering::Relaxed);
        self.sum_us
            .fetch_add(micros.saturating_mul(count), Ordering::Relaxed);
        self.count.fetch_add(count, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let buckets = self
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.buckets.iter().map(|b| b.load(Ordering::Relaxed)))
            .collect();
        HistogramSnapshot {
            sum_seconds: self.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
            count: self.count.load(Ordering::Relaxed),
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let histogram = AtomicHistogram::new(&[0.001, 0.01]);
        histogram.observe(Duration::from_micros(500));
        histogram.observe(Duration::from_millis(1));
        histogram.observe(Duration::from_millis(5));
        histogram.observe(Duration::from_secs(3));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 4);
        assert_eq!(
            snapshot.buckets,
            vec![(0.001, 2), (0.01, 1), (f64::INFINITY, 1)]
        );
        assert!((snapshot.sum_seconds - 3.0065).abs() < 1e-9);
    }
}
