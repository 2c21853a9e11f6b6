//! The RRset cache: positive RRsets, negative answers and delegations, each with an absolute expiry.
//! Expired entries are kept for a while to answer from when resolution fails (RFC 8767).
//!
//! Sharded LRU maps behind short-lived mutexes: a lookup locks one shard of many for a hash-map
//! probe and an `Arc` clone, so tasks on different threads rarely meet on the same lock.

mod dump;
mod entry;
mod lookup;
pub mod message;
mod nsec_ranges;
pub mod shared;
mod stored;

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use hickory_proto::rr::{Name, Record, RecordType};
use lru::LruCache;

pub use dump::DumpEntry;
pub(crate) use entry::push_lowercase_wire;
pub use entry::{CacheEntry, CacheKey, KeyBuf, KeyKind, Rank, Validation};
pub use lookup::CacheLookup;
pub use message::{CachedMessage, MessageCache};
pub use nsec_ranges::{NsecRanges, RangeProof};
pub use stored::StoreError;
use stored::StoredRrset;

use crate::bounded_lru;
use crate::clock::{Clock, Millis};

/// TTL bounds applied to everything entering the cache.
#[derive(Debug, Clone, Copy)]
pub struct TtlPolicy {
    pub min_ttl: u32,
    pub max_ttl: u32,
    pub max_negative_ttl: u32,
}

impl TtlPolicy {
    fn clamp_positive(&self, ttl: u32) -> u32 {
        ttl.clamp(self.min_ttl, self.max_ttl.max(self.min_ttl))
    }

    /// RFC 2308 §5: a negative answer lives for the smaller of the SOA's own TTL and its MINIMUM.
    fn negative_ttl(&self, soa: &Record) -> u32 {
        let minimum = match &soa.data {
            hickory_proto::rr::RData::SOA(soa_data) => soa_data.minimum,
            _ => 0,
        };
        soa.ttl
            .min(minimum)
            .min(self.max_negative_ttl)
            .max(self.min_ttl.min(self.max_negative_ttl))
    }
}

/// One lock's worth of the cache.
type Shard = Mutex<LruCache<CacheKey, CacheEntry>>;

pub struct Cache {
    shards: Box<[Shard]>,
    /// Whole encoded answers, derived from the RRsets here; cleared with them.
    messages: MessageCache,
    /// Validated NSEC ranges, for answers synthesized from them (RFC 8198).
    nsec_ranges: NsecRanges,
    /// Picks a key's shard: the keyed foldhash (random seed per process) that the shards' own
    /// tables hash the same keys with (the lru crate's default). Std's SipHash, used here
    /// before, cost ~230 instructions a lookup, a dozen lookups per cache miss; against HashDoS
    /// it added nothing the tables do not already rely on, and a shard choice is no table: keys
    /// crowded into one shard only share its lock and its LRU. Each instance draws a seed of its
    /// own, so a shard's keys do not also share their bucket bits in its table.
    hasher: lru::DefaultHasher,
    clock: Clock,
    ttl: TtlPolicy,
    /// Live entries pushed out by LRU to make room, for the metrics.
    evictions: AtomicU64,
    /// How long past its expiry an entry is kept for serve-stale (RFC 8767); 0 keeps none.
    stale_window_ms: Millis,
}

/// How long bogus data is kept (Unbound's val-bogus-ttl is 60 s too).
pub const BOGUS_TTL: u32 = 60;

/// What proves a negative answer: the zone's SOA with its RRSIGs and, in a signed zone, the
/// NSEC or NSEC3 records (with their RRSIGs) that deny the name or type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegativeProof {
    pub soa: Record,
    pub soa_rrsigs: Vec<Record>,
    pub nsecs: Vec<Record>,
}

impl NegativeProof {
    /// The proof of an unsigned zone: its SOA alone.
    pub fn soa_only(soa: Record) -> Self {
        NegativeProof {
            soa,
            soa_rrsigs: Vec::new(),
            nsecs: Vec::new(),
        }
    }
}

/// The TTL of a record in a stale answer (RFC 8767 §4): short, so that clients come back soon
/// and find the refreshed data once the servers answer again.
pub const STALE_ANSWER_TTL: u32 = 30;

impl Cache {
    /// A cache holding at most about `capacity` entries, split over shards.
    pub fn new(capacity: usize, ttl: TtlPolicy, clock: Clock) -> Self {
        let shard_count = shard_count_for(capacity);
        let per_shard =
            NonZeroUsize::new(capacity.div_ceil(shard_count).max(1)).unwrap_or(NonZeroUsize::MIN);
        let shards = (0..shard_count)
            .map(|_| Mutex::new(bounded_lru::new(per_shard)))
            .collect();
        Cache {
            shards,
            messages: MessageCache::new(capacity, shard_count, clock.clone()),
            nsec_ranges: NsecRanges::new(clock.clone()),
            hasher: lru::DefaultHasher::default(),
            clock,
            ttl,
            evictions: AtomicU64::new(0),
            stale_window_ms: 0,
        }
    }

    /// Keeps expired entries for `seconds` past their expiry, to answer from when resolution
    /// fails (serve-stale, RFC 8767). Such entries take their place in the LRU like any other;
    /// they are never returned by [`Cache::get`] and so never hide a resolution that can succeed.
    pub fn with_stale_window(mut self, seconds: u32) -> Self {
        self.stale_window_ms = u64::from(seconds) * 1000;
        self
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn messages(&self) -> &MessageCache {
        &self.messages
    }

    pub fn nsec_ranges(&self) -> &NsecRanges {
        &self.nsec_ranges
    }

    fn shards(&self) -> impl Iterator<Item = MutexGuard<'_, LruCache<CacheKey, CacheEntry>>> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The shard of the key with these bytes ([`CacheKey::as_bytes`]).
    fn shard(&self, key: &[u8]) -> MutexGuard<'_, LruCache<CacheKey, CacheEntry>> {
        let index = (self.hasher.hash_one(key) as usize) % self.shards.len();
        // A panic while holding a shard lock leaves only a half-updated LRU order behind, which
        // is harmless, so a poisoned lock is simply taken over.
        self.shards[index].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry under `key`, if any. Expired entries past the stale window are dropped on
    /// the way; those within it stay for [`Cache::get_stale`].
    pub fn get(&self, key: &CacheKey) -> Option<CacheEntry> {
        self.get_within(key.as_bytes(), 0)
    }

    /// The entry under `key` if it is live or expired less than the stale window ago.
    pub fn get_stale(&self, key: &CacheKey) -> Option<CacheEntry> {
        self.get_within(key.as_bytes(), self.stale_window_ms)
    }

    /// The entry under the key with bytes `key` if it expired no more than `grace_ms` ago.
    pub(super) fn get_within(&self, key: &[u8], grace_ms: Millis) -> Option<CacheEntry> {
        let now = self.clock.now_ms();
        let mut shard = self.shard(key);
        let entry = shard.get(key)?;
        if entry.is_live(now.saturating_sub(grace_ms)) {
            return Some(entry.clone());
        }
        if !entry.is_live(now.saturating_sub(self.stale_window_ms)) {
            shard.pop(key);
        }
        None
    }

    /// The live RRset of `rtype` at `name` of at least `min_rank`, or `None`.
    pub fn get_rrset(&self, name: &Name, rtype: RecordType, min_rank: Rank) -> Option<CacheEntry> {
        self.get_rrset_at(&mut KeyBuf::new(name)?, rtype, min_rank)
    }

    /// As [`Cache::get_rrset`], at the name `key` is at (for walking up a name).
    pub fn get_rrset_at(
        &self,
        key: &mut KeyBuf,
        rtype: RecordType,
        min_rank: Rank,
    ) -> Option<CacheEntry> {
        self.get_within(key.key(KeyKind::Type(rtype)), 0)
            .filter(|entry| entry.rank >= min_rank && !entry.is_negative())
    }

    /// Caches one RRset (all `records` share owner, type and class) with the RRSIGs covering it.
    /// Returns whether it was stored: data of a lower rank than a live entry is refused.
    pub fn insert_rrset(&self, records: Vec<Record>, rrsigs: Vec<Record>, rank: Rank) -> bool {
        self.insert_validated_rrset(records, rrsigs, rank, Validation::Unchecked)
    }

    /// As [`Cache::insert_rrset`], with the status the validator gave the RRset.
    pub fn insert_validated_rrset(
        &self,
        records: Vec<Record>,
        rrsigs: Vec<Record>,
        rank: Rank,
        validation: Validation,
    ) -> bool {
        self.insert_proven_rrset(records, rrsigs, &[], rank, validation)
    }

    /// As [`Cache::insert_validated_rrset`], with the NSEC/NSEC3 records that prove a wildcard
    /// expansion (RFC 4035 §3.1.3.3), which answers from the entry carry for DO=1 clients.
    pub fn insert_proven_rrset(
        &self,
        records: Vec<Record>,
        rrsigs: Vec<Record>,
        proof: &[Record],
        rank: Rank,
        validation: Validation,
    ) -> bool {
        let Some(first) = records.first() else {
            return false;
        };
        let Some(stored) = encode(&records, &rrsigs, proof) else {
            return false;
        };
        let key = CacheKey::rrset(&first.name, first.record_type());
        let ttl = self.ttl.clamp_positive(stored.original_ttl());
        let inserted = self.store(key, stored, false, ttl, rank, validation);
        if inserted && rank.is_answer_grade() {
            // The name evidently exists now: a stale NXDOMAIN for it must not shadow the data.
            if let Some(mut name) = KeyBuf::new(&first.name) {
                let name_error = name.key(KeyKind::NameError);
                self.shard(name_error).pop(name_error);
            }
        }
        inserted
    }

    /// Caches NODATA for (`name`, `rtype`), proved by `proof`: the SOA, its RRSIGs and, in a
    /// signed zone, the NSEC/NSEC3 records with theirs (RFC 4035 §3.1.3), which DO=1 clients get.
    pub fn insert_nodata(
        &self,
        name: &Name,
        rtype: RecordType,
        proof: &NegativeProof,
        rank: Rank,
        validation: Validation,
    ) -> bool {
        let ttl = self.ttl.negative_ttl(&proof.soa);
        let Some(stored) = encode(
            std::slice::from_ref(&proof.soa),
            &proof.soa_rrsigs,
            &proof.nsecs,
        ) else {
            return false;
        };
        self.store(
            CacheKey::rrset(name, rtype),
            stored,
            true,
            ttl,
            rank,
            validation,
        )
    }

    /// Caches NXDOMAIN for `name`, proved by `proof`.
    pub fn insert_nxdomain(
        &self,
        name: &Name,
        proof: &NegativeProof,
        rank: Rank,
        validation: Validation,
    ) -> bool {
        let ttl = self.ttl.negative_ttl(&proof.soa);
        let Some(stored) = encode(
            std::slice::from_ref(&proof.soa),
            &proof.soa_rrsigs,
            &proof.nsecs,
        ) else {
            return false;
        };
        self.store(
            CacheKey::name_error(name),
            stored,
            true,
            ttl,
            rank,
            validation,
        )
    }

    fn store(
        &self,
        key: CacheKey,
        records: StoredRrset,
        negative: bool,
        ttl: u32,
        rank: Rank,
        validation: Validation,
    ) -> bool {
        let now = self.clock.now_ms();
        // Bogus data is kept only briefly (RFC 4035 §4.7's "BAD cache"): long enough that a
        // broken zone is not fetched again for every query, short enough that a fix shows soon.
        let ttl = if validation.is_bogus() {
            ttl.min(BOGUS_TTL)
        } else {
            ttl
        };
        let entry = CacheEntry {
            records,
            expires_ms: expiry(now, ttl),
            rank,
            validation,
            negative,
        };
        let mut shard = self.shard(key.as_bytes());
        if let Some(existing) = shard.peek(&key)
            && existing.is_live(now)
            && (existing.rank > rank
                // A forged answer that fails validation must not push out data that passed it.
                || (validation.is_bogus() && existing.validation == Validation::Secure))
        {
            return false;
        }
        // `push` hands back what it displaced: the old entry under the same key (a refresh), or
        // the least recently used one (an eviction; expired entries do not count as a loss).
        if let Some((displaced, old)) = shard.push(key.clone(), entry)
            && displaced != key
            && old.is_live(now)
        {
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Live entries evicted to make room since the cache was made.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Number of entries held, expired ones not yet evicted included.
    pub fn len(&self) -> usize {
        self.shards().map(|shard| shard.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every RRset entry at or below `zone` and returns how many there were: after a
    /// reload sends the zone to other servers, what the old ones said must not answer for it. The
    /// encoded answers, which cannot be told apart by zone cheaply, are all dropped: they are
    /// only a copy of the RRsets, and come back from them on the next query. The NSEC ranges go
    /// too: RFC 8198 answers synthesized from the old servers' proofs would outlive them.
    pub fn remove_zone(&self, zone: &Name) -> usize {
        let removed = self.remove_where(|key, _| key.is_at_or_below(zone));
        self.messages.clear();
        self.nsec_ranges.clear();
        removed
    }

    /// Drops every entry `doomed` picks, one shard lock at a time; returns how many went.
    fn remove_where(&self, doomed: impl Fn(&CacheKey, &CacheEntry) -> bool) -> usize {
        let mut removed = 0;
        for mut shard in self.shards() {
            let keys: Vec<CacheKey> = shard
                .iter()
                .filter(|(key, entry)| doomed(key, entry))
                .map(|(key, _)| key.clone())
                .collect();
            for key in keys {
                shard.pop(&key);
                removed += 1;
            }
        }
        removed
    }

    /// Every entry held, expired ones not yet evicted included, without touching the LRU order.
    /// For inspection (tests, debugging): it locks each shard in turn and copies the keys.
    pub fn entries(&self) -> Vec<(CacheKey, CacheEntry)> {
        self.shards
            .iter()
            .flat_map(|shard| {
                let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
                shard
                    .iter()
                    .map(|(key, entry)| (key.clone(), entry.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Drops every entry, encoded answers and NSEC ranges included.
    pub fn clear(&self) {
        for mut shard in self.shards() {
            shard.clear();
        }
        self.messages.clear();
        self.nsec_ranges.clear();
    }

    /// Drops every entry that failed DNSSEC validation and returns how many there were; the
    /// encoded answers never hold bogus data, so they stay.
    pub fn flush_bogus(&self) -> usize {
        self.remove_where(|_, entry| entry.validation.is_bogus())
    }

    /// Drops every entry at `name` or below it (positive, negative and delegation data alike),
    /// as `unbound-control flush_zone`; returns how many RRset-cache entries went. Names are
    /// hashed over the shards, so every shard is walked, one lock at a time.
    ///
    /// The message cache is emptied whole: a cached answer for a name elsewhere may run through
    /// the flushed subtree by CNAME or DNAME, and it is only derived data, rebuilt from the
    /// RRsets on the next question for it.
    pub fn flush_subtree(&self, name: &Name) -> usize {
        self.messages.clear();
        self.nsec_ranges.clear();
        self.remove_where(|key, _| key.is_at_or_below(name))
    }
}

/// `records`, `rrsigs` and any negative `proof` in the cache's compact form, or `None` (not
/// cached) for data hickory cannot encode.
fn encode(records: &[Record], rrsigs: &[Record], proof: &[Record]) -> Option<StoredRrset> {
    StoredRrset::encode_with_proof(records, rrsigs, proof)
        .inspect_err(|error| tracing::debug!(%error, "RRset not cached"))
        .ok()
}

fn expiry(now: Millis, ttl: u32) -> Millis {
    now + u64::from(ttl) * 1000
}

/// Enough shards that two busy threads seldom share one, few enough that tiny caches still work.
fn shard_count_for(capacity: usize) -> usize {
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get());
    (threads * 8)
        .next_power_of_two()
        .min(capacity.max(1))
        .max(1)
}

#[cfg(test)]
mod stale_tests;
#[cfg(test)]
mod stored_tests;
#[cfg(test)]
mod tests;
