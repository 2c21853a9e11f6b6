//! Merging identical upstream questions: while one query of a zone's servers for (name, type) is
//! outstanding, other resolutions that need the same question of the same zone wait for its
//! outcome instead of sending their own. Unbound does the like in its outside network, where an
//! outgoing query identical to one outstanding to the same server address joins it as one more
//! callback; merging per zone, before a server is chosen, also catches askers whose server
//! selection would have picked different servers of the zone.
//!
//! Without this, a burst of client questions for distinct names under a zone not yet cached
//! each walk down from the root on their own: N questions send N minimised queries to the root
//! and N to the TLD, and all but one of those answers teach nothing the first did not. The
//! client-question table ([`super::InFlight`]) cannot help, the client questions being distinct.
//!
//! The first asker (the *leader*) sends the question as before, from its own budget, and
//! publishes what came back; the *followers* spend no upstream query and wait at most until their
//! own budget's deadline. The leader's outcome is shared when it says something about the zone:
//!
//! - a usable response (referral, answer, NXDOMAIN, NODATA), shared as an `Arc` that nobody
//!   mutates: each follower clones the classification it consumes, so nothing one does with it
//!   (TTL clamping, caching) reaches another. 0x20 case was already checked and restored by the
//!   upstream layer before the response got here.
//! - every server of the zone failing ([`ResolveError::ServersFailed`]): they were all just tried
//!   in full, each with the whole upstream timeout before giving up, so asking again at once
//!   would repeat the same failures and double the load on a zone that is struggling. The
//!   followers react as they would have to their own failure (minimised questions fall back to
//!   the full name, a glueless zone is looked up again through its parent).
//!
//! What is *not* shared is the end of the leader's own budget (its time or query allowance ran
//! out, or its client's resolution was cancelled and its future dropped): that says nothing about
//! the servers. The leader then leaves without an outcome, the channel closes, and each follower
//! asks again, one of them becoming the new leader.
//!
//! The table is bounded: beyond `limit` outstanding questions a question is simply sent
//! unmerged, as before this table existed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use tokio::time::{Instant, timeout_at};

use super::ResolveError;
use super::classify::Classified;
use super::delegation::ServerRole;
use crate::cache::push_lowercase_wire;
use crate::published::{self, Publisher, Subscriber};

/// A usable response and what it was classified as, for the question of the key.
pub type SharedResponse = Arc<(Message, Classified)>;

/// One question to one zone's servers. Names compare without regard to case (RFC 4343): the key
/// holds them lowercased, in wire format, with the rest of the question after them, so that it
/// never depends on how a client spelled a name, and hashes in two calls to the hasher (two
/// `Name`s took one per label, ~1,500 instructions a hash).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamQuestion {
    /// The zone, the name (each self-delimiting in wire format), the type (2 bytes), then the
    /// role and whether the servers are configured (see [`UpstreamQuestion::new`]).
    key: Box<[u8]>,
}

impl UpstreamQuestion {
    /// The question of `name`/`rtype` to the servers of `zone`. Forwarders (`role`) are asked
    /// with RD and answer recursively, authorities iteratively: their answers to the same
    /// question are not the same thing. A zone's servers named by the operator (`configured`, a
    /// stub zone) are not the ones the zone's parent names, and may well answer differently
    /// (that is why they were configured).
    pub fn new(
        zone: &Name,
        name: &Name,
        rtype: RecordType,
        role: ServerRole,
        configured: bool,
    ) -> Self {
        let mut key = Vec::with_capacity(64);
        push_lowercase_wire(zone, &mut key);
        push_lowercase_wire(name, &mut key);
        key.extend_from_slice(&u16::from(rtype).to_be_bytes());
        key.push(match role {
            ServerRole::Authority => 0,
            ServerRole::Forwarder {
                recursion_desired: false,
            } => 1,
            ServerRole::Forwarder {
                recursion_desired: true,
            } => 2,
        });
        key.push(u8::from(configured));
        UpstreamQuestion {
            key: key.into_boxed_slice(),
        }
    }
}

/// What a leader found out, as its followers see it.
#[derive(Debug, Clone)]
enum Outcome {
    Answered(SharedResponse),
    ServersFailed,
}

/// Keyed foldhash (a random seed per table), as the cache's tables: SipHash was ~260
/// instructions per lookup, two per upstream query.
type Table = Arc<Mutex<HashMap<UpstreamQuestion, Subscriber<Outcome>, lru::DefaultHasher>>>;

/// The upstream questions outstanding now, each with the channel its outcome will arrive on.
#[derive(Debug, Clone)]
pub struct UpstreamInFlight {
    table: Table,
    limit: usize,
}

/// What to do about a question: send it and tell the others, wait for someone else's, or (the
/// table being full) just send it.
pub enum Turn {
    Lead(Leader),
    Follow(Follower),
    Unmerged,
}

impl UpstreamInFlight {
    /// A table for at most `limit` outstanding questions.
    pub fn new(limit: usize) -> Self {
        UpstreamInFlight {
            table: Arc::default(),
            limit,
        }
    }

    /// Joins the query for `question` if one is outstanding, or registers this asker as the one
    /// who sends it.
    pub fn join(&self, question: UpstreamQuestion) -> Turn {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(outcome) = table.get(&question) {
            return Turn::Follow(Follower {
                outcome: outcome.clone(),
            });
        }
        if table.len() >= self.limit {
            return Turn::Unmerged;
        }
        let (sender, outcome) = published::channel();
        table.insert(question.clone(), outcome);
        Turn::Lead(Leader {
            table: Arc::clone(&self.table),
            question,
            sender,
        })
    }

    /// Number of upstream questions outstanding (and open to followers) now.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The asker who sends a question. Dropping it, published or not, takes the question out of the
/// table; dropping it unpublished (a cancelled resolution, or [`Leader::publish`] of a failure
/// that is the leader's own) closes the channel, which wakes the followers to ask for themselves.
pub struct Leader {
    table: Table,
    question: UpstreamQuestion,
    sender: Publisher<Outcome>,
}

impl Leader {
    /// Tells the followers how the question went, where that is worth sharing (see the module
    /// comment): a usable response or every server failing, never the leader's own budget.
    pub fn publish(self, result: &Result<SharedResponse, ResolveError>) {
        let outcome = match result {
            Ok(response) => Outcome::Answered(Arc::clone(response)),
            Err(ResolveError::ServersFailed(_)) => Outcome::ServersFailed,
            Err(_) => return,
        };
        self.sender.publish(outcome);
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.question);
    }
}

/// An asker waiting for a leader's outcome.
pub struct Follower {
    outcome: Subscriber<Outcome>,
}

/// How waiting for a leader ended.
pub enum Followed {
    /// The leader's outcome, as the follower's own: a response or `ServersFailed(zone)`.
    Shared(Result<SharedResponse, ResolveError>),
    /// The leader left without an outcome worth sharing: ask again.
    LeaderGone,
}

impl Follower {
    /// Waits for the leader's outcome, at most until `deadline` (the follower's budget), after
    /// which the follower's resolution has run out of time as if it had asked itself.
    pub async fn wait(self, zone: &Name, deadline: Instant) -> Result<Followed, ResolveError> {
        match timeout_at(deadline, self.outcome.wait()).await {
            Err(_) => Err(ResolveError::Timeout),
            Ok(None) => Ok(Followed::LeaderGone),
            Ok(Some(Outcome::Answered(response))) => Ok(Followed::Shared(Ok(response))),
            Ok(Some(Outcome::ServersFailed)) => Ok(Followed::Shared(Err(
                ResolveError::ServersFailed(zone.clone()),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode};
    use std::time::Duration;

    fn question(name: &str) -> UpstreamQuestion {
        UpstreamQuestion::new(
            &Name::from_ascii("test.").unwrap(),
            &Name::from_ascii(name).unwrap(),
            RecordType::A,
            ServerRole::Authority,
            false,
        )
    }

    fn response() -> SharedResponse {
        Arc::new((
            Message::new(7, MessageType::Response, OpCode::Query),
            Classified::Answer { chain: Vec::new() },
        ))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    fn zone() -> Name {
        Name::from_ascii("test.").unwrap()
    }

    #[tokio::test]
    async fn followers_get_the_leaders_response_and_the_entry_goes() {
        let table = UpstreamInFlight::new(10);
        let Turn::Lead(leader) = table.join(question("a.test.")) else {
            panic!("the first asker leads");
        };
        // Case does not make another question.
        let Turn::Follow(follower) = table.join(question("A.TeSt.")) else {
            panic!("the second asker follows");
        };
        let Turn::Lead(_other) = table.join(question("b.test.")) else {
            panic!("another name is another question");
        };
        let waiting = tokio::spawn(async move { follower.wait(&zone(), soon()).await });
        let sent = response();
        leader.publish(&Ok(Arc::clone(&sent)));
        let Ok(Followed::Shared(Ok(got))) = waiting.await.unwrap() else {
            panic!("the follower gets the response");
        };
        assert!(Arc::ptr_eq(&got, &sent), "shared, not copied");
        assert_eq!(table.len(), 1, "only b.test. is left");
    }

    #[tokio::test]
    async fn a_leader_dropped_without_outcome_sends_followers_to_ask_themselves() {
        let table = UpstreamInFlight::new(10);
        let Turn::Lead(leader) = table.join(question("a.test.")) else {
            panic!("the first asker leads");
        };
        let Turn::Follow(follower) = table.join(question("a.test.")) else {
            panic!("the second asker follows");
        };
        let waiting = tokio::spawn(async move { follower.wait(&zone(), soon()).await });
        drop(leader);
        assert!(matches!(waiting.await.unwrap(), Ok(Followed::LeaderGone)));
        assert!(table.is_empty());
        assert!(matches!(table.join(question("a.test.")), Turn::Lead(_)));
    }

    #[tokio::test]
    async fn the_leaders_own_timeout_is_not_shared_but_servers_failing_is() {
        let table = UpstreamInFlight::new(10);
        for (error, shared) in [
            (ResolveError::Timeout, false),
            (ResolveError::QueryLimit, false),
            (ResolveError::ServersFailed(zone()), true),
        ] {
            let Turn::Lead(leader) = table.join(question("a.test.")) else {
                panic!("the first asker leads");
            };
            let Turn::Follow(follower) = table.join(question("a.test.")) else {
                panic!("the second asker follows");
            };
            leader.publish(&Err(error));
            let followed = follower.wait(&zone(), soon()).await;
            match (followed, shared) {
                (Ok(Followed::Shared(Err(ResolveError::ServersFailed(_)))), true) => {}
                (Ok(Followed::LeaderGone), false) => {}
                _ => panic!("wrong outcome for a leader's failure (shared: {shared})"),
            }
        }
    }

    #[tokio::test]
    async fn a_follower_waits_no_longer_than_its_deadline() {
        let table = UpstreamInFlight::new(10);
        let Turn::Lead(_leader) = table.join(question("a.test.")) else {
            panic!("the first asker leads");
        };
        let Turn::Follow(follower) = table.join(question("a.test.")) else {
            panic!("the second asker follows");
        };
        let deadline = Instant::now() + Duration::from_millis(20);
        assert!(matches!(
            follower.wait(&zone(), deadline).await,
            Err(ResolveError::Timeout)
        ));
    }

    #[test]
    fn beyond_the_limit_questions_go_unmerged() {
        let table = UpstreamInFlight::new(1);
        let Turn::Lead(_leader) = table.join(question("a.test.")) else {
            panic!("the first asker leads");
        };
        assert!(matches!(table.join(question("b.test.")), Turn::Unmerged));
        assert!(
            matches!(table.join(question("a.test.")), Turn::Follow(_)),
            "joining is always allowed"
        );
    }
}
