//! DNS cookies as a client (RFC 7873 §5.1, §5.3): every upstream query carries a client cookie,
//! and the server cookie the server last gave us.
//!
//! An off-path forger who races a server's answer must now also guess the 64-bit client cookie
//! that the answer has to echo, on top of the ID and source port (RFC 7873 §1). The client cookie
//! is random per server, so servers cannot link ferret's queries to one another by it
//! (RFC 9018 §3 asks for that property).

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use hickory_proto::op::Message;
use lru::LruCache;

use crate::cookie::{ClientCookie, Cookie, cookie_in};

/// Servers whose cookies are remembered (LRU beyond that): bounded whatever the traffic.
const TRACKED_SERVERS: usize = 10_000;

#[derive(Debug)]
pub struct CookieJar {
    servers: Mutex<LruCache<IpAddr, Cookie>>,
}

impl Default for CookieJar {
    fn default() -> Self {
        CookieJar {
            servers: Mutex::new(crate::bounded_lru::new(
                NonZeroUsize::new(TRACKED_SERVERS).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl CookieJar {
    /// The COOKIE option for a query to `server`: our client cookie for it (made now if it has
    /// none yet) and the server cookie it last sent us, if any.
    pub fn cookie_for(&self, server: IpAddr) -> Cookie {
        let mut servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        servers
            .get_or_insert(server, || Cookie::client_only(rand::random()))
            .clone()
    }

    /// Remembers the server cookie in an accepted response from `server`, to send with the next
    /// query (RFC 7873 §5.3).
    pub fn learn(&self, server: IpAddr, response: &Message) {
        let Some(Ok(cookie)) = cookie_in(response.edns.as_ref()) else {
            return;
        };
        if cookie.server.is_empty() {
            return;
        }
        let mut servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = servers.get_mut(&server)
            && known.client == cookie.client
        {
            known.server = cookie.server;
        }
    }
}

/// Whether `response` may be the answer to a query that carried `sent`: it has no COOKIE option
/// (the server does not do cookies), or one that echoes our client cookie. A malformed COOKIE,
/// or someone else's client cookie, is a forgery or a stray, ignored like a wrong ID
/// (RFC 7873 §5.3).
pub fn echoes(response: &Message, sent: &ClientCookie) -> bool {
    match cookie_in(response.edns.as_ref()) {
        None => true,
        Some(Ok(cookie)) => cookie.client == *sent,
        Some(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Edns;
    use hickory_proto::rr::rdata::opt::EdnsOption;

    use super::*;
    use crate::cookie::COOKIE_OPTION;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn response_with(option: Option<Vec<u8>>) -> Message {
        let mut message = Message::query();
        let mut edns = Edns::new();
        if let Some(bytes) = option {
            edns.options_mut()
                .insert(EdnsOption::Unknown(COOKIE_OPTION, bytes));
        }
        message.set_edns(edns);
        message
    }

    #[test]
    fn each_server_gets_its_own_stable_client_cookie() {
        let jar = CookieJar::default();
        let a = jar.cookie_for(ip("192.0.2.1"));
        let b = jar.cookie_for(ip("192.0.2.2"));
        assert_ne!(a.client, b.client);
        assert_eq!(jar.cookie_for(ip("192.0.2.1")), a);
        assert!(a.server.is_empty());
    }

    #[test]
    fn a_server_cookie_is_learned_only_with_our_client_cookie() {
        let jar = CookieJar::default();
        let server = ip("192.0.2.1");
        let sent = jar.cookie_for(server);
        let mut stranger = sent.client;
        stranger[0] ^= 0xff;
        let foreign = Cookie {
            client: stranger,
            server: vec![7; 16],
        };
        jar.learn(server, &response_with(Some(foreign.to_bytes())));
        assert!(jar.cookie_for(server).server.is_empty());
        let ours = Cookie {
            client: sent.client,
            server: vec![9; 16],
        };
        jar.learn(server, &response_with(Some(ours.to_bytes())));
        assert_eq!(jar.cookie_for(server), ours);
    }

    #[test]
    fn responses_must_echo_the_client_cookie_if_they_carry_one() {
        let sent = [1, 2, 3, 4, 5, 6, 7, 8];
        assert!(echoes(&Message::query(), &sent), "no OPT at all");
        assert!(echoes(&response_with(None), &sent), "OPT without COOKIE");
        let mut echoed = sent.to_vec();
        echoed.extend_from_slice(&[0; 16]);
        assert!(echoes(&response_with(Some(echoed)), &sent));
        assert!(echoes(&response_with(Some(sent.to_vec())), &sent));
        assert!(!echoes(
            &response_with(Some(vec![8, 7, 6, 5, 4, 3, 2, 1])),
            &sent
        ));
        assert!(
            !echoes(&response_with(Some(vec![1, 2, 3])), &sent),
            "malformed"
        );
    }
}
