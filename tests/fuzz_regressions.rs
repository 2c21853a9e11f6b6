//! Replays inputs the fuzz targets found (tests/fuzz_regressions/<target>/) and their seed corpora
//! (fuzz/seeds/<target>/) through the very harness the fuzzers run, fuzz/src/lib.rs, included
//! here by path: a fixed bug stays fixed without a fuzzer in CI. Also checks that the harness's
//! pre-filled cache really answers, so that the query_path fuzzer is not fuzzing SERVFAILs only.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::path::{Path, PathBuf};

use ferret::server::pipeline::Transport;
use ferret::validator::denial::{prove_nodata, prove_nxdomain, prove_wildcard_answer};
use ferret::validator::{Denial, WorkBudget, WorkCaps};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use harness::{DenialProof, DohRequest, QueryPath, SharedValue, UpstreamResponse};

/// Every file in `dir`, sorted, so a failure names the same input on every run. A target with
/// no saved crash has no directory (git keeps no empty ones).
fn inputs(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => panic!("{}: {error}", dir.display()),
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file() && !path.ends_with("README.md"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = fs::read(&path).expect("input readable");
            (path, bytes)
        })
        .collect()
}

/// Runs `check` on each input, naming the input that fails.
fn replay(dirs: &[&str], check: impl Fn(&[u8])) -> usize {
    let mut count = 0;
    for dir in dirs {
        for (path, bytes) in inputs(dir) {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
            assert!(outcome.is_ok(), "input {} fails", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn query_path_inputs_pass() {
    let harness = QueryPath::new();
    let count = replay(
        &["fuzz/seeds/query_path", "tests/fuzz_regressions/query_path"],
        |bytes| harness.check(bytes),
    );
    assert!(count >= 20, "only {count} inputs found");
}

#[test]
fn upstream_response_inputs_pass() {
    let harness = UpstreamResponse::new();
    let count = replay(
        &[
            "fuzz/seeds/upstream_response",
            "tests/fuzz_regressions/upstream_response",
        ],
        |bytes| harness.check(bytes),
    );
    assert!(count >= 10, "only {count} inputs found");
}

#[test]
fn denial_proof_inputs_pass() {
    let harness = DenialProof::new();
    let count = replay(
        &[
            "fuzz/seeds/denial_proof",
            "tests/fuzz_regressions/denial_proof",
        ],
        |bytes| harness.check(bytes),
    );
    assert!(count >= 10, "only {count} inputs found");
}

fn seed(target: &str, name: &str) -> Message {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target)
        .join(name);
    Message::from_vec(&fs::read(&path).expect("seed readable")).expect("seed parses")
}

/// What a denial_proof seed's authority section proves about its question, with the default
/// limits: the NSEC3 seeds are hashed by make_seeds.py, so this also checks that its hashing and
/// hickory-proto's agree.
fn denial_of(message: &Message) -> Denial {
    let zone = Name::from_ascii("example.test.").expect("zone");
    let query = message.queries.first().expect("a question");
    let (qname, qtype) = (query.name(), query.query_type());
    let work = WorkBudget::new(WorkCaps::default());
    let records = &message.authorities;
    let wildcard_labels = message
        .answers
        .iter()
        .find_map(|record| match &record.data {
            RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) => Some(rrsig.input().num_labels),
            _ => None,
        });
    let proof = if let Some(labels) = wildcard_labels {
        prove_wildcard_answer(qname, labels, &zone, records, &work)
    } else if message.metadata.response_code == ResponseCode::NXDomain {
        prove_nxdomain(qname, &zone, records, &work)
    } else {
        prove_nodata(qname, qtype, &zone, records, &work)
    };
    proof.unwrap_or_else(|error| panic!("{qname} {qtype}: {error}"))
}

#[test]
fn the_denial_seeds_prove_what_they_are_named_for() {
    let wildcard = Denial::WildcardNoData {
        source_of_synthesis: Name::from_ascii("*.wild.example.test.").expect("name"),
    };
    for (name, expected) in [
        ("nsec_nxdomain", Denial::NxDomain),
        ("nsec_nodata", Denial::NoData),
        ("nsec_empty_non_terminal", Denial::NoData),
        ("nsec_wildcard_nodata", wildcard.clone()),
        ("nsec_wildcard_answer", Denial::WildcardAnswer),
        ("nsec_insecure_delegation", Denial::InsecureDelegation),
        ("nsec3_nxdomain", Denial::NxDomain),
        ("nsec3_nodata", Denial::NoData),
        ("nsec3_wildcard_nodata", wildcard),
        ("nsec3_opt_out_ds", Denial::OptOutInsecure),
        ("nsec3_too_many_iterations", Denial::Insecure),
        ("nsec3_deep_name", Denial::NxDomain),
    ] {
        assert_eq!(denial_of(&seed("denial_proof", name)), expected, "{name}");
    }
}

#[test]
fn doh_request_inputs_pass() {
    let harness = DohRequest::new();
    let count = replay(
        &[
            "fuzz/seeds/doh_request",
            "tests/fuzz_regressions/doh_request",
        ],
        |bytes| harness.check(bytes),
    );
    assert!(count >= 9, "only {count} inputs found");
}

#[test]
fn shared_value_inputs_pass() {
    let harness = SharedValue::new();
    let count = replay(
        &[
            "fuzz/seeds/shared_value",
            "tests/fuzz_regressions/shared_value",
        ],
        |bytes| harness.check(bytes),
    );
    assert!(count >= 5, "only {count} inputs found");
}

fn answer(harness: &QueryPath, seed: &str, transport: Transport) -> Message {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds/query_path")
        .join(seed);
    let query = fs::read(&path).expect("seed readable");
    let response = harness
        .answer(&query, transport)
        .unwrap_or_else(|| panic!("no answer to {seed}"));
    Message::from_vec(&response).expect("response parses")
}

#[test]
fn the_query_path_cache_answers_the_seed_questions() {
    let harness = QueryPath::new();
    let www = answer(&harness, "www_a", Transport::Udp);
    assert_eq!(www.metadata.response_code, ResponseCode::NoError);
    assert_eq!(www.answers.len(), 2, "{www:?}");
    let alias = answer(&harness, "alias_a", Transport::Udp);
    let types: Vec<RecordType> = alias.answers.iter().map(|r| r.record_type()).collect();
    assert_eq!(types, [RecordType::CNAME, RecordType::A, RecordType::A]);
    let dname = answer(&harness, "dname", Transport::Udp);
    assert!(
        dname
            .answers
            .iter()
            .any(|r| r.record_type() == RecordType::A)
    );
    let nx = answer(&harness, "nxdomain", Transport::Udp);
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    let looping = answer(&harness, "loop", Transport::Udp);
    assert_eq!(looping.metadata.response_code, ResponseCode::ServFail);
    let miss = answer(&harness, "miss", Transport::Udp);
    assert_eq!(miss.metadata.response_code, ResponseCode::ServFail);
    // The 64 KB RRset does not fit UDP: an empty, truncated answer.
    let big_udp = answer(&harness, "big_txt", Transport::Udp);
    assert!(big_udp.metadata.truncation && big_udp.answers.is_empty());
    let big_tcp = answer(&harness, "big_txt", Transport::Tcp);
    assert_eq!(big_tcp.answers.len(), 236);
    assert!(!big_tcp.metadata.truncation);
    // With the chain in front it exceeds 65,535 bytes: hickory-proto drops the records that do
    // not fit and sets TC, so the response still fits a TCP message.
    let big_chain = answer(&harness, "big_chain", Transport::Tcp);
    assert!(big_chain.metadata.truncation);
}
