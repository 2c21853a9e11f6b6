//! NSEC proofs (RFC 4035 §5.4) over [`ZONE`]'s chain.

use super::super::{
    nsec_closest_encloser, nsec_covers, nsec_denies_type, prove_nodata, prove_nxdomain,
    prove_wildcard_answer,
};
use super::*;

fn nxdomain(qname: &str, records: &[Record]) -> Result<Denial, DenialError> {
    prove_nxdomain(&name(qname), &apex(), records, &budget())
}

fn nodata(qname: &str, qtype: RecordType, records: &[Record]) -> Result<Denial, DenialError> {
    prove_nodata(&name(qname), qtype, &apex(), records, &budget())
}

fn wildcard_answer(qname: &str, labels: u8, records: &[Record]) -> Result<Denial, DenialError> {
    prove_wildcard_answer(&name(qname), labels, &apex(), records, &budget())
}

fn nsec_rdata(record: &Record) -> &NSEC {
    match &record.data {
        RData::DNSSEC(DNSSECRData::NSEC(nsec)) => nsec,
        other => panic!("not an NSEC: {other:?}"),
    }
}

#[test]
fn nxdomain_covered_with_the_wildcard_denied() {
    // a.example. -> cname.example. covers b.example.; the apex's NSEC covers *.example.
    let records = nsecs(&["a.example.", "example."]);
    assert_eq!(nxdomain("b.example.", &records), Ok(Denial::NxDomain));
}

#[test]
fn nxdomain_ignores_the_soa_and_rrsigs_alongside() {
    let mut records = vec![soa()];
    records.extend(nsecs(&["a.example.", "example."]));
    assert_eq!(nxdomain("b.example.", &records), Ok(Denial::NxDomain));
}

#[test]
fn nxdomain_one_record_may_cover_name_and_wildcard() {
    // a.example. -> cname.example. covers both b.a.example. and *.a.example.
    let records = nsecs(&["a.example."]);
    assert_eq!(nxdomain("b.a.example.", &records), Ok(Denial::NxDomain));
}

#[test]
fn nxdomain_needs_the_wildcard_denied() {
    let records = nsecs(&["a.example."]);
    assert_eq!(
        nxdomain("b.example.", &records),
        unproven(ProofFailure::WildcardNotDenied)
    );
}

#[test]
fn nxdomain_refused_when_the_nsec_does_not_cover_the_name() {
    // cname.example. -> dname.example. lies after b.example.
    let records = nsecs(&["cname.example.", "example."]);
    assert_eq!(
        nxdomain("b.example.", &records),
        unproven(ProofFailure::NotCovered)
    );
}

#[test]
fn nxdomain_wraps_around_at_the_apex() {
    // z.example. is last: its next name is the apex, and it covers everything after it.
    let records = nsecs(&["z.example.", "example."]);
    assert_eq!(nxdomain("zz.example.", &records), Ok(Denial::NxDomain));
    assert_eq!(nxdomain("a.z.example.", &records), Ok(Denial::NxDomain));
    assert_eq!(
        nxdomain("b.example.", &records),
        unproven(ProofFailure::NotCovered)
    );
}

#[test]
fn only_the_apex_may_follow_the_last_name() {
    // A "last" NSEC whose next name is not the apex is malformed (RFC 4034 §4.1.1): ignored.
    let records = vec![nsec_record("z.example.", "a.example.", &[A])];
    assert_eq!(
        nxdomain("zz.example.", &records),
        unproven(ProofFailure::NoRecords)
    );
}

#[test]
fn records_of_another_zone_prove_nothing_here() {
    let foreign = vec![nsec_record("a.example.org.", "c.example.org.", &[A])];
    assert_eq!(
        nxdomain("b.example.", &foreign),
        unproven(ProofFailure::NoRecords)
    );
    // A next name outside the zone would let example.'s key deny other zones' names.
    let escaping = vec![nsec_record("z.example.", "zz.other.", &[A])];
    assert_eq!(
        nxdomain("zz.example.", &escaping),
        unproven(ProofFailure::NoRecords)
    );
}

#[test]
fn nxdomain_refused_for_a_name_that_exists() {
    let records = nsecs(&["a.example.", "example."]);
    assert_eq!(
        nxdomain("a.example.", &records),
        unproven(ProofFailure::NameExists)
    );
}

#[test]
fn nxdomain_refused_for_an_empty_non_terminal() {
    // dname.example. -> x.ent.example.: ent.example. exists, with nothing of its own.
    let records = nsecs(&["dname.example.", "example."]);
    assert_eq!(
        nxdomain("ent.example.", &records),
        unproven(ProofFailure::NameExists)
    );
}

#[test]
fn nxdomain_refused_when_the_wildcard_exists() {
    let records = nsecs(&["*.wild.example."]);
    assert_eq!(
        nxdomain("foo.wild.example.", &records),
        unproven(ProofFailure::WildcardExists)
    );
}

#[test]
fn an_ancestor_delegation_denies_nothing_below_the_cut() {
    // insecure.example. -> sub.example. spans host.insecure.example., but those names are the
    // child zone's (RFC 6840 §4.1).
    let records = nsecs(&["insecure.example.", "example."]);
    assert_eq!(
        nxdomain("host.insecure.example.", &records),
        unproven(ProofFailure::BelowZoneCut)
    );
    assert_eq!(
        nodata("insecure.example.", A, &records),
        unproven(ProofFailure::BelowZoneCut)
    );
    // ... while a sibling in the same span is the parent's to deny.
    assert_eq!(
        nxdomain("insecurf.example.", &records),
        Ok(Denial::NxDomain)
    );
}

#[test]
fn a_delegation_without_ds_is_an_insecure_delegation() {
    let records = nsecs(&["insecure.example."]);
    assert_eq!(
        nodata("insecure.example.", DS, &records),
        Ok(Denial::InsecureDelegation)
    );
}

#[test]
fn a_signed_delegation_has_its_ds() {
    let records = nsecs(&["sub.example."]);
    assert_eq!(
        nodata("sub.example.", DS, &records),
        unproven(ProofFailure::TypeExists)
    );
}

#[test]
fn no_ds_at_a_name_that_is_no_delegation_is_plain_nodata() {
    let records = nsecs(&["a.example."]);
    assert_eq!(nodata("a.example.", DS, &records), Ok(Denial::NoData));
}

#[test]
fn no_ds_from_the_child_apex_is_refused() {
    // The apex NSEC (SOA bit) is the child's; only the parent speaks for DS (RFC 4035 §5.2).
    let records = nsecs(&["example."]);
    assert_eq!(
        nodata("example.", DS, &records),
        unproven(ProofFailure::ChildSideDs)
    );
    // The root has no parent: its own NSEC denies its DS.
    let root_nsec = vec![nsec_record(".", "com.", &[SOA_TYPE, NS, DNSKEY])];
    assert_eq!(
        prove_nodata(&Name::root(), DS, &Name::root(), &root_nsec, &budget()),
        Ok(Denial::NoData)
    );
}

#[test]
fn a_dname_denies_nothing_below_it() {
    let records = nsecs(&["dname.example.", "example."]);
    assert_eq!(
        nxdomain("foo.dname.example.", &records),
        unproven(ProofFailure::BelowZoneCut)
    );
    // Its own owner's types are still its to list.
    assert_eq!(nodata("dname.example.", A, &records), Ok(Denial::NoData));
}

#[test]
fn nodata_by_the_nsec_at_the_name() {
    let records = nsecs(&["a.example."]);
    assert_eq!(nodata("a.example.", TXT, &records), Ok(Denial::NoData));
    assert_eq!(
        nodata("a.example.", A, &records),
        unproven(ProofFailure::TypeExists)
    );
}

#[test]
fn nodata_refused_where_a_cname_exists() {
    let records = nsecs(&["cname.example."]);
    assert_eq!(
        nodata("cname.example.", A, &records),
        unproven(ProofFailure::TypeExists)
    );
}

#[test]
fn nodata_for_an_empty_non_terminal() {
    // No NSEC at ent.example.; the one before it has a next name below it (RFC 7129 §3.2).
    let records = nsecs(&["dname.example."]);
    assert_eq!(nodata("ent.example.", A, &records), Ok(Denial::NoData));
    assert_eq!(nodata("ent.example.", DS, &records), Ok(Denial::NoData));
}

#[test]
fn nodata_refused_when_the_names_own_nsec_is_missing() {
    // x.ent.example. shows ent.example. exists, but not what it holds.
    let records = nsecs(&["x.ent.example."]);
    assert_eq!(
        nodata("ent.example.", A, &records),
        unproven(ProofFailure::NameRecordMissing)
    );
}

#[test]
fn nodata_refused_for_a_name_that_does_not_exist() {
    let records = nsecs(&["a.example.", "example."]);
    assert_eq!(
        nodata("b.example.", A, &records),
        unproven(ProofFailure::WildcardRecordMissing)
    );
}

#[test]
fn wildcard_nodata() {
    // *.wild.example. -> z.example. covers foo.wild.example. and is the wildcard itself.
    let records = nsecs(&["*.wild.example."]);
    assert_eq!(
        nodata("foo.wild.example.", A, &records),
        Ok(Denial::WildcardNoData {
            source_of_synthesis: name("*.wild.example.")
        })
    );
    assert_eq!(
        nodata("foo.wild.example.", TXT, &records),
        unproven(ProofFailure::TypeExists)
    );
}

#[test]
fn wildcard_answer_with_no_closer_match() {
    let records = nsecs(&["*.wild.example."]);
    assert_eq!(
        wildcard_answer("foo.wild.example.", 2, &records),
        Ok(Denial::WildcardAnswer)
    );
    assert_eq!(
        wildcard_answer("a.b.wild.example.", 2, &records),
        Ok(Denial::WildcardAnswer)
    );
}

#[test]
fn wildcard_answer_refused_when_a_closer_encloser_exists() {
    // The RRSIG claims *.example. answered, but wild.example. exists: its wildcard would have.
    let records = nsecs(&["*.wild.example."]);
    assert_eq!(
        wildcard_answer("foo.wild.example.", 1, &records),
        unproven(ProofFailure::WrongClosestEncloser)
    );
}

#[test]
fn wildcard_answer_needs_a_covering_nsec() {
    let records = nsecs(&["a.example."]);
    assert_eq!(
        wildcard_answer("foo.wild.example.", 2, &records),
        unproven(ProofFailure::NotCovered)
    );
    let at_qname = nsecs(&["wild.example."]);
    assert_eq!(
        wildcard_answer("wild.example.", 1, &at_qname),
        unproven(ProofFailure::NameExists)
    );
}

#[test]
fn wildcard_answer_refused_when_labels_show_no_expansion() {
    let records = nsecs(&["*.wild.example."]);
    for labels in [3, 4, 0] {
        assert_eq!(
            wildcard_answer("foo.wild.example.", labels, &records),
            unproven(ProofFailure::NotWildcardExpansion),
            "labels {labels}"
        );
    }
}

#[test]
fn names_compare_without_regard_to_case() {
    let records = vec![
        nsec_record("A.Example.", "CNAME.EXAMPLE.", &[A]),
        nsec_record("EXAMPLE.", "a.EXAMPLE.", &[SOA_TYPE, NS]),
    ];
    assert_eq!(nxdomain("B.eXample.", &records), Ok(Denial::NxDomain));
    assert_eq!(
        prove_nxdomain(&name("b.example."), &name("EXAMPLE."), &records, &budget()),
        Ok(Denial::NxDomain)
    );
    assert_eq!(nodata("a.EXAMPLE.", TXT, &records), Ok(Denial::NoData));
    assert_eq!(
        nxdomain("a.example.", &records),
        unproven(ProofFailure::NameExists)
    );
}

#[test]
fn one_cached_nsec_covers_names_in_its_span() {
    let zone = apex();
    let a = nsec_at("a.example.");
    let covers = |qname: &str| nsec_covers(&zone, &a.name, nsec_rdata(&a), &name(qname));
    assert!(covers("b.example."));
    assert!(covers("b.a.example."));
    assert!(!covers("a.example."), "its own owner exists");
    assert!(!covers("cname.example."), "its next name exists");
    assert!(!covers("d.example."), "after its span");
    assert!(!covers("b.example.org."), "another zone");

    let last = nsec_at("z.example.");
    assert!(nsec_covers(
        &zone,
        &last.name,
        nsec_rdata(&last),
        &name("zz.example.")
    ));
}

#[test]
fn one_cached_nsec_does_not_cover_what_it_may_not_deny() {
    let zone = apex();
    let before_ent = nsec_at("dname.example.");
    let rdata = nsec_rdata(&before_ent);
    assert!(!nsec_covers(
        &zone,
        &before_ent.name,
        rdata,
        &name("ent.example.")
    ));
    assert!(!nsec_covers(
        &zone,
        &before_ent.name,
        rdata,
        &name("a.dname.example.")
    ));
    let delegation = nsec_at("insecure.example.");
    let rdata = nsec_rdata(&delegation);
    assert!(!nsec_covers(
        &zone,
        &delegation.name,
        rdata,
        &name("www.insecure.example.")
    ));
    // Signed by another zone's key, it denies nothing in this one.
    assert!(!nsec_covers(
        &name("org."),
        &delegation.name,
        rdata,
        &name("insecurf.example.")
    ));
}

#[test]
fn one_cached_nsec_denies_types() {
    let zone = apex();
    let a = nsec_at("a.example.");
    let rdata = nsec_rdata(&a);
    assert!(nsec_denies_type(
        &zone,
        &a.name,
        rdata,
        &name("a.example."),
        TXT
    ));
    assert!(!nsec_denies_type(
        &zone,
        &a.name,
        rdata,
        &name("a.example."),
        A
    ));
    assert!(!nsec_denies_type(
        &zone,
        &a.name,
        rdata,
        &name("b.example."),
        TXT
    ));
    let before_ent = nsec_at("dname.example.");
    let rdata = nsec_rdata(&before_ent);
    assert!(nsec_denies_type(
        &zone,
        &before_ent.name,
        rdata,
        &name("ent.example."),
        A
    ));
    let delegation = nsec_at("insecure.example.");
    let rdata = nsec_rdata(&delegation);
    assert!(nsec_denies_type(
        &zone,
        &delegation.name,
        rdata,
        &name("insecure.example."),
        DS
    ));
    assert!(!nsec_denies_type(
        &zone,
        &delegation.name,
        rdata,
        &name("insecure.example."),
        A
    ));
}

#[test]
fn a_covering_nsec_shows_the_closest_encloser() {
    let a = nsec_at("a.example.");
    let closest = |qname: &str| nsec_closest_encloser(&a.name, nsec_rdata(&a), &name(qname));
    assert_eq!(closest("b.example."), name("example."));
    assert_eq!(closest("c.b.a.example."), name("a.example."));
    let before_ent = nsec_at("dname.example.");
    let by_next = nsec_closest_encloser(
        &before_ent.name,
        nsec_rdata(&before_ent),
        &name("y.ent.example."),
    );
    assert_eq!(by_next, name("ent.example."));
}
