//! The iterative resolver: from the root down through referrals to the servers that know.
//!
//! A client question is answered from local zones, then the cache, and only then by iteration.
//! Iteration caches everything it learns (scrubbed, ranked), and the CNAME/DNAME chain of an
//! answer is followed across zones one link at a time, each link itself looked up in the cache
//! first. All work for one client question draws on one [`Budget`] of time and upstream queries.

mod budget;
mod classify;
mod delegation;
mod inflight;
mod iterate;
mod listening;
mod qmin;
mod stats;
mod trust;
mod upstream_inflight;
mod validate;

use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use thiserror::Error;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::{Instant, timeout_at};

pub use budget::Budget;
pub use classify::{Classified, SoaProof, classify};
pub use delegation::{ConfiguredDelegations, DelegationPoint, ServerRole};
pub use inflight::{InFlight, InFlightFull};
pub use stats::ResolverStats;
pub use trust::{Dnssec, ZoneSecurity};
pub use upstream_inflight::UpstreamInFlight;

use crate::answer::Answer;
use crate::cache::shared::{SharedCache, SharedCacheError, SharedCacheSettings};
use crate::cache::{Cache, CacheKey, CacheLookup, TtlPolicy, Validation};
use crate::clock::Clock;
use crate::config::{Config, Limits};
use crate::hints::{HintsError, RootHints};
use crate::local_zones::{LocalAnswer, LocalZones};
use crate::metrics::Metrics;
use crate::metrics::labels::Limit;
use crate::upstream::{AddressPolicy, OutstandingQueries, ServerHealth, ServerSelection, Upstream};
use crate::validator::WorkCaps;
use stats::Counters;

/// Why a resolver cannot be made from a configuration.
#[derive(Debug, Error)]
pub enum SetupError {
    #[error(transparent)]
    Hints(#[from] HintsError),
    #[error(transparent)]
    Anchors(#[from] crate::validator::AnchorError),
    #[error(transparent)]
    SharedCache(#[from] SharedCacheError),
}

/// Why a question ended in SERVFAIL.
#[derive(Debug, Error)]
pub enum ResolveError {
    #[error("the time budget for the query ran out")]
    Timeout,
    #[error("the upstream query budget for the query ran out")]
    QueryLimit,
    #[error("every server of {0} failed")]
    ServersFailed(Name),
    #[error("no reachable server address for {0}")]
    NoServers(Name),
    #[error("more than {0} referrals")]
    ReferralLimit(u32),
    #[error("a CNAME/DNAME chain longer than {0} links")]
    ChainLimit(u32),
    #[error("a CNAME/DNAME chain that loops")]
    ChainLoop,
    #[error("server names nested deeper than {0} glueless lookups")]
    GluelessDepth(u32),
    #[error(
        "the servers of {0} can only be found through {0} itself (glueless delegations in a cycle)"
    )]
    DependencyCycle(Name),
}

impl ResolveError {
    /// The configured limit this failure ran into, if it is one.
    pub fn limit(&self) -> Option<Limit> {
        match self {
            ResolveError::Timeout => Some(Limit::ResolutionTimeout),
            ResolveError::QueryLimit => Some(Limit::UpstreamQueries),
            ResolveError::ReferralLimit(_) => Some(Limit::Referrals),
            ResolveError::ChainLimit(_) => Some(Limit::CnameChain),
            ResolveError::GluelessDepth(_) => Some(Limit::GluelessDepth),
            ResolveError::ServersFailed(_)
            | ResolveError::NoServers(_)
            | ResolveError::DependencyCycle(_)
            | ResolveError::ChainLoop => None,
        }
    }

    /// Whether the failure is the servers' (none answered usefully, or time ran out) rather than
    /// the data's (a CNAME chain that loops or runs too long). Only the former is a reason to
    /// answer from stale data (RFC 8767 §4): a stale answer to a looping chain would loop too.
    pub fn is_unreachable(&self) -> bool {
        !matches!(self, ResolveError::ChainLimit(_) | ResolveError::ChainLoop)
    }
}

/// Where an answer given without going upstream came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalSource {
    /// A built-in local zone (RFC 6761, RFC 6303).
    LocalZone,
    Cache,
}

/// Resolver settings taken from [`Config`].
#[derive(Debug, Clone)]
struct Settings {
    limits: Limits,
    qname_minimisation: bool,
    ipv6_upstream: bool,
    max_ttl: u32,
    prefetch: bool,
    /// The validation work one question may cause, from `limits`. Made once here: the default
    /// caps come from parsing an empty command line, which cost a cold resolution two thirds of
    /// its instructions when it was done per question with validation off.
    work_caps: WorkCaps,
}

/// What a resolver shares with the resolvers that replace it on reload.
struct Kept {
    cache: Arc<Cache>,
    selection: Arc<ServerSelection>,
    counters: Arc<Counters>,
    metrics: Arc<Metrics>,
    /// The shared tier of the resolver being replaced, kept if its settings stay the same.
    shared: Option<Arc<SharedCache>>,
}

pub struct Resolver {
    cache: Arc<Cache>,
    /// The shared second tier (Redis), asked on a local miss before iterating.
    shared: Option<Arc<SharedCache>>,
    upstream: Upstream,
    /// Shared with the resolvers that replace this one on reload: what was measured stays true.
    selection: Arc<ServerSelection>,
    hints: RootHints,
    local_zones: LocalZones,
    /// Forward and stub zones.
    configured: ConfiguredDelegations,
    inflight: InFlight,
    /// Upstream questions being asked now, so that concurrent resolutions ask each only once.
    upstream_inflight: UpstreamInFlight,
    outstanding: OutstandingQueries,
    counters: Arc<Counters>,
    settings: Settings,
    metrics: Arc<Metrics>,
    /// Held while the root NS set is primed, so a burst of first queries primes once.
    priming: AsyncMutex<()>,
    /// DNSSEC validation: anchors and the per-zone key cache; `None` with validation off.
    dnssec: Option<Dnssec>,
}

impl Resolver {
    pub fn new(config: &Config, clock: Clock) -> Result<Arc<Self>, SetupError> {
        Self::with_metrics(config, clock, Arc::new(Metrics::default()))
    }

    /// As [`Resolver::new`], counting into `metrics` (shared with the listeners).
    pub fn with_metrics(
        config: &Config,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, SetupError> {
        let ttl = TtlPolicy {
            min_ttl: config.min_ttl,
            max_ttl: config.max_ttl,
            max_negative_ttl: config.max_negative_ttl,
        };
        let kept = Kept {
            cache: Arc::new(
                Cache::new(config.cache_size, ttl, clock.clone())
                    .with_stale_window(config.serve_stale_window),
            ),
            selection: Arc::new(ServerSelection::new(clock)),
            counters: Arc::default(),
            metrics,
            shared: None,
        };
        Self::with_kept(config, kept)
    }

    /// A resolver for a reloaded `config` that keeps this one's cache, server measurements,
    /// counters and metrics. The cache's size, TTL bounds and stale window stay as they were:
    /// they take effect on restart. Questions and upstream queries in flight are counted by the
    /// resolver that started them. The shared cache connection is kept if its settings (and
    /// the trust anchors) are unchanged, and made anew otherwise.
    pub fn reconfigured(&self, config: &Config) -> Result<Arc<Self>, SetupError> {
        let kept = Kept {
            cache: Arc::clone(&self.cache),
            selection: Arc::clone(&self.selection),
            counters: Arc::clone(&self.counters),
            metrics: Arc::clone(&self.metrics),
            shared: self.shared.clone(),
        };
        Self::with_kept(config, kept)
    }

    /// Forgets what the cache holds for forward and stub zones configured differently in
    /// `previous`: those answers came from servers that no longer speak for the zone.
    pub fn forget_changed_zones(&self, previous: &Resolver) {
        for zone in self.configured.changed_since(&previous.configured) {
            let removed = self.cache.remove_zone(&zone);
            tracing::info!(%zone, removed, "zone configured differently; its cache entries dropped");
        }
        let now = self.dnssec.as_ref().map(Dnssec::trust_points);
        let before = previous.dnssec.as_ref().map(Dnssec::trust_points);
        if now != before {
            // What was validated was validated against other anchors (or not at all).
            let removed = self.cache.len();
            self.cache.clear();
            tracing::info!(removed, "DNSSEC settings changed; the cache was emptied");
        }
    }

    fn with_kept(config: &Config, kept: Kept) -> Result<Arc<Self>, SetupError> {
        let Kept {
            cache,
            selection,
            counters,
            metrics,
            shared,
        } = kept;
        let hints = RootHints::load(config.root_hints.as_deref())?;
        let dnssec = Dnssec::from_config(config, cache.clock().clone())?;
        let fingerprint = dnssec.as_ref().map_or(0, Dnssec::fingerprint);
        let shared = match SharedCacheSettings::from_config(config) {
            None => None,
            Some(settings) => match shared {
                Some(tier) if *tier.settings() == settings && tier.fingerprint() == fingerprint => {
                    Some(tier)
                }
                _ => Some(SharedCache::start(
                    settings,
                    fingerprint,
                    &cache,
                    Arc::clone(&metrics),
                )?),
            },
        };
        let upstream = Upstream::new(
            AddressPolicy {
                allow_loopback: config.allow_loopback_upstream,
                allow_ipv6: config.ipv6_upstream,
            },
            Arc::clone(&metrics),
        )
        .with_0x20(config.use_0x20)
        .with_tls_forwarders(&config.forward_zones, config.tls_ca_file.as_deref());
        let max_inflight =
            usize::try_from(config.limits.max_inflight_resolutions).unwrap_or(usize::MAX);
        Ok(Arc::new(Resolver {
            cache,
            shared,
            upstream,
            selection,
            hints,
            local_zones: LocalZones::new(
                &config.local_zone_nodefault,
                &config.local_zones,
                &config.local_data,
            ),
            configured: ConfiguredDelegations::new(&config.forward_zones, &config.stub_zones),
            inflight: InFlight::new(max_inflight),
            // Each resolution waits on at most one upstream question at a time, so the cap on
            // resolutions also bounds the questions worth merging.
            upstream_inflight: UpstreamInFlight::new(max_inflight),
            outstanding: OutstandingQueries::new(config.limits.max_queries_per_server),
            counters,
            settings: Settings {
                limits: config.limits.clone(),
                qname_minimisation: config.qname_minimisation,
                ipv6_upstream: config.ipv6_upstream,
                max_ttl: config.max_ttl,
                prefetch: config.prefetch,
                work_caps: WorkCaps::from_limits(&config.limits),
            },
            metrics,
            priming: AsyncMutex::new(()),
            dnssec,
        }))
    }

    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    /// The shared second tier (Redis), when one is configured.
    pub fn shared_cache(&self) -> Option<&Arc<SharedCache>> {
        self.shared.as_ref()
    }

    /// The validator's state, when DNSSEC validation is on.
    pub fn dnssec(&self) -> Option<&Dnssec> {
        self.dnssec.as_ref()
    }

    /// The budget of one client question that must be answered by `deadline`.
    fn budget(&self, deadline: Instant) -> Budget {
        Budget::with_caps(
            deadline,
            self.settings.limits.max_upstream_queries,
            self.settings.work_caps,
        )
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The questions being resolved right now (merged by name and type).
    pub fn inflight(&self) -> &InFlight {
        &self.inflight
    }

    /// Work in progress and work turned away by the limits.
    pub fn stats(&self) -> ResolverStats {
        ResolverStats {
            inflight: self.inflight.len(),
            inflight_refused: Counters::read(&self.counters.inflight_refused),
            outstanding_queries: self.outstanding.total(),
            busy_server_skips: Counters::read(&self.counters.busy_server_skips),
            merged_upstream_queries: Counters::read(&self.counters.merged_upstream_queries),
            nsec_synthesized: Counters::read(&self.counters.nsec_synthesized),
        }
    }

    /// Queries ferret has outstanding at one upstream server now (at most
    /// `--max-queries-per-server`).
    pub fn outstanding_at(&self, server: std::net::IpAddr) -> u32 {
        self.outstanding.at(server)
    }

    /// What server selection knows about an upstream address on port 53 (its SRTT, failures,
    /// hold-down).
    pub fn server_health(&self, server: std::net::IpAddr) -> Option<ServerHealth> {
        self.selection
            .health(std::net::SocketAddr::new(server, crate::wire::DNS_PORT))
    }

    /// Number of distinct questions being resolved right now. Every resolution ends within the
    /// resolution timeout, so this drops back to 0 once clients stop asking.
    pub fn questions_in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// The answer if it needs no upstream query: a local zone, or a complete answer in the cache.
    /// This is the hot path, run inline on the listener without spawning a task.
    pub fn answer_without_upstream(&self, qname: &Name, qtype: RecordType) -> Option<Answer> {
        self.lookup_without_upstream(qname, qtype)
            .map(|(answer, _)| answer)
    }

    /// As [`Resolver::answer_without_upstream`], saying where the answer came from.
    pub fn lookup_without_upstream(
        &self,
        qname: &Name,
        qtype: RecordType,
    ) -> Option<(Answer, LocalSource)> {
        if let Some(answer) = self.local_zones.answer(qname, qtype) {
            return Some((answer, LocalSource::LocalZone));
        }
        match self
            .cache
            .lookup_answer(qname, qtype, self.settings.limits.max_cname_chain)
        {
            CacheLookup::Hit(answer) => Some((answer, LocalSource::Cache)),
            CacheLookup::Partial { .. } => None,
            CacheLookup::Miss => self
                .answer_from_nsec_ranges(qname, qtype)
                .map(|answer| (answer, LocalSource::Cache)),
        }
    }

    /// NXDOMAIN or NODATA synthesized from validated NSEC ranges in the cache (RFC 8198 §5),
    /// when aggressive use of them is on and they prove the answer on their own.
    fn answer_from_nsec_ranges(&self, qname: &Name, qtype: RecordType) -> Option<Answer> {
        let dnssec = self.dnssec.as_ref().filter(|d| d.aggressive_nsec)?;
        let candidates = self.cache.nsec_ranges().candidates(qname)?;
        // The ranges were validated when they came in; only the proof logic runs again.
        let work = crate::validator::WorkBudget::new(dnssec.caps);
        let zone = &candidates.zone;
        let nsecs = &candidates.nsecs;
        use crate::validator::denial::{Denial, prove_nodata, prove_nxdomain};
        let rcode = if matches!(
            prove_nodata(qname, qtype, zone, nsecs, &work),
            Ok(Denial::NoData | Denial::WildcardNoData { .. })
        ) {
            ResponseCode::NoError
        } else if matches!(
            prove_nxdomain(qname, zone, nsecs, &work),
            Ok(Denial::NxDomain)
        ) {
            ResponseCode::NXDomain
        } else {
            return None;
        };
        Counters::count(&self.counters.nsec_synthesized);
        let mut authorities = candidates.soa;
        authorities.extend(candidates.nsecs);
        Some(Answer {
            rcode,
            answers: Vec::new(),
            authorities,
            security: Validation::Secure,
        })
    }

    /// Answers a client question, resolving it if need be. Concurrent identical questions share
    /// one resolution. Never takes longer than the resolution timeout; failures become a stale
    /// answer where the cache has one, SERVFAIL otherwise, and a new question while
    /// `max_inflight_resolutions` others are being resolved is SERVFAIL at once. See
    /// [`Resolver::resolve_uncached`] for the task it runs in.
    pub async fn resolve(self: &Arc<Self>, qname: &Name, qtype: RecordType) -> Arc<Answer> {
        if let Some(answer) = self.answer_without_upstream(qname, qtype) {
            return Arc::new(answer);
        }
        self.resolve_uncached(qname, qtype).await
    }

    /// [`Resolver::resolve`] for a question that [`Resolver::lookup_without_upstream`] has just
    /// failed to answer, without asking the local zones and the cache again first. (The
    /// resolution looks once more when it starts, which is what catches an answer that another
    /// resolution cached in between.)
    ///
    /// A resolution runs in the task that starts it ([`InFlight::resolve`]): callers run this in
    /// a task of its own that runs to completion, as the listeners do, or the resolution stops
    /// with them.
    pub async fn resolve_uncached(
        self: &Arc<Self>,
        qname: &Name,
        qtype: RecordType,
    ) -> Arc<Answer> {
        let resolution = self
            .inflight
            .resolve(CacheKey::rrset(qname, qtype), || async {
                let timeout =
                    std::time::Duration::from_millis(self.settings.limits.resolution_timeout_ms);
                let deadline = Instant::now() + timeout;
                // The second tier, once per merged miss, within its own short timeout. The
                // local tier was asked just before (by the caller), and resolve_chain asks it
                // again, which catches what a concurrent resolution cached meanwhile.
                if let Some(shared) = &self.shared
                    && let Some(answer) = shared.lookup(&self.cache, qname, qtype).await
                {
                    return answer;
                }
                let budget = self.budget(deadline);
                let error = match timeout_at(
                    deadline,
                    self.resolve_chain(qname.clone(), qtype, &budget, 0),
                )
                .await
                {
                    Ok(Ok(answer)) => {
                        if let Some(shared) = &self.shared {
                            shared.offer(&self.cache, qname, qtype, &answer);
                        }
                        return answer;
                    }
                    Ok(Err(error)) => error,
                    Err(_) => ResolveError::Timeout,
                };
                tracing::debug!(name = %qname, %qtype, %error, "resolution failed");
                if let Some(limit) = error.limit() {
                    self.metrics.record_limit(limit);
                }
                self.stale_answer(qname, qtype, &error)
                    .unwrap_or_else(Answer::servfail)
            })
            .await;
        resolution.unwrap_or_else(|InFlightFull| {
            Counters::count(&self.counters.inflight_refused);
            self.metrics.record_limit(Limit::InflightResolutions);
            tracing::debug!(%qname, %qtype, "too many resolutions in flight; SERVFAIL");
            Arc::new(Answer::servfail())
        })
    }

    /// Refreshes `qname`/`qtype` in the background, ahead of its expiry (Unbound's `prefetch`):
    /// one iteration for the name itself, bypassing the cache, whose results replace the cached
    /// ones; the encoded answers are then dropped so the next query is built from the fresh data.
    /// Identical refreshes and resolutions in flight are merged; a failed refresh changes nothing.
    pub fn prefetch(self: &Arc<Self>, qname: Name, qtype: RecordType) {
        if !self.settings.prefetch {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let refresher = Arc::clone(&this);
            let name = qname.clone();
            let refreshed = this
                .inflight
                .resolve(CacheKey::rrset(&qname, qtype), move || async move {
                    let timeout = std::time::Duration::from_millis(
                        refresher.settings.limits.resolution_timeout_ms,
                    );
                    let deadline = Instant::now() + timeout;
                    let budget = refresher.budget(deadline);
                    // Whoever joins this refresh gets the real answer: the fresh data, with the
                    // rest of any chain, assembled like any resolution's.
                    let refresh = async {
                        refresher.iterate(&name, qtype, &budget, 0).await?;
                        refresher
                            .resolve_chain(name.clone(), qtype, &budget, 0)
                            .await
                    };
                    match timeout_at(deadline, refresh).await {
                        Ok(Ok(answer)) => answer,
                        Ok(Err(error)) => {
                            tracing::debug!(%name, %qtype, %error, "prefetch failed");
                            Answer::servfail()
                        }
                        Err(_) => Answer::servfail(),
                    }
                })
                .await;
            if refreshed.is_ok_and(|answer| answer.rcode != ResponseCode::ServFail) {
                this.cache.messages().forget(&qname, qtype);
            }
        });
    }

    /// Serve-stale (RFC 8767): when the servers cannot be reached or all fail, expired data still
    /// within the stale window answers, each record with a TTL of 30 s (§4). Stale data is only
    /// ever looked at here, after a resolution has failed, so it never hides one that succeeds;
    /// the next client query tries to resolve again, and a success replaces the stale data.
    ///
    /// This is the simple form of RFC 8767: the stale answer comes when resolution has failed,
    /// not after a shorter "client response timer" (§5 suggests 1.8 s) while resolution goes on.
    fn stale_answer(
        &self,
        qname: &Name,
        qtype: RecordType,
        error: &ResolveError,
    ) -> Option<Answer> {
        if !error.is_unreachable() {
            return None;
        }
        let max_links = self.settings.limits.max_cname_chain;
        match self.cache.lookup_stale_answer(qname, qtype, max_links) {
            CacheLookup::Hit(answer) if answer.rcode != ResponseCode::ServFail => {
                tracing::debug!(%qname, %qtype, %error, "resolution failed; answering with stale data");
                Some(answer)
            }
            _ => None,
        }
    }

    /// Resolves `qname`/`qtype` and every CNAME/DNAME link after it, each from local zones or
    /// the cache where possible and by iteration otherwise. `depth` counts the glueless server
    /// lookups this question is nested in.
    async fn resolve_chain(
        self: &Arc<Self>,
        qname: Name,
        qtype: RecordType,
        budget: &Budget,
        depth: u32,
    ) -> Result<Answer, ResolveError> {
        let max_links = self.settings.limits.max_cname_chain;
        let mut chain: Vec<Record> = Vec::new();
        let mut seen = vec![qname.clone()];
        let mut name = qname;
        // The status of the links followed so far: an answer is secure only if every link is.
        let mut security = Validation::Secure;
        loop {
            match self.local_zones.lookup(&name, qtype) {
                Some(LocalAnswer::Final(answer)) => {
                    return self.whole_chain(chain, answer, qtype, security);
                }
                Some(LocalAnswer::Alias {
                    chain: links,
                    target,
                }) => {
                    chain.extend(links);
                    security = security.and(Validation::Unchecked);
                    name = self.next_link(&mut seen, &chain, qtype, target)?;
                    continue;
                }
                None => {}
            }
            match self.cache.lookup_answer(&name, qtype, max_links) {
                CacheLookup::Hit(answer) if answer.rcode == ResponseCode::ServFail => {
                    return Err(ResolveError::ChainLoop);
                }
                CacheLookup::Hit(answer) => {
                    return self.whole_chain(chain, answer, qtype, security);
                }
                CacheLookup::Partial {
                    chain: links,
                    next,
                    security: links_security,
                    ..
                } => {
                    chain.extend(links);
                    security = security.and(links_security);
                    name = self.next_link(&mut seen, &chain, qtype, next)?;
                }
                CacheLookup::Miss => {}
            }
            match self.iterate(&name, qtype, budget, depth).await? {
                iterate::Step::Done(answer) => {
                    return self.whole_chain(chain, answer, qtype, security);
                }
                iterate::Step::Alias {
                    chain: links,
                    target,
                    security: links_security,
                } => {
                    chain.extend(links);
                    security = security.and(links_security);
                    name = self.next_link(&mut seen, &chain, qtype, target)?;
                }
            }
        }
    }

    /// Records one more link of a chain, refusing loops and chains over the limit.
    fn next_link(
        &self,
        seen: &mut Vec<Name>,
        chain: &[Record],
        qtype: RecordType,
        next: Name,
    ) -> Result<Name, ResolveError> {
        if seen.contains(&next) {
            return Err(ResolveError::ChainLoop);
        }
        self.check_chain_length(chain, qtype)?;
        seen.push(next.clone());
        Ok(next)
    }

    /// `answer` behind the chain that led to it, if the whole chain is within the limit; its
    /// status the weaker of the answer's and the chain's (`chain_security`).
    fn whole_chain(
        &self,
        chain: Vec<Record>,
        answer: Answer,
        qtype: RecordType,
        chain_security: Validation,
    ) -> Result<Answer, ResolveError> {
        let mut answer = prepend(chain, answer);
        answer.security = answer.security.and(chain_security);
        self.check_chain_length(&answer.answers, qtype)?;
        Ok(answer)
    }

    /// Counts the links of `chain` wherever they came from: one server may follow a long chain
    /// inside its own zone and send it in one answer, which must not get around the limit that
    /// a chain across zones meets one query at a time (Unbound's iter-scrub-cname and
    /// max-query-restarts are both 11 for this reason). Every link, a DNAME's included, ends
    /// in exactly one CNAME; a question for CNAME (or ANY) may have one more as its answer.
    fn check_chain_length(&self, chain: &[Record], qtype: RecordType) -> Result<(), ResolveError> {
        let max_links = self.settings.limits.max_cname_chain;
        let cnames = chain
            .iter()
            .filter(|r| r.record_type() == RecordType::CNAME)
            .count();
        let links = match qtype {
            RecordType::CNAME | RecordType::ANY => cnames.saturating_sub(1),
            _ => cnames,
        };
        if links > max_links as usize {
            return Err(ResolveError::ChainLimit(max_links));
        }
        Ok(())
    }
}

/// `answer` with the chain that led to it in front of its answer section.
fn prepend(mut chain: Vec<Record>, mut answer: Answer) -> Answer {
    if !chain.is_empty() {
        chain.append(&mut answer.answers);
        answer.answers = chain;
    }
    answer
}
