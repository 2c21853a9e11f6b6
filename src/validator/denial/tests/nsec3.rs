//! NSEC3 proofs (RFC 5155 §8) over [`ZONE`]'s hashed chain, with opt-out, the iteration cap
//! and the hashing budget.

use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

use super::super::{MAX_NSEC3_RECORDS, prove_nodata, prove_nxdomain, prove_wildcard_answer};
use super::*;

fn nxdomain(qname: &str, records: &[Record]) -> Result<Denial, DenialError> {
    prove_nxdomain(&name(qname), &apex(), records, &budget())
}

fn nodata(qname: &str, qtype: RecordType, records: &[Record]) -> Result<Denial, DenialError> {
    prove_nodata(&name(qname), qtype, &apex(), records, &budget())
}

/// What an honest server sends for an NXDOMAIN below `closest_encloser` (RFC 5155 §7.2.2).
fn nxdomain_proof(zone: &Nsec3Zone, closest_encloser: &str, next_closer: &str) -> Vec<Record> {
    vec![
        zone.matching(closest_encloser),
        zone.covering(next_closer),
        zone.covering(&format!("*.{closest_encloser}")),
    ]
}

/// A name directly below the apex whose covering NSEC3 is neither the apex's nor the one covering
/// `*.example.`, so that leaving out one of the three records of its proof leaves a hole.
fn name_apart(zone: &Nsec3Zone) -> String {
    let apex_record = zone.matching("example.");
    let wildcard_cover = zone.covering("*.example.");
    assert_ne!(
        apex_record, wildcard_cover,
        "the fixture's salt puts *.example. after the apex"
    );
    (0..1000)
        .map(|n| format!("n{n}.example."))
        .find(|candidate| {
            let cover = zone.covering(candidate);
            cover != apex_record && cover != wildcard_cover
        })
        .unwrap()
}

/// A record of the chain that does not cover `absent`.
fn not_covering(zone: &Nsec3Zone, absent: &str) -> Record {
    let cover = zone.covering(absent);
    zone.chain
        .iter()
        .map(|(_, _, record)| record.clone())
        .find(|record| *record != cover)
        .unwrap()
}

#[test]
fn nxdomain_by_the_closest_encloser_proof() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    assert_eq!(nxdomain("b.example.", &records), Ok(Denial::NxDomain));
}

#[test]
fn nxdomain_below_a_deeper_closest_encloser_hashes_each_name_once() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "a.example.", "b.a.example.");
    let work = budget();
    let qname = name("c.b.a.example.");
    assert_eq!(
        prove_nxdomain(&qname, &apex(), &records, &work),
        Ok(Denial::NxDomain)
    );
    // c.b.a, b.a, a, and *.a: the next closer name is not hashed again.
    assert_eq!(work.nsec3_hashes_spent(), 4);
}

#[test]
fn nxdomain_needs_the_wildcard_covered() {
    let zone = Nsec3Zone::standard();
    let qname = name_apart(&zone);
    let records = vec![zone.matching("example."), zone.covering(&qname)];
    assert_eq!(
        nxdomain(&qname, &records),
        unproven(ProofFailure::WildcardNotDenied)
    );
}

#[test]
fn nxdomain_needs_the_next_closer_name_covered() {
    let zone = Nsec3Zone::standard();
    let qname = name_apart(&zone);
    let records = vec![zone.matching("example."), zone.covering("*.example.")];
    assert_eq!(
        nxdomain(&qname, &records),
        unproven(ProofFailure::NextCloserNotCovered)
    );
}

#[test]
fn nxdomain_refused_when_the_nsec3_does_not_cover_the_name() {
    let zone = Nsec3Zone::standard();
    let qname = name_apart(&zone);
    let records = vec![
        zone.matching("example."),
        not_covering(&zone, &qname),
        zone.covering("*.example."),
    ];
    assert_eq!(
        nxdomain(&qname, &records),
        unproven(ProofFailure::NextCloserNotCovered)
    );
}

#[test]
fn nxdomain_needs_a_closest_encloser() {
    let zone = Nsec3Zone::standard();
    let qname = name_apart(&zone);
    let records = vec![zone.covering(&qname)];
    assert_eq!(
        nxdomain(&qname, &records),
        unproven(ProofFailure::NoClosestEncloser)
    );
}

#[test]
fn nxdomain_refused_for_a_name_that_exists() {
    let zone = Nsec3Zone::standard();
    let mut records = nxdomain_proof(&zone, "example.", "b.example.");
    records.push(zone.matching("a.example."));
    assert_eq!(
        nxdomain("a.example.", &records),
        unproven(ProofFailure::NameExists)
    );
    // An empty non-terminal exists too, and has its NSEC3 (RFC 5155 §7.1).
    records.push(zone.matching("ent.example."));
    assert_eq!(
        nxdomain("ent.example.", &records),
        unproven(ProofFailure::NameExists)
    );
}

#[test]
fn nxdomain_refused_when_the_wildcard_exists() {
    let zone = Nsec3Zone::standard();
    let records = vec![
        zone.matching("wild.example."),
        zone.covering("foo.wild.example."),
        zone.matching("*.wild.example."),
    ];
    assert_eq!(
        nxdomain("foo.wild.example.", &records),
        unproven(ProofFailure::WildcardExists)
    );
}

#[test]
fn the_last_nsec3_wraps_around() {
    let zone = Nsec3Zone::standard();
    // A name whose hash lies past the last owner hash, or before the first.
    let qname = (0..1000)
        .map(|n| format!("n{n}.example."))
        .find(|candidate| zone.covered_by_last(candidate))
        .unwrap();
    let records = nxdomain_proof(&zone, "example.", &qname);
    assert_eq!(nxdomain(&qname, &records), Ok(Denial::NxDomain));
}

#[test]
fn nodata_by_the_matching_nsec3() {
    let zone = Nsec3Zone::standard();
    let records = vec![zone.matching("a.example.")];
    assert_eq!(nodata("a.example.", TXT, &records), Ok(Denial::NoData));
    assert_eq!(
        nodata("a.example.", A, &records),
        unproven(ProofFailure::TypeExists)
    );
    let cname = vec![zone.matching("cname.example.")];
    assert_eq!(
        nodata("cname.example.", A, &cname),
        unproven(ProofFailure::TypeExists)
    );
}

#[test]
fn nodata_for_an_empty_non_terminal() {
    let zone = Nsec3Zone::standard();
    let records = vec![zone.matching("ent.example.")];
    assert_eq!(nodata("ent.example.", A, &records), Ok(Denial::NoData));
}

#[test]
fn ds_at_delegations() {
    let zone = Nsec3Zone::standard();
    let insecure = vec![zone.matching("insecure.example.")];
    assert_eq!(
        nodata("insecure.example.", DS, &insecure),
        Ok(Denial::InsecureDelegation)
    );
    let signed = vec![zone.matching("sub.example.")];
    assert_eq!(
        nodata("sub.example.", DS, &signed),
        unproven(ProofFailure::TypeExists)
    );
    let no_delegation = vec![zone.matching("a.example.")];
    assert_eq!(nodata("a.example.", DS, &no_delegation), Ok(Denial::NoData));
    let child_apex = vec![zone.matching("example.")];
    assert_eq!(
        nodata("example.", DS, &child_apex),
        unproven(ProofFailure::ChildSideDs)
    );
}

#[test]
fn a_delegation_nsec3_denies_no_other_type() {
    let zone = Nsec3Zone::standard();
    let records = vec![zone.matching("sub.example.")];
    assert_eq!(
        nodata("sub.example.", A, &records),
        unproven(ProofFailure::BelowZoneCut)
    );
}

#[test]
fn an_ancestor_delegation_is_no_closest_encloser() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "sub.example.", "host.sub.example.");
    assert_eq!(
        nxdomain("host.sub.example.", &records),
        unproven(ProofFailure::BelowZoneCut)
    );
    assert_eq!(
        nodata("host.sub.example.", A, &records),
        unproven(ProofFailure::BelowZoneCut)
    );
}

#[test]
fn a_dname_is_no_closest_encloser() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "dname.example.", "foo.dname.example.");
    assert_eq!(
        nxdomain("foo.dname.example.", &records),
        unproven(ProofFailure::BelowZoneCut)
    );
}

#[test]
fn wildcard_nodata() {
    let zone = Nsec3Zone::standard();
    let records = vec![
        zone.matching("wild.example."),
        zone.covering("foo.wild.example."),
        zone.matching("*.wild.example."),
    ];
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
fn nodata_refused_for_a_name_that_does_not_exist() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    assert_eq!(
        nodata("b.example.", A, &records),
        unproven(ProofFailure::WildcardRecordMissing)
    );
    assert_eq!(
        nodata("b.example.", DS, &records),
        unproven(ProofFailure::NoOptOut)
    );
}

#[test]
fn wildcard_answer_with_the_next_closer_name_covered() {
    let zone = Nsec3Zone::standard();
    let records = vec![zone.covering("foo.wild.example.")];
    let answer = |qname: &str, labels: u8, records: &[Record]| {
        prove_wildcard_answer(&name(qname), labels, &apex(), records, &budget())
    };
    assert_eq!(
        answer("foo.wild.example.", 2, &records),
        Ok(Denial::WildcardAnswer)
    );
    // Below the next closer name, the same record proves it.
    assert_eq!(
        answer("x.foo.wild.example.", 2, &records),
        Ok(Denial::WildcardAnswer)
    );
    let elsewhere = not_covering(&zone, "foo.wild.example.");
    assert_eq!(
        answer("foo.wild.example.", 2, &[elsewhere]),
        unproven(ProofFailure::NextCloserNotCovered)
    );
    // The RRSIG claims *.example. answered, but ent.example. exists.
    assert_eq!(
        answer("x.ent.example.", 1, &[zone.matching("ent.example.")]),
        unproven(ProofFailure::NameExists)
    );
}

fn opt_out_zone(opt_out: bool) -> Nsec3Zone {
    let params = Params {
        opt_out,
        ..Params::default()
    };
    nsec3_zone(&opt_out_names(), params)
}

#[test]
fn no_ds_under_opt_out_is_insecure() {
    // insecure.example. has no NSEC3 of its own: it lies in an opt-out span (RFC 5155 §8.6).
    let zone = opt_out_zone(true);
    let records = vec![
        zone.matching("example."),
        zone.covering("insecure.example."),
    ];
    assert_eq!(
        nodata("insecure.example.", DS, &records),
        Ok(Denial::OptOutInsecure)
    );
    // An unsigned delegation's own types are not the parent's to deny either way.
    assert_eq!(
        nodata("insecure.example.", A, &records),
        Ok(Denial::OptOutInsecure)
    );
}

#[test]
fn no_ds_without_opt_out_is_bogus() {
    let zone = opt_out_zone(false);
    let records = vec![
        zone.matching("example."),
        zone.covering("insecure.example."),
    ];
    assert_eq!(
        nodata("insecure.example.", DS, &records),
        unproven(ProofFailure::NoOptOut)
    );
}

#[test]
fn nxdomain_and_wildcard_answers_under_opt_out_are_insecure() {
    let zone = opt_out_zone(true);
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    assert_eq!(nxdomain("b.example.", &records), Ok(Denial::OptOutInsecure));
    let cover = vec![zone.covering("foo.wild.example.")];
    assert_eq!(
        prove_wildcard_answer(&name("foo.wild.example."), 2, &apex(), &cover, &budget()),
        Ok(Denial::OptOutInsecure)
    );
}

#[test]
fn too_many_iterations_prove_nothing_and_cost_nothing() {
    let cap = WorkCaps::default().nsec3_iterations;
    let params = Params {
        iterations: cap + 1,
        ..Params::default()
    };
    let zone = nsec3_zone(&nsec3_names(), params);
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    let work = budget();
    assert_eq!(
        prove_nxdomain(&name("b.example."), &apex(), &records, &work),
        Ok(Denial::Insecure)
    );
    assert_eq!(
        prove_nodata(&name("a.example."), A, &apex(), &records, &work),
        Ok(Denial::Insecure)
    );
    assert_eq!(work.nsec3_hashes_spent(), 0);
}

#[test]
fn iterations_at_the_cap_are_used() {
    let params = Params {
        iterations: WorkCaps::default().nsec3_iterations,
        ..Params::default()
    };
    let zone = nsec3_zone(&nsec3_names(), params);
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    assert_eq!(nxdomain("b.example.", &records), Ok(Denial::NxDomain));
}

#[test]
fn the_hash_budget_stops_the_proof() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    // b.example., example., *.example.: three hashes needed, two allowed.
    let work = budget_of(2);
    assert_eq!(
        prove_nxdomain(&name("b.example."), &apex(), &records, &work),
        Err(DenialError::LimitReached(
            super::super::super::WorkLimit::Nsec3Hashes
        ))
    );
    let enough = budget_of(3);
    assert_eq!(
        prove_nxdomain(&name("b.example."), &apex(), &records, &enough),
        Ok(Denial::NxDomain)
    );
}

#[test]
fn a_name_looked_up_twice_is_hashed_once() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    // NODATA first looks for b.example.'s own NSEC3, then proves its closest encloser.
    let work = budget();
    let _ = prove_nodata(&name("b.example."), A, &apex(), &records, &work);
    assert_eq!(work.nsec3_hashes_spent(), 3);
}

#[test]
fn the_budget_is_shared_across_proofs() {
    let zone = Nsec3Zone::standard();
    let records = nxdomain_proof(&zone, "example.", "b.example.");
    let work = budget_of(4);
    let qname = name("b.example.");
    assert!(prove_nxdomain(&qname, &apex(), &records, &work).is_ok());
    assert!(matches!(
        prove_nxdomain(&qname, &apex(), &records, &work),
        Err(DenialError::LimitReached(_))
    ));
}

fn uppercased(record: &Record) -> Record {
    let mut record = record.clone();
    record.name = name(&record.name.to_ascii().to_uppercase());
    record
}

#[test]
fn names_and_hashes_compare_without_regard_to_case() {
    let zone = Nsec3Zone::standard();
    let records: Vec<Record> = nxdomain_proof(&zone, "example.", "b.example.")
        .iter()
        .map(uppercased)
        .collect();
    assert_eq!(nxdomain("B.eXample.", &records), Ok(Denial::NxDomain));
    assert_eq!(
        prove_nxdomain(&name("b.example."), &name("EXAMPLE."), &records, &budget()),
        Ok(Denial::NxDomain)
    );
}

#[test]
fn records_with_other_parameters_are_ignored() {
    let zone = Nsec3Zone::standard();
    let resalted = nsec3_zone(
        &nsec3_names(),
        Params {
            salt: vec![0x01],
            ..Params::default()
        },
    );
    let qname = name_apart(&zone);
    let records = vec![
        zone.matching("example."),
        resalted.covering(&qname),
        zone.covering("*.example."),
    ];
    assert_eq!(
        nxdomain(&qname, &records),
        unproven(ProofFailure::NextCloserNotCovered)
    );
}

/// A well-formed NSEC3 of the zone, with the zone's parameters, whose span is a single hash
/// after the one of `owner` (not a name of the zone): it matches and covers nothing a proof here
/// asks about.
fn narrow_nsec3(zone: &Nsec3Zone, owner: &str) -> Record {
    let hash = zone.hash(owner);
    let mut next = hash.clone();
    let last = next.last_mut().unwrap();
    *last = last.wrapping_add(1);
    nsec3_record(&zone.params, &hash, next, vec![A], "example.")
}

#[test]
fn records_beyond_the_limit_are_ignored() {
    let zone = Nsec3Zone::standard();
    let proof = nxdomain_proof(&zone, "example.", "b.example.");
    let padding: Vec<Record> = (0..MAX_NSEC3_RECORDS)
        .map(|n| narrow_nsec3(&zone, &format!("padding{n}.example.")))
        .collect();
    let late: Vec<Record> = padding.iter().chain(&proof).cloned().collect();
    assert_eq!(
        nxdomain("b.example.", &late),
        unproven(ProofFailure::NoClosestEncloser)
    );
    let early: Vec<Record> = proof.iter().chain(&padding).cloned().collect();
    assert_eq!(nxdomain("b.example.", &early), Ok(Denial::NxDomain));
}

#[test]
fn records_not_owned_by_a_hash_of_the_zone_are_ignored() {
    let zone = Nsec3Zone::standard();
    let params = Params::default();
    let hash = zone.hash("b.example.");
    let next = zone.hash("a.example.");
    let misplaced = |owner: &str| {
        let mut record = nsec3_record(&params, &hash, next.clone(), vec![A], "example.");
        record.name = name(owner);
        record
    };
    let label = base32hex(&hash);
    for owner in [
        format!("{label}.example.org."),
        format!("{label}.x.example."),
        "b.example.".to_string(),
        format!("{}.example.", &label[..31]),
        format!("{}w.example.", &label[..31]),
    ] {
        assert_eq!(
            nxdomain("b.example.", &[misplaced(&owner)]),
            unproven(ProofFailure::NoRecords),
            "{owner}"
        );
    }
}

#[test]
fn hickory_refuses_nsec3_records_with_an_unknown_hash_algorithm() {
    // RFC 5155 §8.1 says to ignore them; they never reach the proofs because they do not decode.
    let zone = Nsec3Zone::standard();
    let record = zone.matching("example.");
    let mut wire = record.to_bytes().unwrap();
    assert!(Record::from_bytes(&wire).is_ok());
    let RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) = &record.data else {
        unreachable!()
    };
    let rdata_start = wire.len() - nsec3.to_bytes().unwrap().len();
    wire[rdata_start] = 2;
    assert!(Record::from_bytes(&wire).is_err());
}
