//! The scrubber on hand-built responses: every case is a response as a server of `test.` (or of
//! the zone named in the test) might send it, honest or forged.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, NULL, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;

use super::{Classified, SoaProof, classify};

const TTL: u32 = 300;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(
        name(owner),
        TTL,
        RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
    )
}

fn aaaa(owner: &str, last: u16) -> Record {
    let address = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last);
    Record::from_rdata(name(owner), TTL, RData::AAAA(AAAA(address)))
}

fn cname(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), TTL, RData::CNAME(CNAME(name(target))))
}

/// hickory-proto has no DNAME type of its own: the data is the uncompressed target name.
fn dname(owner: &str, target: &str) -> Record {
    Record::from_rdata(
        name(owner),
        TTL,
        RData::Unknown {
            code: RecordType::DNAME,
            rdata: NULL::with(name(target).to_bytes().unwrap()),
        },
    )
}

/// The CNAME a resolver derives from `dname(owner, _)` for `qname`: the DNAME's TTL (RFC 6672
/// §3.4), whatever TTL the server gave its own copy.
fn synthesized(qname: &str, target: &str) -> Record {
    cname(qname, target)
}

fn ns(owner: &str, server: &str) -> Record {
    Record::from_rdata(name(owner), TTL, RData::NS(NS(name(server))))
}

fn soa(zone: &str) -> Record {
    let rdata = SOA::new(
        name(&format!("ns1.{zone}")),
        name(&format!("hostmaster.{zone}")),
        2024010101,
        3600,
        600,
        86400,
        60,
    );
    Record::from_rdata(name(zone), TTL, RData::SOA(rdata))
}

/// An RRSIG is opaque to hickory-proto without its DNSSEC feature; the type covered is the first
/// two bytes of the data (RFC 4034 §3.1), the rest does not matter to the scrubber.
fn rrsig(owner: &str, covered: RecordType) -> Record {
    let mut data = u16::from(covered).to_be_bytes().to_vec();
    data.extend_from_slice(&[8, 2, 0, 0, 1, 44]);
    Record::from_rdata(
        name(owner),
        TTL,
        RData::Unknown {
            code: RecordType::RRSIG,
            rdata: NULL::with(data),
        },
    )
}

fn in_class(mut record: Record, class: DNSClass) -> Record {
    record.dns_class = class;
    record
}

/// A response under construction, section by section.
struct Response(Message);

impl Response {
    fn authoritative(rcode: ResponseCode) -> Self {
        let mut message = Message::response(0x1234, OpCode::Query);
        message.metadata.response_code = rcode;
        message.metadata.authoritative = true;
        Response(message)
    }

    fn not_authoritative(rcode: ResponseCode) -> Self {
        let mut response = Self::authoritative(rcode);
        response.0.metadata.authoritative = false;
        response
    }

    fn answers(mut self, records: impl IntoIterator<Item = Record>) -> Self {
        self.0.answers.extend(records);
        self
    }

    fn authorities(mut self, records: impl IntoIterator<Item = Record>) -> Self {
        self.0.authorities.extend(records);
        self
    }

    fn additionals(mut self, records: impl IntoIterator<Item = Record>) -> Self {
        self.0.additionals.extend(records);
        self
    }

    fn classify(&self, zone: &str, qname: &str, qtype: RecordType) -> Classified {
        classify(&self.0, &name(zone), &name(qname), qtype)
    }
}

/// Every record a classification carries, in any variant.
fn records_of(classified: &Classified) -> Vec<&Record> {
    match classified {
        Classified::Answer { chain } | Classified::Alias { chain, .. } => chain.iter().collect(),
        Classified::NxDomain { chain, soa, .. } | Classified::NoData { chain, soa, .. } => chain
            .iter()
            .chain(
                soa.iter()
                    .flat_map(|p| std::iter::once(&p.soa).chain(&p.rrsigs)),
            )
            .collect(),
        Classified::Referral { ns, glue, .. } => ns.iter().chain(glue).collect(),
        Classified::Unusable(_) => Vec::new(),
    }
}

#[track_caller]
fn assert_unusable(classified: &Classified) {
    assert!(
        matches!(classified, Classified::Unusable(_)),
        "expected Unusable, got {classified:?}"
    );
}

#[test]
fn authoritative_answer_is_the_rrset_asked_for() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([a("www.test.", 1), aaaa("www.test.", 1), a("www.test.", 2)])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![a("www.test.", 1), a("www.test.", 2)],
        }
    );
}

#[test]
fn answer_owner_matches_question_whatever_its_case() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([a("WwW.TeSt.", 1)])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![a("www.test.", 1)],
        }
    );
}

#[test]
fn answer_from_a_zone_below_the_root() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([a("www.sub.test.", 1)])
        .classify("sub.test.", "www.sub.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![a("www.sub.test.", 1)],
        }
    );
}

#[test]
fn in_zone_cname_chain_ends_in_the_answer() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([
            cname("www.test.", "web.test."),
            cname("web.test.", "host.test."),
            a("host.test.", 7),
        ])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![
                cname("www.test.", "web.test."),
                cname("web.test.", "host.test."),
                a("host.test.", 7),
            ],
        }
    );
}

#[test]
fn cname_chain_is_followed_whatever_the_record_order() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([
            a("host.test.", 7),
            cname("web.test.", "host.test."),
            cname("www.test.", "web.test."),
        ])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![
                cname("www.test.", "web.test."),
                cname("web.test.", "host.test."),
                a("host.test.", 7),
            ],
        }
    );
}

#[test]
fn cname_leaving_the_zone_is_an_alias_to_its_target() {
    // The server of `test.` may not say what `www.example.` is: its A record is dropped, and the
    // target is resolved from the servers of `example.`.
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([cname("www.test.", "www.example."), a("www.example.", 66)])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Alias {
            chain: vec![cname("www.test.", "www.example.")],
            target: name("www.example."),
        }
    );
}

#[test]
fn in_zone_cname_the_server_did_not_follow_is_an_alias() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .answers([cname("www.test.", "web.test.")])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Alias {
            chain: vec![cname("www.test.", "web.test.")],
            target: name("web.test."),
        }
    );
}

#[test]
fn cname_question_is_answered_by_the_cname_itself() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([cname("www.test.", "web.test."), a("web.test.", 1)])
        .classify("test.", "www.test.", RecordType::CNAME);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![cname("www.test.", "web.test.")],
        }
    );
}

#[test]
fn cname_to_a_missing_in_zone_name_is_nxdomain_for_the_target() {
    // RFC 6604 §2.1: the rcode speaks for the last name in the chain.
    let result = Response::authoritative(ResponseCode::NXDomain)
        .answers([cname("www.test.", "gone.test.")])
        .authorities([soa("test.")])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::NxDomain {
            chain: vec![cname("www.test.", "gone.test.")],
            name: name("gone.test."),
            soa: Some(SoaProof {
                soa: soa("test."),
                rrsigs: vec![],
            }),
        }
    );
}

#[test]
fn cname_to_an_in_zone_name_without_the_type_is_nodata_for_the_target() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([cname("www.test.", "web.test.")])
        .authorities([soa("test.")])
        .classify("test.", "www.test.", RecordType::AAAA);
    assert_eq!(
        result,
        Classified::NoData {
            chain: vec![cname("www.test.", "web.test.")],
            name: name("web.test."),
            soa: Some(SoaProof {
                soa: soa("test."),
                rrsigs: vec![],
            }),
        }
    );
}

#[test]
fn dname_synthesizes_the_cname_within_the_zone() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([dname("old.test.", "new.test."), a("www.new.test.", 3)])
        .classify("test.", "www.old.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![
                dname("old.test.", "new.test."),
                synthesized("www.old.test.", "www.new.test."),
                a("www.new.test.", 3),
            ],
        }
    );
}

#[test]
fn dname_leaving_the_zone_is_an_alias_to_the_substituted_name() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([dname("old.test.", "new.example.")])
        .classify("test.", "a.b.old.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Alias {
            chain: vec![
                dname("old.test.", "new.example."),
                synthesized("a.b.old.test.", "a.b.new.example."),
            ],
            target: name("a.b.new.example."),
        }
    );
}

#[test]
fn dname_does_not_apply_at_its_own_owner() {
    // RFC 6672 §2.3: a DNAME redirects the names below its owner, not the owner itself.
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([dname("old.test.", "new.example.")])
        .authorities([soa("test.")])
        .classify("test.", "old.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::NoData {
            chain: vec![],
            name: name("old.test."),
            soa: Some(SoaProof {
                soa: soa("test."),
                rrsigs: vec![],
            }),
        }
    );
}

#[test]
fn dname_overrides_a_server_cname_that_points_elsewhere() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([
            dname("old.test.", "new.example."),
            cname("www.old.test.", "www.evil.example."),
            a("www.evil.example.", 66),
        ])
        .classify("test.", "www.old.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Alias {
            chain: vec![
                dname("old.test.", "new.example."),
                synthesized("www.old.test.", "www.new.example."),
            ],
            target: name("www.new.example."),
        }
    );
}

#[test]
fn dname_is_kept_when_the_server_also_sends_the_cname() {
    // RFC 2672 servers gave the synthesized CNAME TTL 0; the resolver rebuilds it with the
    // DNAME's TTL either way.
    let mut server_cname = cname("www.old.test.", "www.new.test.");
    server_cname.ttl = 0;
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([
            dname("old.test.", "new.test."),
            server_cname,
            a("www.new.test.", 3),
        ])
        .classify("test.", "www.old.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![
                dname("old.test.", "new.test."),
                synthesized("www.old.test.", "www.new.test."),
                a("www.new.test.", 3),
            ],
        }
    );
}

#[test]
fn dname_question_is_answered_by_the_dname_itself() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([dname("old.test.", "new.example.")])
        .classify("test.", "old.test.", RecordType::DNAME);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![dname("old.test.", "new.example.")],
        }
    );
}

#[test]
fn dname_loop_ends_without_an_answer() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([dname("a.test.", "b.test."), dname("b.test.", "a.test.")])
        .classify("test.", "x.a.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn nxdomain_with_soa_carries_the_proof() {
    let result = Response::authoritative(ResponseCode::NXDomain)
        .authorities([soa("test."), rrsig("test.", RecordType::SOA)])
        .classify("test.", "nope.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::NxDomain {
            chain: vec![],
            name: name("nope.test."),
            soa: Some(SoaProof {
                soa: soa("test."),
                rrsigs: vec![rrsig("test.", RecordType::SOA)],
            }),
        }
    );
}

#[test]
fn nxdomain_with_out_of_bailiwick_soa_has_no_proof() {
    let result = Response::authoritative(ResponseCode::NXDomain)
        .authorities([soa("example."), rrsig("example.", RecordType::SOA)])
        .classify("test.", "nope.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::NxDomain {
            chain: vec![],
            name: name("nope.test."),
            soa: None,
        }
    );
}

#[test]
fn nxdomain_with_soa_of_a_zone_not_holding_the_name_has_no_proof() {
    // In bailiwick, but `sub.test.` is not where `nope.test.` would live.
    let result = Response::authoritative(ResponseCode::NXDomain)
        .authorities([soa("sub.test.")])
        .classify("test.", "nope.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::NxDomain {
            chain: vec![],
            name: name("nope.test."),
            soa: None,
        }
    );
}

#[test]
fn nxdomain_proof_may_come_from_a_zone_below_the_server_zone() {
    let result = Response::authoritative(ResponseCode::NXDomain)
        .authorities([soa("sub.test.")])
        .classify("test.", "nope.sub.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::NxDomain {
            chain: vec![],
            name: name("nope.sub.test."),
            soa: Some(SoaProof {
                soa: soa("sub.test."),
                rrsigs: vec![],
            }),
        }
    );
}

#[test]
fn nodata_with_soa_carries_the_proof() {
    let result = Response::authoritative(ResponseCode::NoError)
        .authorities([soa("test.")])
        .classify("test.", "www.test.", RecordType::AAAA);
    assert_eq!(
        result,
        Classified::NoData {
            chain: vec![],
            name: name("www.test."),
            soa: Some(SoaProof {
                soa: soa("test."),
                rrsigs: vec![],
            }),
        }
    );
}

#[test]
fn a_record_of_another_type_at_the_name_is_no_nodata() {
    let with_soa = Response::authoritative(ResponseCode::NoError)
        .answers([a("www.test.", 1)])
        .authorities([soa("test.")])
        .classify("test.", "www.test.", RecordType::AAAA);
    assert_eq!(
        with_soa,
        Classified::Unusable("answer of an unexpected type")
    );
    let without = Response::authoritative(ResponseCode::NoError)
        .answers([a("www.test.", 1)])
        .classify("test.", "www.test.", RecordType::AAAA);
    assert_unusable(&without);
}

#[test]
fn authoritative_empty_answer_without_soa_is_lame() {
    let result = Response::authoritative(ResponseCode::NoError).classify(
        "test.",
        "www.test.",
        RecordType::A,
    );
    assert_unusable(&result);
}

#[test]
fn an_answer_about_another_name_is_not_nodata() {
    for other in [a("other.test.", 66), a("www.example.", 66)] {
        let with_soa = Response::authoritative(ResponseCode::NoError)
            .answers([other.clone()])
            .authorities([soa("test.")])
            .classify("test.", "www.test.", RecordType::A);
        assert_eq!(with_soa, Classified::Unusable("answer about another name"));
        let without = Response::authoritative(ResponseCode::NoError)
            .answers([other])
            .classify("test.", "www.test.", RecordType::A);
        assert_unusable(&without);
    }
}

#[test]
fn empty_non_authoritative_answer_without_soa_or_ns_is_unusable() {
    let result = Response::not_authoritative(ResponseCode::NoError).classify(
        "test.",
        "www.test.",
        RecordType::A,
    );
    assert_unusable(&result);
}

#[test]
fn non_authoritative_answer_with_only_out_of_bailiwick_soa_is_unusable() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([soa("example.")])
        .classify("test.", "www.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn referral_keeps_only_in_bailiwick_glue_for_its_ns_names() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([
            ns("child.test.", "ns1.child.test."),
            ns("child.test.", "ns.evil.example."),
            ns("child.test.", "ns.sibling.test."),
        ])
        .additionals([
            a("ns1.child.test.", 10),
            aaaa("ns1.child.test.", 10),
            a("ns.evil.example.", 66),
            a("ns.sibling.test.", 11),
            a("www.child.test.", 67),
            a("www.bank.example.", 68),
        ])
        .classify("test.", "www.child.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Referral {
            zone: name("child.test."),
            ns: vec![
                ns("child.test.", "ns1.child.test."),
                ns("child.test.", "ns.evil.example."),
                ns("child.test.", "ns.sibling.test."),
            ],
            glue: vec![
                a("ns1.child.test.", 10),
                aaaa("ns1.child.test.", 10),
                a("ns.sibling.test.", 11),
            ],
        }
    );
}

#[test]
fn referral_for_the_question_name_itself() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([ns("child.test.", "ns1.child.test.")])
        .additionals([a("ns1.child.test.", 10)])
        .classify("test.", "child.test.", RecordType::NS);
    assert_eq!(
        result,
        Classified::Referral {
            zone: name("child.test."),
            ns: vec![ns("child.test.", "ns1.child.test.")],
            glue: vec![a("ns1.child.test.", 10)],
        }
    );
}

#[test]
fn referral_glue_of_another_class_is_dropped() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([ns("child.test.", "ns1.child.test.")])
        .additionals([in_class(a("ns1.child.test.", 10), DNSClass::CH)])
        .classify("test.", "www.child.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Referral {
            zone: name("child.test."),
            ns: vec![ns("child.test.", "ns1.child.test.")],
            glue: vec![],
        }
    );
}

#[test]
fn upward_referral_to_the_root_is_unusable() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([ns(".", "a.root-servers.net.")])
        .additionals([a("a.root-servers.net.", 4)])
        .classify("test.", "www.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn sideways_referral_is_unusable() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([ns("other.", "ns.other.")])
        .classify("test.", "www.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn referral_to_the_server_zone_itself_is_unusable() {
    // A lame server pointing back at its own zone would send us round in a circle.
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([ns("test.", "ns1.test.")])
        .additionals([a("ns1.test.", 1)])
        .classify("test.", "www.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn referral_to_a_zone_not_holding_the_question_is_unusable() {
    let result = Response::not_authoritative(ResponseCode::NoError)
        .authorities([ns("b.test.", "ns1.b.test.")])
        .additionals([a("ns1.b.test.", 1)])
        .classify("test.", "www.a.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn forged_out_of_bailiwick_answer_records_never_appear() {
    let bank = name("www.bank.example.");
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([a("www.test.", 1), a("www.bank.example.", 66)])
        .authorities([ns("bank.example.", "ns.evil.test.")])
        .additionals([a("www.bank.example.", 67)])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![a("www.test.", 1)],
        }
    );
    assert!(records_of(&result).iter().all(|r| r.name != bank));
}

#[test]
fn forged_records_are_dropped_from_every_kind_of_result() {
    let bank = name("www.bank.example.");
    let forged = || {
        [
            a("www.bank.example.", 66),
            cname("bank.example.", "evil.test."),
        ]
    };
    // A NOERROR whose answer section holds only the forged records is no NODATA (see
    // `an_answer_about_another_name_is_not_nodata`); the other kinds survive the forgery.
    let cases = [
        (
            Response::authoritative(ResponseCode::NXDomain)
                .answers(forged())
                .authorities([soa("test.")]),
            "www.test.",
            true,
        ),
        (
            Response::authoritative(ResponseCode::NoError)
                .answers(forged())
                .authorities([soa("test.")]),
            "www.test.",
            false,
        ),
        (
            Response::authoritative(ResponseCode::NoError).answers(
                forged()
                    .into_iter()
                    .chain([cname("www.test.", "www.example.")]),
            ),
            "www.test.",
            true,
        ),
        (
            Response::not_authoritative(ResponseCode::NoError)
                .answers(forged())
                .authorities([ns("child.test.", "ns1.child.test.")])
                .additionals(forged()),
            "www.child.test.",
            true,
        ),
    ];
    for (response, qname, usable) in cases {
        let result = response.classify("test.", qname, RecordType::A);
        assert_eq!(
            !matches!(result, Classified::Unusable(_)),
            usable,
            "{result:?}"
        );
        for record in records_of(&result) {
            assert!(
                record.name != bank && record.name != name("bank.example."),
                "{result:?}"
            );
        }
    }
}

#[test]
fn answer_records_of_another_class_are_ignored() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([in_class(a("www.test.", 1), DNSClass::CH)])
        .authorities([soa("test.")])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::NoData {
            chain: vec![],
            name: name("www.test."),
            soa: Some(SoaProof {
                soa: soa("test."),
                rrsigs: vec![],
            }),
        }
    );
}

/// Found by the upstream_response fuzzer once RRsets were cached in wire format (one class per
/// set): a CH-class RRSIG beside an IN SOA was kept with the negative proof.
#[test]
fn signatures_of_another_class_are_ignored() {
    let result = Response::authoritative(ResponseCode::NoError)
        .authorities([
            soa("test."),
            rrsig("test.", RecordType::SOA),
            in_class(rrsig("test.", RecordType::SOA), DNSClass::CH),
        ])
        .classify("test.", "www.test.", RecordType::A);
    let Classified::NoData {
        soa: Some(proof), ..
    } = &result
    else {
        panic!("a NODATA proof: {result:?}");
    };
    assert_eq!(proof.rrsigs.len(), 1, "{proof:?}");
    assert!(proof.rrsigs.iter().all(|r| r.dns_class == DNSClass::IN));
}

#[test]
fn error_rcodes_are_unusable() {
    for rcode in [
        ResponseCode::ServFail,
        ResponseCode::Refused,
        ResponseCode::NotImp,
        ResponseCode::FormErr,
    ] {
        let result = Response::authoritative(rcode)
            .answers([a("www.test.", 1)])
            .authorities([soa("test.")])
            .classify("test.", "www.test.", RecordType::A);
        assert_unusable(&result);
    }
}

#[test]
fn in_zone_cname_loop_is_unusable() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([cname("a.test.", "b.test."), cname("b.test.", "a.test.")])
        .classify("test.", "a.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn cname_to_itself_is_unusable() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([cname("a.test.", "a.test.")])
        .authorities([soa("test.")])
        .classify("test.", "a.test.", RecordType::A);
    assert_unusable(&result);
}

#[test]
fn rrsigs_travel_with_the_answer_rrset() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([
            a("www.test.", 1),
            rrsig("www.test.", RecordType::A),
            rrsig("www.test.", RecordType::AAAA),
            rrsig("other.test.", RecordType::A),
            a("www.test.", 2),
        ])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![
                a("www.test.", 1),
                a("www.test.", 2),
                rrsig("www.test.", RecordType::A),
            ],
        }
    );
}

#[test]
fn rrsigs_travel_with_each_link_of_the_chain() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([
            cname("www.test.", "web.test."),
            rrsig("www.test.", RecordType::CNAME),
            dname("old.test.", "new.test."),
            rrsig("old.test.", RecordType::DNAME),
            a("x.new.test.", 5),
            rrsig("x.new.test.", RecordType::A),
            cname("web.test.", "x.old.test."),
        ])
        .classify("test.", "www.test.", RecordType::A);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![
                cname("www.test.", "web.test."),
                rrsig("www.test.", RecordType::CNAME),
                cname("web.test.", "x.old.test."),
                dname("old.test.", "new.test."),
                rrsig("old.test.", RecordType::DNAME),
                synthesized("x.old.test.", "x.new.test."),
                a("x.new.test.", 5),
                rrsig("x.new.test.", RecordType::A),
            ],
        }
    );
}

#[test]
fn any_question_takes_every_rrset_at_the_name_with_its_signatures() {
    let result = Response::authoritative(ResponseCode::NoError)
        .answers([
            a("www.test.", 1),
            rrsig("www.test.", RecordType::A),
            aaaa("www.test.", 1),
            a("other.test.", 2),
        ])
        .classify("test.", "www.test.", RecordType::ANY);
    assert_eq!(
        result,
        Classified::Answer {
            chain: vec![
                a("www.test.", 1),
                aaaa("www.test.", 1),
                rrsig("www.test.", RecordType::A),
            ],
        }
    );
}
