//! One name through the hierarchy: find the closest delegation, ask its servers, follow referrals.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::time::Instant;

use super::classify::{Classified, SoaProof, classify};
use super::delegation::{DelegationPoint, ServerRole, address_of, cached_addresses};
use super::listening::Listening;
use super::qmin::{Minimiser, Question};
use super::upstream_inflight::{Followed, SharedResponse, Turn, UpstreamQuestion};
use super::{Budget, ResolveError, Resolver};
use crate::answer::Answer;
use crate::cache::{NegativeProof, Rank, Validation};
use crate::metrics::ValidationOutcome;
use crate::records::rrsig_covers;
use crate::upstream::{QuerySlot, Retransmissions, Try, Upstream, UpstreamError};
use crate::wire::DNS_PORT;

/// How one try at one server ended.
enum Asked {
    /// A usable answer, `rtt` after the query was sent.
    Usable {
        found: Box<(Message, Classified)>,
        server: SocketAddr,
        rtt: Duration,
    },
    /// No answer while the try listened, which it does until the client's budget runs out.
    Silent,
    /// An error, or an answer that does not parse, match or mean anything usable; held against
    /// the server if `penalise` (a server our policy forbids has done nothing wrong).
    Failed { penalise: bool },
}

/// How one try went while [`Resolver::ask_zone`] waited for it.
enum Tried {
    /// A usable answer, to this try or a late one to an earlier try.
    Answered(Box<(Message, Classified)>),
    /// No answer within the try's timeout (it goes on listening).
    TimedOut,
    /// The server failed, answered uselessly or was too busy to ask.
    Failed,
}

/// The question one zone's servers are asked, and how.
#[derive(Clone, Copy)]
struct ZoneQuestion<'a> {
    zone: &'a Name,
    role: ServerRole,
    name: &'a Name,
    rtype: RecordType,
}

/// Sends one question to `server` the way its role says: iteratively to an authority, with RD as
/// configured to a forwarder.
async fn send(
    upstream: &Upstream,
    role: ServerRole,
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    timeout: Duration,
    deadline: Instant,
) -> Result<Message, UpstreamError> {
    match role {
        ServerRole::Authority => upstream.query(server, name, rtype, timeout, deadline).await,
        ServerRole::Forwarder { recursion_desired } => {
            upstream
                .forward(server, recursion_desired, name, rtype, timeout, deadline)
                .await
        }
    }
}

/// What iterating for one name produced.
pub(super) enum Step {
    /// The final answer for the name (positive or negative).
    Done(Answer),
    /// The name is an alias: these records lead to `target`, which is resolved next.
    Alias {
        chain: Vec<Record>,
        target: Name,
        security: Validation,
    },
}

/// The final upstream answer for one name, before it is validated and cached.
pub(super) struct Fetched {
    /// The zone whose servers gave the answer (a forward zone's name, for a forwarder).
    pub zone: Name,
    pub classified: Classified,
    pub authoritative: bool,
    /// The NSEC/NSEC3 records (and their RRSIGs) of the authority section, in bailiwick.
    pub proof: Vec<Record>,
}

impl Fetched {
    /// Lowers every TTL of the answer to at most `cap` seconds (the time its signatures allow).
    fn cap_ttls(&mut self, cap: u32) {
        if cap == u32::MAX {
            return;
        }
        let chain = match &mut self.classified {
            Classified::Answer { chain }
            | Classified::Alias { chain, .. }
            | Classified::NxDomain { chain, .. }
            | Classified::NoData { chain, .. } => chain,
            Classified::Referral { .. } | Classified::Unusable(_) => return,
        };
        for record in chain.iter_mut() {
            record.ttl = record.ttl.min(cap);
        }
    }
}

impl Resolver {
    /// Walks from the closest known delegation to the servers authoritative for `name` and asks
    /// them for `qtype`, caching what it learns on the way; the answer is validated (when DNSSEC
    /// is on) and cached with its status.
    pub(super) async fn iterate(
        self: &Arc<Self>,
        name: &Name,
        qtype: RecordType,
        budget: &Budget,
        depth: u32,
    ) -> Result<Step, ResolveError> {
        let mut fetched = self.fetch(name, qtype, budget, depth).await?;
        let ttl_cap = std::sync::atomic::AtomicU32::new(u32::MAX);
        let security = match self
            .validate(&fetched, qtype, budget, depth, &ttl_cap)
            .await
        {
            Ok(security) => security,
            Err(error) => {
                self.metrics
                    .record_validation(ValidationOutcome::Indeterminate);
                return Err(error);
            }
        };
        let outcome = match security {
            Validation::Unchecked => None,
            Validation::Secure => Some(ValidationOutcome::Secure),
            Validation::Insecure => Some(ValidationOutcome::Insecure),
            Validation::Bogus(_) => Some(ValidationOutcome::Bogus),
        };
        if let Some(outcome) = outcome
            && !matches!(
                fetched.classified,
                Classified::Referral { .. } | Classified::Unusable(_)
            )
        {
            self.metrics.record_validation(outcome);
        }
        if let Validation::Bogus(reason) = security {
            self.log_bogus(&fetched.zone, name, qtype, reason);
        }
        fetched.cap_ttls(ttl_cap.into_inner());
        Ok(self.conclude(qtype, fetched, security))
    }

    /// [`Resolver::iterate`] up to the final answer, which is returned as it came: referrals on
    /// the way are cached, the answer itself is neither validated nor cached. The chain of trust
    /// fetches DS and DNSKEY sets this way, to check them its own way.
    pub(super) async fn fetch(
        self: &Arc<Self>,
        name: &Name,
        qtype: RecordType,
        budget: &Budget,
        depth: u32,
    ) -> Result<Fetched, ResolveError> {
        let mut delegation = self.closest_delegation(name, qtype, budget).await?;
        // A forwarder resolves the whole question itself: a minimised one would only make it
        // resolve names nobody asked for.
        let minimise = self.settings.qname_minimisation && delegation.role == ServerRole::Authority;
        let mut minimiser = Minimiser::new(minimise);
        let mut referrals = 0;
        let mut refetched: Vec<Name> = Vec::new();
        loop {
            let question = minimiser.question(&delegation.zone, name, qtype);
            let servers = match self.server_addresses(&delegation, budget, depth).await {
                Ok(servers) => servers,
                // A cached NS set can outlive its glue (shorter TTL, or evicted from another
                // shard): ask the parent again, whose referral brings both back, instead of
                // leaving the zone unreachable for the rest of the NS set's TTL.
                Err(ResolveError::NoServers(zone))
                    if !zone.is_root() && !delegation.configured && !refetched.contains(&zone) =>
                {
                    referrals += 1;
                    refetched.push(zone.clone());
                    if referrals > self.settings.limits.max_referrals {
                        return Err(ResolveError::ReferralLimit(
                            self.settings.limits.max_referrals,
                        ));
                    }
                    delegation = self.parent_delegation(&zone, budget).await?;
                    continue;
                }
                Err(error) => return Err(error),
            };
            let outcome = self
                .ask_delegation(&delegation, &servers, &question, budget, depth)
                .await;
            let (authoritative, classified, proof) = match outcome {
                Ok(found) => {
                    let mut proof = super::validate::proof_records(&found.0, &delegation.zone);
                    if self.dnssec.is_some() && matches!(found.1, Classified::Referral { .. }) {
                        proof.extend(super::validate::ds_records(&found.0, &delegation.zone));
                    }
                    let (authoritative, classified) = take_classified(found);
                    (authoritative, classified, proof)
                }
                Err(ResolveError::ServersFailed(_)) if question.minimised => {
                    minimiser.give_up();
                    continue;
                }
                // Only some of the zone's servers had addresses and those failed: the others'
                // glue may have expired or been evicted. Or the servers were the child's own NS
                // set, which need not be the parent's. Either way the parent's referral, used
                // as it comes, gives the servers the parent knows.
                Err(ResolveError::ServersFailed(zone))
                    if !zone.is_root()
                        && !delegation.configured
                        && !refetched.contains(&zone)
                        && (self.lacks_addresses(&delegation)
                            || self.has_child_ns_set(&delegation)) =>
                {
                    referrals += 1;
                    refetched.push(zone.clone());
                    delegation = self.parent_delegation(&zone, budget).await?;
                    continue;
                }
                Err(error) => return Err(error),
            };
            match classified {
                Classified::Referral { zone, ns, glue } => {
                    referrals += 1;
                    if referrals > self.settings.limits.max_referrals {
                        return Err(ResolveError::ReferralLimit(
                            self.settings.limits.max_referrals,
                        ));
                    }
                    self.cache_referral(&ns, &glue);
                    if let Some(dnssec) = &self.dnssec {
                        // The DS set (or the proof there is none) came with the referral,
                        // signed by the parent: the chain of trust need not ask for it again.
                        dnssec.keep_delegation_proof(&zone, &delegation.zone, proof);
                    }
                    delegation = DelegationPoint::from_referral(zone, &ns, &glue);
                }
                Classified::NxDomain { .. } if question.minimised => minimiser.give_up(),
                _ if question.minimised => minimiser.went_deeper(&question.name),
                classified => {
                    return Ok(Fetched {
                        zone: delegation.zone.clone(),
                        classified,
                        authoritative,
                        proof,
                    });
                }
            }
        }
    }

    /// The closest delegation for `name`: a configured forward or stub zone, the cache, or the
    /// (primed) root. DS records live on the parent side of a zone cut (RFC 4035 §3.1.4.1), so
    /// they are asked of the parent.
    async fn closest_delegation(
        self: &Arc<Self>,
        name: &Name,
        qtype: RecordType,
        budget: &Budget,
    ) -> Result<DelegationPoint, ResolveError> {
        let start = if qtype == RecordType::DS && !name.is_root() {
            name.base_name()
        } else {
            name.clone()
        };
        let cached = DelegationPoint::closest_cached(&self.cache, &start);
        if let Some(delegation) = self.configured.choose(&start, cached) {
            return Ok(delegation);
        }
        self.prime_root(budget).await
    }

    /// Whether some server name of `delegation` has no cached address.
    fn lacks_addresses(&self, delegation: &DelegationPoint) -> bool {
        delegation.known_addresses.is_empty()
            && delegation
                .ns_names
                .iter()
                .any(|ns| cached_addresses(&self.cache, ns, self.settings.ipv6_upstream).is_empty())
    }

    /// Whether the NS set the cache holds for `delegation`'s zone came from the zone's own
    /// servers (an answer) rather than from its parent's referral. The two sets may differ, and
    /// the child's wins in the cache (RFC 2181 §5.4.1); when the servers it names fail, those
    /// the parent named may still answer, and Unbound falls back to them.
    fn has_child_ns_set(&self, delegation: &DelegationPoint) -> bool {
        self.cache
            .get_rrset(&delegation.zone, RecordType::NS, Rank::NonAuthAnswer)
            .is_some()
    }

    /// The closest cached delegation strictly above `zone`, or the root.
    async fn parent_delegation(
        self: &Arc<Self>,
        zone: &Name,
        budget: &Budget,
    ) -> Result<DelegationPoint, ResolveError> {
        match DelegationPoint::closest_cached(&self.cache, &zone.base_name()) {
            Some(delegation) => Ok(delegation),
            None => self.prime_root(budget).await,
        }
    }

    /// Asks the hinted root servers for the root NS set (RFC 8109) and caches it with its
    /// addresses. When no hinted server answers, iteration starts from the hints themselves.
    async fn prime_root(
        self: &Arc<Self>,
        budget: &Budget,
    ) -> Result<DelegationPoint, ResolveError> {
        let _priming = self.priming.lock().await;
        if let Some(delegation) = DelegationPoint::closest_cached(&self.cache, &Name::root()) {
            return Ok(delegation);
        }
        let hinted = DelegationPoint {
            zone: Name::root(),
            ns_names: self.hints.servers.iter().map(|s| s.name.clone()).collect(),
            known_addresses: self.hint_addresses(),
            role: ServerRole::Authority,
            configured: false,
        };
        let root = Name::root();
        let primed = self
            .ask_zone_merged(
                &hinted,
                &hinted.known_addresses,
                &root,
                RecordType::NS,
                budget,
            )
            .await;
        match primed.as_deref() {
            Ok((response, Classified::Answer { chain })) => {
                let ns: Vec<Record> = chain
                    .iter()
                    .filter(|r| r.record_type() == RecordType::NS)
                    .cloned()
                    .collect();
                let glue = glue_for(&ns, &response.additionals);
                let hinted_glue = self.hinted_glue(&ns, &glue);
                self.cache_rrsets(chain.clone(), Rank::AuthAnswer, Validation::Unchecked);
                self.cache_rrsets(glue, Rank::Glue, Validation::Unchecked);
                self.cache_rrsets(hinted_glue, Rank::Glue, Validation::Unchecked);
                tracing::debug!(servers = ns.len(), "primed the root NS set");
                Ok(DelegationPoint::from_ns_records(root, &ns))
            }
            Ok(_) | Err(_) => {
                tracing::warn!("root priming failed; iterating from the hints");
                Ok(hinted)
            }
        }
    }

    /// Every root server address in the hints that policy lets us query.
    fn hint_addresses(&self) -> Vec<SocketAddr> {
        self.hints
            .servers
            .iter()
            .flat_map(|s| s.addresses.iter().copied())
            .filter(|ip| self.upstream.policy().permits(*ip))
            .map(|ip| SocketAddr::new(ip, DNS_PORT))
            .collect()
    }

    /// Addresses from the hints for root server names that the priming answer named without
    /// addresses: a root server that sends no additional data must not leave the root glueless.
    fn hinted_glue(&self, ns: &[Record], glue: &[Record]) -> Vec<Record> {
        let ttl = self.hints.ttl.min(self.settings.max_ttl);
        self.hints
            .servers
            .iter()
            .filter(|server| {
                ns.iter()
                    .any(|r| crate::records::ns_name(r) == Some(&server.name))
            })
            .filter(|server| !glue.iter().any(|r| r.name == server.name))
            .flat_map(|server| {
                server.addresses.iter().map(move |ip| {
                    let data = match ip {
                        IpAddr::V4(v4) => RData::A((*v4).into()),
                        IpAddr::V6(v6) => RData::AAAA((*v6).into()),
                    };
                    Record::from_rdata(server.name.clone(), ttl, data)
                })
            })
            .collect()
    }

    /// Addresses to ask for `delegation`: known ones, cached glue, or, for a glueless delegation,
    /// the addresses of a few of its server names resolved in turn (bounded against NXNSAttack).
    /// A server name whose lookup would need this very delegation's servers again, however many
    /// glueless delegations away, fails the lookup at once ([`Budget::finding_servers_of`]).
    async fn server_addresses(
        self: &Arc<Self>,
        delegation: &DelegationPoint,
        budget: &Budget,
        depth: u32,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let ipv6 = self.settings.ipv6_upstream;
        let policy = self.upstream.policy();
        let mut addresses: Vec<SocketAddr> = delegation
            .known_addresses
            .iter()
            .copied()
            .filter(|addr| match delegation.role {
                ServerRole::Forwarder { .. } => policy.permits_forwarder(addr.ip()),
                ServerRole::Authority => policy.permits(addr.ip()),
            })
            .collect();
        for ns in &delegation.ns_names {
            addresses.extend(self.permitted(cached_addresses(&self.cache, ns, ipv6)));
        }
        if addresses.is_empty() && delegation.zone.is_root() && !delegation.configured {
            // The root's glue was evicted or expired: the hints still say where the root is.
            addresses = self.hint_addresses();
        }
        if !addresses.is_empty() {
            return Ok(addresses);
        }
        self.look_up_server_names(delegation, &[], budget, depth)
            .await
    }

    /// The addresses, other than `asked`, of the first of `delegation`'s server names that
    /// resolves to some, looking up at most `--max-ns-lookups-per-referral` names (an
    /// NXNSAttack bound). A server name inside the zone it serves is not looked up: asking the
    /// zone for it would need the very servers we are looking for.
    async fn look_up_server_names(
        self: &Arc<Self>,
        delegation: &DelegationPoint,
        asked: &[SocketAddr],
        budget: &Budget,
        depth: u32,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let _finding = budget.finding_servers_of(&delegation.zone)?;
        let limits = &self.settings.limits;
        if depth >= limits.max_glueless_depth {
            return Err(ResolveError::GluelessDepth(limits.max_glueless_depth));
        }
        let resolvable: Vec<&Name> = delegation
            .ns_names
            .iter()
            .filter(|ns| !delegation.zone.zone_of(ns))
            .collect();
        let cap = limits.max_ns_lookups_per_referral as usize;
        if resolvable.len() > cap {
            self.metrics
                .record_limit(crate::metrics::labels::Limit::NsLookupsPerReferral);
        }
        let types: &[RecordType] = if self.settings.ipv6_upstream {
            &[RecordType::A, RecordType::AAAA]
        } else {
            &[RecordType::A]
        };
        // A lookup that ran into a cycle fails the delegation only if no other name helps: the
        // other names may lead elsewhere.
        let mut cycle = None;
        for ns in resolvable.into_iter().take(cap) {
            for rtype in types {
                let lookup = Box::pin(self.resolve_chain(ns.clone(), *rtype, budget, depth + 1));
                let answer = match lookup.await {
                    Ok(answer) => answer,
                    Err(error @ ResolveError::DependencyCycle(_)) => {
                        cycle = Some(error);
                        continue;
                    }
                    Err(_) => continue,
                };
                let mut found =
                    self.permitted(answer.answers.iter().filter_map(address_of).collect());
                found.retain(|addr| !asked.contains(addr));
                if !found.is_empty() {
                    return Ok(found);
                }
            }
        }
        Err(cycle.unwrap_or_else(|| ResolveError::NoServers(delegation.zone.clone())))
    }

    /// The addresses of `ips` that the upstream policy lets us query, on port 53.
    fn permitted(&self, ips: Vec<IpAddr>) -> Vec<SocketAddr> {
        let policy = self.upstream.policy();
        ips.into_iter()
            .filter(|ip| policy.permits(*ip))
            .map(|ip| SocketAddr::new(ip, DNS_PORT))
            .collect()
    }

    /// Asks the servers of `delegation` at `servers` ([`Resolver::ask_zone_merged`]). When every
    /// one of them has failed, the delegation's server names outside its zone are looked up
    /// through the DNS and the addresses found that were not asked yet are asked in turn. Glue
    /// is only the parent's copy of the child's data, ranked below it (RFC 2181 §5.4.1), and goes
    /// stale: a renumbered server whose sibling glue nobody updated still resolves through its
    /// own zone. Configured servers are the only ones to ask.
    async fn ask_delegation(
        self: &Arc<Self>,
        delegation: &DelegationPoint,
        servers: &[SocketAddr],
        question: &Question,
        budget: &Budget,
        depth: u32,
    ) -> Result<SharedResponse, ResolveError> {
        let (name, rtype) = (&question.name, question.rtype);
        let failed = match self
            .ask_zone_merged(delegation, servers, name, rtype, budget)
            .await
        {
            Err(ResolveError::ServersFailed(zone)) if !delegation.configured => zone,
            outcome => return outcome,
        };
        let Ok(looked_up) = self
            .look_up_server_names(delegation, servers, budget, depth)
            .await
        else {
            return Err(ResolveError::ServersFailed(failed));
        };
        tracing::debug!(zone = %failed, servers = ?looked_up, "the zone's servers failed; asking where its server names resolve to");
        self.ask_zone_merged(delegation, &looked_up, name, rtype, budget)
            .await
    }

    /// [`Resolver::ask_zone`] for the zone of `delegation`, unless another resolution is asking
    /// the same question of the same zone right now: then that query's outcome, waited for at
    /// most until `budget`'s deadline and costing `budget` no query (see
    /// [`super::upstream_inflight`] for what is shared and why).
    async fn ask_zone_merged(
        &self,
        delegation: &DelegationPoint,
        servers: &[SocketAddr],
        name: &Name,
        rtype: RecordType,
        budget: &Budget,
    ) -> Result<SharedResponse, ResolveError> {
        let (zone, role) = (&delegation.zone, delegation.role);
        loop {
            let question = UpstreamQuestion::new(zone, name, rtype, role, delegation.configured);
            let follower = match self.upstream_inflight.join(question) {
                Turn::Lead(leader) => {
                    let result = self
                        .ask_zone(zone, servers, role, name, rtype, budget)
                        .await
                        .map(Arc::new);
                    leader.publish(&result);
                    return result;
                }
                Turn::Unmerged => {
                    return self
                        .ask_zone(zone, servers, role, name, rtype, budget)
                        .await
                        .map(Arc::new);
                }
                Turn::Follow(follower) => follower,
            };
            match follower.wait(zone, budget.deadline()).await? {
                Followed::Shared(result) => {
                    super::stats::Counters::count(&self.counters.merged_upstream_queries);
                    return result;
                }
                // The leader's resolution was cancelled or ran out of its own budget: ask again,
                // leading this time unless another follower got there first.
                Followed::LeaderGone => {}
            }
        }
    }

    /// Asks the servers of `zone` until one gives a usable answer: in the order server selection
    /// plans, each try with its own timeout; a server whose try times out is asked again once
    /// the others have had their turn, each time waiting twice as long (see
    /// [`Retransmissions`]), and the held-down servers come after the first round. A try whose
    /// timeout has passed keeps listening while the later ones are out, so a slow server's late
    /// answer is taken whichever try it answers. Held-down servers due for a probe are asked in
    /// the background on the side. A forwarder's answer is scrubbed to `zone` like any other: it
    /// may speak for the forward zone only.
    async fn ask_zone(
        &self,
        zone: &Name,
        servers: &[SocketAddr],
        role: ServerRole,
        name: &Name,
        rtype: RecordType,
        budget: &Budget,
    ) -> Result<(Message, Classified), ResolveError> {
        let full = Duration::from_millis(self.settings.limits.upstream_timeout_ms);
        let plan = self.selection.plan(servers, full);
        for probe in &plan.probes {
            self.probe(*probe, role, zone, name, rtype);
        }
        let question = ZoneQuestion {
            zone,
            role,
            name,
            rtype,
        };
        let mut schedule = Retransmissions::new(plan);
        let mut listening = Listening::new();
        while let Some(attempt) = schedule.next_try() {
            match self
                .try_server(attempt, question, budget, &mut listening)
                .await?
            {
                Tried::Answered(found) => return Ok(*found),
                Tried::TimedOut => schedule.timed_out(attempt),
                Tried::Failed => {}
            }
        }
        Err(ResolveError::ServersFailed(zone.clone()))
    }

    /// One try at one server, while the earlier tries in `listening` go on waiting for their
    /// answers: ends with the first usable answer from any of them, when this try fails, or
    /// when its timeout passes (it then stays in `listening`). The try's outcome is recorded in
    /// the server's health. Fails only when the client's budget is spent; a try that the budget
    /// cut short says nothing about the server and is not held against it.
    async fn try_server<'a>(
        &'a self,
        attempt: Try,
        question: ZoneQuestion<'a>,
        budget: &'a Budget,
        listening: &mut Listening<'a, Asked>,
    ) -> Result<Tried, ResolveError> {
        let server = attempt.server;
        let claim = self.claim_slot(server, question, budget);
        tokio::pin!(claim);
        let slot = loop {
            tokio::select! {
                biased;
                (_, earlier) = listening.next() => {
                    if let Some(found) = self.heard(earlier)? {
                        return Ok(Tried::Answered(found));
                    }
                }
                slot = &mut claim => break slot,
            }
        };
        let Some(slot) = slot else {
            return Ok(Tried::Failed);
        };
        budget.spend_query()?;
        let until = (Instant::now() + attempt.timeout).min(budget.deadline());
        let this = listening.push(Box::pin(self.ask_server(server, slot, question, budget)));
        loop {
            let Some((number, outcome)) = listening.next_until(until).await else {
                if until == budget.deadline() {
                    return Err(ResolveError::Timeout);
                }
                tracing::debug!(%server, name = %question.name, rtype = %question.rtype, "try timed out; still listening");
                self.selection.record_failure(server);
                return Ok(Tried::TimedOut);
            };
            let penalise = matches!(outcome, Asked::Failed { penalise: true });
            if let Some(found) = self.heard(outcome)? {
                return Ok(Tried::Answered(found));
            }
            // An earlier try failing now changes nothing: its timeout was counted already.
            if number == this {
                if penalise {
                    self.selection.record_failure(server);
                }
                return Ok(Tried::Failed);
            }
        }
    }

    /// What the outcome of any try means for the question: a usable answer (its round-trip
    /// time recorded in its server's health), nothing, or, since every try listens until the
    /// client's budget ends, that the budget is spent.
    fn heard(&self, outcome: Asked) -> Result<Option<Box<(Message, Classified)>>, ResolveError> {
        match outcome {
            Asked::Usable { found, server, rtt } => {
                self.selection.record_success(server, rtt);
                Ok(Some(found))
            }
            Asked::Failed { .. } => Ok(None),
            Asked::Silent => Err(ResolveError::Timeout),
        }
    }

    /// A place among the queries outstanding at `server`. A server with too many of our queries
    /// outstanding is waited for, at most as long as the longest try may take (a try shortened
    /// to a fast server's RTT says nothing about how soon its queue moves); if no place frees up
    /// by then it is skipped like one that does not answer, but without a penalty to its health:
    /// it is busy, not broken.
    async fn claim_slot(
        &self,
        server: SocketAddr,
        question: ZoneQuestion<'_>,
        budget: &Budget,
    ) -> Option<QuerySlot<'_>> {
        let longest_try = Duration::from_millis(self.settings.limits.upstream_timeout_ms);
        let wait_until = budget.deadline().min(Instant::now() + longest_try);
        let slot = self.outstanding.acquire(server.ip(), wait_until).await;
        if slot.is_none() {
            super::stats::Counters::count(&self.counters.busy_server_skips);
            self.metrics
                .record_limit(crate::metrics::labels::Limit::QueriesPerServer);
            tracing::debug!(%server, name = %question.name, rtype = %question.rtype, "server busy; skipped");
        }
        slot
    }

    /// Sends one try to `server` and waits for its answer, for as long as the client's budget
    /// lasts or until [`Resolver::ask_zone`] no longer listens.
    async fn ask_server(
        &self,
        server: SocketAddr,
        _slot: QuerySlot<'_>,
        question: ZoneQuestion<'_>,
        budget: &Budget,
    ) -> Asked {
        let ZoneQuestion {
            zone,
            role,
            name,
            rtype,
        } = question;
        let sent = Instant::now();
        let listen = budget.deadline().saturating_duration_since(sent);
        let response = send(
            &self.upstream,
            role,
            server,
            name,
            rtype,
            listen,
            budget.deadline(),
        )
        .await;
        let response = match response {
            Ok(response) => response,
            Err(UpstreamError::Timeout) => return Asked::Silent,
            Err(error) => {
                tracing::debug!(%server, %name, %rtype, %error, "upstream query failed");
                let penalise = !matches!(error, UpstreamError::Forbidden(_));
                return Asked::Failed { penalise };
            }
        };
        match classify(&response, zone, name, rtype) {
            Classified::Unusable(why) => {
                tracing::debug!(%server, %name, %rtype, why, rcode = %response.metadata.response_code, "unusable answer");
                Asked::Failed { penalise: true }
            }
            classified => Asked::Usable {
                found: Box::new((response, classified)),
                server,
                rtt: sent.elapsed(),
            },
        }
    }

    /// Asks a held-down server the current question in the background, to learn whether it is
    /// back. Its answer only updates its health and is not cached: the client's answer comes from
    /// the zone's other servers. Probes are not charged to the client's budget; their number is
    /// bounded by the hold-down (one per held-down server per hold-down interval).
    fn probe(&self, probe: Try, role: ServerRole, zone: &Name, name: &Name, rtype: RecordType) {
        let upstream = self.upstream.clone();
        let selection = Arc::clone(&self.selection);
        let (zone, name) = (zone.clone(), name.clone());
        tokio::spawn(async move {
            let sent = Instant::now();
            let deadline = sent + probe.timeout;
            let answer = send(
                &upstream,
                role,
                probe.server,
                &name,
                rtype,
                probe.timeout,
                deadline,
            )
            .await;
            let usable = answer.is_ok_and(|response| {
                !matches!(
                    classify(&response, &zone, &name, rtype),
                    Classified::Unusable(_)
                )
            });
            tracing::debug!(server = %probe.server, usable, "probed a held-down server");
            if usable {
                selection.record_success(probe.server, sent.elapsed());
            } else {
                selection.record_failure(probe.server);
            }
        });
    }

    /// Caches what an accepted upstream response teaches, as iteration does: a referral's NS set
    /// and glue at their low ranks, anything else through the final step that also builds the
    /// client's answer. Returns that answer, as a resolution would deliver it, when the response
    /// was final (`None` for a referral, or an alias whose target is yet to be resolved). Public
    /// so that fuzzing and tests can feed responses through the caching step without a network.
    pub fn absorb(
        &self,
        qtype: RecordType,
        classified: Classified,
        authoritative: bool,
    ) -> Result<Option<Answer>, ResolveError> {
        if let Classified::Referral { ns, glue, .. } = &classified {
            self.cache_referral(ns, glue);
            return Ok(None);
        }
        let fetched = Fetched {
            zone: Name::root(),
            classified,
            authoritative,
            proof: Vec::new(),
        };
        match self.conclude(qtype, fetched, crate::cache::Validation::Unchecked) {
            Step::Done(answer) => self
                .whole_chain(Vec::new(), answer, qtype, Validation::Secure)
                .map(Some),
            Step::Alias { .. } => Ok(None),
        }
    }

    /// Caches a final classification with its validation status and turns it into the answer
    /// for the client.
    fn conclude(&self, qtype: RecordType, fetched: Fetched, security: Validation) -> Step {
        let rank = if fetched.authoritative {
            Rank::AuthAnswer
        } else {
            Rank::NonAuthAnswer
        };
        let proof = fetched.proof;
        match fetched.classified {
            Classified::Answer { chain } => {
                let chain = self.clamp_ttls(chain);
                // A wildcard expansion travels with the NSEC/NSEC3 proof that the name itself
                // does not exist (RFC 4035 §3.1.3.3), for clients that validate themselves.
                let wildcard_proof = if expanded_from_wildcard(&chain) {
                    proof
                } else {
                    Vec::new()
                };
                self.cache_rrsets_with_proof(cacheable(&chain), rank, security, &wildcard_proof);
                Step::Done(Answer {
                    rcode: ResponseCode::NoError,
                    answers: chain,
                    authorities: wildcard_proof,
                    security,
                })
            }
            Classified::Alias { chain, target } => {
                let chain = self.clamp_ttls(chain);
                self.cache_rrsets(cacheable(&chain), rank, security);
                Step::Alias {
                    chain,
                    target,
                    security,
                }
            }
            Classified::NxDomain { chain, name, soa } => {
                let chain = self.clamp_ttls(chain);
                self.cache_rrsets(cacheable(&chain), rank, security);
                let proof = soa.map(|soa| negative_proof(soa, proof));
                if let Some(proof) = &proof {
                    self.cache.insert_nxdomain(&name, proof, rank, security);
                    self.keep_nsec_ranges(proof, security);
                }
                Step::Done(self.negative(ResponseCode::NXDomain, chain, proof, security))
            }
            Classified::NoData { chain, name, soa } => {
                let chain = self.clamp_ttls(chain);
                self.cache_rrsets(cacheable(&chain), rank, security);
                let proof = soa.map(|soa| negative_proof(soa, proof));
                if let Some(proof) = &proof {
                    self.cache
                        .insert_nodata(&name, qtype, proof, rank, security);
                    self.keep_nsec_ranges(proof, security);
                }
                Step::Done(self.negative(ResponseCode::NoError, chain, proof, security))
            }
            Classified::Referral { .. } | Classified::Unusable(_) => Step::Done(Answer::servfail()),
        }
    }

    /// Keeps the NSEC ranges of a validated negative answer for answering names they cover
    /// (RFC 8198), for the answer's negative TTL.
    fn keep_nsec_ranges(&self, proof: &NegativeProof, security: Validation) {
        let aggressive = self.dnssec.as_ref().is_some_and(|d| d.aggressive_nsec);
        if !aggressive || security != Validation::Secure || proof.nsecs.is_empty() {
            return;
        }
        let soa: Vec<Record> = std::iter::once(proof.soa.clone())
            .chain(proof.soa_rrsigs.iter().cloned())
            .collect();
        let ttl = negative_ttl(&proof.soa).min(self.settings.max_ttl);
        self.cache
            .nsec_ranges()
            .insert(&proof.soa.name, soa, &proof.nsecs, ttl);
    }

    /// A negative answer whose SOA carries the negative TTL (RFC 2308 §3), followed by the
    /// NSEC/NSEC3 records that prove it.
    fn negative(
        &self,
        rcode: ResponseCode,
        chain: Vec<Record>,
        proof: Option<NegativeProof>,
        security: Validation,
    ) -> Answer {
        let authorities = proof
            .map(|proof| {
                let ttl = negative_ttl(&proof.soa);
                std::iter::once(proof.soa)
                    .chain(proof.soa_rrsigs)
                    .chain(proof.nsecs)
                    .map(|mut r| {
                        r.ttl = r.ttl.min(ttl);
                        r
                    })
                    .collect()
            })
            .unwrap_or_default();
        Answer {
            rcode,
            answers: chain,
            authorities,
            security,
        }
    }

    fn clamp_ttls(&self, mut records: Vec<Record>) -> Vec<Record> {
        for record in &mut records {
            record.ttl = record.ttl.min(self.settings.max_ttl);
        }
        records
    }

    fn cache_referral(&self, ns: &[Record], glue: &[Record]) {
        self.cache_rrsets(ns.to_vec(), Rank::Referral, Validation::Unchecked);
        self.cache_rrsets(glue.to_vec(), Rank::Glue, Validation::Unchecked);
    }

    /// Groups records into RRsets (with the RRSIGs covering each) and caches them with the
    /// status validation gave them.
    fn cache_rrsets(&self, records: Vec<Record>, rank: Rank, validation: Validation) {
        self.cache_rrsets_with_proof(records, rank, validation, &[]);
    }

    /// As [`Resolver::cache_rrsets`], keeping `proof` with every wildcard-expanded RRset.
    fn cache_rrsets_with_proof(
        &self,
        records: Vec<Record>,
        rank: Rank,
        validation: Validation,
        proof: &[Record],
    ) {
        // A response holds a handful of RRsets: a linear search groups them for less than
        // hashing each record's name (SipHash over every label, and a clone of the name, were
        // 13% of caching them).
        let mut rrsets: Vec<Vec<Record>> = Vec::new();
        let mut rrsigs = Vec::new();
        for record in records {
            if record.record_type() == RecordType::RRSIG {
                rrsigs.push(record);
                continue;
            }
            let rtype = record.record_type();
            match rrsets
                .iter_mut()
                .find(|set| set[0].record_type() == rtype && set[0].name == record.name)
            {
                Some(set) => set.push(record),
                None => rrsets.push(vec![record]),
            }
        }
        for records in rrsets {
            let (name, rtype) = (&records[0].name, records[0].record_type());
            let covering: Vec<Record> = rrsigs
                .iter()
                .filter(|sig| sig.name == *name && rrsig_covers(sig, rtype))
                .cloned()
                .collect();
            let proof = if expanded_from_wildcard(&covering) {
                proof
            } else {
                &[]
            };
            self.cache
                .insert_proven_rrset(records, covering, proof, rank, validation);
        }
    }
}

/// Whether a response was authoritative, and its classification to consume. A response that
/// other resolutions share is copied from, so that nothing one does with its records reaches the
/// others; one nobody else holds (the common case: no other resolution asked the same) is taken
/// without a copy.
fn take_classified(found: SharedResponse) -> (bool, Classified) {
    match Arc::try_unwrap(found) {
        Ok((response, classified)) => (response.metadata.authoritative, classified),
        Err(shared) => (shared.0.metadata.authoritative, shared.1.clone()),
    }
}

/// The records of a chain worth caching: everything but the CNAMEs synthesized from a DNAME in
/// the same chain (the DNAME is cached, and a lookup synthesizes them afresh).
fn cacheable(chain: &[Record]) -> Vec<Record> {
    let dnames: Vec<&Name> = chain
        .iter()
        .filter(|r| r.record_type() == RecordType::DNAME)
        .map(|r| &r.name)
        .collect();
    chain
        .iter()
        .filter(|r| {
            r.record_type() != RecordType::CNAME
                || !dnames
                    .iter()
                    .any(|owner| **owner != r.name && owner.zone_of(&r.name))
        })
        .cloned()
        .collect()
}

/// The SOA proof of a negative answer with the NSEC/NSEC3 records that came with it.
fn negative_proof(soa: SoaProof, nsecs: Vec<Record>) -> NegativeProof {
    NegativeProof {
        soa: soa.soa,
        soa_rrsigs: soa.rrsigs,
        nsecs,
    }
}

/// Whether an RRSIG among `records` was made over a wildcard: its labels field is smaller than
/// its owner's label count (RFC 4035 §5.3.4).
fn expanded_from_wildcard(records: &[Record]) -> bool {
    records.iter().any(|record| {
        crate::validator::signature::rrsig_of(record)
            .is_some_and(|sig| sig.input().num_labels < record.name.num_labels())
    })
}

/// Glue for the names in `ns` found among `additionals`.
fn glue_for(ns: &[Record], additionals: &[Record]) -> Vec<Record> {
    let names: Vec<&Name> = ns.iter().filter_map(crate::records::ns_name).collect();
    additionals
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .filter(|r| names.contains(&&r.name))
        .cloned()
        .collect()
}

fn negative_ttl(soa: &Record) -> u32 {
    match &soa.data {
        hickory_proto::rr::RData::SOA(data) => soa.ttl.min(data.minimum),
        _ => soa.ttl,
    }
}
