//! What a DoH request must be (RFC 8484 §4.1), checked without I/O so that the fuzzer can drive
//! it: the path, the method, for GET the `dns` parameter (base64url without padding, §6), for POST
//! the content type and the body.
//!
//! Each refusal is an HTTP status: 404 for another path, 405 for another method, 415 for a POST
//! of another media type, 413 for a message longer than a query can be, 400 for a `dns`
//! parameter or a body that is not a DNS message.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};

/// The media type of a DNS message in HTTP (RFC 8484 §6).
pub const DNS_MESSAGE: &str = "application/dns-message";

/// Size of a DNS header: anything shorter is no DNS message.
const HEADER_LEN: usize = 12;

/// What the request head says to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// A GET: the query, decoded from the URL.
    Query(Vec<u8>),
    /// A POST of the right type: the query is the body, to be read (at most `max_len` octets)
    /// and passed to [`check_body`].
    Body,
}

/// The parts of a request head that decide how it is answered.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub content_type: Option<&'a [u8]>,
}

/// Checks a request head against the configured `path`; `max_len` bounds the query.
pub fn check_head(head: Head<'_>, path: &str, max_len: usize) -> Result<Wanted, StatusCode> {
    if head.path != path {
        return Err(StatusCode::NOT_FOUND);
    }
    match *head.method {
        Method::GET => decode_get(head.query, max_len).map(Wanted::Query),
        Method::POST => {
            if !is_dns_message(head.content_type) {
                return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
            }
            Ok(Wanted::Body)
        }
        _ => Err(StatusCode::METHOD_NOT_ALLOWED),
    }
}

/// The query in a GET's `dns` parameter: base64url without padding (RFC 8484 §4.1, §6).
fn decode_get(query: Option<&str>, max_len: usize) -> Result<Vec<u8>, StatusCode> {
    let mut values = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("dns="));
    let (Some(encoded), None) = (values.next(), values.next()) else {
        // None, or two: which one would be the query?
        return Err(StatusCode::BAD_REQUEST);
    };
    // Four characters carry three octets: refuse what cannot fit before decoding anything.
    if encoded.len() / 4 * 3 > max_len {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let message = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    check_body(&message, max_len)?;
    Ok(message)
}

/// A POST's media type: `application/dns-message`, whatever the case, parameters ignored.
fn is_dns_message(content_type: Option<&[u8]>) -> bool {
    let Some(value) = content_type.and_then(|v| std::str::from_utf8(v).ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(DNS_MESSAGE)
}

/// A query's bytes, from either method: at least a DNS header, at most `max_len` octets.
pub fn check_body(message: &[u8], max_len: usize) -> Result<(), StatusCode> {
    if message.len() > max_len {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    if message.len() < HEADER_LEN {
        return Err(StatusCode::BAD_REQUEST);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/dns-query";
    /// RFC 8484 §4.1.1's example: www.example.com A, ID 0, RD=1.
    const EXAMPLE: &str = "AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB";

    fn get(query: Option<&str>) -> Result<Wanted, StatusCode> {
        let head = Head {
            method: &Method::GET,
            path: PATH,
            query,
            content_type: None,
        };
        check_head(head, PATH, 4096)
    }

    fn post(content_type: Option<&str>) -> Result<Wanted, StatusCode> {
        let head = Head {
            method: &Method::POST,
            path: PATH,
            query: None,
            content_type: content_type.map(str::as_bytes),
        };
        check_head(head, PATH, 4096)
    }

    #[test]
    fn get_decodes_the_rfc_example() {
        let Ok(Wanted::Query(message)) = get(Some(&format!("dns={EXAMPLE}"))) else {
            panic!("the RFC's example is refused");
        };
        assert_eq!(message.len(), 33);
        assert_eq!(&message[..4], [0, 0, 1, 0]);
        let with_other = get(Some(&format!("ct=x&dns={EXAMPLE}&z=1")));
        assert!(matches!(with_other, Ok(Wanted::Query(_))));
    }

    #[test]
    fn bad_dns_parameters_are_bad_requests() {
        for query in [
            None,
            Some(""),
            Some("name=www.example.com"),
            Some("dns="),
            Some("dns=AAAB"),
            Some("dns=not+base64url/"),
            Some(&format!("dns={EXAMPLE}=")),
            Some(&format!("dns={EXAMPLE}&dns={EXAMPLE}")),
        ] {
            assert_eq!(get(query), Err(StatusCode::BAD_REQUEST), "{query:?}");
        }
        let long = format!("dns={}", "A".repeat(8000));
        assert_eq!(get(Some(&long)), Err(StatusCode::PAYLOAD_TOO_LARGE));
    }

    #[test]
    fn post_needs_the_dns_message_type() {
        assert_eq!(post(Some(DNS_MESSAGE)), Ok(Wanted::Body));
        assert_eq!(
            post(Some("Application/DNS-Message; charset=x")),
            Ok(Wanted::Body)
        );
        for other in [None, Some("application/json"), Some("text/plain")] {
            assert_eq!(
                post(other),
                Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                "{other:?}"
            );
        }
        assert_eq!(check_body(&[0; 11], 4096), Err(StatusCode::BAD_REQUEST));
        assert_eq!(
            check_body(&[0; 4097], 4096),
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(check_body(&[0; 12], 4096), Ok(()));
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let head = Head {
            method: &Method::GET,
            path: "/other",
            query: Some(&format!("dns={EXAMPLE}")),
            content_type: None,
        };
        assert_eq!(check_head(head, PATH, 4096), Err(StatusCode::NOT_FOUND));
        for method in [Method::PUT, Method::DELETE, Method::HEAD, Method::OPTIONS] {
            let head = Head {
                method: &method,
                path: PATH,
                query: None,
                content_type: None,
            };
            assert_eq!(
                check_head(head, PATH, 4096),
                Err(StatusCode::METHOD_NOT_ALLOWED),
                "{method}"
            );
        }
    }
}
