//! How many queries are outstanding at each upstream server, with a cap per server.
//!
//! A flood of distinct names under one zone (random-subdomain or "water torture" attacks) would
//! otherwise have ferret send as many simultaneous queries to that zone's servers as clients ask
//! for, making the resolver a weapon against them and tying up its own sockets. Beyond the cap a
//! server counts as busy and is skipped for that query, as if it had not answered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

#[derive(Debug)]
pub struct OutstandingQueries {
    limit: u32,
    /// Servers with at least one query outstanding; a server leaves the map when its count drops
    /// to zero, so the map is never larger than the number of queries in flight.
    counts: Mutex<HashMap<IpAddr, u32>>,
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
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more query to `server`, or `None` when it already has `limit` outstanding.
    pub fn try_acquire(&self, server: IpAddr) -> Option<QuerySlot<'_>> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(server).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(QuerySlot {
            owner: self,
            server,
        })
    }

    /// Queries outstanding at `server` now.
    pub fn at(&self, server: IpAddr) -> u32 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&server).copied().unwrap_or(0)
    }

    /// Queries outstanding at all servers together.
    pub fn total(&self) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.values().map(|&n| u64::from(n)).sum()
    }

    fn release(&self, server: IpAddr) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&server) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&server);
            }
        }
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

    #[test]
    fn idle_servers_leave_the_table() {
        let outstanding = OutstandingQueries::new(1);
        for i in 0..100u8 {
            let server = IpAddr::from([192, 0, 2, i]);
            let slot = outstanding.try_acquire(server);
            assert!(slot.is_some());
        }
        assert_eq!(outstanding.total(), 0);
        assert!(outstanding.counts.lock().unwrap().is_empty());
    }
}
