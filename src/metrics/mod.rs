//! Counters for Prometheus and `ferret ctl stats`.
//!
//! Recording is on the hot path of every query, so [`Metrics`] is nothing but fixed arrays of
//! atomics indexed by small closed label sets ([`labels`]): no lock, no allocation, no map
//! lookup. Values that already live elsewhere (the cache's size, the resolutions in flight) are
//! read only when someone asks, into a [`Snapshot`] that is then encoded with prometheus-client
//! ([`exposition`]) or printed as `key=value` lines.

pub mod exposition;
mod histogram;
pub mod http;
pub mod labels;
mod shared_cache;
mod upstream;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use histogram::CLIENT_LATENCY_BOUNDS;
pub use histogram::{AtomicHistogram, HistogramSnapshot};
use labels::{Limit, Protocol, QUERY_TYPE_LABELS, RCODE_LABELS};
pub use shared_cache::{
    REJECTED_LABELS, SharedCacheFailure, SharedCacheSnapshot, SharedCacheStats,
};
pub use upstream::{ServerSnapshot, TRACKED_SERVERS, UpstreamOutcome, UpstreamStats};

/// Number of protocol labels.
const PROTOCOLS: usize = Protocol::ALL.len();

fn zeroes<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

fn load<const N: usize>(counters: &[AtomicU64; N]) -> [u64; N] {
    std::array::from_fn(|i| counters[i].load(Ordering::Relaxed))
}

/// Every counter ferret keeps. One per process, shared by the listeners, the resolver and the
/// upstream transport.
#[derive(Debug)]
pub struct Metrics {
    queries: [[AtomicU64; QUERY_TYPE_LABELS]; PROTOCOLS],
    responses: [[AtomicU64; RCODE_LABELS]; PROTOCOLS],
    dropped: [AtomicU64; PROTOCOLS],
    /// TLS (or QUIC) handshakes that failed or timed out, by protocol.
    handshake_failures: [AtomicU64; PROTOCOLS],
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    client_latency: AtomicHistogram,
    upstream: UpstreamStats,
    limits: [AtomicU64; Limit::ALL.len()],
    validation: [AtomicU64; ValidationOutcome::ALL.len()],
    shared_cache: SharedCacheStats,
}

/// Cache hits of one batch of datagrams, counted in plain integers and added to the shared
/// counters once per batch by [`Metrics::record_hits`]. Counted one by one, each hit cost five
/// atomic additions and a reading of the clock: 3% of the CPU a cache hit takes under load
/// (`perf annotate` of `answer_fast_at`, `PROFILE=1 benches/dnsperf.sh`).
#[derive(Debug, Default)]
pub struct HitTally {
    queries: [u32; QUERY_TYPE_LABELS],
    responses: [u32; RCODE_LABELS],
    hits: u64,
}

/// A question answered from the cache: its type and the rcode it was answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rtype: RecordType,
    pub rcode: ResponseCode,
}

impl HitTally {
    /// One more hit.
    pub fn count(&mut self, hit: Hit) {
        self.queries[labels::query_type_index(hit.rtype)] += 1;
        self.responses[labels::rcode_index(hit.rcode)] += 1;
        self.hits += 1;
    }
}

/// What DNSSEC validation made of one upstream answer (RFC 4033 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationOutcome {
    Secure,
    Insecure,
    Bogus,
    /// The chain of trust could not be fetched in the question's time or query budget.
    Indeterminate,
}

impl ValidationOutcome {
    pub const ALL: [ValidationOutcome; 4] = [
        ValidationOutcome::Secure,
        ValidationOutcome::Insecure,
        ValidationOutcome::Bogus,
        ValidationOutcome::Indeterminate,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ValidationOutcome::Secure => "secure",
            ValidationOutcome::Insecure => "insecure",
            ValidationOutcome::Bogus => "bogus",
            ValidationOutcome::Indeterminate => "indeterminate",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            queries: std::array::from_fn(|_| zeroes()),
            responses: std::array::from_fn(|_| zeroes()),
            dropped: zeroes(),
            handshake_failures: zeroes(),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            client_latency: AtomicHistogram::new(CLIENT_LATENCY_BOUNDS),
            upstream: UpstreamStats::default(),
            limits: zeroes(),
            validation: zeroes(),
            shared_cache: SharedCacheStats::default(),
        }
    }
}

impl Metrics {
    /// A query with a readable question arrived.
    pub fn record_query(&self, protocol: Protocol, rtype: RecordType) {
        self.queries[protocol.index()][labels::query_type_index(rtype)]
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A response left with `rcode`.
    pub fn record_response(&self, protocol: Protocol, rcode: ResponseCode) {
        self.responses[protocol.index()][labels::rcode_index(rcode)]
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A message was not worth answering (too short for a header, or itself a response).
    pub fn record_dropped(&self, protocol: Protocol) {
        self.dropped[protocol.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A client's TLS handshake failed or took too long.
    pub fn record_handshake_failure(&self, protocol: Protocol) {
        self.handshake_failures[protocol.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A client question was (`hit`) or was not answered from the cache alone.
    pub fn record_cache(&self, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Time from a query's arrival to its response being ready.
    pub fn record_latency(&self, elapsed: Duration) {
        self.client_latency.observe(elapsed);
    }

    /// One cache hit, `latency` from its arrival to its response being ready.
    pub fn record_hit(&self, protocol: Protocol, hit: Hit, latency: Duration) {
        self.record_query(protocol, hit.rtype);
        self.record_cache(true);
        self.record_response(protocol, hit.rcode);
        self.record_latency(latency);
    }

    /// Adds the cache hits counted in `tally`, each `latency` from its arrival to its response
    /// being ready, as [`Metrics::record_hit`] would one by one; then empties `tally`.
    pub fn record_hits(&self, protocol: Protocol, tally: &mut HitTally, latency: Duration) {
        if tally.hits == 0 {
            return;
        }
        let add = |counters: &[AtomicU64], counts: &[u32]| {
            for (counter, &count) in counters.iter().zip(counts) {
                if count > 0 {
                    counter.fetch_add(u64::from(count), Ordering::Relaxed);
                }
            }
        };
        add(&self.queries[protocol.index()], &tally.queries);
        add(&self.responses[protocol.index()], &tally.responses);
        self.cache_hits.fetch_add(tally.hits, Ordering::Relaxed);
        self.client_latency.observe_many(latency, tally.hits);
        *tally = HitTally::default();
    }

    pub fn record_upstream(&self, server: IpAddr, outcome: UpstreamOutcome) {
        self.upstream.record(server, outcome);
    }

    pub fn record_limit(&self, limit: Limit) {
        self.limits[limit.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// An upstream answer was validated with this outcome.
    pub fn record_validation(&self, outcome: ValidationOutcome) {
        self.validation[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The shared second-tier cache's counters (all zero with no shared cache configured).
    pub fn shared_cache(&self) -> &SharedCacheStats {
        &self.shared_cache
    }

    /// Copies every counter, together with the `live` values read by the caller.
    pub fn snapshot(&self, live: LiveValues) -> Snapshot {
        Snapshot {
            queries: std::array::from_fn(|p| load(&self.queries[p])),
            responses: std::array::from_fn(|p| load(&self.responses[p])),
            dropped: load(&self.dropped),
            handshake_failures: load(&self.handshake_failures),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            client_latency: self.client_latency.snapshot(),
            upstream: self.upstream.snapshot(),
            limits: load(&self.limits),
            validation: load(&self.validation),
            shared_cache: self.shared_cache.snapshot(),
            live,
        }
    }
}

/// Values read from their owners at scrape time rather than counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveValues {
    pub cache_entries: usize,
    /// Whole encoded answers held for the fast path.
    pub message_cache_entries: usize,
    pub cache_evictions: u64,
    /// Distinct questions being resolved (identical client questions share one).
    pub inflight_resolutions: usize,
    /// Queries sent upstream and not yet answered, all servers together.
    pub upstream_outstanding: u64,
    /// Client queries received and not yet answered.
    pub queries_in_progress: usize,
    pub query_log: bool,
}

/// Every metric at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub queries: [[u64; QUERY_TYPE_LABELS]; PROTOCOLS],
    pub responses: [[u64; RCODE_LABELS]; PROTOCOLS],
    pub dropped: [u64; PROTOCOLS],
    pub handshake_failures: [u64; PROTOCOLS],
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub client_latency: HistogramSnapshot,
    pub upstream: Vec<ServerSnapshot>,
    pub limits: [u64; Limit::ALL.len()],
    /// Upstream answers by DNSSEC validation outcome.
    pub validation: [u64; ValidationOutcome::ALL.len()],
    pub shared_cache: SharedCacheSnapshot,
    pub live: LiveValues,
}

impl Snapshot {
    /// `key=value` lines for `ferret ctl stats`, in the manner of `unbound-control stats`:
    /// totals always, split counters only where they are not zero.
    pub fn key_values(&self) -> Vec<(String, String)> {
        let mut lines: Vec<(String, String)> = Vec::new();
        let mut put = |key: String, value: String| lines.push((key, value));
        let total_queries: u64 = self.queries.iter().flatten().sum();
        let total_responses: u64 = self.responses.iter().flatten().sum();
        put("queries.total".into(), total_queries.to_string());
        for protocol in Protocol::ALL {
            let by_type = &self.queries[protocol.index()];
            let name = protocol.label();
            put(
                format!("queries.{name}"),
                by_type.iter().sum::<u64>().to_string(),
            );
            for (index, count) in by_type.iter().enumerate().filter(|(_, c)| **c > 0) {
                let rtype = labels::query_type_label(index);
                put(format!("queries.{name}.type.{rtype}"), count.to_string());
            }
        }
        put("responses.total".into(), total_responses.to_string());
        for protocol in Protocol::ALL {
            let name = protocol.label();
            for (index, count) in self.responses[protocol.index()]
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
            {
                let rcode = labels::rcode_label(index);
                put(format!("responses.{name}.rcode.{rcode}"), count.to_string());
            }
            put(
                format!("dropped.{name}"),
                self.dropped[protocol.index()].to_string(),
            );
        }
        for protocol in Protocol::ENCRYPTED {
            put(
                format!("handshake_failures.{}", protocol.label()),
                self.handshake_failures[protocol.index()].to_string(),
            );
        }
        put("cache.hits".into(), self.cache_hits.to_string());
        put("cache.misses".into(), self.cache_misses.to_string());
        put("cache.entries".into(), self.live.cache_entries.to_string());
        put(
            "cache.messages".into(),
            self.live.message_cache_entries.to_string(),
        );
        put(
            "cache.evictions".into(),
            self.live.cache_evictions.to_string(),
        );
        put(
            "latency.count".into(),
            self.client_latency.count.to_string(),
        );
        put(
            "latency.avg_ms".into(),
            format!("{:.3}", average_ms(&self.client_latency)),
        );
        for server in &self.upstream {
            let prefix = format!("upstream.{}", server.server);
            put(format!("{prefix}.queries"), server.queries.to_string());
            put(format!("{prefix}.timeouts"), server.timeouts.to_string());
            put(format!("{prefix}.errors"), server.errors.to_string());
            put(
                format!("{prefix}.rtt_avg_ms"),
                format!("{:.3}", average_ms(&server.rtt)),
            );
        }
        for limit in Limit::ALL {
            put(
                format!("limits.{}", limit.label()),
                self.limits[limit.index()].to_string(),
            );
        }
        for outcome in ValidationOutcome::ALL {
            put(
                format!("dnssec.{}", outcome.label()),
                self.validation[outcome as usize].to_string(),
            );
        }
        let shared = &self.shared_cache;
        put("shared_cache.hits".into(), shared.hits.to_string());
        put("shared_cache.misses".into(), shared.misses.to_string());
        put(
            "shared_cache.errors".into(),
            shared.errors_total().to_string(),
        );
        for failure in SharedCacheFailure::ALL {
            put(
                format!("shared_cache.errors.{}", failure.label()),
                shared.errors[failure as usize].to_string(),
            );
        }
        for (label, count) in REJECTED_LABELS.iter().zip(shared.rejected) {
            put(format!("shared_cache.rejected.{label}"), count.to_string());
        }
        put("shared_cache.writes".into(), shared.writes.to_string());
        put(
            "shared_cache.dropped_writes".into(),
            shared.dropped_writes.to_string(),
        );
        put("shared_cache.skipped".into(), shared.skipped.to_string());
        put(
            "shared_cache.breaker_trips".into(),
            shared.breaker_trips.to_string(),
        );
        put(
            "shared_cache.breaker_open".into(),
            u8::from(shared.breaker_open).to_string(),
        );
        put(
            "shared_cache.rtt_avg_ms".into(),
            format!("{:.3}", average_ms(&shared.rtt)),
        );
        put(
            "inflight.resolutions".into(),
            self.live.inflight_resolutions.to_string(),
        );
        put(
            "inflight.upstream".into(),
            self.live.upstream_outstanding.to_string(),
        );
        put(
            "inflight.queries".into(),
            self.live.queries_in_progress.to_string(),
        );
        put(
            "querylog".into(),
            if self.live.query_log { "on" } else { "off" }.into(),
        );
        lines
    }
}

fn average_ms(histogram: &HistogramSnapshot) -> f64 {
    if histogram.count == 0 {
        0.0
    } else {
        histogram.sum_seconds * 1000.0 / histogram.count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_show_what_was_counted() {
        let metrics = Metrics::default();
        metrics.record_query(Protocol::Udp, RecordType::A);
        metrics.record_query(Protocol::Tcp, RecordType::MX);
        metrics.record_response(Protocol::Udp, ResponseCode::NXDomain);
        metrics.record_cache(true);
        metrics.record_limit(Limit::Referrals);
        let lines = metrics.snapshot(LiveValues::default()).key_values();
        let get = |key: &str| {
            lines
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("queries.total"), Some("2"));
        assert_eq!(get("queries.udp.type.A"), Some("1"));
        assert_eq!(get("queries.tcp.type.MX"), Some("1"));
        assert_eq!(get("queries.udp.type.MX"), None);
        assert_eq!(get("responses.udp.rcode.NXDOMAIN"), Some("1"));
        assert_eq!(get("cache.hits"), Some("1"));
        assert_eq!(get("limits.max_referrals"), Some("1"));
        assert_eq!(get("querylog"), Some("off"));
    }

    #[test]
    fn a_tally_adds_what_counting_one_by_one_would() {
        let one_by_one = Metrics::default();
        let tallied = Metrics::default();
        let mut tally = HitTally::default();
        let latency = Duration::from_micros(150);
        for (rtype, rcode) in [
            (RecordType::A, ResponseCode::NoError),
            (RecordType::A, ResponseCode::NXDomain),
            (RecordType::AAAA, ResponseCode::NoError),
        ] {
            let hit = Hit { rtype, rcode };
            one_by_one.record_hit(Protocol::Udp, hit, latency);
            tally.count(hit);
        }
        tallied.record_hits(Protocol::Udp, &mut tally, latency);
        let lines = |metrics: &Metrics| metrics.snapshot(LiveValues::default()).key_values();
        assert_eq!(lines(&tallied), lines(&one_by_one));
        let get = |key: &str| {
            lines(&tallied)
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        };
        assert_eq!(get("queries.udp.type.A").as_deref(), Some("2"));
        assert_eq!(get("cache.hits").as_deref(), Some("3"));
        // The tally is empty again: recording it twice adds nothing.
        tallied.record_hits(Protocol::Udp, &mut tally, latency);
        assert_eq!(lines(&tallied), lines(&one_by_one));
    }
}
