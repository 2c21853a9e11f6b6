//! RRsets as the cache holds them: wire-format bytes in one allocation, decoded back into hickory
//! `Record`s when read.
//!
//! A hickory `Record` is a few hundred bytes (an inline owner `Name`, a large `RData` enum) before
//! its heap parts. The RRset cache held a `Vec` of them per entry, and at a million cached names
//! that came to well over a kilobyte a name (issue #3). The same RRset in wire format is its owner
//! once plus a few bytes per record: an A RRset at `n123456.mem.bench.` is 37 bytes.
//!
//! Reads pay a decode, which is fine: cache hits are answered from the message cache
//! (`message.rs`), and the RRset cache is read when an answer is assembled or a delegation looked
//! up, next to work that costs far more.

use std::sync::Arc;

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordData, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, NameEncoding, Restrict,
};

/// One RRset and the RRSIGs that came with it, in wire format:
///
/// ```text
/// owner    the owner name, uncompressed, letter case as received
/// class    u16
/// ttl      u32, the smallest TTL of the records as received
/// count    u16, how many of the records below belong to the RRset; the rest are its RRSIGs
/// records  per record: type u16, rdlength u16, RDATA with any names in it uncompressed
/// proof    optional: type 0 (never a record type) then whole records (owner, type, class, TTL,
///          rdlength, RDATA, all uncompressed): the NSEC/NSEC3 records and their RRSIGs that
///          prove a negative answer (RFC 4035 §3.1.3), which have owners of their own
/// ```
///
/// Names are written uncompressed so that each RDATA decodes on its own (a compression pointer
/// would point into a message that is no longer there), and with their case unchanged: the cache
/// hands back what the authority sent. The type is kept per record, not per set, so that anything
/// passed in as a signature comes back as it went in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRrset {
    bytes: Arc<[u8]>,
}

/// Why an RRset cannot be stored. Only data hickory itself cannot write gets here (an RDATA over
/// 65535 bytes, a malformed label); such an RRset is simply not cached.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no records to store")]
    Empty,
    #[error("RRset does not encode: {0}")]
    Encode(#[from] hickory_proto::ProtoError),
    #[error("RDATA or record count over 65535")]
    TooLong,
    #[error("a record of the reserved type 0")]
    ReservedType,
}

/// Room for a typical RRset, so that encoding one rarely grows the scratch buffer.
const SCRATCH_CAPACITY: usize = 512;

impl StoredRrset {
    /// Encodes `records` (one RRset: owner, class and type of the first stand for all) followed
    /// by `rrsigs`.
    #[cfg(test)]
    pub fn encode(records: &[Record], rrsigs: &[Record]) -> Result<Self, StoreError> {
        Self::encode_with_proof(records, rrsigs, &[])
    }

    /// As [`StoredRrset::encode`], with the records proving a negative answer after them.
    pub fn encode_with_proof(
        records: &[Record],
        rrsigs: &[Record],
        proof: &[Record],
    ) -> Result<Self, StoreError> {
        let first = records.first().ok_or(StoreError::Empty)?;
        if records
            .iter()
            .chain(rrsigs)
            .any(|r| u16::from(r.record_type()) == PROOF_MARKER)
        {
            return Err(StoreError::ReservedType);
        }
        let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
        let count = u16::try_from(records.len()).map_err(|_| StoreError::TooLong)?;
        let mut buffer = Vec::with_capacity(SCRATCH_CAPACITY);
        {
            let mut encoder = BinEncoder::new(&mut buffer);
            encoder.set_name_encoding(NameEncoding::Uncompressed);
            first.name.emit(&mut encoder)?;
            encoder.emit_u16(u16::from(first.dns_class))?;
            encoder.emit_u32(ttl)?;
            encoder.emit_u16(count)?;
            for record in records.iter().chain(rrsigs) {
                emit_rdata(&mut encoder, record)?;
            }
            if !proof.is_empty() {
                encoder.emit_u16(PROOF_MARKER)?;
                for record in proof {
                    record.emit(&mut encoder)?;
                }
            }
        }
        // `Arc<[u8]>::from` copies into an allocation of exactly the encoded length (plus the
        // reference counts): nothing of the scratch buffer's spare capacity stays in the cache.
        Ok(StoredRrset {
            bytes: Arc::from(buffer.as_slice()),
        })
    }

    /// The RRset's records with `ttl`, then (if `with_rrsigs`) its RRSIGs with `ttl` too.
    ///
    /// The bytes were written by [`StoredRrset::encode`] from records hickory had decoded or
    /// built, so they decode again; if one ever did not, the records read up to it are returned
    /// rather than panicking in a server.
    pub fn decode(&self, ttl: u32, with_rrsigs: bool) -> Vec<Record> {
        let mut records = Vec::new();
        let decoded = self.decode_into(&mut records, ttl, with_rrsigs);
        debug_assert!(decoded.is_ok(), "cached RRset does not decode: {decoded:?}");
        records
    }

    /// The smallest TTL of the records as they were received.
    pub fn original_ttl(&self) -> u32 {
        let Some(at) = self.after_owner() else {
            return 0;
        };
        match self.bytes.get(at + 2..at + 6) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        }
    }

    /// Where the class follows the owner name, found by walking its labels: reading the header
    /// would make a `Name` only to skip it.
    fn after_owner(&self) -> Option<usize> {
        let mut at = 0;
        loop {
            let length = usize::from(*self.bytes.get(at)?);
            at += 1;
            if length == 0 {
                return Some(at);
            }
            // Written uncompressed: a label length is never a pointer here.
            if length > 63 {
                return None;
            }
            at += length;
        }
    }

    /// The type and RDATA of each record of the RRset (not its RRSIGs), straight from the bytes,
    /// for readers that want a field or two of each record and no `Record` (server addresses,
    /// the names of a zone's servers).
    pub fn rdatas(&self) -> impl Iterator<Item = (RecordType, &[u8])> + '_ {
        let start = self.after_owner().map(|at| at + 2 + 4);
        let count = start
            .and_then(|at| self.bytes.get(at..at + 2))
            .map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
        let mut at = start.map_or(self.bytes.len(), |at| at + 2);
        (0..count).map_while(move |_| {
            let fields = self.bytes.get(at..at + 4)?;
            let code = u16::from_be_bytes([fields[0], fields[1]]);
            let length = usize::from(u16::from_be_bytes([fields[2], fields[3]]));
            let rdata = self.bytes.get(at + 4..at + 4 + length)?;
            at += 4 + length;
            Some((RecordType::from(code), rdata))
        })
    }

    fn decode_into(
        &self,
        out: &mut Vec<Record>,
        ttl: u32,
        with_rrsigs: bool,
    ) -> Result<(), hickory_proto::serialize::binary::DecodeError> {
        let mut decoder = BinDecoder::new(&self.bytes);
        let header = Header::read(&mut decoder)?;
        let total = if with_rrsigs {
            usize::MAX
        } else {
            usize::from(header.count)
        };
        out.reserve_exact(usize::from(header.count));
        while !decoder.is_empty() && out.len() < total {
            let code = decoder.read_u16()?.unverified();
            if code == PROOF_MARKER {
                break;
            }
            let rtype = RecordType::from(code);
            let length = decoder.read_u16()?.unverified();
            let data = read_rdata(&mut decoder, rtype, length)?;
            let mut record = Record::from_rdata(header.owner.clone(), ttl, data);
            record.dns_class = header.class;
            out.push(record);
        }
        Ok(())
    }

    /// The records proving a negative answer (empty for most entries), with `ttl`.
    pub fn decode_proof(&self, ttl: u32) -> Vec<Record> {
        let mut proof = Vec::new();
        let decoded = self.decode_proof_into(&mut proof, ttl);
        debug_assert!(decoded.is_ok(), "cached proof does not decode: {decoded:?}");
        proof
    }

    fn decode_proof_into(
        &self,
        out: &mut Vec<Record>,
        ttl: u32,
    ) -> Result<(), hickory_proto::serialize::binary::DecodeError> {
        let mut decoder = BinDecoder::new(&self.bytes);
        Header::read(&mut decoder)?;
        while !decoder.is_empty() {
            let code = decoder.read_u16()?.unverified();
            if code == PROOF_MARKER {
                while !decoder.is_empty() {
                    let mut record = Record::read(&mut decoder)?;
                    record.ttl = ttl;
                    out.push(record);
                }
                return Ok(());
            }
            let length = decoder.read_u16()?.unverified();
            decoder.read_slice(usize::from(length))?;
        }
        Ok(())
    }
}

/// Where the proof records start: type 0 is reserved (RFC 6895 §3.1) and never a record's type.
const PROOF_MARKER: u16 = 0;

/// What precedes the records.
struct Header {
    owner: Name,
    class: DNSClass,
    count: u16,
}

impl Header {
    fn read(
        decoder: &mut BinDecoder<'_>,
    ) -> Result<Self, hickory_proto::serialize::binary::DecodeError> {
        let owner = Name::read(decoder)?;
        let class = DNSClass::from(decoder.read_u16()?.unverified());
        // The TTL: readers take it from `original_ttl`, or give records their own.
        decoder.read_u32()?;
        let count = decoder.read_u16()?.unverified();
        Ok(Header {
            owner,
            class,
            count,
        })
    }
}

/// Type, length and RDATA of one record, as `Record::emit` writes them after the owner, class and
/// TTL. An RDATA of length 0 is how hickory represents an empty record (`RData::Update0`); it is
/// written and read back the same way hickory's own record codec does.
fn emit_rdata(encoder: &mut BinEncoder<'_>, record: &Record) -> Result<(), StoreError> {
    encoder.emit_u16(u16::from(record.record_type()))?;
    let length_place = encoder.place::<u16>()?;
    if !record.data.is_update() {
        record.data.emit(encoder)?;
    }
    let length =
        u16::try_from(encoder.len_since_place(&length_place)).map_err(|_| StoreError::TooLong)?;
    length_place.replace(encoder, length)?;
    Ok(())
}

fn read_rdata(
    decoder: &mut BinDecoder<'_>,
    rtype: RecordType,
    length: u16,
) -> Result<RData, hickory_proto::serialize::binary::DecodeError> {
    if length == 0 {
        return Ok(RData::Update0(rtype));
    }
    // The RDATA is read from its own slice so that a reader which stops short (or a length that
    // does not match) cannot run into the next record.
    let rdata = decoder.read_slice(usize::from(length))?.unverified();
    let mut rdata_decoder = BinDecoder::new(rdata);
    RData::read(&mut rdata_decoder, rtype, Restrict::new(length))
}

#[cfg(test)]
impl StoredRrset {
    /// Whether no byte of the stored form is a compression pointer, which is true when every
    /// name in it was written out in full: walks the format above and each name in the RDATA of
    /// the types the tests use (SOA: two names first).
    pub(super) fn is_uncompressed(&self) -> bool {
        let mut decoder = BinDecoder::new(&self.bytes);
        let Ok(_) = Header::read(&mut decoder) else {
            return false;
        };
        let rest = &self.bytes[decoder.index()..];
        // type (2) and rdlength (2), then the SOA's MNAME: a pointer would be a byte >= 0xc0 where
        // a label length is expected.
        let mut at = 4;
        for _ in 0..2 {
            while let Some(&length) = rest.get(at) {
                if length >= 0xc0 {
                    return false;
                }
                at += 1 + usize::from(length);
                if length == 0 {
                    break;
                }
            }
        }
        true
    }
}
