//! A [`Snapshot`] in the OpenMetrics text format, encoded by prometheus-client.
//!
//! The snapshot is registered as a prometheus-client `Collector`, so the crate writes every
//! `# HELP`/`# TYPE` line, label escaping, the `_total` suffixes and the cumulative histogram
//! buckets; ferret only says which values go under which labels.

use std::fmt;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::labels::{self, Limit, Protocol};
use super::{HistogramSnapshot, Snapshot};

/// The `Content-Type` of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The whole exposition, `# EOF` included.
pub fn encode(snapshot: Snapshot) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        self.encode_traffic(&mut encoder)?;
        self.encode_cache(&mut encoder)?;
        self.encode_upstream(&mut encoder)?;
        self.encode_shared_cache(&mut encoder)?;
        self.encode_state(&mut encoder)
    }
}

impl Snapshot {
    fn encode_traffic(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let mut family = encoder.encode_descriptor(
            "ferret_queries",
            "Client queries with a readable question, by transport and query type",
            None,
            MetricType::Counter,
        )?;
        for protocol in Protocol::ALL {
            for (index, count) in self.queries[protocol.index()].iter().enumerate() {
                let rtype = labels::query_type_label(index);
                let labels = [("protocol", protocol.label()), ("type", rtype.as_str())];
                counter(&mut family, &labels, *count)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "ferret_responses",
            "Responses sent to clients, by transport and response code",
            None,
            MetricType::Counter,
        )?;
        for protocol in Protocol::ALL {
            for (index, count) in self.responses[protocol.index()].iter().enumerate() {
                let labels = [
                    ("protocol", protocol.label()),
                    ("rcode", labels::rcode_label(index)),
                ];
                counter(&mut family, &labels, *count)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "ferret_dropped_messages",
            "Client messages not answered: shorter than a DNS header, or responses",
            None,
            MetricType::Counter,
        )?;
        for protocol in Protocol::ALL {
            let labels = [("protocol", protocol.label())];
            counter(&mut family, &labels, self.dropped[protocol.index()])?;
        }
        let mut family = encoder.encode_descriptor(
            "ferret_tls_handshake_failures",
            "Client TLS handshakes (DoT, DoH, DoQ) that failed or did not finish in time",
            None,
            MetricType::Counter,
        )?;
        for protocol in Protocol::ENCRYPTED {
            let labels = [("protocol", protocol.label())];
            counter(
                &mut family,
                &labels,
                self.handshake_failures[protocol.index()],
            )?;
        }
        let family = encoder.encode_descriptor(
            "ferret_query_duration_seconds",
            "Time from a client query's arrival to its response, cache hits included",
            None,
            MetricType::Histogram,
        )?;
        histogram(family, &self.client_latency)
    }

    fn encode_cache(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let plain_counters = [
            (
                "ferret_cache_hits",
                "Client questions answered from the cache alone",
                self.cache_hits,
            ),
            (
                "ferret_cache_misses",
                "Client questions the cache could not answer (resolved upstream)",
                self.cache_misses,
            ),
            (
                "ferret_cache_evictions",
                "Live cache entries dropped to make room (LRU)",
                self.live.cache_evictions,
            ),
        ];
        for (name, help, value) in plain_counters {
            let metric = ConstCounter::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }
        let gauges = [
            (
                "ferret_cache_entries",
                "RRsets and negative answers held in the cache",
                self.live.cache_entries,
            ),
            (
                "ferret_message_cache_entries",
                "Whole encoded answers held for the cache-hit fast path",
                self.live.message_cache_entries,
            ),
        ];
        for (name, help, value) in gauges {
            let metric = ConstGauge::new(value as i64);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }
        Ok(())
    }

    fn encode_upstream(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let counters: [(&str, &str, ServerCounter); 3] = [
            (
                "ferret_upstream_queries",
                "Queries sent to authoritative servers, by server address",
                |s| s.queries,
            ),
            (
                "ferret_upstream_timeouts",
                "Upstream queries that got no answer in time, by server address",
                |s| s.timeouts,
            ),
            (
                "ferret_upstream_errors",
                "Upstream queries that failed with a network error or an unparsable answer",
                |s| s.errors,
            ),
        ];
        for (name, help, value) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for server in &self.upstream {
                let labels = [("server", server.server.as_str())];
                counter(&mut family, &labels, value(server))?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "ferret_upstream_rtt_seconds",
            "Round-trip time of answered upstream queries, by server address",
            None,
            MetricType::Histogram,
        )?;
        for server in &self.upstream {
            let labels = [("server", server.server.as_str())];
            histogram(family.encode_family(&labels)?, &server.rtt)?;
        }
        Ok(())
    }

    fn encode_shared_cache(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let shared = &self.shared_cache;
        let plain_counters = [
            (
                "ferret_shared_cache_hits",
                "Cache misses answered from the shared cache (Redis)",
                shared.hits,
            ),
            (
                "ferret_shared_cache_misses",
                "Shared cache lookups that found no usable entry",
                shared.misses,
            ),
            (
                "ferret_shared_cache_writes",
                "Answers written to the shared cache",
                shared.writes,
            ),
            (
                "ferret_shared_cache_dropped_writes",
                "Answers not written to the shared cache: queue full, breaker open, or failed",
                shared.dropped_writes,
            ),
            (
                "ferret_shared_cache_skipped",
                "Shared cache lookups not sent because the circuit breaker was open",
                shared.skipped,
            ),
            (
                "ferret_shared_cache_breaker_trips",
                "Times the shared cache's circuit breaker opened",
                shared.breaker_trips,
            ),
        ];
        for (name, help, value) in plain_counters {
            let metric = ConstCounter::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }
        let mut family = encoder.encode_descriptor(
            "ferret_shared_cache_errors",
            "Shared cache requests that failed, by kind (timeout, connection)",
            None,
            MetricType::Counter,
        )?;
        for failure in super::SharedCacheFailure::ALL {
            let labels = [("kind", failure.label())];
            counter(&mut family, &labels, shared.errors[failure as usize])?;
        }
        let mut family = encoder.encode_descriptor(
            "ferret_shared_cache_rejected",
            "Values under ferret's keys that were not used, by reason",
            None,
            MetricType::Counter,
        )?;
        for (label, count) in super::REJECTED_LABELS.iter().zip(shared.rejected) {
            counter(&mut family, &[("reason", label)], count)?;
        }
        let metric = ConstGauge::new(i64::from(shared.breaker_open));
        metric.encode(encoder.encode_descriptor(
            "ferret_shared_cache_breaker_open",
            "1 while the shared cache's circuit breaker holds requests back",
            None,
            metric.metric_type(),
        )?)?;
        histogram(
            encoder.encode_descriptor(
                "ferret_shared_cache_rtt_seconds",
                "Round-trip time of answered shared cache requests",
                None,
                MetricType::Histogram,
            )?,
            &shared.rtt,
        )
    }

    fn encode_state(&self, encoder: &mut DescriptorEncoder) -> fmt::Result {
        let mut family = encoder.encode_descriptor(
            "ferret_limits_tripped",
            "Work turned away by a limit: SERVFAIL, refused TCP connections, rate-limited responses, busy servers skipped",
            None,
            MetricType::Counter,
        )?;
        for limit in Limit::ALL {
            let labels = [("limit", limit.label())];
            counter(&mut family, &labels, self.limits[limit.index()])?;
        }
        let mut family = encoder.encode_descriptor(
            "ferret_dnssec_validations",
            "Upstream answers by DNSSEC validation outcome",
            None,
            MetricType::Counter,
        )?;
        for outcome in super::ValidationOutcome::ALL {
            let labels = [("result", outcome.label())];
            counter(&mut family, &labels, self.validation[outcome as usize])?;
        }
        let gauges = [
            (
                "ferret_inflight_resolutions",
                "Distinct questions being resolved upstream right now",
                self.live.inflight_resolutions,
            ),
            (
                "ferret_upstream_outstanding_queries",
                "Queries sent to authoritative servers and not answered yet",
                usize::try_from(self.live.upstream_outstanding).unwrap_or(usize::MAX),
            ),
            (
                "ferret_queries_in_progress",
                "Client queries received and not yet answered",
                self.live.queries_in_progress,
            ),
        ];
        for (name, help, value) in gauges {
            let metric = ConstGauge::new(value as i64);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }
        let mut info = encoder.encode_descriptor(
            "ferret_build",
            "The running ferret's version",
            None,
            MetricType::Info,
        )?;
        info.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])
    }
}

/// Reads one counter of a server's snapshot.
type ServerCounter = fn(&super::ServerSnapshot) -> u64;

fn counter(family: &mut MetricEncoder, labels: &[(&str, &str)], value: u64) -> fmt::Result {
    family
        .encode_family(&labels)?
        .encode_counter::<NoLabelSet, _, u64>(&value, None)
}

fn histogram(mut encoder: MetricEncoder, histogram: &HistogramSnapshot) -> fmt::Result {
    encoder.encode_histogram::<NoLabelSet>(
        histogram.sum_seconds,
        histogram.count,
        &histogram.buckets,
        None,
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::RecordType;

    use super::*;
    use crate::metrics::{LiveValues, Metrics, UpstreamOutcome};

    #[test]
    fn exposition_carries_labelled_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.record_query(Protocol::Udp, RecordType::AAAA);
        metrics.record_response(Protocol::Udp, ResponseCode::ServFail);
        metrics.record_latency(Duration::from_millis(3));
        metrics.record_upstream(
            "192.0.2.53".parse().unwrap(),
            UpstreamOutcome::Answered(Duration::from_millis(20)),
        );
        let shared = metrics.shared_cache();
        shared.hit();
        shared.rejected("other_trust");
        shared.error(crate::metrics::SharedCacheFailure::Timeout);
        shared.breaker(true, true);
        shared.round_trip(Duration::from_micros(300));
        let live = LiveValues {
            cache_entries: 7,
            ..LiveValues::default()
        };
        let text = encode(metrics.snapshot(live)).unwrap();
        for line in [
            "ferret_queries_total{protocol=\"udp\",type=\"AAAA\"} 1",
            "ferret_queries_total{protocol=\"tcp\",type=\"A\"} 0",
            "ferret_responses_total{protocol=\"udp\",rcode=\"SERVFAIL\"} 1",
            "ferret_cache_entries 7",
            "ferret_query_duration_seconds_count 1",
            "ferret_query_duration_seconds_bucket{le=\"0.005\"} 1",
            "ferret_query_duration_seconds_bucket{le=\"0.0025\"} 0",
            "ferret_upstream_queries_total{server=\"192.0.2.53\"} 1",
            "ferret_upstream_rtt_seconds_bucket{le=\"0.025\",server=\"192.0.2.53\"} 1",
            "ferret_upstream_rtt_seconds_bucket{le=\"+Inf\",server=\"192.0.2.53\"} 1",
            "ferret_shared_cache_hits_total 1",
            "ferret_shared_cache_misses_total 0",
            "ferret_shared_cache_writes_total 0",
            "ferret_shared_cache_dropped_writes_total 0",
            "ferret_shared_cache_errors_total{kind=\"timeout\"} 1",
            "ferret_shared_cache_rejected_total{reason=\"other_trust\"} 1",
            "ferret_shared_cache_breaker_open 1",
            "ferret_shared_cache_breaker_trips_total 1",
            "ferret_shared_cache_rtt_seconds_bucket{le=\"0.0005\"} 1",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
