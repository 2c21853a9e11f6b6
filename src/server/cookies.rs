//! DNS cookies as a server (RFC 7873 §5.2), with server cookies built the interoperable way of
//! RFC 9018: version 1, a timestamp, and a SipHash-2-4 over the client cookie and the client's
//! address under a secret only ferret knows.
//!
//! A client that returns a server cookie we made for its address has shown that it receives
//! packets sent to that address: its source is not forged. ferret does not require cookies (most
//! stubs send none), but a verified client is exempt from response rate limiting, as a TCP client
//! is.
//!
//! The secret is random at start and replaced every [`SECRET_ROTATION_SECS`]; the previous one is
//! kept to verify cookies made just before a change (RFC 9018 §5, RFC 7873 §7.4).

use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::RwLock;

use siphasher::sip::SipHasher24;

use crate::cookie::Cookie;

/// RFC 9018 §4.1: the only version there is.
const VERSION: u8 = 1;

/// Version, 3 reserved octets, timestamp, hash.
const SERVER_COOKIE_LEN: usize = 16;

/// RFC 9018 §4.3: a server cookie is accepted for an hour after its timestamp, and up to five
/// minutes before it (clock differences between the servers of an anycast set) ...
const LIFETIME_SECS: i64 = 3_600;
const MAX_AHEAD_SECS: i64 = 300;

/// ... and the client is handed a new one once it is half an hour old.
const RENEW_AFTER_SECS: i64 = 1_800;

/// How often the secret changes. Longer than a cookie lives, so that the one previous secret kept
/// covers every cookie still alive.
pub const SECRET_ROTATION_SECS: u64 = 24 * 3_600;

type Secret = [u8; 16];

/// The result of the cookie step for one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieAnswer {
    /// The client returned a server cookie we made for it, and it has not expired.
    pub verified: bool,
    /// The COOKIE option for the response.
    pub reply: Cookie,
}

#[derive(Debug)]
pub struct ServerCookies {
    secrets: RwLock<Secrets>,
}

#[derive(Debug, Clone, Copy)]
struct Secrets {
    current: Secret,
    previous: Option<Secret>,
    /// When `current` was made, in seconds since the epoch.
    made_at: u64,
}

impl ServerCookies {
    /// A fresh random secret; `now` is seconds since the epoch.
    pub fn new(now: u64) -> Self {
        Self::with_secret(rand::random(), now)
    }

    fn with_secret(secret: Secret, now: u64) -> Self {
        ServerCookies {
            secrets: RwLock::new(Secrets {
                current: secret,
                previous: None,
                made_at: now,
            }),
        }
    }

    /// Checks the server cookie in `cookie`, sent from `client` at `now`, and makes the COOKIE
    /// option for the response (RFC 7873 §5.2.3–5.2.5): a missing, foreign or expired server
    /// cookie is answered with a new one, never with an error, since ferret does not insist on
    /// cookies.
    pub fn answer(&self, cookie: &Cookie, client: IpAddr, now: u64) -> CookieAnswer {
        let secrets = self.secrets_at(now);
        let now32 = now as u32; // RFC 9018 §4.3: serial number arithmetic, modulo 2^32
        let made_with = [Some(secrets.current), secrets.previous]
            .into_iter()
            .flatten()
            .find(|secret| is_ours(cookie, client, secret));
        let Some(secret) = made_with else {
            return CookieAnswer {
                verified: false,
                reply: fresh(cookie, client, &secrets.current, now32),
            };
        };
        let age = cookie_age(&cookie.server, now32);
        if !(-MAX_AHEAD_SECS..=LIFETIME_SECS).contains(&age) {
            return CookieAnswer {
                verified: false,
                reply: fresh(cookie, client, &secrets.current, now32),
            };
        }
        // RFC 9018 §4.3: a cookie still young may be handed back unchanged; an older one, or
        // one made with the previous secret, is replaced.
        let reply = if age < RENEW_AFTER_SECS && secret == secrets.current {
            cookie.clone()
        } else {
            fresh(cookie, client, &secrets.current, now32)
        };
        CookieAnswer {
            verified: true,
            reply,
        }
    }

    /// The secrets in force at `now`, rotating first if the current one is old enough.
    fn secrets_at(&self, now: u64) -> Secrets {
        let secrets = *self.secrets.read().unwrap_or_else(|p| p.into_inner());
        if now.saturating_sub(secrets.made_at) < SECRET_ROTATION_SECS {
            return secrets;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        // Another thread may have rotated while this one waited for the lock.
        if now.saturating_sub(secrets.made_at) >= SECRET_ROTATION_SECS {
            secrets.previous = Some(secrets.current);
            secrets.current = rand::random();
            secrets.made_at = now;
            tracing::debug!("DNS cookie secret rotated");
        }
        *secrets
    }
}

/// A new server cookie for `cookie`'s client cookie, stamped `now`.
fn fresh(cookie: &Cookie, client: IpAddr, secret: &Secret, now: u32) -> Cookie {
    let mut server = Vec::with_capacity(SERVER_COOKIE_LEN);
    server.push(VERSION);
    server.extend_from_slice(&[0, 0, 0]);
    server.extend_from_slice(&now.to_be_bytes());
    let hash = cookie_hash(&cookie.client, &server, client, secret);
    server.extend_from_slice(&hash);
    Cookie {
        client: cookie.client,
        server,
    }
}

/// Whether the server cookie in `cookie` is one `secret` made for this client cookie and
/// address. The reserved octets are hashed as received (RFC 9018 §4.2).
fn is_ours(cookie: &Cookie, client: IpAddr, secret: &Secret) -> bool {
    let Some((stamped, hash)) = cookie.server.split_at_checked(8) else {
        return false;
    };
    if cookie.server.len() != SERVER_COOKIE_LEN || stamped[0] != VERSION {
        return false;
    }
    let expected = cookie_hash(&cookie.client, stamped, client, secret);
    // Compared without an early exit, so timing does not tell a forger how much was right.
    expected
        .iter()
        .zip(hash)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// RFC 9018 §4.4: SipHash-2-4 over client cookie | version | reserved | timestamp | client
/// address, keyed with the secret.
fn cookie_hash(client_cookie: &[u8], stamped: &[u8], client: IpAddr, secret: &Secret) -> [u8; 8] {
    let mut hasher = SipHasher24::new_with_key(secret);
    hasher.write(client_cookie);
    hasher.write(stamped);
    match client.to_canonical() {
        IpAddr::V4(v4) => hasher.write(&v4.octets()),
        IpAddr::V6(v6) => hasher.write(&v6.octets()),
    }
    // SipHash's output is a little-endian 64-bit word (the reference implementation's byte
    // order, which RFC 9018's test vectors use).
    hasher.finish().to_le_bytes()
}

/// Seconds since the server cookie's timestamp (negative: stamped in the future).
fn cookie_age(server: &[u8], now: u32) -> i64 {
    let stamp = server
        .get(4..8)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map_or(0, u32::from_be_bytes);
    i64::from(now.wrapping_sub(stamp) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn secret(text: &str) -> Secret {
        hex(text).try_into().unwrap()
    }

    fn cookie(text: &str) -> Cookie {
        Cookie::from_bytes(&hex(text)).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const SECRET_A: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

    /// RFC 9018 Appendix A.1: a client cookie alone gets a new server cookie.
    #[test]
    fn rfc_9018_a1_learning_a_new_server_cookie() {
        let cookies = ServerCookies::with_secret(secret(SECRET_A), 1559731985);
        let answer = cookies.answer(
            &cookie("2464c4abcf10c957"),
            ip("198.51.100.100"),
            1559731985,
        );
        assert!(!answer.verified);
        assert_eq!(
            answer.reply,
            cookie("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
        );
    }

    /// A.2: the same cookie 40 minutes later is valid, and renewed.
    #[test]
    fn rfc_9018_a2_a_renewed_server_cookie() {
        let cookies = ServerCookies::with_secret(secret(SECRET_A), 1559731985);
        let answer = cookies.answer(
            &cookie("2464c4abcf10c957010000005cf79f111f8130c3eee29480"),
            ip("198.51.100.100"),
            1559734385,
        );
        assert!(answer.verified);
        assert_eq!(
            answer.reply,
            cookie("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
        );
    }

    /// A.3: reserved octets set by someone else are part of the hash; the cookie is ours, but
    /// older than an hour, so it no longer verifies and a new one is issued.
    #[test]
    fn rfc_9018_a3_another_client_with_an_old_cookie() {
        let cookies = ServerCookies::with_secret(secret(SECRET_A), 1559734700);
        let sent = cookie("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
        assert!(is_ours(&sent, ip("203.0.113.203"), &secret(SECRET_A)));
        assert!(!is_ours(&sent, ip("203.0.113.204"), &secret(SECRET_A)));
        let answer = cookies.answer(&sent, ip("203.0.113.203"), 1559734700);
        assert!(!answer.verified, "6715 seconds old");
        assert_eq!(
            answer.reply,
            cookie("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")
        );
    }

    /// A.4: an IPv6 client whose cookie was made with the previous secret.
    #[test]
    fn rfc_9018_a4_ipv6_client_after_a_secret_rollover() {
        let client = ip("2001:db8:220:1:59de:d0f4:8769:82b8");
        let sent = cookie("22681ab97d52c298010000005cf7c57926556bd0934c72f8");
        let cookies = ServerCookies::with_secret(secret("dd3bdf9344b678b185a6f5cb60fca715"), 0);
        // Hand-made rollover to the RFC's new secret, keeping the old one.
        {
            let mut secrets = cookies.secrets.write().unwrap();
            secrets.previous = Some(secrets.current);
            secrets.current = secret("445536bcd2513298075a5d379663c962");
            secrets.made_at = 1559741961;
        }
        let answer = cookies.answer(&sent, client, 1559741961);
        assert!(answer.verified, "made with the previous secret");
        assert_eq!(
            answer.reply,
            cookie("22681ab97d52c298010000005cf7c609a6bb79d16625507a")
        );
    }

    #[test]
    fn a_young_cookie_is_returned_unchanged() {
        let cookies = ServerCookies::new(1_000_000);
        let first = cookies.answer(&cookie("0102030405060708"), ip("192.0.2.1"), 1_000_000);
        let again = cookies.answer(&first.reply, ip("192.0.2.1"), 1_000_100);
        assert!(again.verified);
        assert_eq!(again.reply, first.reply);
    }

    #[test]
    fn forged_expired_and_future_cookies_do_not_verify() {
        let now = 1_000_000;
        let cookies = ServerCookies::new(now);
        let client = ip("192.0.2.1");
        let issued = cookies
            .answer(&cookie("0102030405060708"), client, now)
            .reply;
        let mut forged = issued.clone();
        forged.server[15] ^= 1;
        assert!(!cookies.answer(&forged, client, now).verified);
        let mut other_client_cookie = issued.clone();
        other_client_cookie.client[0] ^= 1;
        assert!(!cookies.answer(&other_client_cookie, client, now).verified);
        assert!(!cookies.answer(&issued, ip("192.0.2.2"), now).verified);
        assert!(cookies.answer(&issued, client, now + 3_600).verified);
        assert!(!cookies.answer(&issued, client, now + 3_601).verified);
        // Stamped more than five minutes ahead of our clock.
        assert!(cookies.answer(&issued, client, now - 300).verified);
        assert!(!cookies.answer(&issued, client, now - 301).verified);
        // Eight-octet server cookies (RFC 7873 allows them) are never ours.
        assert!(
            !cookies
                .answer(&cookie("01020304050607080102030405060708"), client, now)
                .verified
        );
    }

    #[test]
    fn the_secret_rotates_and_the_previous_one_still_verifies_once() {
        let start = 1_000_000;
        let cookies = ServerCookies::new(start);
        let client = ip("192.0.2.1");
        let client_cookie = cookie("0102030405060708");
        let first_secret = cookies.secrets.read().unwrap().current;
        // A cookie made just before the rotation still verifies just after it, and is replaced
        // by one made with the new secret.
        let rotation = start + SECRET_ROTATION_SECS;
        let made_before = fresh(
            &client_cookie,
            client,
            &first_secret,
            (rotation - 10) as u32,
        );
        let answer = cookies.answer(&made_before, client, rotation);
        assert!(answer.verified);
        assert_ne!(answer.reply, made_before, "renewed with the new secret");
        let second_secret = cookies.secrets.read().unwrap().current;
        assert_ne!(second_secret, first_secret);
        assert!(cookies.answer(&answer.reply, client, rotation + 1).verified);
        // After a second rotation the first secret is forgotten, the second still known.
        let again = rotation + SECRET_ROTATION_SECS;
        let stamp = (again - 10) as u32;
        let made_with_first = fresh(&client_cookie, client, &first_secret, stamp);
        let made_with_second = fresh(&client_cookie, client, &second_secret, stamp);
        assert!(!cookies.answer(&made_with_first, client, again).verified);
        assert!(cookies.answer(&made_with_second, client, again).verified);
    }
}
