//! Retransmission: the order in which one question goes to a zone's servers, and how long each
//! try waits before the next one is sent.
//!
//! A [`Plan`] from server selection gives every server one try, best first. A server that lets
//! its try time out is asked again, once every other server has had its turn, and each further
//! try at it waits twice as long as the one before: RFC 6298 §5.5's back-off ("RTO <- RTO * 2"),
//! which RFC 1035 §4.2.1 leaves to the resolver and Unbound applies per server (376, 752,
//! 1504 ms for a server never measured). A slow server thus gets the time it needs while the
//! client's budget lasts, and a dead one costs a bounded number of queries. The caller keeps
//! listening for a try's answer after its timeout, while the next try is out, so a late answer
//! to an earlier try is still taken (each try having its own port and ID, RFC 5452 §9.2).
//!
//! Held-down servers (the plan's last resort) join at the second round, after the retries of the
//! servers that are not held down, as they are asked only when those have not answered.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::selection::{Plan, Try};

/// How many times one question is sent to one server, the first try included. Unbound's
/// `outbound-msg-retry` is 5, but its tries also back off across the whole budget; three tries
/// (1 + 2 + 4 times the first timeout: 2.6 s for a server never measured) leave room in a 4 s
/// budget for the fallbacks that come after a zone's servers have all failed.
pub const TRIES_PER_SERVER: u32 = 3;

/// The tries still to send for one question at one zone.
#[derive(Debug)]
pub struct Retransmissions {
    /// This round's tries not yet sent, in order.
    round: VecDeque<Try>,
    /// Tries of this round that timed out, asked again (at twice the timeout) in the next one.
    again: Vec<Try>,
    /// Held-down servers, first asked in the second round.
    last_resort: Vec<Try>,
    /// Tries sent so far, per server.
    sent: Vec<(SocketAddr, u32)>,
}

impl Retransmissions {
    /// The tries of `plan` (its probes are the caller's business).
    pub fn new(plan: Plan) -> Self {
        Retransmissions {
            round: plan.tries.into(),
            again: Vec::new(),
            last_resort: plan.last_resort,
            sent: Vec::new(),
        }
    }

    /// The next try to send, or `None` when every server has had all its tries.
    pub fn next_try(&mut self) -> Option<Try> {
        if self.round.is_empty() {
            self.start_next_round();
        }
        let next = self.round.pop_front()?;
        match self
            .sent
            .iter_mut()
            .find(|(server, _)| *server == next.server)
        {
            Some((_, count)) => *count += 1,
            None => self.sent.push((next.server, 1)),
        }
        Some(next)
    }

    /// Records that `attempt` went unanswered for its whole timeout: its server is asked again
    /// next round, waiting twice as long, unless it has had all its tries. A try that failed
    /// otherwise (an error, an unusable answer) is not repeated: the server did answer.
    pub fn timed_out(&mut self, attempt: Try) {
        if self.tries_sent(attempt.server) < TRIES_PER_SERVER {
            self.again.push(Try {
                server: attempt.server,
                timeout: attempt.timeout.saturating_mul(2),
            });
        }
    }

    fn tries_sent(&self, server: SocketAddr) -> u32 {
        self.sent
            .iter()
            .find(|(s, _)| *s == server)
            .map_or(0, |(_, count)| *count)
    }

    fn start_next_round(&mut self) {
        self.round.extend(self.again.drain(..));
        self.round.extend(self.last_resort.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn server(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 53))
    }

    fn attempt(last: u8, ms: u64) -> Try {
        Try {
            server: server(last),
            timeout: Duration::from_millis(ms),
        }
    }

    /// Sends every try, each timing out.
    fn all_timing_out(mut tries: Retransmissions) -> Vec<Try> {
        let mut sent = Vec::new();
        while let Some(next) = tries.next_try() {
            sent.push(next);
            tries.timed_out(next);
        }
        sent
    }

    #[test]
    fn a_silent_server_is_asked_three_times_with_doubling_timeouts() {
        let plan = Plan {
            tries: vec![attempt(1, 376)],
            ..Plan::default()
        };
        let sent = all_timing_out(Retransmissions::new(plan));
        assert_eq!(
            sent,
            [attempt(1, 376), attempt(1, 752), attempt(1, 1504)],
            "RFC 6298 §5.5 back-off"
        );
    }

    #[test]
    fn every_server_has_its_first_try_before_any_is_asked_again() {
        let plan = Plan {
            tries: vec![attempt(1, 100), attempt(2, 376)],
            last_resort: vec![attempt(3, 800)],
            probes: vec![attempt(3, 800)],
        };
        let sent = all_timing_out(Retransmissions::new(plan));
        assert_eq!(
            sent,
            [
                attempt(1, 100),
                attempt(2, 376),
                attempt(1, 200),
                attempt(2, 752),
                attempt(3, 800),
                attempt(1, 400),
                attempt(2, 1504),
                attempt(3, 1600),
                attempt(3, 3200),
            ]
        );
    }

    #[test]
    fn a_server_that_answered_is_not_asked_again() {
        let plan = Plan {
            tries: vec![attempt(1, 376), attempt(2, 376)],
            ..Plan::default()
        };
        let mut tries = Retransmissions::new(plan);
        let first = tries.next_try();
        assert_eq!(first, Some(attempt(1, 376)));
        // The first server failed outright (say SERVFAIL); the second timed out.
        let second = tries.next_try().expect("the second server");
        tries.timed_out(second);
        assert_eq!(tries.next_try(), Some(attempt(2, 752)));
        assert_eq!(tries.next_try(), None, "the second was not timed out again");
    }
}
