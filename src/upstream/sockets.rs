//! Upstream UDP sockets kept open between queries to the same server.
//!
//! A fresh socket per query costs six system calls besides the query's own send and receive
//! (socket, bind, connect, two epoll registrations, close); in a profile of a cold fill they and
//! the kernel work behind them were a seventh of ferret's CPU time. So a socket whose query got
//! its answer goes back to an idle list of the server it is connected to, and the next query to
//! that server takes it. What RFC 5452 asks of source ports still holds:
//!
//! - The port is unpredictable (§9.2): the kernel picks it at random when the socket is
//!   connected, as it did for every query before. A socket only ever talks to the one server it
//!   was connected to, so its port is known to that server (and to whoever is on the path to it,
//!   who can inject answers anyway) and to nobody else. Getting ferret to ask a server of one's
//!   own, the usual way to learn a resolver's ports, shows ports that are never used for a query
//!   to anyone else.
//! - No two outstanding queries share a socket: a socket is checked out for one query at a time.
//!   Answers are still matched on address and port (the socket is connected), ID and question.
//! - A socket whose query did not end with its answer (a timeout, an error, a mismatched 0x20
//!   case, a cancelled try) is closed, not reused: whatever arrives for it later dies with it.
//! - A socket is closed after [`MAX_QUERIES_PER_SOCKET`] queries or [`MAX_IDLE`] without one,
//!   so ports keep changing, and no port stays open for long while nothing is asked (an idle
//!   open port is what an off-path port scan such as SADDNS, CVE-2020-25705, looks for). Which of
//!   a server's idle sockets a query gets is random, so a port found open does not say which
//!   query uses it next.
//!
//! The pool is bounded ([`MAX_IDLE_PER_SERVER`], and in all by [`idle_socket_limit`]): beyond
//! that a socket is closed after its query, as every socket was before. The bound in all is only
//! about file descriptors (each idle socket is as exposed as any other, and for at most
//! [`MAX_IDLE`]), so it follows the process's descriptor limit: a fixed 256 meant that with a
//! few thousand servers in use (a cold pass over 2,000 zones) three queries in four paid for a
//! fresh socket, and `socket`, `connect`, the epoll registration and `close` were 15% of
//! ferret's CPU time.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// Queries one socket carries before it is closed.
pub const MAX_QUERIES_PER_SOCKET: u32 = 32;

/// How long a socket may wait in the pool for its next query.
pub const MAX_IDLE: Duration = Duration::from_secs(1);

/// Idle sockets kept per server: enough for the queries a busy server has outstanding at once.
pub const MAX_IDLE_PER_SERVER: usize = 32;

/// Idle sockets kept in all at most, whatever the descriptor limit.
pub const MAX_IDLE_SOCKETS: usize = 4096;

/// Idle sockets kept in all at least, whatever the descriptor limit (the bound before it followed
/// the limit).
pub const MIN_IDLE_SOCKETS: usize = 256;

/// Idle sockets the pool keeps in all: a quarter of the file descriptors the process may open
/// (`RLIMIT_NOFILE`, soft), within [`MIN_IDLE_SOCKETS`] and [`MAX_IDLE_SOCKETS`]. The rest is
/// left to the listeners, TCP connections and the queries outstanding. With the usual soft limit
/// of 1024 that is 256; under the systemd unit's `LimitNOFILE=65536`, 4096.
pub fn idle_socket_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given, which outlives the call.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
    } else {
        0
    };
    (soft / 4).clamp(MIN_IDLE_SOCKETS, MAX_IDLE_SOCKETS)
}

/// Connected UDP sockets waiting for their next query, by server.
#[derive(Debug)]
pub struct SocketPool {
    state: Mutex<State>,
    /// Idle sockets kept in all.
    limit: usize,
}

impl Default for SocketPool {
    fn default() -> Self {
        SocketPool::with_limit(idle_socket_limit())
    }
}

#[derive(Debug, Default)]
struct State {
    /// Keyed foldhash (a random seed per table), not SipHash: a lookup per upstream query.
    idle: HashMap<SocketAddr, Vec<Idle>, lru::DefaultHasher>,
    /// Sockets in `idle`, all servers together.
    count: usize,
    /// Whether a task is on its way to close the sockets idle for too long.
    sweeping: bool,
}

#[derive(Debug)]
struct Idle {
    socket: UdpSocket,
    uses: u32,
    since: Instant,
}

/// A socket connected to one server, lent to one query. Dropping it closes the socket unless
/// [`Lent::answered`] was called, in which case it goes back to the pool (if it has uses left).
#[derive(Debug)]
pub struct Lent<'a> {
    pool: &'a Arc<SocketPool>,
    server: SocketAddr,
    socket: Option<UdpSocket>,
    uses: u32,
    answered: bool,
}

impl SocketPool {
    /// A pool that keeps at most `limit` idle sockets in all.
    pub fn with_limit(limit: usize) -> Self {
        SocketPool {
            state: Mutex::default(),
            limit,
        }
    }

    /// A socket connected to `server` for one query: an idle one if the pool has one, else a new
    /// one on a random port.
    pub fn lend<'a>(self: &'a Arc<Self>, server: SocketAddr) -> io::Result<Lent<'a>> {
        let (socket, uses) = match self.take_idle(server) {
            Some(idle) => (idle.socket, idle.uses),
            None => (open(server)?, 0),
        };
        Ok(Lent {
            pool: self,
            server,
            socket: Some(socket),
            uses: uses + 1,
            answered: false,
        })
    }

    /// Idle sockets held now, all servers together.
    pub fn idle(&self) -> usize {
        self.lock().count
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a list of sockets: a panic mid-update loses at most a socket or two.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One of `server`'s idle sockets, chosen at random, that has not idled too long. Those found
    /// too old on the way are closed.
    fn take_idle(&self, server: SocketAddr) -> Option<Idle> {
        let now = Instant::now();
        let mut expired = Vec::new();
        let mut state = self.lock();
        let sockets = state.idle.get_mut(&server)?;
        let mut found = None;
        while found.is_none() && !sockets.is_empty() {
            let idle = sockets.swap_remove(rand::random_range(0..sockets.len()));
            if now.saturating_duration_since(idle.since) < MAX_IDLE {
                found = Some(idle);
            } else {
                expired.push(idle);
            }
        }
        if sockets.is_empty() {
            state.idle.remove(&server);
        }
        state.count -= expired.len() + usize::from(found.is_some());
        drop(state);
        drop(expired);
        found
    }

    /// Keeps `socket` for the next query to `server`, if there is room.
    fn give_back(self: &Arc<Self>, server: SocketAddr, socket: UdpSocket, uses: u32) {
        // A socket is registered with the runtime that made it; without one nothing can sweep.
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        forget_readiness(&socket);
        let mut state = self.lock();
        if state.count >= self.limit {
            return;
        }
        let sockets = state.idle.entry(server).or_default();
        if sockets.len() >= MAX_IDLE_PER_SERVER {
            return;
        }
        sockets.push(Idle {
            socket,
            uses,
            since: Instant::now(),
        });
        state.count += 1;
        if !state.sweeping {
            state.sweeping = true;
            tokio::spawn(sweep(Arc::downgrade(self)));
        }
    }
}

/// Closes the sockets that idled for [`MAX_IDLE`], every [`MAX_IDLE`], until none is left (or
/// the pool is gone).
async fn sweep(weak: Weak<SocketPool>) {
    loop {
        tokio::time::sleep(MAX_IDLE).await;
        let Some(pool) = weak.upgrade() else { return };
        let now = Instant::now();
        let mut expired = Vec::new();
        let mut state = pool.lock();
        state.idle.retain(|_, sockets| {
            let (young, old) = std::mem::take(sockets)
                .into_iter()
                .partition(|idle| now.saturating_duration_since(idle.since) < MAX_IDLE);
            *sockets = young;
            expired.extend::<Vec<Idle>>(old);
            !sockets.is_empty()
        });
        state.count -= expired.len();
        let done = state.count == 0;
        if done {
            state.sweeping = false;
        }
        drop(state);
        // Closed outside the lock: each close is two system calls.
        drop(expired);
        if done {
            return;
        }
    }
}

/// Clears what the runtime remembers of `socket` being readable. It still remembers the answer
/// just read, so the next query's first receive would be a system call that finds nothing (one
/// per reused socket). Anything left queued (a duplicate answer, say) is not lost: the next
/// datagram to arrive makes the socket readable again, and the exchange then reads the queue in
/// order, skipping what does not match its query.
fn forget_readiness(socket: &UdpSocket) {
    let _ = socket.try_io(tokio::io::Interest::READABLE, || {
        Err::<(), _>(io::ErrorKind::WouldBlock.into())
    });
}

/// A new non-blocking UDP socket connected to `server`. Connecting binds it to a port the kernel
/// draws at random from the ephemeral range (as binding to port 0 did before), and makes the
/// kernel drop datagrams from any other address or port.
fn open(server: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(
        Domain::for_address(server),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )?;
    socket.connect(&SockAddr::from(server))?;
    UdpSocket::from_std(socket.into())
}

impl Lent<'_> {
    pub fn socket(&self) -> &UdpSocket {
        // Only `drop` takes the socket out.
        self.socket.as_ref().unwrap_or_else(|| unreachable!())
    }

    /// The query on this socket got its answer: the socket may serve another query.
    pub fn answered(&mut self) {
        self.answered = true;
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take()
            && self.answered
            && self.uses < MAX_QUERIES_PER_SOCKET
        {
            self.pool.give_back(self.server, socket, self.uses);
        }
    }
}

#[cfg(test)]
mod tests;
