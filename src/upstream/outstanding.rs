//! How many queries are outstanding at each upstream server, with a cap per server.
//!
//! A flood of distinct names under one zone (random-subdomain or "water torture" attacks) would
//! otherwise have ferret send as many simultaneous queries to that zone's servers as clients ask
//! for, making the resolver a weapon against them and tying up its own sockets. At the cap a new
//! query waits for a place, in arrival order, for as long as one try at that server may take: a
//! healthy server frees places every round trip, so a burst of misses queues for a few
//! milliseconds instead of failing; a server that has stopped answering frees none, and the
//! queries waiting for it give up as if it had not answered, without one more packet sent to it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug)]
pub struct OutstandingQueries {
    limit: u32,
    /// Servers with at least one query outstanding; a server leaves the map when its count drops
    /// to zero, so the map is never larger than the number of queries in flight.
    /// Keyed foldhash (a random seed per table), not SipHash: two lookups per upstream query.
    servers: Mutex<HashMap<IpAddr, Server, lru::DefaultHasher>>,
}

#[derive(Debug)]
struct Server {
    outstanding: u32,
    /// Queries waiting for a place: the entry (and its `freed`) stays while there are any, so
    /// every waiter hears of the places that free up.
    waiting: u32,
    /// Told when a place frees up; each waiter is woken in turn (`notify_one` keeps the
    /// wake-up for the next waiter if none is waiting yet, so none is lost).
    freed: Arc<Notify>,
}

/// A query registered as waiting for a place at `server`; dropping it (woken, timed out or
/// cancelled) unregisters it.
struct Waiting<'a> {
    owner: &'a OutstandingQueries,
    server: IpAddr,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut servers = self.owner.lock();
        if let Some(entry) = servers.get_mut(&self.server) {
            entry.waiting = entry.waiting.saturating_sub(1);
            if entry.outstanding == 0 && entry.waiting == 0 {
                servers.remove(&self.server);
            }
        }
    }
}

/// One outstanding query to one server; dropping it (however the query ended) frees the place.
#[derive(Debug)]
pub struct QuerySlot<'a> {
    owner: &'a OutstandingQueries,
    server: IpAddr,
}

impl OutstandingQueries {
    pub fn new(limit: u32) -> Self {
        OutstandingQueries {
            limit,
            servers: Mutex::new(HashMap::default()),
        }
    }

    /// A place for one more query to `server`, or `None` when it already has `limit` outstanding.
    /// (Queries wait with [`OutstandingQueries::acquire`]; this is for the tests.)
    #[cfg(test)]
    fn try_acquire(&self, server: IpAddr) -> Option<QuerySlot<'_>> {
        self.acquire_or_wait_on(server).ok()
    }

    /// A place for one more query to `server`, waiting until `deadline` for one to free up;
    /// `None` if none did.
    pub async fn acquire(&self, server: IpAddr, deadline: Instant) -> Option<QuerySlot<'_>> {
        loop {
            let (freed, _waiting) = match self.acquire_or_wait_on(server) {
                Ok(slot) => return Some(slot),
                Err(waiting) => waiting,
            };
            if tokio::time::timeout_at(deadline, freed.notified())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// A place, or (registered as waiting) what to wait on for one.
    fn acquire_or_wait_on(
        &self,
        server: IpAddr,
    ) -> Result<QuerySlot<'_>, (Arc<Notify>, Waiting<'_>)> {
        let mut servers = self.lock();
        let entry = servers.entry(server).or_insert_with(|| Server {
            outstanding: 0,
            waiting: 0,
            freed: Arc::new(Notify::new()),
        });
        if entry.outstanding >= self.limit {
            entry.waiting += 1;
            let waiting = Waiting {
                owner: self,
                server,
            };
            return Err((Arc::clone(&entry.freed), waiting));
        }
        entry.outstanding += 1;
        Ok(QuerySlot {
            owner: self,
            server,
        })
    }

    /// Queries outstanding at `server` now.
    pub fn at(&self, server: IpAddr) -> u32 {
        let servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        servers.get(&server).map_or(0, |s| s.outstanding)
    }

    /// Queries outstanding at all servers together.
    pub fn total(&self) -> u64 {
        let servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        servers.values().map(|s| u64::from(s.outstanding)).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Server, lru::DefaultHasher>> {
        self.servers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn release(&self, server: IpAddr) {
        let mut servers = self.lock();
        let Some(entry) = servers.get_mut(&server) else {
            return;
        };
        entry.outstanding = entry.outstanding.saturating_sub(1);
        let freed = Arc::clone(&entry.freed);
        if entry.outstanding == 0 && entry.waiting == 0 {
            servers.remove(&server);
        }
        drop(servers);
        freed.notify_one();
    }
}

impl Drop for QuerySlot<'_> {
    fn drop(&mut self) {
        self.owner.release(self.server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_at_its_limit_is_busy_until_a_query_ends() {
        let outstanding = OutstandingQueries::new(2);
        let (busy, other): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let first = outstanding.try_acquire(busy).expect("first place");
        let _second = outstanding.try_acquire(busy).expect("second place");
        assert!(outstanding.try_acquire(busy).is_none());
        assert!(outstanding.try_acquire(other).is_some(), "per server");
        assert_eq!(outstanding.at(busy), 2);
        drop(first);
        assert_eq!(outstanding.at(busy), 1);
        assert!(outstanding.try_acquire(busy).is_some());
    }

    #[tokio::test]
    async fn a_query_at_the_limit_waits_for_a_place() {
        let outstanding = Arc::new(OutstandingQueries::new(1));
        let server: IpAddr = "192.0.2.1".parse().unwrap();
        let first = outstanding.try_acquire(server).expect("first place");
        let waiting = {
            let outstanding = Arc::clone(&outstanding);
            tokio::spawn(async move {
                let deadline = Instant::now() + std::time::Duration::from_secs(30);
                outstanding.acquire(server, deadline).await.is_some()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "waits while the place is taken");
        drop(first);
        assert!(waiting.await.unwrap(), "gets the place when it frees up");
        assert_eq!(outstanding.at(server), 0);
    }

    #[tokio::test]
    async fn every_waiter_gets_its_turn() {
        // Five queries for one place: each waiter must hear of a place freed after others have
        // come and gone (the server's entry must not be replaced under the waiters' feet).
        let outstanding = Arc::new(OutstandingQueries::new(1));
        let server: IpAddr = "192.0.2.1".parse().unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        let queries: Vec<_> = (0..5)
            .map(|_| {
                let outstanding = Arc::clone(&outstanding);
                tokio::spawn(async move {
                    let slot = outstanding.acquire(server, deadline).await;
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    slot.is_some()
                })
            })
            .collect();
        for query in queries {
            assert!(query.await.unwrap());
        }
        assert!(outstanding.lock().is_empty());
    }

    #[tokio::test]
    async fn a_wait_ends_at_its_deadline() {
        let outstanding = OutstandingQueries::new(1);
        let server: IpAddr = "192.0.2.1".parse().unwrap();
        let _held = outstanding.try_acquire(server).expect("first place");
        let deadline = Instant::now() + std::time::Duration::from_millis(50);
        assert!(outstanding.acquire(server, deadline).await.is_none());
        assert_eq!(outstanding.at(server), 1);
    }

    #[test]
    fn idle_servers_leave_the_table() {
        let outstanding = OutstandingQueries::new(1);
        for i in 0..100u8 {
            let server = IpAddr::from([192, 0, 2, i]);
            let slot = outstanding.try_acquire(server);
            assert!(slot.is_some());
        }
        assert_eq!(outstanding.total(), 0);
        assert!(outstanding.servers.lock().unwrap().is_empty());
    }
}
