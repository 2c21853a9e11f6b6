//! Signature verification per DNSSEC algorithm, in microseconds: what one RRSIG check costs the
//! validator, through `ferret::validator::signature::verify_rrset` (the RFC 4035 §5.3 checks,
//! the key match by algorithm and tag, then ring's verify) on an A RRset of two records.
//!
//!     cargo bench --bench dnssec                    # every algorithm
//!     cargo bench --bench dnssec -- 'verify_rrset/13'
//!
//! Algorithms: 8 RSASHA256 with a 2048-bit key (the root's and most TLDs' size; ring cannot
//! generate RSA keys, so it is benches/keys/rsa2048.pk8, a throwaway test key made once with
//! openssl, see benches/keys/README.md), 13 ECDSAP256SHA256, 14 ECDSAP384SHA384 and 15 ED25519 (keys generated
//! afresh by ring for each run). Each RRset is signed once, with hickory-proto's signing code, and
//! checked to verify before it is timed. The DNSKEY set holds the one key, so every iteration is
//! exactly one signature verification.
//!
//! The work caps are read once, outside the timed loop (`WorkCaps::default()` goes through the
//! command-line defaults, which costs more than a signature check; ferret reads them once at
//! start), and the allocator is mimalloc, as in the ferret binary: building the signed data
//! allocates, and glibc's malloc would be timed instead.
//!
//! Under `cargo test --all-targets` criterion runs each benchmark once as a smoke test.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferret::validator::signature::verify_rrset;
use ferret::validator::{WorkBudget, WorkCaps};
use hickory_proto::dnssec::crypto::{EcdsaSigningKey, Ed25519SigningKey, RsaSigningKey};
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG, SigInput};
use hickory_proto::dnssec::{Algorithm, SigningKey, TBS, Verifier};
use hickory_proto::rr::{DNSClass, Name, RData, Record, SerialNumber, rdata::A};
use rustls_pki_types::PrivatePkcs8KeyDer;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Our own throwaway 2048-bit RSA test key (PKCS#8 DER), see benches/keys/README.md.
const RSA_2048_PKCS8: &[u8] = include_bytes!("keys/rsa2048.pk8");

/// A zone key pair: the private half signs, the DNSKEY is what the validator is given.
struct ZoneKey {
    zone: Name,
    dnskey: DNSKEY,
    signer: Box<dyn SigningKey>,
}

impl ZoneKey {
    fn new(algorithm: Algorithm) -> ZoneKey {
        let signer: Box<dyn SigningKey> = match algorithm {
            Algorithm::RSASHA256 => {
                let pkcs8 = PrivatePkcs8KeyDer::from(RSA_2048_PKCS8);
                Box::new(RsaSigningKey::from_pkcs8(&pkcs8, algorithm).expect("RSA test key"))
            }
            Algorithm::ED25519 => {
                let pkcs8 = Ed25519SigningKey::generate_pkcs8().expect("Ed25519 key");
                Box::new(Ed25519SigningKey::from_pkcs8(&pkcs8).expect("Ed25519 key"))
            }
            _ => {
                let pkcs8 = EcdsaSigningKey::generate_pkcs8(algorithm).expect("ECDSA key");
                Box::new(EcdsaSigningKey::from_pkcs8(&pkcs8, algorithm).expect("ECDSA key"))
            }
        };
        let public = signer.to_public_key().expect("public key");
        ZoneKey {
            zone: Name::from_ascii("bench.").expect("zone name"),
            dnskey: DNSKEY::with_flags(256, public),
            signer,
        }
    }

    /// An RRSIG over `rrset` valid from `inception` to `expiration` (as src/validator/testkit.rs
    /// makes them; that module is test-only, so the few lines are repeated here).
    fn sign(&self, rrset: &[Record], inception: u32, expiration: u32) -> Record {
        let first = &rrset[0];
        let input = SigInput {
            type_covered: first.record_type(),
            algorithm: self.dnskey.algorithm(),
            num_labels: first.name.num_labels(),
            original_ttl: first.ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: self.dnskey.calculate_key_tag().expect("key tag"),
            signer_name: self.zone.clone(),
        };
        let tbs = TBS::from_input(&first.name, DNSClass::IN, &input, rrset.iter()).expect("tbs");
        let signature = self.signer.sign(&tbs).expect("signature");
        Record::from_rdata(
            first.name.clone(),
            first.ttl,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, signature))),
        )
    }
}

fn now() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    // RRSIG times are 32-bit serial numbers (RFC 4034 §3.1.5): the low 32 bits.
    secs as u32
}

/// `www.bench. A` with two addresses.
fn a_rrset() -> Vec<Record> {
    let owner = Name::from_ascii("www.bench.").expect("owner name");
    [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)]
        .into_iter()
        .map(|address| Record::from_rdata(owner.clone(), 3600, RData::A(A(address))))
        .collect()
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_rrset");
    group.throughput(Throughput::Elements(1));
    let now = now();
    let rrset = a_rrset();
    let caps = WorkCaps::default();
    for (number, label, algorithm) in [
        (8, "rsasha256-2048", Algorithm::RSASHA256),
        (13, "ecdsap256sha256", Algorithm::ECDSAP256SHA256),
        (14, "ecdsap384sha384", Algorithm::ECDSAP384SHA384),
        (15, "ed25519", Algorithm::ED25519),
    ] {
        let key = ZoneKey::new(algorithm);
        let rrsigs = vec![key.sign(&rrset, now.wrapping_sub(3600), now.wrapping_add(86_400))];
        let keys = vec![key.dnskey.clone()];
        // A benchmark of a failing check would time the wrong thing.
        verify_rrset(
            &rrset,
            &rrsigs,
            &key.zone,
            &keys,
            now,
            &WorkBudget::new(caps),
        )
        .unwrap_or_else(|e| panic!("algorithm {number}: the signature does not verify: {e}"));
        group.bench_function(BenchmarkId::new(number.to_string(), label), |b| {
            b.iter(|| {
                // A fresh budget each time (two atomics): one allows only so many signature
                // checks, as one client question would.
                let work = WorkBudget::new(caps);
                verify_rrset(
                    black_box(&rrset),
                    black_box(&rrsigs),
                    &key.zone,
                    black_box(&keys),
                    now,
                    &work,
                )
                .expect("verifies")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
