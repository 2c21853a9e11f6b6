//! Merging identical questions: while one resolution of (name, type) is running, later askers
//! wait for its answer instead of starting their own (no thundering herd on a cache miss).
//!
//! The table holds at most `limit` questions. A flood of distinct names that all miss the cache
//! (random-subdomain attacks) would otherwise start one resolution, with its upstream queries and
//! memory, per packet; beyond the limit a new question is turned away at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::answer::Answer;
use crate::cache::CacheKey;
use crate::published::{self, Publisher, Subscriber};

/// A question, keyed as the cache keys its answer: the name lowercased in wire format and the
/// type, hashed in two calls (a `(Name, RecordType)` took one per label, ~850 instructions).
type Key = CacheKey;
type Slot = Subscriber<Arc<Answer>>;
/// Hashed with the cache's keyed foldhash (a random seed per table), as the cache's own tables
/// hash the same keys: std's SipHash was 230 instructions a lookup, three lookups per miss.
type Table = HashMap<Key, Slot, lru::DefaultHasher>;

#[derive(Debug, Clone)]
pub struct InFlight {
    table: Arc<Mutex<Table>>,
    limit: usize,
}

/// The table is full: the question was neither joined nor started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlightFull;

impl Default for InFlight {
    fn default() -> Self {
        InFlight::new(usize::MAX)
    }
}

impl InFlight {
    /// A table for at most `limit` questions at once.
    pub fn new(limit: usize) -> Self {
        InFlight {
            table: Arc::default(),
            limit,
        }
    }

    /// Returns the answer for `key`, running `resolve` only if no resolution of it is under way.
    /// Joining a running resolution is always allowed; starting one when `limit` are running is
    /// not.
    ///
    /// The resolution runs in the caller's task, which therefore must run to completion for
    /// the resolution to (the listeners spawn a task per query, which does): a spawned task per
    /// resolution, with the asker waiting on it, was a second task per cache miss. Should the
    /// caller be dropped mid-way, the question leaves the table and those who joined it get
    /// SERVFAIL, as when a resolution panics.
    pub async fn resolve<F, Fut>(&self, key: Key, resolve: F) -> Result<Arc<Answer>, InFlightFull>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer>,
    {
        let slot = match self.join_or_lead(key)? {
            Turn::Join(slot) => slot,
            Turn::Lead(leading) => {
                // Boxed: a resolution's future holds the whole iteration state (several
                // kilobytes), which would otherwise make the caller's future, and every move of
                // it, that much bigger.
                let answer = Arc::new(Box::pin(resolve()).await);
                leading.finish(Arc::clone(&answer));
                return Ok(answer);
            }
        };
        Ok(match slot.wait().await {
            Some(answer) => answer,
            // The resolution ended without answering (it panicked, or its caller was dropped):
            // fail closed.
            None => Arc::new(Answer::servfail()),
        })
    }

    fn join_or_lead(&self, key: Key) -> Result<Turn, InFlightFull> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = table.get(&key) {
            return Ok(Turn::Join(slot.clone()));
        }
        if table.len() >= self.limit {
            return Err(InFlightFull);
        }
        let (sender, slot) = published::channel();
        table.insert(key.clone(), slot);
        drop(table);
        Ok(Turn::Lead(Leading {
            leave: LeaveOnDrop {
                table: Arc::clone(&self.table),
                key,
            },
            sender,
        }))
    }

    /// Number of distinct questions being resolved right now.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a question was joined or is the caller's to resolve.
enum Turn {
    Join(Slot),
    Lead(Leading),
}

/// The resolution of a question the caller runs, and the channel its joiners wait on.
struct Leading {
    leave: LeaveOnDrop,
    sender: Publisher<Arc<Answer>>,
}

impl Leading {
    fn finish(self, answer: Arc<Answer>) {
        // Leave the table before answering: whoever arrives after this finds the answer in the
        // cache rather than a finished slot. With nobody joined, nobody is told.
        drop(self.leave);
        self.sender.publish(answer);
    }
}

/// Removes a question from the table when its resolution ends, however it ends (a panic, or the
/// caller dropped, included), so the table never keeps dead slots.
struct LeaveOnDrop {
    table: Arc<Mutex<Table>>,
    key: Key,
}

impl Drop for LeaveOnDrop {
    fn drop(&mut self) {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(name: &str) -> Key {
        use hickory_proto::rr::{Name, RecordType};
        CacheKey::rrset(&Name::from_ascii(name).unwrap(), RecordType::A)
    }

    #[tokio::test]
    async fn a_full_table_turns_new_questions_away_but_lets_joiners_in() {
        let inflight = InFlight::new(1);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let inflight = inflight.clone();
            tokio::spawn(async move {
                inflight
                    .resolve(key("a.test."), || async move {
                        let _ = released.await;
                        Answer::with_rcode(hickory_proto::op::ResponseCode::NoError)
                    })
                    .await
            })
        };
        while inflight.is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let refused = inflight
            .resolve(key("b.test."), || async { Answer::servfail() })
            .await;
        assert_eq!(refused, Err(InFlightFull));
        let joiner = {
            let inflight = inflight.clone();
            tokio::spawn(async move {
                inflight
                    .resolve(key("a.test."), || async { Answer::servfail() })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let _ = release.send(());
        let rcode = hickory_proto::op::ResponseCode::NoError;
        assert_eq!(first.await.unwrap().unwrap().rcode, rcode);
        assert_eq!(
            joiner.await.unwrap().unwrap().rcode,
            rcode,
            "joined, not refused"
        );
        assert!(inflight.is_empty());
    }
}
