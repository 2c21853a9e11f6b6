//! Talking to authoritative servers: one question, one server, one validated answer.
//!
//! Every UDP query goes out from a fresh socket (a random source port chosen by the kernel) with a
//! random ID, and only an answer from the queried address and port carrying the same ID and
//! question is accepted; anything else arriving on the socket is ignored, so a spoofed packet has
//! to guess both the port and the ID (RFC 5452 §9.2), and, when the server does DNS cookies, our
//! client cookie for it. A truncated answer is asked again over TCP.
//!
//! With 0x20 ([`Upstream::with_0x20`]) the case of the query name is random too, and an answer
//! that does not echo it exactly is not used. Such an answer comes either from a forger who got
//! the port and ID right, or from a server that does not preserve case; the question is then
//! asked again over TCP, where an off-path forger cannot inject an answer (the handshake needs
//! the server's sequence numbers), so neither case poisons and neither breaks resolution.

mod case;
mod cookies;
mod message;
mod outstanding;
mod selection;
mod tcp;
mod udp;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use thiserror::Error;
use tokio::time::Instant;

use case::{mix_case, restore_case};
pub use cookies::CookieJar;
pub use message::{build_query, question_case_matches, response_matches};
pub use outstanding::{OutstandingQueries, QuerySlot};
pub use selection::{Plan, ServerHealth, ServerSelection, Try};

use crate::metrics::{Metrics, UpstreamOutcome};

/// DNS servers listen on port 53; referrals carry addresses only.
pub const DNS_PORT: u16 = 53;

/// The EDNS payload ferret advertises upstream and to clients: the DNS flag day 2020 value, which
/// avoids IP fragmentation on every common path.
pub const EDNS_PAYLOAD: u16 = 1232;

#[derive(Debug, Error)]
pub enum UpstreamError {
    #[error("no answer within the time allowed")]
    Timeout,
    #[error("network error: {0}")]
    Io(#[from] io::Error),
    #[error("answer does not parse: {0}")]
    Malformed(String),
    #[error("query does not encode: {0}")]
    Encode(String),
    #[error("server {0} is not allowed as an upstream")]
    Forbidden(IpAddr),
    #[error("the answer's question does not echo the 0x20 case of the query")]
    CaseMismatch,
}

/// Which upstream addresses may be queried at all.
#[derive(Debug, Clone, Copy)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
    pub allow_ipv6: bool,
}

impl AddressPolicy {
    /// Whether a packet may be sent to `ip`. Loopback and unspecified addresses reach this host
    /// itself; multicast and broadcast are never DNS servers.
    pub fn permits(&self, ip: IpAddr) -> bool {
        if ip.is_unspecified() || ip.is_multicast() {
            return false;
        }
        match ip {
            IpAddr::V4(v4) if v4.is_broadcast() => false,
            IpAddr::V6(_) if !self.allow_ipv6 => false,
            _ if ip.is_loopback() => self.allow_loopback,
            // An IPv4-mapped IPv6 address is the IPv4 address in disguise.
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.permits(IpAddr::V4(v4)),
                None => true,
            },
            IpAddr::V4(_) => true,
        }
    }
}

/// Sends single questions to single servers.
#[derive(Debug, Clone)]
pub struct Upstream {
    policy: AddressPolicy,
    port: u16,
    metrics: Arc<Metrics>,
    cookies: Arc<CookieJar>,
    use_0x20: bool,
}

impl Upstream {
    pub fn new(policy: AddressPolicy, metrics: Arc<Metrics>) -> Self {
        Upstream {
            policy,
            port: DNS_PORT,
            metrics,
            cookies: Arc::default(),
            use_0x20: false,
        }
    }

    /// Randomises the case of query names sent over UDP and insists on it in answers.
    pub fn with_0x20(mut self, enabled: bool) -> Self {
        self.use_0x20 = enabled;
        self
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Asks `server` for `name`/`rtype`, waiting at most `timeout` (and never past
    /// `budget_deadline`, the end of the client query's time budget).
    /// Falls back to TCP when the UDP answer is truncated.
    pub async fn query(
        &self,
        server: IpAddr,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
        budget_deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        if !self.policy.permits(server) {
            return Err(UpstreamError::Forbidden(server));
        }
        let sent = Instant::now();
        let result = self
            .exchange(server, name, rtype, timeout, budget_deadline)
            .await;
        let outcome = match &result {
            Ok(_) => UpstreamOutcome::Answered(sent.elapsed()),
            Err(UpstreamError::Timeout) => UpstreamOutcome::TimedOut,
            Err(_) => UpstreamOutcome::Failed,
        };
        self.metrics.record_upstream(server, outcome);
        result
    }

    /// UDP (once more with the server's new cookie after BADCOOKIE), then TCP if the answer is
    /// truncated or the server still rejects our cookie.
    async fn exchange(
        &self,
        server: IpAddr,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
        budget_deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let addr = SocketAddr::new(server, self.port);
        let deadline = budget_deadline.min(Instant::now() + timeout);
        let exact_case = self.use_0x20 && case::has_letters(name);
        let sent_name = if exact_case {
            mix_case(name)
        } else {
            name.clone()
        };
        let mut answer = self
            .ask_udp(addr, &sent_name, rtype, exact_case, deadline)
            .await;
        if is_badcookie(&answer) {
            // RFC 7873 §5.3: the server wants a valid server cookie, and has just sent us one:
            // ask once more with it.
            answer = self
                .ask_udp(addr, &sent_name, rtype, exact_case, deadline)
                .await;
        }
        match answer {
            Ok(mut response)
                if !response.metadata.truncation
                    && response.metadata.response_code != ResponseCode::BADCOOKIE =>
            {
                if exact_case {
                    restore_case(&mut response, &sent_name, name);
                }
                return Ok(response);
            }
            // Truncated, or still no cookie the server likes: TCP needs neither room nor cookie.
            Ok(_) => {}
            Err(UpstreamError::CaseMismatch) => {
                tracing::debug!(%server, %name, %rtype, "0x20 case not echoed; asking over TCP");
            }
            Err(error) => return Err(error),
        }
        // A fresh TCP exchange gets a whole timeout of its own, the UDP leg having been answered,
        // but never more than the client's budget allows.
        let tcp_deadline = (Instant::now() + timeout).min(budget_deadline);
        let cookie = self.cookies.cookie_for(server);
        let (id, query) = build_query(name, rtype, &cookie)?;
        let response =
            tcp::exchange(addr, &query, id, name, rtype, &cookie.client, tcp_deadline).await?;
        self.cookies.learn(server, &response);
        Ok(response)
    }

    /// One UDP exchange with our cookie for the server, learning the server cookie it returns.
    async fn ask_udp(
        &self,
        addr: SocketAddr,
        sent_name: &Name,
        rtype: RecordType,
        exact_case: bool,
        deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let cookie = self.cookies.cookie_for(addr.ip());
        let (id, query) = build_query(sent_name, rtype, &cookie)?;
        let expected = udp::Expected {
            id,
            name: sent_name,
            rtype,
            cookie: &cookie.client,
            exact_case,
        };
        let response = udp::exchange(addr, &query, &expected, deadline).await?;
        self.cookies.learn(addr.ip(), &response);
        Ok(response)
    }
}

fn is_badcookie(answer: &Result<Message, UpstreamError>) -> bool {
    matches!(answer, Ok(response) if response.metadata.response_code == ResponseCode::BADCOOKIE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_needs_permission() {
        let strict = AddressPolicy {
            allow_loopback: false,
            allow_ipv6: true,
        };
        let open = AddressPolicy {
            allow_loopback: true,
            allow_ipv6: true,
        };
        for ip in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!strict.permits(ip), "{ip}");
            assert!(open.permits(ip), "{ip}");
        }
        for ip in ["0.0.0.0", "::", "255.255.255.255", "224.0.0.1"] {
            assert!(!open.permits(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ipv6_can_be_switched_off() {
        let v4_only = AddressPolicy {
            allow_loopback: true,
            allow_ipv6: false,
        };
        assert!(!v4_only.permits("::1".parse().unwrap()));
        assert!(!v4_only.permits("2001:db8::1".parse().unwrap()));
        assert!(v4_only.permits("127.0.0.1".parse().unwrap()));
    }
}
