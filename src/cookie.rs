//! The DNS COOKIE option (RFC 7873 §4), as both the server side (clients' cookies) and the
//! upstream side (our cookies to authoritative servers) read and write it.
//!
//! hickory-proto knows the option code (`EdnsCode::Cookie`) but carries the content as
//! `EdnsOption::Unknown`; this module gives it a shape.

use hickory_proto::op::Edns;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use thiserror::Error;

/// IANA's EDNS option code for COOKIE.
pub const COOKIE_OPTION: u16 = 10;

/// A client cookie is exactly 8 octets (RFC 7873 §4.1).
pub const CLIENT_COOKIE_LEN: usize = 8;

/// A server cookie is 8 to 32 octets (RFC 7873 §4.2).
const SERVER_COOKIE_LEN: std::ops::RangeInclusive<usize> = 8..=32;

pub type ClientCookie = [u8; CLIENT_COOKIE_LEN];

/// A COOKIE option: the client cookie, and the server cookie when the client has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub client: ClientCookie,
    /// Empty when the client has not learned a server cookie yet.
    pub server: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("a COOKIE option of {0} octets (RFC 7873 §5.2.2 allows 8, or 16 to 40)")]
pub struct MalformedCookie(pub usize);

impl Cookie {
    pub fn client_only(client: ClientCookie) -> Self {
        Cookie {
            client,
            server: Vec::new(),
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MalformedCookie> {
        let malformed = MalformedCookie(bytes.len());
        let (client, server) = bytes.split_at_checked(CLIENT_COOKIE_LEN).ok_or(malformed)?;
        if !server.is_empty() && !SERVER_COOKIE_LEN.contains(&server.len()) {
            return Err(malformed);
        }
        Ok(Cookie {
            client: client.try_into().map_err(|_| malformed)?,
            server: server.to_vec(),
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(CLIENT_COOKIE_LEN + self.server.len());
        bytes.extend_from_slice(&self.client);
        bytes.extend_from_slice(&self.server);
        bytes
    }

    pub fn to_option(&self) -> EdnsOption {
        EdnsOption::Unknown(COOKIE_OPTION, self.to_bytes())
    }
}

/// The COOKIE option of an OPT record: `None` if there is none, an error if it is malformed.
/// Only the first one counts, as with any EDNS option hickory reads.
pub fn cookie_in(edns: Option<&Edns>) -> Option<Result<Cookie, MalformedCookie>> {
    match edns?.option(EdnsCode::Cookie)? {
        EdnsOption::Unknown(_, bytes) => Some(Cookie::from_bytes(bytes)),
        // hickory has no type of its own for the option; anything else would be a new hickory
        // version decoding it, which this match makes visible at once.
        _ => Some(Err(MalformedCookie(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_rfc_7873() {
        for len in [0, 1, 7, 9, 15, 41, 60] {
            assert_eq!(
                Cookie::from_bytes(&vec![7; len]),
                Err(MalformedCookie(len)),
                "{len}"
            );
        }
        for len in [8, 16, 24, 40] {
            let cookie = Cookie::from_bytes(&vec![7; len]).unwrap();
            assert_eq!(cookie.server.len(), len - 8);
            assert_eq!(cookie.to_bytes(), vec![7; len]);
        }
    }

    #[test]
    fn found_in_an_opt_record() {
        let mut edns = Edns::new();
        assert_eq!(cookie_in(Some(&edns)), None);
        assert_eq!(cookie_in(None), None);
        let cookie = Cookie::client_only([1, 2, 3, 4, 5, 6, 7, 8]);
        edns.options_mut().insert(cookie.to_option());
        assert_eq!(cookie_in(Some(&edns)), Some(Ok(cookie)));
    }
}
