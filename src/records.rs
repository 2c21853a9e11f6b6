//! Small readers over hickory records: the names inside NS, CNAME and DNAME data, SOA parts.

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::rdata::{CNAME, NULL};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// The target of a CNAME record.
pub fn cname_target(record: &Record) -> Option<&Name> {
    match &record.data {
        RData::CNAME(cname) => Some(&cname.0),
        _ => None,
    }
}

/// The server name of an NS record.
pub fn ns_name(record: &Record) -> Option<&Name> {
    match &record.data {
        RData::NS(ns) => Some(&ns.0),
        _ => None,
    }
}

/// The target of a DNAME record (RFC 6672). hickory-proto keeps DNAME data as opaque bytes; the
/// target is an uncompressed name (RFC 6672 §2.5 forbids compressing it), so it decodes alone.
pub fn dname_target(record: &Record) -> Option<Name> {
    if record.record_type() != RecordType::DNAME {
        return None;
    }
    let RData::Unknown {
        rdata: NULL { anything, .. },
        ..
    } = &record.data
    else {
        return None;
    };
    let mut decoder = BinDecoder::new(anything);
    let name = Name::read(&mut decoder).ok()?;
    decoder.is_empty().then_some(name)
}

/// Rewrites `name`, which lies below the DNAME's owner, onto the DNAME's target (RFC 6672 §2.2).
/// `None` when the result would be longer than a name may be (the server's YXDOMAIN case).
pub fn substitute_dname(name: &Name, owner: &Name, target: &Name) -> Option<Name> {
    let keep = usize::from(name.num_labels()).checked_sub(usize::from(owner.num_labels()))?;
    let prefix: Vec<&[u8]> = name.iter().take(keep).collect();
    Name::from_labels(prefix).ok()?.append_name(target).ok()
}

/// The CNAME a DNAME implies for `qname`, as the authoritative server would synthesize it.
pub fn synthesize_cname(qname: &Name, dname: &Record) -> Option<Record> {
    let target = dname_target(dname)?;
    let new_name = substitute_dname(qname, &dname.name, &target)?;
    Some(Record::from_rdata(
        qname.clone(),
        dname.ttl,
        RData::CNAME(CNAME(new_name)),
    ))
}

/// Whether `record` is an RRSIG covering `rtype`. Parsed RRSIGs say so in their data; one built
/// by hand as opaque bytes has the type covered in its first two bytes (RFC 4034 §3.1).
pub fn rrsig_covers(record: &Record, rtype: RecordType) -> bool {
    rrsig_type_covered(record) == Some(rtype)
}

/// The type an RRSIG record covers, or `None` for any other record.
pub fn rrsig_type_covered(record: &Record) -> Option<RecordType> {
    if record.record_type() != RecordType::RRSIG {
        return None;
    }
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) => Some(rrsig.input().type_covered),
        RData::Unknown {
            rdata: NULL { anything, .. },
            ..
        } if anything.len() >= 2 => Some(RecordType::from(u16::from_be_bytes([
            anything[0],
            anything[1],
        ]))),
        _ => None,
    }
}

/// Whether the type is a DNSSEC type that only a client asking with DO=1 should see
/// (RFC 4035 §3.2.1), unless it asked for that type explicitly.
pub fn is_dnssec_type(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::RRSIG
            | RecordType::NSEC
            | RecordType::NSEC3
            | RecordType::DNSKEY
            | RecordType::DS
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::serialize::binary::BinEncodable;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn dname(owner: &str, target: &str) -> Record {
        let bytes = name(target).to_bytes().unwrap();
        Record::from_rdata(
            name(owner),
            300,
            RData::Unknown {
                code: RecordType::DNAME,
                rdata: NULL::with(bytes),
            },
        )
    }

    #[test]
    fn dname_target_decodes_and_substitutes() {
        let record = dname("old.test.", "new.example.");
        assert_eq!(dname_target(&record), Some(name("new.example.")));
        let cname = synthesize_cname(&name("a.b.old.test."), &record).unwrap();
        assert_eq!(cname_target(&cname), Some(&name("a.b.new.example.")));
        assert_eq!(cname.ttl, 300);
    }

    #[test]
    fn dname_with_trailing_bytes_is_rejected() {
        let mut bytes = name("new.example.").to_bytes().unwrap();
        bytes.push(0);
        let record = Record::from_rdata(
            name("old.test."),
            300,
            RData::Unknown {
                code: RecordType::DNAME,
                rdata: NULL::with(bytes),
            },
        );
        assert_eq!(dname_target(&record), None);
    }

    #[test]
    fn too_long_substitution_fails() {
        let long_target = format!("{}.example.", vec!["a".repeat(60); 4].join("."));
        let record = dname("x.test.", &long_target);
        assert!(synthesize_cname(&name("aaaaaaaaaa.x.test."), &record).is_none());
    }
}
