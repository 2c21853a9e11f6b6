//! Choosing which server of a zone to ask first, from what earlier queries measured.
//!
//! A small infrastructure cache in the manner of Unbound's infra cache and BIND's SRTT: per server
//! address and port (configured servers may share an address) a smoothed round-trip time, pushed
//! up hard by failures, so a dead server sinks to the end of the list while untried servers still
//! get their turn.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use lru::LruCache;

/// How many servers' measurements are kept (LRU beyond that): bounded whatever the traffic.
const TRACKED_SERVERS: usize = 10_000;

/// An untried server is placed as if it answered within this many milliseconds (plus jitter), so
/// it is preferred to a known slow one and tried before a known dead one.
const UNTRIED_RTT_MS: u32 = 50;

/// The smoothed RTT recorded for a server after a timeout or error.
const FAILURE_RTT_MS: u32 = 2_000;

#[derive(Debug)]
pub struct ServerSelection {
    rtts: Mutex<LruCache<SocketAddr, u32>>,
}

impl Default for ServerSelection {
    fn default() -> Self {
        ServerSelection {
            rtts: Mutex::new(LruCache::new(
                NonZeroUsize::new(TRACKED_SERVERS).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl ServerSelection {
    /// `servers`, best first: lowest smoothed RTT, ties broken at random.
    pub fn order(&self, servers: &[SocketAddr]) -> Vec<SocketAddr> {
        // The same address can be listed twice (a referral's glue and the cached copy of it);
        // each server is asked once.
        let mut unique = servers.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let rtts = self.rtts.lock().unwrap_or_else(|p| p.into_inner());
        let mut ranked: Vec<(u32, SocketAddr)> = unique
            .iter()
            .map(|ip| {
                let jitter = rand::random::<u32>() % 8;
                let rtt = rtts.peek(ip).copied().unwrap_or(UNTRIED_RTT_MS);
                (rtt.saturating_add(jitter), *ip)
            })
            .collect();
        drop(rtts);
        ranked.sort_by_key(|(rtt, _)| *rtt);
        ranked.into_iter().map(|(_, ip)| ip).collect()
    }

    /// Folds a measured round trip into the server's smoothed RTT (weight 1/4 for the new sample,
    /// so one slow answer does not undo a good record).
    pub fn record_success(&self, server: SocketAddr, rtt: Duration) {
        let sample = u32::try_from(rtt.as_millis()).unwrap_or(u32::MAX);
        let mut rtts = self.rtts.lock().unwrap_or_else(|p| p.into_inner());
        let smoothed = match rtts.get(&server) {
            Some(old) => (old.saturating_mul(3).saturating_add(sample)) / 4,
            None => sample,
        };
        rtts.put(server, smoothed);
    }

    /// Marks a server that timed out or answered with an error.
    pub fn record_failure(&self, server: SocketAddr) {
        let mut rtts = self.rtts.lock().unwrap_or_else(|p| p.into_inner());
        let penalised = rtts.get(&server).map_or(FAILURE_RTT_MS, |old| {
            old.saturating_mul(2).max(FAILURE_RTT_MS)
        });
        rtts.put(server, penalised);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 53)
    }

    #[test]
    fn failed_servers_go_last_and_fast_ones_first() {
        let selection = ServerSelection::default();
        let (dead, slow, fast) = (ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3"));
        selection.record_failure(dead);
        selection.record_success(slow, Duration::from_millis(300));
        selection.record_success(fast, Duration::from_millis(1));
        assert_eq!(selection.order(&[dead, slow, fast]), vec![fast, slow, dead]);
    }

    #[test]
    fn each_server_is_listed_once() {
        let selection = ServerSelection::default();
        let (a, b) = (ip("127.0.0.1"), ip("127.0.0.2"));
        let mut ordered = selection.order(&[a, b, a, b, a]);
        ordered.sort();
        assert_eq!(ordered, vec![a, b]);
    }

    #[test]
    fn untried_servers_come_before_failed_ones() {
        let selection = ServerSelection::default();
        let (dead, new) = (ip("127.0.0.1"), ip("127.0.0.2"));
        selection.record_failure(dead);
        assert_eq!(selection.order(&[dead, new]), vec![new, dead]);
    }
}
