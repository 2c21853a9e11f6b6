//! The message cache: whole answers kept as wire bytes, so a cache hit is a lookup, a copy and a
//! few patched bytes instead of assembling and encoding records (Unbound's msg-cache does the same
//! job in front of its RRset cache).
//!
//! An entry is the encoded response without its header fields that depend on the query (ID, RD,
//! CD), without OPT, and with the offset and expiry of every record's TTL so each can be counted
//! down on the way out. The question in the entry is replaced by the client's own question bytes:
//! only the letter case can differ, so lengths and compression pointers stay valid.

use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use lru::LruCache;

use crate::clock::{Clock, Millis, remaining_ttl};

const HEADER_LEN: usize = 12;

/// The key: the lowercased question name in wire format, the type, and whether DNSSEC records are
/// included (DO set), as bytes, so that a lookup needs no allocation.
pub type MessageKey = [u8];

/// A hit refreshes its entry's place in the LRU at most this often. Moving an entry to the front
/// writes to it and to its neighbours in the LRU list, three cache lines a hit, on the path every
/// cached answer takes; a name asked for more often than this is just as safe from eviction when
/// it is moved once a second (memcached bumps its items the same way).
const PROMOTE_EVERY_MS: Millis = 1_000;

/// One cached response, in one allocation besides its header: the key, the records and where
/// their TTLs are, read together on a hit. (The TTL offsets had an allocation of their own, and
/// `prefetch_at_ms` a field, until a million cached names showed the ~50 bytes a name they cost.)
#[derive(Debug)]
pub struct CachedMessage {
    /// The key; then the response from the end of the question on (answer, authority, additional
    /// sections) with each record's TTL as it was when stored; then the offsets of the records'
    /// TTL fields from the start of the records, as native-endian `u16`s.
    bytes: Box<[u8]>,
    key_len: u16,
    /// Where the records end and the TTL offsets begin in `bytes`.
    records_end: u16,
    /// The header's rcode and section counts.
    rcode: u8,
    counts: [u16; 3],
    stored_ms: Millis,
    expires_ms: Millis,
    /// Set by the first hit that asks for the refresh, so one refresh is started, not one a hit.
    /// (Entries are only touched under their shard's lock, so plain fields do.)
    prefetch_claimed: bool,
    /// When a hit last moved this entry to the front of its LRU.
    promoted_ms: Millis,
    /// The answer validated as secure: clients that ask get AD (RFC 4035 §3.2.3).
    secure: bool,
}

/// What the response must echo from the query.
#[derive(Debug, Clone, Copy)]
pub struct QueryEcho<'a> {
    pub id: u16,
    pub recursion_desired: bool,
    pub checking_disabled: bool,
    /// AD in the query (RFC 6840 §5.7: the client understands AD).
    pub authentic_data: bool,
    /// The client's question section (name, type, class) exactly as it sent it.
    pub question: &'a [u8],
    /// The client's EDNS DO bit, when it sent an OPT record.
    pub edns_dnssec_ok: Option<bool>,
}

impl CachedMessage {
    /// Builds the entry for `key` from an encoded response (header, one question, records, no
    /// OPT) whose TTLs are relative to `now_ms`. `None` when the bytes do not walk as a DNS
    /// message or an answer has already expired.
    /// `secure`: the answer validated, so clients that ask for it get AD.
    pub fn from_response(
        key: &MessageKey,
        bytes: &[u8],
        now_ms: Millis,
        secure: bool,
    ) -> Option<Self> {
        let header = bytes.get(..HEADER_LEN)?;
        let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
        if count(4) != 1 {
            return None;
        }
        let counts = [count(6), count(8), count(10)];
        let question_end = skip_name(bytes, HEADER_LEN)?.checked_add(4)?;
        let mut offset = question_end;
        let mut ttl_offsets = Vec::new();
        let mut shortest_ttl = u32::MAX;
        let total = counts.iter().map(|c| usize::from(*c)).sum::<usize>();
        for _ in 0..total {
            let ttl_at = skip_name(bytes, offset)?.checked_add(4)?;
            let ttl = u32::from_be_bytes(bytes.get(ttl_at..ttl_at + 4)?.try_into().ok()?);
            let rdlen = usize::from(u16::from_be_bytes(
                bytes.get(ttl_at + 4..ttl_at + 6)?.try_into().ok()?,
            ));
            ttl_offsets.push(u16::try_from(ttl_at - question_end).ok()?);
            shortest_ttl = shortest_ttl.min(ttl);
            offset = ttl_at + 6 + rdlen;
        }
        // Without records (or with a TTL of 0) there is nothing to count down: not kept.
        if offset != bytes.len() || total == 0 || shortest_ttl == 0 {
            return None;
        }
        let expires_ms = now_ms + u64::from(shortest_ttl) * 1000;
        let records_end = key.len() + bytes.len() - question_end;
        let mut stored = Vec::with_capacity(records_end + 2 * ttl_offsets.len());
        stored.extend_from_slice(key);
        stored.extend_from_slice(&bytes[question_end..]);
        for offset in &ttl_offsets {
            stored.extend_from_slice(&offset.to_ne_bytes());
        }
        Some(CachedMessage {
            bytes: stored.into_boxed_slice(),
            key_len: u16::try_from(key.len()).ok()?,
            records_end: u16::try_from(records_end).ok()?,
            rcode: header[3] & 0x0f,
            counts,
            stored_ms: now_ms,
            expires_ms,
            prefetch_claimed: false,
            promoted_ms: now_ms,
            secure,
        })
    }

    fn key(&self) -> &MessageKey {
        &self.bytes[..usize::from(self.key_len)]
    }

    fn records(&self) -> &[u8] {
        &self.bytes[usize::from(self.key_len)..usize::from(self.records_end)]
    }

    fn ttl_offsets(&self) -> impl Iterator<Item = usize> + '_ {
        self.bytes[usize::from(self.records_end)..]
            .chunks_exact(2)
            .map(|pair| usize::from(u16::from_ne_bytes([pair[0], pair[1]])))
    }

    /// From here on (the last tenth of its life) a hit asks for a background refresh, so popular
    /// names are renewed before they expire (Unbound's `prefetch`).
    fn prefetch_at_ms(&self) -> Millis {
        self.expires_ms - (self.expires_ms - self.stored_ms) / 10
    }

    /// Whether this hit, at `now_ms`, is the one that should start a background refresh.
    pub fn claim_prefetch(&mut self, now_ms: Millis) -> bool {
        if now_ms < self.prefetch_at_ms() || self.prefetch_claimed {
            return false;
        }
        self.prefetch_claimed = true;
        true
    }

    pub fn is_live(&self, now_ms: Millis) -> bool {
        now_ms < self.expires_ms
    }

    /// Whether a hit at `now_ms` should move the entry to the front of its LRU (and notes that
    /// it did).
    fn wants_promotion(&mut self, now_ms: Millis) -> bool {
        if now_ms.saturating_sub(self.promoted_ms) < PROMOTE_EVERY_MS {
            return false;
        }
        self.promoted_ms = now_ms;
        true
    }

    /// Writes the response to `query` into `out`: header, the client's question, the records
    /// with TTLs counted down to `now_ms`, and an OPT record if the client sent one.
    pub fn write_response(&self, query: &QueryEcho<'_>, now_ms: Millis, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&query.id.to_be_bytes());
        out.push(0x80 | u8::from(query.recursion_desired));
        // AD (0x20) for a secure answer to a client that wants it: DO or AD set, CD clear.
        let wants_ad = !query.checking_disabled
            && (query.authentic_data || query.edns_dnssec_ok == Some(true));
        let ad = if self.secure && wants_ad { 0x20 } else { 0 };
        out.push(0x80 | if query.checking_disabled { 0x10 } else { 0 } | ad | self.rcode);
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&self.counts[0].to_be_bytes());
        out.extend_from_slice(&self.counts[1].to_be_bytes());
        let additional = self.counts[2] + u16::from(query.edns_dnssec_ok.is_some());
        out.extend_from_slice(&additional.to_be_bytes());
        out.extend_from_slice(query.question);
        let records_at = out.len();
        out.extend_from_slice(self.records());
        // Every record's TTL counts down by the time spent in the cache (RFC 1035 §4.1.3); the
        // stored TTLs are the ones at `stored_ms`.
        let elapsed_ms = now_ms.saturating_sub(self.stored_ms);
        for offset in self.ttl_offsets() {
            let at = records_at + offset;
            let Some(field) = out.get_mut(at..at + 4) else {
                continue;
            };
            let stored = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
            let ttl = remaining_ttl(u64::from(stored) * 1000, elapsed_ms);
            field.copy_from_slice(&ttl.to_be_bytes());
        }
        if let Some(dnssec_ok) = query.edns_dnssec_ok {
            write_opt(out, dnssec_ok);
        }
    }
}

/// An OPT record (RFC 6891 §6.1.2): root owner, our payload size, version 0, DO echoed.
fn write_opt(out: &mut Vec<u8>, dnssec_ok: bool) {
    out.push(0);
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&crate::wire::EDNS_PAYLOAD.to_be_bytes());
    out.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
    out.extend_from_slice(&0u16.to_be_bytes());
}

/// The offset just past the (possibly compressed) name starting at `offset`.
fn skip_name(bytes: &[u8], mut offset: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(offset)?;
        match len {
            0 => return Some(offset + 1),
            1..=63 => offset += 1 + usize::from(len),
            0xc0..=0xff => return bytes.get(offset + 1).map(|_| offset + 2),
            _ => return None,
        }
    }
}

/// Entries are filed under a 64-bit hash of their key, which the entry itself repeats: a lookup
/// compares one integer in the table and the key bytes in the entry it is about to read anyway,
/// instead of following a pointer to a separately allocated key. Two keys with one hash (never
/// seen in practice with a keyed 64-bit SipHash) only cost each other their place: a lookup
/// checks the key and misses, an insert replaces.
///
/// Entries sit in the LRU's nodes themselves, not behind an `Arc`: a hit reads the node and the
/// entry's bytes, one pointer hop fewer, and writes the response while the shard is locked (a
/// copy of a few hundred bytes), with no reference count to bump on a cache line other threads
/// share.
type Shard = Mutex<LruCache<u64, CachedMessage>>;

/// Sharded LRU of cached responses.
pub struct MessageCache {
    shards: Box<[Shard]>,
    /// The keyed foldhash (random seed per instance) that the RRset cache picks its shards with
    /// too; the hash both picks the shard and is the key within it (the full key is compared on
    /// every hit, so a collision costs a miss, never a wrong answer). std's SipHash here took
    /// 278 instructions for a 30-byte key, foldhash 61 (callgrind).
    hasher: lru::DefaultHasher,
    clock: Clock,
}

impl MessageCache {
    pub fn new(capacity: usize, shard_count: usize, clock: Clock) -> Self {
        let per_shard =
            NonZeroUsize::new(capacity.div_ceil(shard_count).max(1)).unwrap_or(NonZeroUsize::MIN);
        MessageCache {
            shards: (0..shard_count)
                .map(|_| Mutex::new(crate::bounded_lru::new(per_shard)))
                .collect(),
            hasher: lru::DefaultHasher::default(),
            clock,
        }
    }

    /// The shard for a key and the key's hash within it.
    fn shard(
        &self,
        key: &MessageKey,
    ) -> (std::sync::MutexGuard<'_, LruCache<u64, CachedMessage>>, u64) {
        let hash = self.hasher.hash_one(key);
        // The low bits pick the slot inside the shard's table; the high ones pick the shard.
        let index = ((hash >> 32) as usize) % self.shards.len();
        let shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
        (shard, hash)
    }

    /// Runs `use_message` on the response under `key` if it is still live at `now_ms`, with
    /// the shard locked (keep it short: write the response, nothing more).
    pub fn with<R>(
        &self,
        key: &MessageKey,
        now_ms: Millis,
        use_message: impl FnOnce(&mut CachedMessage) -> R,
    ) -> Option<R> {
        let (mut shard, hash) = self.shard(key);
        let message = shard.peek_mut(&hash)?;
        if message.key() != key {
            return None;
        }
        if !message.is_live(now_ms) {
            shard.pop(&hash);
            return None;
        }
        let promote = message.wants_promotion(now_ms);
        let result = use_message(message);
        if promote {
            shard.promote(&hash);
        }
        Some(result)
    }

    /// Drops the answers to `name`/`qtype` (with and without DNSSEC records), so the next query
    /// is built from the RRset cache afresh.
    pub fn forget(&self, name: &Name, qtype: RecordType) {
        let Ok(wire) = name.to_lowercase().to_bytes() else {
            return;
        };
        let mut key = [0u8; 258];
        for dnssec_ok in [false, true] {
            if let Some(len) = write_key(&wire, u16::from(qtype), dnssec_ok, &mut key) {
                let (mut shard, hash) = self.shard(&key[..len]);
                if shard.peek(&hash).is_some_and(|m| m.key() == &key[..len]) {
                    shard.pop(&hash);
                }
            }
        }
    }

    /// Files `message` under the key it was built for.
    pub fn insert(&self, message: CachedMessage) {
        let (mut shard, hash) = self.shard(message.key());
        shard.put(hash, message);
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        for shard in self.shards.iter() {
            shard.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }
}

/// Writes the message-cache key for a question into `key`: the name lowercased (wire format),
/// the type, and the DO bit. Returns the key's length, or `None` for a name that is not a plain
/// uncompressed wire name of at most 255 bytes.
pub fn write_key(name: &[u8], qtype: u16, dnssec_ok: bool, key: &mut [u8; 258]) -> Option<usize> {
    if name.len() > 255 {
        return None;
    }
    for (to, from) in key.iter_mut().zip(name) {
        *to = from.to_ascii_lowercase();
    }
    key[name.len()..name.len() + 2].copy_from_slice(&qtype.to_be_bytes());
    key[name.len() + 2] = u8::from(dnssec_ok);
    Some(name.len() + 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::{A, CNAME};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn response() -> Vec<u8> {
        let mut message = Message::new(7, MessageType::Response, OpCode::Query);
        message.add_query(Query::query(name("www.example.test."), RecordType::A));
        message.add_answer(Record::from_rdata(
            name("www.example.test."),
            300,
            RData::CNAME(CNAME(name("host.example.test."))),
        ));
        message.add_answer(Record::from_rdata(
            name("host.example.test."),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        message.to_vec().unwrap()
    }

    #[test]
    fn a_secure_answer_has_ad_only_for_clients_that_want_it() {
        let bytes = response();
        let question = &bytes[12..12 + 18 + 4];
        let ad_of = |secure: bool, dnssec_ok: Option<bool>, ad: bool, cd: bool| {
            let cached =
                CachedMessage::from_response(b"key", &bytes, 1_000_000, secure).expect("walks");
            let echo = QueryEcho {
                id: 1,
                recursion_desired: true,
                checking_disabled: cd,
                authentic_data: ad,
                question,
                edns_dnssec_ok: dnssec_ok,
            };
            let mut out = Vec::new();
            cached.write_response(&echo, 1_000_000, &mut out);
            let decoded = Message::from_vec(&out).expect("decodes");
            assert_eq!(decoded.metadata.checking_disabled, cd);
            decoded.metadata.authentic_data
        };
        // RFC 6840 §5.7: DO=1 or AD=1 asks for AD; CD=1 gets the data without it.
        assert!(ad_of(true, Some(true), false, false));
        assert!(ad_of(true, None, true, false));
        assert!(!ad_of(true, Some(false), false, false));
        assert!(!ad_of(true, None, false, false));
        assert!(!ad_of(true, Some(true), true, true));
        assert!(!ad_of(false, Some(true), true, false));
    }

    #[test]
    fn walks_a_response_and_counts_ttls_down_per_record() {
        let bytes = response();
        let cached = CachedMessage::from_response(b"key", &bytes, 1_000_000, false).expect("walks");
        assert_eq!(cached.counts, [2, 0, 0]);
        assert_eq!(cached.expires_ms, 1_060_000);
        let question = &bytes[12..12 + 18 + 4];
        let echo = QueryEcho {
            id: 99,
            recursion_desired: true,
            checking_disabled: false,
            authentic_data: false,
            question,
            edns_dnssec_ok: Some(true),
        };
        let mut out = Vec::new();
        cached.write_response(&echo, 1_010_000, &mut out);
        let decoded = Message::from_vec(&out).expect("decodes");
        assert_eq!(decoded.metadata.id, 99);
        assert!(decoded.metadata.recursion_desired && decoded.metadata.recursion_available);
        assert_eq!(decoded.answers[0].ttl, 290);
        assert_eq!(decoded.answers[1].ttl, 50);
        assert!(decoded.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok));
    }

    #[test]
    fn one_prefetch_is_claimed_in_the_last_tenth_of_the_ttl() {
        let mut cached =
            CachedMessage::from_response(b"key", &response(), 1_000_000, false).expect("walks");
        // The shortest TTL is 60 s: the last tenth starts 54 s in.
        assert!(!cached.claim_prefetch(1_053_999));
        assert!(cached.claim_prefetch(1_054_000));
        assert!(!cached.claim_prefetch(1_055_000), "claimed once");
    }

    fn entry(key: &[u8], now_ms: Millis) -> CachedMessage {
        CachedMessage::from_response(key, &response(), now_ms, false).expect("walks")
    }

    #[test]
    fn a_hit_keeps_an_entry_in_the_cache_once_a_second_at_most() {
        let cache = MessageCache::new(2, 1, Clock::system());
        cache.insert(entry(b"a", 0));
        cache.insert(entry(b"b", 0));
        // Within the first second a hit does not move "a": it is still the oldest.
        assert!(cache.with(b"a", 500, |_| ()).is_some());
        cache.insert(entry(b"c", 500));
        assert!(
            cache.with(b"a", 600, |_| ()).is_none(),
            "evicted as least recently promoted"
        );
        // Later hits do move it to the front.
        cache.insert(entry(b"a", 600));
        assert!(cache.with(b"a", 1_700, |_| ()).is_some());
        cache.insert(entry(b"d", 1_700));
        assert!(cache.with(b"a", 1_800, |_| ()).is_some());
        assert!(
            cache.with(b"c", 1_800, |_| ()).is_none(),
            "the oldest is evicted instead"
        );
    }

    #[test]
    fn a_lookup_checks_the_whole_key_and_expiry() {
        let cache = MessageCache::new(10, 1, Clock::system());
        cache.insert(entry(b"www", 0));
        assert!(cache.with(b"www", 1, |_| ()).is_some());
        assert!(cache.with(b"WWW", 1, |_| ()).is_none());
        assert!(
            cache.with(b"www", 60_000, |_| ()).is_none(),
            "expired with its shortest TTL"
        );
        assert!(cache.is_empty(), "an expired entry is dropped when found");
    }

    #[test]
    fn rejects_what_does_not_walk() {
        let bytes = response();
        assert!(
            CachedMessage::from_response(b"key", &bytes[..bytes.len() - 1], 0, false).is_none()
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(CachedMessage::from_response(b"key", &longer, 0, false).is_none());
    }
}
