//! LRU maps with a bound, for every table that must not grow without one (the caches, the
//! upstream server records, the rate limiter's buckets, the trust anchors' keys).

use std::hash::Hash;
use std::num::NonZeroUsize;

use lru::LruCache;

/// An LRU map that holds at most `capacity` entries but allocates its hash table as it fills.
///
/// `LruCache::new` sizes the table for the full capacity up front: with a cache of a million
/// entries holding a few thousand, every lookup then probed a sparse table of megabytes and
/// missed the CPU caches twice (control bytes, then the bucket). A profile of cached UDP answers
/// put 8% of the server's time in those two loads. A table that grows keeps a small working set
/// dense; the occasional doubling is amortised like any hash map's.
pub fn new<K: Hash + Eq, V>(capacity: NonZeroUsize) -> LruCache<K, V> {
    let mut lru = LruCache::unbounded();
    lru.resize(capacity);
    lru
}
