//! The optional query log: one line per answered client question, switchable at runtime.
//!
//! Off by default, and then it costs one relaxed atomic load per query. Lines go through tracing
//! under the target [`QUERY_LOG_TARGET`], so they take the same text or JSON format as every other
//! log line; the binary lets that target through at INFO whatever `--log-level` says, because
//! switching the query log on is itself the request to see it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use crate::metrics::labels::{Protocol, rcode_name};

/// The tracing target of query log lines.
pub const QUERY_LOG_TARGET: &str = "ferret::query";

#[derive(Debug, Default)]
pub struct QueryLog {
    enabled: AtomicBool,
}

/// What one query log line says.
#[derive(Debug)]
pub struct QueryLogLine<'a> {
    pub client: SocketAddr,
    pub protocol: Protocol,
    pub name: &'a Name,
    pub rtype: RecordType,
    pub rcode: ResponseCode,
    pub latency: Duration,
    pub cache_hit: bool,
}

impl QueryLog {
    pub fn new(enabled: bool) -> Self {
        QueryLog {
            enabled: AtomicBool::new(enabled),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    pub fn write(&self, line: &QueryLogLine<'_>) {
        tracing::info!(
            target: QUERY_LOG_TARGET,
            client = %line.client,
            protocol = line.protocol.label(),
            name = %line.name,
            qtype = %line.rtype,
            rcode = rcode_name(line.rcode),
            latency_us = u64::try_from(line.latency.as_micros()).unwrap_or(u64::MAX),
            cache_hit = line.cache_hit,
            "query"
        );
    }
}
