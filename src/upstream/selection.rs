//! Choosing which servers of a zone to ask, in what order and for how long, from what earlier
//! queries measured.
//!
//! A small infrastructure cache in the manner of Unbound's infra cache and BIND's SRTT: per server
//! address and port (configured servers may share an address) a smoothed round-trip time and a
//! count of consecutive failures.
//!
//! - The fastest servers are asked first; a failure pushes a server's SRTT up hard, so it sinks to
//!   the end of the list while untried servers still get their turn.
//! - A server that keeps failing is *held down*: for a growing, bounded interval it is asked only
//!   after every other server of the zone has failed (Unbound's and BIND's back-off from dead
//!   servers), so a dead server costs nothing while the zone has a live one.
//! - When its hold-down ends, one query *probes* it: in the background when the zone has another
//!   server to answer the client, in the foreground when it has not. A probe that succeeds brings
//!   the server back; one that fails doubles the hold-down.
//! - The time one try may take adapts to the server's measured RTT (RFC 6298's idea of a
//!   retransmission timeout from a smoothed RTT, as Unbound's RTO): a fast server that stops
//!   answering is given up on quickly.
//!
//! Time is read from the resolver's [`Clock`], so tests can move past a hold-down without waiting.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use lru::LruCache;

use crate::clock::{Clock, Millis};

/// How many servers' measurements are kept (LRU beyond that): bounded whatever the traffic.
const TRACKED_SERVERS: usize = 10_000;

/// An untried server is placed as if it answered within this many milliseconds (plus jitter), so
/// it is preferred to a known slow one and tried before a known dead one.
const UNTRIED_RTT_MS: u32 = 50;

/// How long one try waits for a server never measured: Unbound's figure for an unknown server
/// (`UNKNOWN_SERVER_NICENESS`), long enough for a distant server, short enough not to waste the
/// budget on a dead one.
const UNTRIED_TIMEOUT_MS: u64 = 376;

/// The smoothed RTT recorded for a server after a timeout or error (doubled on each further one).
const FAILURE_RTT_MS: u32 = 2_000;

/// The penalty stops growing here, so that a long-dead server's number stays meaningful.
const MAX_SRTT_MS: u32 = 120_000;

/// Random milliseconds added to each SRTT when ordering, so that servers of about the same speed
/// share the load and a server measured once is not preferred forever.
const ORDER_JITTER_MS: u32 = 8;

/// Consecutive failures after which a server is held down.
const HOLD_DOWN_AFTER: u32 = 3;

/// The first hold-down; each further failure doubles it, up to [`MAX_HOLD_DOWN_MS`].
const BASE_HOLD_DOWN_MS: Millis = 2_000;

/// The longest hold-down: a dead server is probed at least this often, so it is back in use
/// within this long after it recovers.
const MAX_HOLD_DOWN_MS: Millis = 60_000;

/// One try waits for `srtt * RTT_TIMEOUT_FACTOR + TIMEOUT_MARGIN_MS`, clamped between
/// [`MIN_TRY_TIMEOUT_MS`] and the configured upstream timeout. The margin absorbs the jitter of a
/// busy host; without it a server measured at 1 ms would be given up on after 3 ms.
const RTT_TIMEOUT_FACTOR: u32 = 3;
const TIMEOUT_MARGIN_MS: u32 = 100;
const MIN_TRY_TIMEOUT_MS: u64 = 50;

/// What is known about one server address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHealth {
    /// Smoothed round-trip time in milliseconds, or the failure penalty.
    pub srtt_ms: u32,
    /// Failures since the last usable answer.
    pub failures: u32,
    /// Held down until then (clock milliseconds); 0 when not held down.
    pub held_until: Millis,
    /// A probe claimed the server until then, so that concurrent queries do not all probe it.
    probe_until: Millis,
}

impl ServerHealth {
    fn untried() -> Self {
        ServerHealth {
            srtt_ms: UNTRIED_RTT_MS,
            failures: 0,
            held_until: 0,
            probe_until: 0,
        }
    }

    /// Whether the server is in hold-down at `now`. A hold-down further away than the longest one
    /// can only come from the wall clock stepping back, and is treated as over.
    fn is_held(&self, now: Millis) -> bool {
        now < self.held_until && self.held_until - now <= MAX_HOLD_DOWN_MS
    }

    fn probe_in_flight(&self, now: Millis) -> bool {
        now < self.probe_until
    }

    /// How long one try may wait for this server: a few smoothed RTTs and a margin, within
    /// `[MIN_TRY_TIMEOUT_MS, max]`.
    fn try_timeout(&self, max: Duration) -> Duration {
        let adaptive =
            u64::from(self.srtt_ms) * u64::from(RTT_TIMEOUT_FACTOR) + u64::from(TIMEOUT_MARGIN_MS);
        Duration::from_millis(adaptive.max(MIN_TRY_TIMEOUT_MS)).min(max)
    }
}

/// The hold-down after `failures` consecutive failures: doubling from the base, bounded.
fn hold_down_ms(failures: u32) -> Millis {
    let doublings = failures.saturating_sub(HOLD_DOWN_AFTER).min(16);
    (BASE_HOLD_DOWN_MS << doublings).min(MAX_HOLD_DOWN_MS)
}

/// One server to ask and how long to wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Try {
    pub server: SocketAddr,
    pub timeout: Duration,
}

/// The servers of a zone to ask for one question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Asked one after another, best first, until one gives a usable answer.
    pub tries: Vec<Try>,
    /// Held-down servers, asked only when every server of `tries` has failed.
    pub last_resort: Vec<Try>,
    /// Held-down servers whose hold-down is over, to be asked in the background: the client's
    /// answer does not wait for them, their answer only updates their health.
    pub probes: Vec<Try>,
}

/// Where a server stands when a plan is made.
enum Standing {
    /// Not held down (or never seen): ordered by SRTT.
    Available(u32),
    /// Held down, or probed right now by another query: asked only when all else failed.
    Held(u32),
    /// The hold-down is over and nobody probes it yet: this plan probes it.
    ProbeDue,
}

#[derive(Debug)]
pub struct ServerSelection {
    servers: Mutex<LruCache<SocketAddr, ServerHealth>>,
    clock: Clock,
}

impl ServerSelection {
    pub fn new(clock: Clock) -> Self {
        ServerSelection {
            servers: Mutex::new(crate::bounded_lru::new(
                NonZeroUsize::new(TRACKED_SERVERS).unwrap_or(NonZeroUsize::MIN),
            )),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<SocketAddr, ServerHealth>> {
        // The table holds measurements only: a panic mid-update leaves nothing worth refusing.
        self.servers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What is recorded about `server`, if anything.
    pub fn health(&self, server: SocketAddr) -> Option<ServerHealth> {
        self.lock().peek(&server).copied()
    }

    /// Which of `servers` to ask, in what order, each with its own timeout (at most
    /// `max_timeout`). Available servers come first, fastest first; held-down servers last, as a
    /// last resort. A held-down server due for a probe is probed in the background when an
    /// available server can answer the client (and stays a last resort), and asked first
    /// otherwise.
    pub fn plan(&self, servers: &[SocketAddr], max_timeout: Duration) -> Plan {
        let now = self.clock.now_ms();
        let probe_claim = now + u64::try_from(max_timeout.as_millis()).unwrap_or(u64::MAX);
        let mut table = self.lock();
        let mut available = Vec::new();
        let mut held = Vec::new();
        let mut due = Vec::new();
        let mut seen = Vec::with_capacity(servers.len());
        for &server in servers {
            if seen.contains(&server) {
                continue;
            }
            seen.push(server);
            let (health, timeout) = match table.peek(&server) {
                Some(health) => (*health, health.try_timeout(max_timeout)),
                None => (
                    ServerHealth::untried(),
                    Duration::from_millis(UNTRIED_TIMEOUT_MS).min(max_timeout),
                ),
            };
            let jitter = rand::random::<u32>() % ORDER_JITTER_MS;
            let rank = health.srtt_ms.saturating_add(jitter);
            let try_ = Try { server, timeout };
            match standing(&health, now, rank) {
                Standing::Available(rank) => available.push((rank, try_)),
                Standing::Held(rank) => held.push((rank, try_)),
                Standing::ProbeDue => {
                    if let Some(entry) = table.peek_mut(&server) {
                        entry.probe_until = probe_claim;
                    }
                    due.push(try_);
                }
            }
        }
        drop(table);
        available.sort_by_key(|(rank, _)| *rank);
        held.sort_by_key(|(rank, _)| *rank);
        let available: Vec<Try> = available.into_iter().map(|(_, t)| t).collect();
        let held = held.into_iter().map(|(_, t)| t);
        if available.is_empty() {
            Plan {
                tries: due.into_iter().chain(held).collect(),
                last_resort: Vec::new(),
                probes: Vec::new(),
            }
        } else {
            // A probe's server stays a last resort too: should every available server fail, the
            // client's question must not be lost for want of asking it.
            Plan {
                tries: available,
                last_resort: held.chain(due.clone()).collect(),
                probes: due,
            }
        }
    }

    /// Records a usable answer after `rtt`. A server that had failed starts afresh from this
    /// sample: its penalty said only that it was failing, and it no longer is. Otherwise the
    /// sample is folded in with weight 1/4, so one slow answer does not undo a good record.
    pub fn record_success(&self, server: SocketAddr, rtt: Duration) {
        let sample = u32::try_from(rtt.as_millis()).unwrap_or(u32::MAX);
        let mut table = self.lock();
        let srtt_ms = match table.get(&server) {
            Some(old) if old.failures == 0 => {
                ((u64::from(old.srtt_ms) * 3 + u64::from(sample)) / 4) as u32
            }
            _ => sample,
        };
        table.put(
            server,
            ServerHealth {
                srtt_ms: srtt_ms.min(MAX_SRTT_MS),
                ..ServerHealth::untried()
            },
        );
    }

    /// Records a timeout, an error or an unusable answer. After [`HOLD_DOWN_AFTER`] in a row the
    /// server is held down, each further failure doubling the hold-down.
    pub fn record_failure(&self, server: SocketAddr) {
        let now = self.clock.now_ms();
        let mut table = self.lock();
        let old = table
            .get(&server)
            .copied()
            .unwrap_or_else(ServerHealth::untried);
        let failures = old.failures.saturating_add(1);
        let held_until = if failures >= HOLD_DOWN_AFTER {
            now + hold_down_ms(failures)
        } else {
            0
        };
        if failures == HOLD_DOWN_AFTER {
            tracing::debug!(%server, hold_down_ms = hold_down_ms(failures), "server keeps failing; holding it down");
        }
        table.put(
            server,
            ServerHealth {
                srtt_ms: old
                    .srtt_ms
                    .saturating_mul(2)
                    .clamp(FAILURE_RTT_MS, MAX_SRTT_MS),
                failures,
                held_until,
                probe_until: 0,
            },
        );
    }
}

fn standing(health: &ServerHealth, now: Millis, rank: u32) -> Standing {
    if health.failures < HOLD_DOWN_AFTER {
        Standing::Available(rank)
    } else if health.is_held(now) || health.probe_in_flight(now) {
        Standing::Held(rank)
    } else {
        Standing::ProbeDue
    }
}

#[cfg(test)]
mod tests;
