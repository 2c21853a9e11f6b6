//! Answering a question from the cache alone: following CNAME and DNAME links from cached data.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};

use super::{Cache, CacheKey, CachedData, Rank};
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
    },
    Miss,
}

impl Cache {
    /// Answers `qname`/`qtype` from cached answer-grade data, following at most `max_links`
    /// CNAME/DNAME links. Glue and referral data never answer a client (RFC 2181 §5.4.1).
    pub fn lookup_answer(&self, qname: &Name, qtype: RecordType, max_links: u32) -> CacheLookup {
        let mut chain = Vec::new();
        let mut name = qname.clone();
        let mut seen = vec![qname.clone()];
        loop {
            if let Some(answer) = self.answer_at(&name, qtype, &mut chain) {
                return CacheLookup::Hit(answer);
            }
            let Some(next) = self.follow_link(&name, qtype, &mut chain) else {
                return if chain.is_empty() {
                    CacheLookup::Miss
                } else {
                    CacheLookup::Partial {
                        chain,
                        next: name,
                        links: seen.len() as u32 - 1,
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

    /// A final answer at `name` itself: the RRset asked for, or a negative entry.
    fn answer_at(&self, name: &Name, qtype: RecordType, chain: &mut Vec<Record>) -> Option<Answer> {
        let now = self.clock.now_ms();
        if let Some(entry) = self.get(&CacheKey::rrset(name, qtype))
            && entry.rank.is_answer_grade()
        {
            let records = entry.records_at(now);
            return Some(match entry.data {
                CachedData::Rrset(_) => positive(std::mem::take(chain), records),
                CachedData::Negative(_) => {
                    negative(ResponseCode::NoError, std::mem::take(chain), records)
                }
            });
        }
        if let Some(entry) = self.get(&CacheKey::name_error(name)) {
            let soa = entry.records_at(now);
            return Some(negative(ResponseCode::NXDomain, std::mem::take(chain), soa));
        }
        None
    }

    /// Appends the CNAME at `name`, or the DNAME above it and the CNAME it implies, to `chain`;
    /// returns where the link points.
    fn follow_link(&self, name: &Name, qtype: RecordType, chain: &mut Vec<Record>) -> Option<Name> {
        let now = self.clock.now_ms();
        if qtype != RecordType::CNAME
            && let Some(entry) = self.get_rrset(name, RecordType::CNAME, Rank::NonAuthAnswer)
        {
            let target = entry.rrset().first().and_then(cname_target)?.clone();
            chain.extend(entry.records_at(now));
            return Some(target);
        }
        if qtype == RecordType::DNAME {
            return None;
        }
        let mut ancestor = name.base_name();
        while !ancestor.is_root() {
            if let Some(entry) = self.get_rrset(&ancestor, RecordType::DNAME, Rank::NonAuthAnswer) {
                let dname_records = entry.records_at(now);
                let cname = synthesize_cname(name, dname_records.first()?)?;
                let target = cname_target(&cname)?.clone();
                chain.extend(dname_records);
                chain.push(cname);
                return Some(target);
            }
            ancestor = ancestor.base_name();
        }
        None
    }
}

fn positive(mut chain: Vec<Record>, records: Vec<Record>) -> Answer {
    chain.extend(records);
    Answer {
        rcode: ResponseCode::NoError,
        answers: chain,
        authorities: Vec::new(),
    }
}

fn negative(rcode: ResponseCode, chain: Vec<Record>, soa: Vec<Record>) -> Answer {
    Answer {
        rcode,
        answers: chain,
        authorities: soa,
    }
}
