//! Answering a question from the cache alone: following CNAME and DNAME links from cached data.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};

use super::{Cache, CacheEntry, KeyBuf, KeyKind, STALE_ANSWER_TTL, Validation};
use crate::answer::Answer;
use crate::records::{cname_target, synthesize_cname};

/// What the cache knows about a question.
#[derive(Debug)]
pub enum CacheLookup {
    /// A complete answer (positive, negative, or SERVFAIL for a chain that loops or runs too long).
    Hit(Answer),
    /// The cache holds the first `links` links of a chain (`chain`) that leads to `next`, which it
    /// cannot answer: resolution goes on from there.
    Partial {
        chain: Vec<Record>,
        next: Name,
        links: u32,
        /// The validation status of the links in `chain`.
        security: Validation,
    },
    Miss,
}

/// Which cached data may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    /// Live data only, TTLs counted down: the normal case.
    Live,
    /// Expired data within the stale window too (RFC 8767), for when resolution has failed. Every
    /// record then carries at most [`STALE_ANSWER_TTL`] seconds (RFC 8767 §4).
    Stale,
}

impl Cache {
    /// Answers `qname`/`qtype` from cached answer-grade data, following at most `max_links`
    /// CNAME/DNAME links. Glue and referral data never answer a client (RFC 2181 §5.4.1).
    pub fn lookup_answer(&self, qname: &Name, qtype: RecordType, max_links: u32) -> CacheLookup {
        self.lookup(qname, qtype, max_links, Freshness::Live)
    }

    /// As [`Cache::lookup_answer`], with expired data within the stale window allowed (RFC 8767).
    /// Only a complete answer is of use: `Hit` or `Miss`, never `Partial`.
    pub fn lookup_stale_answer(
        &self,
        qname: &Name,
        qtype: RecordType,
        max_links: u32,
    ) -> CacheLookup {
        match self.lookup(qname, qtype, max_links, Freshness::Stale) {
            CacheLookup::Partial { .. } => CacheLookup::Miss,
            found => found,
        }
    }

    fn lookup(
        &self,
        qname: &Name,
        qtype: RecordType,
        max_links: u32,
        freshness: Freshness,
    ) -> CacheLookup {
        let mut chain = Vec::new();
        let mut name = qname.clone();
        let mut seen = vec![qname.clone()];
        let mut security = Validation::Secure;
        loop {
            // The name lowercased once, for every key looked up at it and above it.
            let mut key = KeyBuf::new(&name);
            if let Some(key) = key.as_mut()
                && let Some(mut answer) = self.answer_at(key, qtype, &mut chain, freshness)
            {
                answer.security = answer.security.and(security);
                return CacheLookup::Hit(answer);
            }
            let next = key.as_mut().and_then(|key| {
                self.follow_link((&name, key), qtype, &mut chain, &mut security, freshness)
            });
            let Some(next) = next else {
                return if chain.is_empty() {
                    CacheLookup::Miss
                } else {
                    CacheLookup::Partial {
                        chain,
                        next: name,
                        links: seen.len() as u32 - 1,
                        security,
                    }
                };
            };
            // A chain that comes back to a name it passed through never ends: SERVFAIL rather
            // than a NOERROR answer with a dangling chain.
            if seen.contains(&next) || seen.len() as u32 > max_links {
                return CacheLookup::Hit(Answer::servfail());
            }
            seen.push(next.clone());
            name = next;
        }
    }

    /// A final answer at the name of `key` itself: the RRset asked for, or a negative entry.
    fn answer_at(
        &self,
        key: &mut KeyBuf,
        qtype: RecordType,
        chain: &mut Vec<Record>,
        freshness: Freshness,
    ) -> Option<Answer> {
        if let Some(entry) = self.find(key.key(KeyKind::Type(qtype)), freshness)
            && entry.rank.is_answer_grade()
        {
            let records = self.records_of(&entry, freshness);
            let mut answer = if entry.is_negative() {
                let proof = self.proof_of(&entry, freshness);
                negative(ResponseCode::NoError, std::mem::take(chain), records, proof)
            } else {
                let mut answer = positive(std::mem::take(chain), records);
                answer.authorities = self.proof_of(&entry, freshness);
                answer
            };
            answer.security = entry.validation;
            return Some(answer);
        }
        if let Some(entry) = self.find(key.key(KeyKind::NameError), freshness) {
            let soa = self.records_of(&entry, freshness);
            let proof = self.proof_of(&entry, freshness);
            let mut answer = negative(ResponseCode::NXDomain, std::mem::take(chain), soa, proof);
            answer.security = entry.validation;
            return Some(answer);
        }
        None
    }

    /// Appends the CNAME at `name`, or the DNAME above it and the CNAME it implies, to `chain`;
    /// returns where the link points. `key` is at `name`, and is moved up on the way.
    fn follow_link(
        &self,
        (name, key): (&Name, &mut KeyBuf),
        qtype: RecordType,
        chain: &mut Vec<Record>,
        security: &mut Validation,
        freshness: Freshness,
    ) -> Option<Name> {
        if qtype != RecordType::CNAME
            && let Some(entry) = self.find_link(key, RecordType::CNAME, freshness)
        {
            let target = entry.rrset().first().and_then(cname_target)?.clone();
            chain.extend(self.records_of(&entry, freshness));
            *security = security.and(entry.validation);
            return Some(target);
        }
        if qtype == RecordType::DNAME {
            return None;
        }
        key.up();
        while !key.is_root() {
            if let Some(entry) = self.find_link(key, RecordType::DNAME, freshness) {
                let dname_records = self.records_of(&entry, freshness);
                let cname = synthesize_cname(name, dname_records.first()?)?;
                let target = cname_target(&cname)?.clone();
                chain.extend(dname_records);
                chain.push(cname);
                *security = security.and(entry.validation);
                return Some(target);
            }
            key.up();
        }
        None
    }

    /// The entry under the key with bytes `key`.
    fn find(&self, key: &[u8], freshness: Freshness) -> Option<CacheEntry> {
        match freshness {
            Freshness::Live => self.get_within(key, 0),
            Freshness::Stale => self.get_within(key, self.stale_window_ms),
        }
    }

    /// An answer-grade CNAME or DNAME RRset at the name `key` is at.
    fn find_link(
        &self,
        key: &mut KeyBuf,
        rtype: RecordType,
        freshness: Freshness,
    ) -> Option<CacheEntry> {
        self.find(key.key(KeyKind::Type(rtype)), freshness)
            .filter(|entry| entry.rank.is_answer_grade() && !entry.is_negative())
    }

    /// The NSEC/NSEC3 proof of a negative entry, with the TTLs its SOA gets.
    fn proof_of(&self, entry: &CacheEntry, freshness: Freshness) -> Vec<Record> {
        let proof = entry.proof_at(self.clock.now_ms());
        match freshness {
            Freshness::Live => proof,
            Freshness::Stale => proof
                .into_iter()
                .map(|mut record| {
                    record.ttl = STALE_ANSWER_TTL;
                    record
                })
                .collect(),
        }
    }

    /// The entry's records with the TTL a client may be given now.
    fn records_of(&self, entry: &CacheEntry, freshness: Freshness) -> Vec<Record> {
        let records = entry.records_at(self.clock.now_ms());
        match freshness {
            Freshness::Live => records,
            Freshness::Stale => records
                .into_iter()
                .map(|mut record| {
                    // An expired record counts down to 0; a live one keeps what it has left.
                    record.ttl = if record.ttl == 0 {
                        STALE_ANSWER_TTL
                    } else {
                        record.ttl.min(STALE_ANSWER_TTL)
                    };
                    record
                })
                .collect(),
        }
    }
}

fn positive(mut chain: Vec<Record>, records: Vec<Record>) -> Answer {
    chain.extend(records);
    Answer {
        rcode: ResponseCode::NoError,
        answers: chain,
        authorities: Vec::new(),
        security: Validation::Unchecked,
    }
}

fn negative(
    rcode: ResponseCode,
    chain: Vec<Record>,
    mut soa: Vec<Record>,
    proof: Vec<Record>,
) -> Answer {
    soa.extend(proof);
    Answer {
        rcode,
        answers: chain,
        authorities: soa,
        security: Validation::Unchecked,
    }
}
