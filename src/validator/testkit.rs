//! Keys and signatures made on the spot for the validator's unit tests: a zone key pair, and
//! RRSIGs over any RRset with any validity period, with hickory-proto's signing code.

use hickory_proto::dnssec::crypto::{EcdsaSigningKey, Ed25519SigningKey};
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, RRSIG, SigInput};
use hickory_proto::dnssec::{Algorithm, DigestType, SigningKey, TBS, Verifier};
use hickory_proto::rr::{DNSClass, Name, RData, Record, SerialNumber};

pub fn name(text: &str) -> Name {
    Name::from_ascii(text).expect("test name")
}

/// A zone's key: the private half signs, the DNSKEY is what the zone publishes.
pub struct ZoneKey {
    pub zone: Name,
    pub dnskey: DNSKEY,
    signer: Box<dyn SigningKey>,
}

impl ZoneKey {
    /// A new key for `zone`; `ksk` sets the SEP flag (257 rather than 256).
    pub fn generate(zone: &str, algorithm: Algorithm, ksk: bool) -> ZoneKey {
        let signer: Box<dyn SigningKey> = match algorithm {
            Algorithm::ED25519 => {
                let pkcs8 = Ed25519SigningKey::generate_pkcs8().expect("key");
                Box::new(Ed25519SigningKey::from_pkcs8(&pkcs8).expect("key"))
            }
            _ => {
                let pkcs8 = EcdsaSigningKey::generate_pkcs8(algorithm).expect("key");
                Box::new(EcdsaSigningKey::from_pkcs8(&pkcs8, algorithm).expect("key"))
            }
        };
        let public = signer.to_public_key().expect("public key");
        let flags = if ksk { 257 } else { 256 };
        ZoneKey {
            zone: name(zone),
            dnskey: DNSKEY::with_flags(flags, public),
            signer,
        }
    }

    pub fn tag(&self) -> u16 {
        self.dnskey.calculate_key_tag().expect("key tag")
    }

    pub fn dnskey_record(&self) -> Record {
        Record::from_rdata(
            self.zone.clone(),
            3600,
            RData::DNSSEC(DNSSECRData::DNSKEY(self.dnskey.clone())),
        )
    }

    /// The DS record a parent publishes for this key, with SHA-256.
    pub fn ds(&self) -> DS {
        let digest = self
            .dnskey
            .to_digest(&self.zone, DigestType::SHA256)
            .expect("digest");
        DS::new(
            self.tag(),
            self.dnskey.algorithm(),
            DigestType::SHA256,
            digest.as_ref().to_vec(),
        )
    }

    /// An RRSIG over `rrset` valid from `inception` to `expiration` (seconds since the epoch).
    pub fn sign(&self, rrset: &[Record], inception: u32, expiration: u32) -> Record {
        let first = &rrset[0];
        // hickory's label count already leaves out a leading `*` (RFC 4034 §3.1.3).
        let labels = first.name.num_labels();
        let input = SigInput {
            type_covered: first.record_type(),
            algorithm: self.dnskey.algorithm(),
            num_labels: labels,
            original_ttl: first.ttl,
            sig_expiration: SerialNumber::new(expiration),
            sig_inception: SerialNumber::new(inception),
            key_tag: self.tag(),
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
