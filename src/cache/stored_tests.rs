//! The compact RRset form: every kind of record the resolver caches comes back from it as it went
//! in, and keys match whatever the letter case of the name.

use std::net::Ipv4Addr;

use hickory_proto::rr::rdata::{A, NULL};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use super::stored::StoredRrset;
use super::{Cache, CacheKey, Rank, TtlPolicy};
use crate::clock::Clock;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// A record as the resolver has it: parsed from presentation format, then sent through the wire
/// codec the way a record from an authority is, so it is in the form hickory decodes.
fn received(owner: &str, rtype: RecordType, rdata: &str) -> Record {
    let data = RData::try_from_str(rtype, rdata).unwrap();
    from_wire(Record::from_rdata(name(owner), 3600, data))
}

fn from_wire(record: Record) -> Record {
    Record::from_bytes(&record.to_bytes().unwrap()).unwrap()
}

/// A record of a type hickory keeps as opaque bytes (without its DNSSEC feature: DS, DNSKEY,
/// RRSIG, NSEC, DNAME, and any type it does not know).
fn opaque(owner: &str, code: u16, bytes: &[u8]) -> Record {
    let data = RData::Unknown {
        code: RecordType::from(code),
        rdata: NULL::with(bytes.to_vec()),
    };
    from_wire(Record::from_rdata(name(owner), 3600, data))
}

/// RRSIG RDATA (RFC 4034 §3.1) covering `covered`, signed by `signer`, with a dummy signature.
fn rrsig(owner: &str, covered: RecordType, signer: &str) -> Record {
    let mut rdata = Vec::new();
    rdata.extend_from_slice(&u16::from(covered).to_be_bytes());
    rdata.extend_from_slice(&[13, 2]);
    rdata.extend_from_slice(&3600u32.to_be_bytes());
    rdata.extend_from_slice(&1_900_000_000u32.to_be_bytes());
    rdata.extend_from_slice(&1_800_000_000u32.to_be_bytes());
    rdata.extend_from_slice(&12345u16.to_be_bytes());
    rdata.extend_from_slice(&name(signer).to_bytes().unwrap());
    rdata.extend_from_slice(&[0xab; 64]);
    opaque(owner, u16::from(RecordType::RRSIG), &rdata)
}

fn round_trip(records: &[Record], rrsigs: &[Record]) -> Vec<Record> {
    StoredRrset::encode(records, rrsigs)
        .unwrap()
        .decode(3600, true)
}

fn assert_round_trips(records: Vec<Record>, rrsigs: Vec<Record>) {
    let expected: Vec<Record> = records.iter().chain(&rrsigs).cloned().collect();
    assert_eq!(round_trip(&records, &rrsigs), expected);
}

#[test]
fn every_type_the_resolver_caches_round_trips() {
    let owner = "Host.Example.TEST.";
    let cases: &[(RecordType, &[&str])] = &[
        (RecordType::A, &["192.0.2.1", "192.0.2.2"]),
        (RecordType::AAAA, &["2001:db8::1"]),
        (RecordType::NS, &["ns1.Example.test.", "ns2.example.net."]),
        (RecordType::CNAME, &["target.example.test."]),
        (RecordType::PTR, &["host.example.test."]),
        (
            RecordType::MX,
            &["10 mail.example.test.", "20 mail.example.test."],
        ),
        (
            RecordType::SOA,
            &["ns1.example.test. hostmaster.example.test. 1 3600 900 604800 300"],
        ),
        (RecordType::TXT, &["\"v=spf1 -all\" \"second string\""]),
        (RecordType::SRV, &["0 5 5060 sip.example.test."]),
        (RecordType::CAA, &["0 issue \"ca.example.net\""]),
        (
            RecordType::NAPTR,
            &["100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.test."],
        ),
        (
            RecordType::SSHFP,
            &["1 1 0123456789abcdef0123456789abcdef01234567"],
        ),
        (
            RecordType::TLSA,
            &["3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
        ),
        (RecordType::HINFO, &["\"CPU\" \"OS\""]),
        (RecordType::HTTPS, &["1 . alpn=h2,h3 ipv4hint=192.0.2.1"]),
        (RecordType::SVCB, &["1 svc.example.test. port=8443"]),
    ];
    for (rtype, rdatas) in cases {
        let records: Vec<Record> = rdatas
            .iter()
            .map(|rdata| received(owner, *rtype, rdata))
            .collect();
        assert_round_trips(records, vec![rrsig(owner, *rtype, "example.test.")]);
    }
}

#[test]
fn opaque_and_unknown_types_round_trip_byte_for_byte() {
    let owner = "example.test.";
    // DNAME (RFC 6672 §2.5: its target is never compressed), DS, DNSKEY, NSEC, a private type.
    let dname = opaque(owner, 39, &name("example.net.").to_bytes().unwrap());
    let ds = opaque(owner, 43, &[0x30, 0x39, 13, 2, 0xde, 0xad, 0xbe, 0xef]);
    let dnskey = opaque(owner, 48, &[1, 1, 3, 13, 0x55, 0x66, 0x77]);
    let nsec = opaque(owner, 47, &[4, b'n', b'e', b'x', b't', 0, 0, 1, 0x40]);
    let private = opaque(owner, 65_280, &[0, 1, 2, 3, 255]);
    for record in [dname, ds, dnskey, nsec, private] {
        let rtype = record.record_type();
        assert_round_trips(vec![record], vec![rrsig(owner, rtype, "example.test.")]);
    }
}

#[test]
fn an_empty_rdata_round_trips() {
    let empty = from_wire(Record::update0(
        name("example.test."),
        3600,
        RecordType::NULL,
    ));
    assert_round_trips(vec![empty], vec![]);
}

#[test]
fn a_name_of_255_bytes_round_trips_as_owner_and_in_rdata() {
    // Four labels of 62 bytes (each 63 with its length byte), one of 1, and the root: 255 bytes.
    let long = format!(
        "{a}.{b}.{c}.{d}.x.",
        a = "a".repeat(62),
        b = "B".repeat(62),
        c = "c".repeat(62),
        d = "D".repeat(62)
    );
    assert_eq!(name(&long).to_bytes().unwrap().len(), 255);
    let cname = received(&long, RecordType::CNAME, &long);
    assert_round_trips(vec![cname], vec![rrsig(&long, RecordType::CNAME, &long)]);
    let key = CacheKey::rrset(&name(&long), RecordType::CNAME);
    assert_eq!(key.name(), name(&long));
}

#[test]
fn names_in_rdata_are_stored_without_compression() {
    // Compression against the owner would leave pointers into a message that no longer exists;
    // the stored RDATA must decode on its own.
    let soa = received(
        "example.test.",
        RecordType::SOA,
        "example.test. hostmaster.example.test. 1 3600 900 604800 300",
    );
    let stored = StoredRrset::encode(std::slice::from_ref(&soa), &[]).unwrap();
    assert_eq!(stored.decode(0, true)[0].data, soa.data);
    assert!(stored.is_uncompressed());
}

#[test]
fn owner_case_class_and_original_ttl_are_kept() {
    let mut first = received("WwW.Example.test.", RecordType::A, "192.0.2.1");
    first.ttl = 600;
    first.dns_class = DNSClass::CH;
    let mut second = received("WwW.Example.test.", RecordType::A, "192.0.2.2");
    second.ttl = 300;
    second.dns_class = DNSClass::CH;
    let stored = StoredRrset::encode(&[first, second], &[]).unwrap();
    assert_eq!(stored.original_ttl(), 300);
    let records = stored.decode(42, false);
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(record.name.to_string(), "WwW.Example.test.");
        assert_eq!(record.dns_class, DNSClass::CH);
        assert_eq!(record.ttl, 42);
    }
}

#[test]
fn signatures_are_left_out_when_only_the_rrset_is_asked_for() {
    let a = received("example.test.", RecordType::A, "192.0.2.1");
    let sig = rrsig("example.test.", RecordType::A, "example.test.");
    let stored = StoredRrset::encode(std::slice::from_ref(&a), std::slice::from_ref(&sig)).unwrap();
    assert_eq!(stored.decode(5, false).len(), 1);
    let all = stored.decode(5, true);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].record_type(), RecordType::RRSIG);
}

#[test]
fn nothing_to_store_is_an_error() {
    assert!(StoredRrset::encode(&[], &[]).is_err());
}

#[test]
fn keys_match_whatever_the_case_of_the_name() {
    let upper = CacheKey::rrset(&name("WWW.Example.COM."), RecordType::A);
    let lower = CacheKey::rrset(&name("www.example.com."), RecordType::A);
    assert_eq!(upper, lower);
    let hasher = std::collections::hash_map::RandomState::new();
    use std::hash::BuildHasher;
    assert_eq!(hasher.hash_one(&upper), hasher.hash_one(&lower));
    assert_eq!(upper.name().to_string(), "www.example.com.");
    assert_ne!(upper, CacheKey::name_error(&name("www.example.com.")));
    assert_ne!(
        upper,
        CacheKey::rrset(&name("www.example.com."), RecordType::AAAA)
    );

    // Through the cache: stored under one spelling, found under another, owner case kept.
    let cache = Cache::new(
        100,
        TtlPolicy {
            min_ttl: 0,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
        },
        Clock::system(),
    );
    let record = Record::from_rdata(
        name("WWW.Example.COM."),
        600,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 7))),
    );
    assert!(cache.insert_rrset(vec![record], vec![], Rank::AuthAnswer));
    let entry = cache
        .get_rrset(&name("www.EXAMPLE.com."), RecordType::A, Rank::Glue)
        .expect("found whatever the case");
    assert_eq!(entry.rrset()[0].name.to_string(), "WWW.Example.COM.");
}

#[test]
fn a_key_built_on_the_stack_is_the_stored_key_and_walks_up() {
    use super::{KeyBuf, KeyKind};
    let mut key = KeyBuf::new(&name("WWW.Example.test.")).unwrap();
    assert_eq!(
        key.key(KeyKind::Type(RecordType::A)),
        CacheKey::rrset(&name("www.example.test."), RecordType::A).as_bytes()
    );
    assert_eq!(
        key.key(KeyKind::NameError),
        CacheKey::name_error(&name("www.example.test.")).as_bytes()
    );
    assert_eq!(key.name().to_string(), "www.example.test.");
    let mut seen = Vec::new();
    while key.up() {
        let here = key.name();
        seen.push(here.to_string());
        assert_eq!(
            key.key(KeyKind::Type(RecordType::NS)),
            CacheKey::rrset(&here, RecordType::NS).as_bytes()
        );
    }
    assert_eq!(seen, ["example.test.", "test.", "."]);
    assert!(key.is_root());
    assert!(!key.up(), "the root has no parent");
    let kinds = [
        KeyKind::Type(RecordType::A),
        KeyKind::Type(RecordType::Unknown(65_000)),
        KeyKind::NameError,
    ];
    for kind in kinds {
        let stored = match kind {
            KeyKind::Type(rtype) => CacheKey::rrset(&name("a.test."), rtype),
            KeyKind::NameError => CacheKey::name_error(&name("a.test.")),
        };
        assert_eq!(stored.kind(), kind);
    }
}

#[test]
fn a_key_is_below_a_zone_only_at_a_label_boundary() {
    let key = CacheKey::rrset(&name("a.b.Example.test."), RecordType::A);
    for zone in [
        "a.b.example.test.",
        "B.example.test.",
        "example.TEST.",
        "test.",
        ".",
    ] {
        assert!(key.is_at_or_below(&name(zone)), "{zone}");
    }
    for zone in [
        "ample.test.",
        "c.a.b.example.test.",
        "example.org.",
        "b.test.",
    ] {
        assert!(!key.is_at_or_below(&name(zone)), "{zone}");
    }
}

/// What every entry costs besides its bytes: the key and entry live inline in the LRU node (plus
/// 16 bytes of links), the message cache's header behind an `Arc`. Growing these grows the cache
/// by that much per name (issue #3's budget: 500 bytes a name all told).
#[test]
#[cfg(target_pointer_width = "64")]
fn entry_headers_stay_small() {
    assert!(std::mem::size_of::<CacheKey>() <= 24);
    assert!(std::mem::size_of::<super::CacheEntry>() <= 32);
    assert!(std::mem::size_of::<super::CachedMessage>() <= 56);
}

/// Addresses and server names read straight from the stored bytes are those of the records,
/// RRSIGs left out; a negative entry has none; the TTL is the smallest as received.
#[test]
fn addresses_and_server_names_come_straight_from_the_bytes() {
    let cache = Cache::new(
        100,
        TtlPolicy {
            min_ttl: 0,
            max_ttl: 86_400,
            max_negative_ttl: 3_600,
        },
        Clock::system(),
    );
    let mut short = received("ns1.Example.test.", RecordType::A, "192.0.2.2");
    short.ttl = 600;
    let a = vec![
        received("ns1.Example.test.", RecordType::A, "192.0.2.1"),
        short,
    ];
    let sig = vec![rrsig("ns1.Example.test.", RecordType::A, "example.test.")];
    assert_eq!(
        StoredRrset::encode(&a, &sig).unwrap().original_ttl(),
        600,
        "the smallest TTL"
    );
    assert!(cache.insert_rrset(a, sig, Rank::AuthAnswer));
    let aaaa = vec![received(
        "ns1.example.test.",
        RecordType::AAAA,
        "2001:db8::1",
    )];
    assert!(cache.insert_rrset(aaaa, vec![], Rank::Glue));
    let ns = vec![
        received("Example.test.", RecordType::NS, "ns1.Example.test."),
        received("example.test.", RecordType::NS, "ns2.elsewhere.test."),
    ];
    assert!(cache.insert_rrset(ns, vec![], Rank::Referral));
    let get = |owner: &str, rtype| cache.get_rrset(&name(owner), rtype, Rank::Glue).unwrap();
    let v4: Vec<String> = get("ns1.example.test.", RecordType::A)
        .addresses()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(v4, ["192.0.2.1", "192.0.2.2"]);
    let v6 = get("ns1.example.test.", RecordType::AAAA).addresses();
    assert_eq!(v6, ["2001:db8::1".parse::<std::net::IpAddr>().unwrap()]);
    let names: Vec<String> = get("example.test.", RecordType::NS)
        .ns_names()
        .iter()
        .map(|n| n.to_string().to_ascii_lowercase())
        .collect();
    assert_eq!(names, ["ns1.example.test.", "ns2.elsewhere.test."]);
    assert!(get("example.test.", RecordType::NS).addresses().is_empty());
    let soa = received(
        "example.test.",
        RecordType::SOA,
        "ns1.example.test. h.example.test. 1 2 3 4 5",
    );
    let proof = super::NegativeProof::soa_only(soa);
    let missing = name("none.example.test.");
    assert!(cache.insert_nodata(
        &missing,
        RecordType::A,
        &proof,
        Rank::AuthAnswer,
        super::Validation::Unchecked
    ));
    let negative = cache
        .get(&CacheKey::rrset(&missing, RecordType::A))
        .unwrap();
    assert!(negative.addresses().is_empty() && negative.ns_names().is_empty());
}
