//! The RRset cache: positive RRsets, negative answers and delegations, each with an absolute expiry.
//!
//! Sharded LRU maps behind short-lived mutexes: a lookup locks one shard of many for a hash-map
//! probe and an `Arc` clone, so tasks on different threads rarely meet on the same lock.

mod entry;
mod lookup;
pub mod message;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use hickory_proto::rr::{Name, Record, RecordType};
use lru::LruCache;

pub use entry::{
    CacheEntry, CacheKey, CachedData, KeyKind, NegativeData, Rank, RrsetData, Validation,
};
pub use lookup::CacheLookup;
pub use message::{CachedMessage, MessageCache};

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
type Shard = Mutex<LruCache<CacheKey, Arc<CacheEntry>>>;

pub struct Cache {
    shards: Box<[Shard]>,
    /// Whole encoded answers, derived from the RRsets here; cleared with them.
    messages: MessageCache,
    hasher: RandomState,
    clock: Clock,
    ttl: TtlPolicy,
}

impl Cache {
    /// A cache holding at most about `capacity` entries, split over shards.
    pub fn new(capacity: usize, ttl: TtlPolicy, clock: Clock) -> Self {
        let shard_count = shard_count_for(capacity);
        let per_shard =
            NonZeroUsize::new(capacity.div_ceil(shard_count).max(1)).unwrap_or(NonZeroUsize::MIN);
        let shards = (0..shard_count)
            .map(|_| Mutex::new(LruCache::new(per_shard)))
            .collect();
        Cache {
            shards,
            messages: MessageCache::new(capacity, shard_count, clock.clone()),
            hasher: RandomState::new(),
            clock,
            ttl,
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn messages(&self) -> &MessageCache {
        &self.messages
    }

    fn shard(&self, key: &CacheKey) -> MutexGuard<'_, LruCache<CacheKey, Arc<CacheEntry>>> {
        let index = (self.hasher.hash_one(key) as usize) % self.shards.len();
        // A panic while holding a shard lock leaves only a half-updated LRU order behind, which
        // is harmless, so a poisoned lock is simply taken over.
        self.shards[index].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry under `key`, if any. Expired entries are dropped on the way.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<CacheEntry>> {
        let now = self.clock.now_ms();
        let mut shard = self.shard(key);
        match shard.get(key) {
            Some(entry) if entry.is_live(now) => Some(Arc::clone(entry)),
            Some(_) => {
                shard.pop(key);
                None
            }
            None => None,
        }
    }

    /// The live RRset of `rtype` at `name` of at least `min_rank`, or `None`.
    pub fn get_rrset(
        &self,
        name: &Name,
        rtype: RecordType,
        min_rank: Rank,
    ) -> Option<Arc<CacheEntry>> {
        self.get(&CacheKey::rrset(name, rtype))
            .filter(|entry| entry.rank >= min_rank && !entry.is_negative())
    }

    /// Caches one RRset (all `records` share owner, type and class) with the RRSIGs covering it.
    /// Returns whether it was stored: data of a lower rank than a live entry is refused.
    pub fn insert_rrset(&self, records: Vec<Record>, rrsigs: Vec<Record>, rank: Rank) -> bool {
        let Some(first) = records.first() else {
            return false;
        };
        let key = CacheKey::rrset(&first.name, first.record_type());
        let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
        let ttl = self.ttl.clamp_positive(ttl);
        let name = first.name.clone();
        let stored = self.store(
            key,
            CachedData::Rrset(RrsetData { records, rrsigs }),
            ttl,
            rank,
        );
        if stored && rank.is_answer_grade() {
            // The name evidently exists now: a stale NXDOMAIN for it must not shadow the data.
            self.shard(&CacheKey::name_error(&name))
                .pop(&CacheKey::name_error(&name));
        }
        stored
    }

    /// Caches NODATA for (`name`, `rtype`), proved by `soa`.
    pub fn insert_nodata(
        &self,
        name: &Name,
        rtype: RecordType,
        soa: Record,
        soa_rrsigs: Vec<Record>,
        rank: Rank,
    ) -> bool {
        let ttl = self.ttl.negative_ttl(&soa);
        self.store(
            CacheKey::rrset(name, rtype),
            CachedData::Negative(Box::new(NegativeData { soa, soa_rrsigs })),
            ttl,
            rank,
        )
    }

    /// Caches NXDOMAIN for `name`, proved by `soa`.
    pub fn insert_nxdomain(
        &self,
        name: &Name,
        soa: Record,
        soa_rrsigs: Vec<Record>,
        rank: Rank,
    ) -> bool {
        let ttl = self.ttl.negative_ttl(&soa);
        self.store(
            CacheKey::name_error(name),
            CachedData::Negative(Box::new(NegativeData { soa, soa_rrsigs })),
            ttl,
            rank,
        )
    }

    fn store(&self, key: CacheKey, data: CachedData, ttl: u32, rank: Rank) -> bool {
        let now = self.clock.now_ms();
        let entry = Arc::new(CacheEntry {
            data,
            expires_ms: expiry(now, ttl),
            rank,
            validation: Validation::Unchecked,
        });
        let mut shard = self.shard(&key);
        if let Some(existing) = shard.peek(&key)
            && existing.is_live(now)
            && existing.rank > rank
        {
            return false;
        }
        shard.put(key, entry);
        true
    }

    /// Number of entries held, expired ones not yet evicted included.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every RRset entry at or below `zone` and returns how many there were: after a
    /// reload sends the zone to other servers, what the old ones said must not answer for it. The
    /// encoded answers, which cannot be told apart by zone cheaply, are all dropped: they are
    /// only a copy of the RRsets, and come back from them on the next query.
    pub fn remove_zone(&self, zone: &Name) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let inside: Vec<CacheKey> = shard
                .iter()
                .filter(|(key, _)| zone.zone_of(&key.name))
                .map(|(key, _)| key.clone())
                .collect();
            for key in inside {
                shard.pop(&key);
                removed += 1;
            }
        }
        self.messages.clear();
        removed
    }

    /// Drops every entry, encoded answers included.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            shard.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        self.messages.clear();
    }
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
