//! Talking to authoritative servers: one question, one server, one validated answer.
//!
//! Every UDP query goes out from a socket of its own, on a random source port chosen by the
//! kernel and only ever used with that one server (the `sockets` module says why that keeps
//! RFC 5452's promise while sparing a socket per query), with a random ID, and only an answer
//! from the queried address and port carrying the same ID and question is accepted; anything
//! else arriving on the socket is ignored, so a spoofed packet has to guess both the port and the
//! ID (RFC 5452 §9.2), and, when the server does DNS cookies, our client cookie for it. A
//! truncated answer is asked again over TCP.
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
mod retransmit;
mod selection;
mod sockets;
mod tcp;
pub mod tls;
mod udp;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use thiserror::Error;
use tokio::time::Instant;

use case::{mix_case, restore_case};
pub use cookies::CookieJar;
pub use message::{build_query, build_query_with, question_case_matches, response_matches};
pub use outstanding::{OutstandingQueries, QuerySlot};
pub use retransmit::{Retransmissions, TRIES_PER_SERVER};
pub use selection::{Plan, ServerHealth, ServerSelection, Try};
pub use sockets::{MAX_QUERIES_PER_SOCKET, SocketPool};
pub use tls::TlsForwarders;

use crate::config::ForwardZone;
use crate::metrics::{Metrics, UpstreamOutcome};
use crate::wire::DNS_PORT;

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

    /// Whether `ip` may be used as a forwarder the operator configured. Loopback (and IPv6) are
    /// allowed whatever the policy says: the loopback policy protects against delegations from
    /// the Internet pointing at this host, not against the operator's own explicit choice
    /// (forwarding to a local dnsmasq is normal). Addresses that are never a DNS server stay
    /// refused.
    pub fn permits_forwarder(&self, ip: IpAddr) -> bool {
        let any_loopback = AddressPolicy {
            allow_loopback: true,
            allow_ipv6: true,
        };
        any_loopback.permits(ip)
    }
}

/// Where to send a query: a bare IP address means port 53 (referrals carry addresses only);
/// configured forward and stub servers may name another port.
pub trait ServerAddress {
    fn socket_addr(self) -> SocketAddr;
}

impl ServerAddress for IpAddr {
    fn socket_addr(self) -> SocketAddr {
        SocketAddr::new(self, DNS_PORT)
    }
}

impl ServerAddress for SocketAddr {
    fn socket_addr(self) -> SocketAddr {
        self
    }
}

/// Sends single questions to single servers.
#[derive(Debug, Clone)]
pub struct Upstream {
    policy: AddressPolicy,
    metrics: Arc<Metrics>,
    cookies: Arc<CookieJar>,
    /// UDP sockets between queries, per server.
    sockets: Arc<SocketPool>,
    use_0x20: bool,
    /// Forwarders reached over TLS, with their connections.
    tls: Arc<TlsForwarders>,
}

impl Upstream {
    pub fn new(policy: AddressPolicy, metrics: Arc<Metrics>) -> Self {
        Upstream {
            policy,
            metrics,
            cookies: Arc::default(),
            sockets: Arc::default(),
            use_0x20: false,
            tls: Arc::default(),
        }
    }

    /// Reaches the TLS servers of `zones` over TLS, trusting `ca_file` (or the system's roots).
    pub fn with_tls_forwarders(mut self, zones: &[ForwardZone], ca_file: Option<&Path>) -> Self {
        self.tls = Arc::new(TlsForwarders::new(zones, ca_file));
        self
    }

    /// Randomises the case of query names sent over UDP and insists on it in answers.
    pub fn with_0x20(mut self, enabled: bool) -> Self {
        self.use_0x20 = enabled;
        self
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Asks `server` for `name`/`rtype` iteratively (RD=0), waiting at most `timeout` (and never
    /// past `budget_deadline`, the end of the client query's time budget). Falls back to TCP
    /// when the UDP answer is truncated.
    pub async fn query(
        &self,
        server: impl ServerAddress,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
        budget_deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let addr = server.socket_addr();
        if !self.policy.permits(addr.ip()) {
            return Err(UpstreamError::Forbidden(addr.ip()));
        }
        self.timed_exchange(addr, false, name, rtype, timeout, budget_deadline)
            .await
    }

    /// Asks a configured forwarder, with RD as configured; see
    /// [`AddressPolicy::permits_forwarder`] for why loopback is allowed here.
    pub async fn forward(
        &self,
        server: SocketAddr,
        recursion_desired: bool,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
        budget_deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        if !self.policy.permits_forwarder(server.ip()) {
            return Err(UpstreamError::Forbidden(server.ip()));
        }
        if self.tls.contains(server) {
            let sent = Instant::now();
            let deadline = budget_deadline.min(sent + timeout);
            let result = self
                .ask_tls(server, recursion_desired, name, rtype, deadline)
                .await;
            self.metrics
                .record_upstream(server.ip(), outcome_of(&result, sent));
            return result;
        }
        self.timed_exchange(
            server,
            recursion_desired,
            name,
            rtype,
            timeout,
            budget_deadline,
        )
        .await
    }

    /// [`Upstream::exchange`], counted in the metrics with its outcome and round-trip time.
    async fn timed_exchange(
        &self,
        addr: SocketAddr,
        recursion_desired: bool,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
        budget_deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let sent = Instant::now();
        let mut counted = Counted {
            metrics: &self.metrics,
            server: addr.ip(),
            outcome: None,
        };
        let result = self
            .exchange(
                addr,
                recursion_desired,
                name,
                rtype,
                timeout,
                budget_deadline,
            )
            .await;
        counted.outcome = Some(match &result {
            Ok(_) => UpstreamOutcome::Answered(sent.elapsed()),
            Err(UpstreamError::Timeout) => UpstreamOutcome::TimedOut,
            Err(_) => UpstreamOutcome::Failed,
        });
        result
    }

    /// One question to a forwarder over TLS, on the connection kept for it. No 0x20 and no UDP
    /// fallbacks: TLS already keeps off-path forgers out.
    async fn ask_tls(
        &self,
        server: SocketAddr,
        recursion_desired: bool,
        name: &Name,
        rtype: RecordType,
        deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let cookie = self.cookies.cookie_for(server.ip());
        let (id, query) = build_query_with(name, rtype, recursion_desired, &cookie)?;
        let response = self.tls.exchange(server, &query, id, deadline).await?;
        if !response_matches(&response, id, name, rtype)
            || !cookies::echoes(&response, &cookie.client)
        {
            return Err(UpstreamError::Malformed(
                "answer does not match the query".into(),
            ));
        }
        self.cookies.learn(server.ip(), &response);
        Ok(response)
    }

    /// One question to one server: UDP (the name in mixed case with 0x20 on), once more with the
    /// server's cookie if it asks for one, then TCP if the answer is truncated, still lacks a
    /// cookie the server likes, or does not echo the case.
    async fn exchange(
        &self,
        addr: SocketAddr,
        recursion_desired: bool,
        name: &Name,
        rtype: RecordType,
        timeout: Duration,
        budget_deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let deadline = budget_deadline.min(Instant::now() + timeout);
        let exact_case = self.use_0x20 && case::has_letters(name);
        let sent_name = if exact_case {
            mix_case(name)
        } else {
            name.clone()
        };
        let ask = |deadline| {
            self.ask_udp(
                addr,
                recursion_desired,
                &sent_name,
                rtype,
                exact_case,
                deadline,
            )
        };
        let mut answer = ask(deadline).await;
        if is_badcookie(&answer) {
            // RFC 7873 §5.3: the server wants a valid server cookie, and has just sent us one:
            // ask once more with it.
            answer = ask(deadline).await;
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
                tracing::debug!(%addr, %name, %rtype, "0x20 case not echoed; asking over TCP");
            }
            Err(error) => return Err(error),
        }
        // A fresh TCP exchange gets a whole timeout of its own, the UDP leg having been answered,
        // but never more than the client's budget allows.
        let tcp_deadline = (Instant::now() + timeout).min(budget_deadline);
        let cookie = self.cookies.cookie_for(addr.ip());
        let (id, query) = build_query_with(name, rtype, recursion_desired, &cookie)?;
        let response =
            tcp::exchange(addr, &query, id, name, rtype, &cookie.client, tcp_deadline).await?;
        self.cookies.learn(addr.ip(), &response);
        Ok(response)
    }

    /// One UDP exchange with our cookie for the server, learning the server cookie it returns.
    async fn ask_udp(
        &self,
        addr: SocketAddr,
        recursion_desired: bool,
        sent_name: &Name,
        rtype: RecordType,
        exact_case: bool,
        deadline: Instant,
    ) -> Result<Message, UpstreamError> {
        let cookie = self.cookies.cookie_for(addr.ip());
        let (id, query) = build_query_with(sent_name, rtype, recursion_desired, &cookie)?;
        let expected = udp::Expected {
            id,
            name: sent_name,
            rtype,
            cookie: &cookie.client,
            exact_case,
        };
        let response = udp::exchange(&self.sockets, addr, &query, &expected, deadline).await?;
        self.cookies.learn(addr.ip(), &response);
        Ok(response)
    }
}

/// Counts one exchange in the metrics when it ends: with its outcome, or, when it is dropped
/// before one (the resolver no longer needed its answer, or the client's time ran out), as a
/// timeout, since no answer came while it was waited for. Without this a query that a later
/// try's answer made moot would never be counted at all.
struct Counted<'a> {
    metrics: &'a Metrics,
    server: IpAddr,
    outcome: Option<UpstreamOutcome>,
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        let outcome = self.outcome.unwrap_or(UpstreamOutcome::TimedOut);
        self.metrics.record_upstream(self.server, outcome);
    }
}

fn outcome_of(result: &Result<Message, UpstreamError>, sent: Instant) -> UpstreamOutcome {
    match result {
        Ok(_) => UpstreamOutcome::Answered(sent.elapsed()),
        Err(UpstreamError::Timeout) => UpstreamOutcome::TimedOut,
        Err(_) => UpstreamOutcome::Failed,
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
    fn configured_forwarders_may_be_on_loopback() {
        let strict = AddressPolicy {
            allow_loopback: false,
            allow_ipv6: false,
        };
        for ip in ["127.0.0.1", "::1", "192.0.2.1", "2001:db8::1"] {
            assert!(strict.permits_forwarder(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["0.0.0.0", "::", "255.255.255.255", "224.0.0.1"] {
            assert!(!strict.permits_forwarder(ip.parse().unwrap()), "{ip}");
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
