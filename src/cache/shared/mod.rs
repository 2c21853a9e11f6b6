//! The shared second tier of the cache (issue 12): what any ferret of a fleet resolved, kept in
//! Redis for the others, as Unbound's cachedb module does.
//!
//! It sits behind the local tier and only the miss path reaches it: the resolver asks it once
//! per merged resolution, before iterating, and a hit is put in the local cache with the TTL it
//! has left, so the next identical question is a local hit that never leaves the process. What
//! ferret resolves is offered back through a bounded queue that a background task drains; a
//! full queue drops the write, so no answer ever waits for Redis.
//!
//! Trust: a value is checked before use ([`codec::decode`]); it is never trusted more than data
//! ferret fetched itself: it enters the local cache at [`Rank::Shared`], below every rank of
//! ferret's own answers, so it never replaces them and they always replace it; it carries AD
//! only if it was validated under the same trust anchors as ours (a fingerprint of the anchor
//! set is stored with it; any other is a miss); bogus answers, SERVFAIL and stale answers are
//! never written.
//!
//! Failure: each request is bounded by `shared-cache-timeout-ms`; after
//! [`breaker::FAILURES_TO_OPEN`] failures in a row the breaker stops requests for
//! [`breaker::OPEN_MS`], then lets one probe through. redis-rs reconnects in the background.

mod breaker;
mod client;
pub mod codec;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::sync::mpsc;

pub use client::{SharedCacheError, check_url};

use super::{Cache, NegativeProof, Rank};
use crate::answer::Answer;
use crate::config::Config;
use crate::metrics::{Metrics, SharedCacheFailure, SharedCacheStats};
use crate::records::{cname_target, rrsig_covers};
use breaker::Breaker;
use client::RedisLink;
use codec::{ReadPolicy, Rejected};

/// Writes in flight to Redis at once; the rest wait in the queue.
const CONCURRENT_WRITES: usize = 32;

/// How long `ferret ctl flush --shared` may take in all (the control socket gives up on an
/// answer after 10 s).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(8);

/// The shared cache's settings, from [`Config`]; a reload that changes them reconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCacheSettings {
    pub url: String,
    pub timeout: Duration,
    pub prefix: String,
    pub write_queue: usize,
}

impl SharedCacheSettings {
    /// `None` when no shared cache is configured.
    pub fn from_config(config: &Config) -> Option<Self> {
        let url = config.shared_cache.clone()?;
        Some(SharedCacheSettings {
            url,
            timeout: Duration::from_millis(config.shared_cache_timeout_ms.max(1)),
            prefix: config.shared_cache_prefix.clone(),
            write_queue: config.shared_cache_write_queue.max(1),
        })
    }
}

struct Write {
    key: String,
    value: Vec<u8>,
    ttl_ms: u64,
}

/// The tier: a link to Redis, its breaker, and the queue of writes.
pub struct SharedCache {
    settings: SharedCacheSettings,
    link: Arc<RedisLink>,
    breaker: Arc<Breaker>,
    writes: mpsc::Sender<Write>,
    metrics: Arc<Metrics>,
    /// The trust anchors this ferret validates under (0: validation off), stored with every
    /// entry and required of every entry read.
    fingerprint: u64,
}

impl SharedCache {
    /// Connects (in the background) and starts the writer; call within a tokio runtime.
    pub fn start(
        settings: SharedCacheSettings,
        fingerprint: u64,
        cache: &Cache,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, SharedCacheError> {
        let link = RedisLink::open(&settings.url)?;
        let breaker = Arc::new(Breaker::new(cache.clock().clone()));
        let (writes, queue) = mpsc::channel(settings.write_queue);
        tokio::spawn(drain_writes(
            queue,
            Arc::clone(&link),
            Arc::clone(&breaker),
            Arc::clone(&metrics),
            settings.timeout,
        ));
        tracing::info!(url = %settings.url, prefix = %settings.prefix, "shared cache configured");
        Ok(Arc::new(SharedCache {
            settings,
            link,
            breaker,
            writes,
            metrics,
            fingerprint,
        }))
    }

    pub fn settings(&self) -> &SharedCacheSettings {
        &self.settings
    }

    /// The trust fingerprint entries are written with and must be read with.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    fn stats(&self) -> &SharedCacheStats {
        self.metrics.shared_cache()
    }

    /// The shared answer to `qname`/`qtype`, if Redis has a usable one within the timeout; it
    /// is put in `cache` (at [`Rank::Shared`]) on the way. `None` on a miss, on any failure, and
    /// while the breaker is open.
    pub async fn lookup(&self, cache: &Cache, qname: &Name, qtype: RecordType) -> Option<Answer> {
        if !self.breaker.allow() {
            self.stats().skipped();
            return None;
        }
        let key = codec::key(&self.settings.prefix, qname, qtype);
        let started = Instant::now();
        let reply = tokio::time::timeout(
            self.settings.timeout,
            self.link.get_bounded(&key, codec::MAX_VALUE_LEN),
        )
        .await;
        let value = match reply {
            Ok(Ok(value)) => {
                self.stats().round_trip(started.elapsed());
                record_success(&self.breaker, self.stats());
                value
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, %key, "shared cache lookup failed");
                record_failure(&self.breaker, self.stats(), SharedCacheFailure::Connection);
                return None;
            }
            Err(_) => {
                record_failure(&self.breaker, self.stats(), SharedCacheFailure::Timeout);
                return None;
            }
        };
        if value.is_empty() {
            self.stats().miss();
            return None;
        }
        let policy = ReadPolicy {
            now_ms: cache.clock().now_ms(),
            fingerprint: self.fingerprint,
            max_ttl: cache.ttl.max_ttl,
            max_negative_ttl: cache.ttl.max_negative_ttl,
        };
        match codec::decode(&value, qname, qtype, policy) {
            Ok(answer) => {
                self.stats().hit();
                cache.insert_shared(qname, qtype, &answer);
                Some(answer)
            }
            Err(rejected) => {
                if !matches!(rejected, Rejected::Expired) {
                    tracing::debug!(%key, reason = %rejected, "shared cache value refused");
                }
                self.stats().rejected(rejected.label());
                self.stats().miss();
                None
            }
        }
    }

    /// Offers what ferret resolved for `qname`/`qtype` to the shared cache: queued for the
    /// writer, or dropped (and counted) when the queue is full or the breaker is open. Answers
    /// that are never shared (see [`codec::encode`]) are skipped silently.
    pub fn offer(&self, cache: &Cache, qname: &Name, qtype: RecordType, answer: &Answer) {
        let Some((value, ttl_ms)) = codec::encode(
            qname,
            qtype,
            answer,
            cache.clock().now_ms(),
            self.fingerprint,
        ) else {
            return;
        };
        if self.breaker.is_open() {
            self.stats().dropped_write();
            return;
        }
        let write = Write {
            key: codec::key(&self.settings.prefix, qname, qtype),
            value,
            ttl_ms,
        };
        if self.writes.try_send(write).is_err() {
            self.stats().dropped_write();
        }
    }

    /// Removes every key of this fleet (those under the prefix) from Redis, on every master of
    /// a cluster; returns how many there were.
    pub async fn flush(&self) -> Result<u64, SharedCacheError> {
        tokio::time::timeout(
            FLUSH_TIMEOUT,
            self.link.remove_prefixed(&self.settings.prefix),
        )
        .await
        .map_err(|_| SharedCacheError::Timeout)?
    }
}

fn record_success(breaker: &Breaker, stats: &SharedCacheStats) {
    let was_open = breaker.is_open();
    breaker.success();
    if was_open {
        tracing::info!("shared cache answering again");
        stats.breaker(false, false);
    }
}

fn record_failure(breaker: &Breaker, stats: &SharedCacheStats, failure: SharedCacheFailure) {
    stats.error(failure);
    let tripped = breaker.failure();
    stats.breaker(breaker.is_open(), tripped);
}

/// Sends queued writes, at most [`CONCURRENT_WRITES`] at once (the connection pipelines them);
/// ends when the tier is dropped.
async fn drain_writes(
    mut queue: mpsc::Receiver<Write>,
    link: Arc<RedisLink>,
    breaker: Arc<Breaker>,
    metrics: Arc<Metrics>,
    timeout: Duration,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_WRITES));
    while let Some(write) = queue.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        if !breaker.allow() {
            metrics.shared_cache().dropped_write();
            continue;
        }
        let link = Arc::clone(&link);
        let breaker = Arc::clone(&breaker);
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _permit = permit;
            let stats = metrics.shared_cache();
            let started = Instant::now();
            // Writes get a little more time than lookups: nobody waits for them.
            let sent = tokio::time::timeout(
                timeout * 4,
                link.set(&write.key, &write.value, write.ttl_ms),
            )
            .await;
            match sent {
                Ok(Ok(())) => {
                    stats.round_trip(started.elapsed());
                    stats.write();
                    record_success(&breaker, stats);
                }
                Ok(Err(error)) => {
                    tracing::debug!(%error, key = %write.key, "shared cache write failed");
                    stats.dropped_write();
                    record_failure(&breaker, stats, SharedCacheFailure::Connection);
                }
                Err(_) => {
                    stats.dropped_write();
                    record_failure(&breaker, stats, SharedCacheFailure::Timeout);
                }
            }
        });
    }
}

impl Cache {
    /// Puts an answer read from the shared cache into the local one, at [`Rank::Shared`]: each
    /// RRset of the answer section with its RRSIGs, and for a negative answer the NXDOMAIN or
    /// NODATA at the end of the chain with its proof. A positive answer with an authority
    /// section (a wildcard expansion's NSEC proof) is answered but not cached here: which RRset
    /// the proof belongs to is not in the message.
    pub fn insert_shared(&self, qname: &Name, qtype: RecordType, answer: &Answer) {
        let negative = answer.rcode == ResponseCode::NXDomain || answer.answers.is_empty();
        if !negative && !answer.authorities.is_empty() {
            return;
        }
        for (records, rrsigs) in rrsets(&answer.answers) {
            self.insert_validated_rrset(records, rrsigs, Rank::Shared, answer.security);
        }
        if !negative {
            return;
        }
        let Some(proof) = negative_proof(&answer.authorities) else {
            return;
        };
        let end = chain_end(qname, &answer.answers);
        if answer.rcode == ResponseCode::NXDomain {
            self.insert_nxdomain(&end, &proof, Rank::Shared, answer.security);
        } else {
            self.insert_nodata(&end, qtype, &proof, Rank::Shared, answer.security);
        }
    }
}

/// The records grouped into RRsets (owner, type, case-blind), each with the RRSIGs covering it.
fn rrsets(records: &[Record]) -> Vec<(Vec<Record>, Vec<Record>)> {
    let mut sets: Vec<(Vec<Record>, Vec<Record>)> = Vec::new();
    for record in records
        .iter()
        .filter(|r| r.record_type() != RecordType::RRSIG)
    {
        let same = |set: &&mut (Vec<Record>, Vec<Record>)| {
            set.0[0].record_type() == record.record_type() && set.0[0].name == record.name
        };
        match sets.iter_mut().find(|set| same(set)) {
            Some(set) => set.0.push(record.clone()),
            None => sets.push((vec![record.clone()], Vec::new())),
        }
    }
    for sig in records
        .iter()
        .filter(|r| r.record_type() == RecordType::RRSIG)
    {
        if let Some(set) = sets
            .iter_mut()
            .find(|set| rrsig_covers(sig, set.0[0].record_type()) && set.0[0].name == sig.name)
        {
            set.1.push(sig.clone());
        }
    }
    sets
}

/// The SOA with its RRSIGs, and the rest of the authority section as the denial proof.
fn negative_proof(authorities: &[Record]) -> Option<NegativeProof> {
    let soa = authorities
        .iter()
        .find(|r| r.record_type() == RecordType::SOA)?
        .clone();
    let (soa_rrsigs, nsecs): (Vec<Record>, Vec<Record>) = authorities
        .iter()
        .filter(|r| r.record_type() != RecordType::SOA)
        .cloned()
        .partition(|r| rrsig_covers(r, RecordType::SOA) && r.name == soa.name);
    Some(NegativeProof {
        soa,
        soa_rrsigs,
        nsecs,
    })
}

/// The name the CNAME chain in `answers` leads `qname` to.
fn chain_end(qname: &Name, answers: &[Record]) -> Name {
    let mut name = qname.clone();
    // Bounded: each step follows a different record.
    for _ in 0..answers.len() {
        match answers
            .iter()
            .find(|r| r.name == name)
            .and_then(cname_target)
        {
            Some(target) => name = target.clone(),
            None => break,
        }
    }
    name
}
