//! The cache-hit path: a standard query read straight off the wire and answered from the message
//! cache, with no allocation, no full parse and no task hand-off.
//!
//! Anything out of the ordinary (EDNS options, another class, trailing bytes, an answer too big
//! for the client) is left to the full pipeline, which gives the same answer the slow way.

use crate::cache::MessageCache;
use crate::cache::message::{QueryEcho, write_key};
use crate::clock::Millis;

use super::pipeline::Transport;

const HEADER_LEN: usize = 12;
const CLASSIC_UDP_LIMIT: usize = 512;
const TYPE_OPT: u16 = 41;
const CLASS_IN: u16 = 1;

/// A plain query as the fast path accepts it.
struct PlainQuery<'a> {
    echo: QueryEcho<'a>,
    name: &'a [u8],
    qtype: u16,
    /// The client's EDNS payload size, if it sent OPT.
    payload: Option<u16>,
}

/// What the fast path did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Not answered: send the request down the full pipeline.
    No,
    /// Answered into `out`.
    Yes,
    /// Answered, and the entry is in the last tenth of its life: refresh it in the background.
    YesRefresh,
}

/// Writes the answer to `request` into `out` if the message cache holds it live at `now`.
pub fn answer(
    request: &[u8],
    messages: &MessageCache,
    transport: Transport,
    now: Millis,
    out: &mut Vec<u8>,
) -> Served {
    let Some(query) = read_plain_query(request) else {
        return Served::No;
    };
    let mut key = [0u8; 258];
    let dnssec_ok = query.echo.edns_dnssec_ok.unwrap_or(false);
    let Some(key_len) = write_key(query.name, query.qtype, dnssec_ok, &mut key) else {
        return Served::No;
    };
    let limit = match (transport, query.payload) {
        (Transport::Udp, Some(payload)) => {
            usize::from(payload.min(crate::wire::EDNS_PAYLOAD)).max(CLASSIC_UDP_LIMIT)
        }
        (Transport::Udp, None) => CLASSIC_UDP_LIMIT,
        // Streams (TCP, TLS, HTTPS, QUIC) take a response of any size.
        (_, _) => usize::MAX,
    };
    let served = messages.with(&key[..key_len], now, |message| {
        message.write_response(&query.echo, now, out);
        if out.len() > limit {
            Served::No
        } else if message.claim_prefetch(now) {
            Served::YesRefresh
        } else {
            Served::Yes
        }
    });
    served.unwrap_or(Served::No)
}

/// Reads a query with one IN-class question, no answer or authority records, and at most an
/// option-free EDNS0 OPT record, ending exactly at the end of the datagram.
fn read_plain_query(bytes: &[u8]) -> Option<PlainQuery<'_>> {
    let header = bytes.get(..HEADER_LEN)?;
    let flags = header[2];
    // QR=0, opcode QUERY, and the counts of a plain query.
    if flags & 0xf8 != 0 || header[4..10] != [0, 1, 0, 0, 0, 0] || header[10] != 0 || header[11] > 1
    {
        return None;
    }
    let name_end = plain_name_end(bytes, HEADER_LEN)?;
    let qtype = u16::from_be_bytes([*bytes.get(name_end)?, *bytes.get(name_end + 1)?]);
    let qclass = u16::from_be_bytes([*bytes.get(name_end + 2)?, *bytes.get(name_end + 3)?]);
    if qclass != CLASS_IN || is_meta_type(qtype) {
        return None;
    }
    let question_end = name_end + 4;
    let (payload, dnssec_ok) = match header[11] {
        0 if bytes.len() == question_end => (None, None),
        1 => {
            let (payload, dnssec_ok) = read_bare_opt(bytes.get(question_end..)?)?;
            (Some(payload), Some(dnssec_ok))
        }
        _ => return None,
    };
    Some(PlainQuery {
        echo: QueryEcho {
            id: u16::from_be_bytes([header[0], header[1]]),
            recursion_desired: flags & 0x01 != 0,
            checking_disabled: header[3] & 0x10 != 0,
            authentic_data: header[3] & 0x20 != 0,
            question: &bytes[HEADER_LEN..question_end],
            edns_dnssec_ok: dnssec_ok,
        },
        name: &bytes[HEADER_LEN..name_end],
        qtype,
        payload,
    })
}

/// The end of an uncompressed name of at most 255 bytes starting at `offset`.
fn plain_name_end(bytes: &[u8], offset: usize) -> Option<usize> {
    let mut at = offset;
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len == 0 {
            return (at + 1 - offset <= 255).then_some(at + 1);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
}

/// An OPT record with root owner, version 0 and no options, filling the rest of the datagram.
fn read_bare_opt(rr: &[u8]) -> Option<(u16, bool)> {
    if rr.len() != 11 || rr[0] != 0 || u16::from_be_bytes([rr[1], rr[2]]) != TYPE_OPT {
        return None;
    }
    let payload = u16::from_be_bytes([rr[3], rr[4]]);
    let (extended_rcode, version, dnssec_ok) = (rr[5], rr[6], rr[7] & 0x80 != 0);
    if extended_rcode != 0 || version != 0 || rr[9..11] != [0, 0] {
        return None;
    }
    Some((payload, dnssec_ok))
}

/// Types that are not plain questions (zone transfers, OPT, TSIG...): the pipeline decides.
fn is_meta_type(qtype: u16) -> bool {
    matches!(qtype, 0 | 41 | 249..=252)
}
