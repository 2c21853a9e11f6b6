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
mod qmin;

use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use thiserror::Error;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::{Instant, timeout_at};

pub use budget::Budget;
pub use classify::{Classified, SoaProof, classify};
pub use delegation::{ConfiguredDelegations, DelegationPoint, ServerRole};
pub use inflight::InFlight;

use crate::answer::Answer;
use crate::cache::{Cache, CacheLookup, TtlPolicy};
use crate::clock::Clock;
use crate::config::{Config, Limits};
use crate::hints::{HintsError, RootHints};
use crate::local_zones::{LocalAnswer, LocalZones};
use crate::upstream::{AddressPolicy, ServerSelection, Upstream};

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
}

/// Resolver settings taken from [`Config`].
#[derive(Debug, Clone)]
struct Settings {
    limits: Limits,
    qname_minimisation: bool,
    ipv6_upstream: bool,
    max_ttl: u32,
}

pub struct Resolver {
    cache: Arc<Cache>,
    upstream: Upstream,
    /// Shared with the resolvers that replace this one on reload: what was measured stays true.
    selection: Arc<ServerSelection>,
    hints: RootHints,
    local_zones: LocalZones,
    /// Forward and stub zones.
    configured: ConfiguredDelegations,
    inflight: InFlight,
    settings: Settings,
    /// Held while the root NS set is primed, so a burst of first queries primes once.
    priming: AsyncMutex<()>,
}

impl Resolver {
    pub fn new(config: &Config, clock: Clock) -> Result<Arc<Self>, HintsError> {
        let ttl = TtlPolicy {
            min_ttl: config.min_ttl,
            max_ttl: config.max_ttl,
            max_negative_ttl: config.max_negative_ttl,
        };
        let cache = Arc::new(Cache::new(config.cache_size, ttl, clock));
        Self::with_cache(config, cache, Arc::default())
    }

    /// A resolver for a reloaded `config` that keeps this one's cache and server measurements.
    /// The cache's size and TTL bounds stay as they were: they take effect on restart.
    pub fn reconfigured(&self, config: &Config) -> Result<Arc<Self>, HintsError> {
        Self::with_cache(config, Arc::clone(&self.cache), Arc::clone(&self.selection))
    }

    /// Forgets what the cache holds for forward and stub zones configured differently in
    /// `previous`: those answers came from servers that no longer speak for the zone.
    pub fn forget_changed_zones(&self, previous: &Resolver) {
        for zone in self.configured.changed_since(&previous.configured) {
            let removed = self.cache.remove_zone(&zone);
            tracing::info!(%zone, removed, "zone configured differently; its cache entries dropped");
        }
    }

    fn with_cache(
        config: &Config,
        cache: Arc<Cache>,
        selection: Arc<ServerSelection>,
    ) -> Result<Arc<Self>, HintsError> {
        let hints = RootHints::load(config.root_hints.as_deref())?;
        let upstream = Upstream::new(AddressPolicy {
            allow_loopback: config.allow_loopback_upstream,
            allow_ipv6: config.ipv6_upstream,
        });
        Ok(Arc::new(Resolver {
            cache,
            upstream,
            selection,
            hints,
            local_zones: LocalZones::new(
                &config.local_zone_nodefault,
                &config.local_zones,
                &config.local_data,
            ),
            configured: ConfiguredDelegations::new(&config.forward_zones, &config.stub_zones),
            inflight: InFlight::default(),
            settings: Settings {
                limits: config.limits.clone(),
                qname_minimisation: config.qname_minimisation,
                ipv6_upstream: config.ipv6_upstream,
                max_ttl: config.max_ttl,
            },
            priming: AsyncMutex::new(()),
        }))
    }

    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    /// The answer if it needs no upstream query: a local zone, or a complete answer in the cache.
    /// This is the hot path, run inline on the listener without spawning a task.
    pub fn answer_without_upstream(&self, qname: &Name, qtype: RecordType) -> Option<Answer> {
        if let Some(answer) = self.local_zones.answer(qname, qtype) {
            return Some(answer);
        }
        match self
            .cache
            .lookup_answer(qname, qtype, self.settings.limits.max_cname_chain)
        {
            CacheLookup::Hit(answer) => Some(answer),
            CacheLookup::Partial { .. } | CacheLookup::Miss => None,
        }
    }

    /// Answers a client question, resolving it if need be. Concurrent identical questions share
    /// one resolution. Never takes longer than the resolution timeout; failures become SERVFAIL.
    pub async fn resolve(self: &Arc<Self>, qname: &Name, qtype: RecordType) -> Arc<Answer> {
        if let Some(answer) = self.answer_without_upstream(qname, qtype) {
            return Arc::new(answer);
        }
        let this = Arc::clone(self);
        let name = qname.clone();
        self.inflight
            .resolve((qname.clone(), qtype), move || async move {
                let timeout =
                    std::time::Duration::from_millis(this.settings.limits.resolution_timeout_ms);
                let deadline = Instant::now() + timeout;
                let budget = Budget::new(deadline, this.settings.limits.max_upstream_queries);
                match timeout_at(
                    deadline,
                    this.resolve_chain(name.clone(), qtype, &budget, 0),
                )
                .await
                {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(error)) => {
                        tracing::debug!(%name, %qtype, %error, "resolution failed");
                        Answer::servfail()
                    }
                    Err(_) => {
                        tracing::debug!(%name, %qtype, "resolution timed out");
                        Answer::servfail()
                    }
                }
            })
            .await
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
        loop {
            match self.local_zones.lookup(&name, qtype) {
                Some(LocalAnswer::Final(answer)) => return Ok(prepend(chain, answer)),
                Some(LocalAnswer::Alias {
                    chain: links,
                    target,
                }) => {
                    chain.extend(links);
                    name = self.next_link(&mut seen, target)?;
                    continue;
                }
                None => {}
            }
            match self.cache.lookup_answer(&name, qtype, max_links) {
                CacheLookup::Hit(answer) if answer.rcode == ResponseCode::ServFail => {
                    return Err(ResolveError::ChainLoop);
                }
                CacheLookup::Hit(answer) => return Ok(prepend(chain, answer)),
                CacheLookup::Partial {
                    chain: links, next, ..
                } => {
                    chain.extend(links);
                    name = self.next_link(&mut seen, next)?;
                }
                CacheLookup::Miss => {}
            }
            match self.iterate(&name, qtype, budget, depth).await? {
                iterate::Step::Done(answer) => return Ok(prepend(chain, answer)),
                iterate::Step::Alias {
                    chain: links,
                    target,
                } => {
                    chain.extend(links);
                    name = self.next_link(&mut seen, target)?;
                }
            }
        }
    }

    /// Records one more link of a chain, refusing loops and chains over the limit.
    fn next_link(&self, seen: &mut Vec<Name>, next: Name) -> Result<Name, ResolveError> {
        let max_links = self.settings.limits.max_cname_chain;
        if seen.contains(&next) {
            return Err(ResolveError::ChainLoop);
        }
        if seen.len() as u32 > max_links {
            return Err(ResolveError::ChainLimit(max_links));
        }
        seen.push(next.clone());
        Ok(next)
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
