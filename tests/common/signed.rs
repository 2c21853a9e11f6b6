//! A DNSSEC-signed fake hierarchy on loopback, built when the test runs: keys from `ldns-keygen`,
//! zones signed by `ldns-signzone`, DS records from `ldns-key2ds` (Debian package `ldnsutils`),
//! served by four NSD instances. Nothing is cached between runs: every key lives and dies in the
//! hierarchy's temporary directory.
//!
//! # Servers (port 53, `B` is the test's address block)
//!
//! | address      | name              | zones |
//! |--------------|-------------------|-------|
//! | `127.B.0.1`  | `a.root-servers.test.` | `.` |
//! | `127.B.1.1`  | `ns.nic.test.`    | `test.` |
//! | `127.B.2.1`  | `ns1.nic.test.`   | every zone delegated from `test.` |
//! | `127.B.3.1`  | `ns2.nic.test.`   | the zones delegated from those: `unsigned.optout.test.`, `l2.deep.test.`, `l3.l2.deep.test.` |
//!
//! The leaf zones name only `ns1.nic.test.` / `ns2.nic.test.` as servers, whose addresses live in
//! `test.`; a resolver follows real referrals (root, TLD, leaf) and asks DS at the parent's server.
//!
//! # Zones, keys and cases
//!
//! Algorithms: 8 RSASHA256 (RSA 1024, quick to generate), 13 ECDSAP256SHA256, 15 ED25519,
//! 16 ED448. "KSK+ZSK": DNSKEY signed by the KSK (flags 257, the one the parent's DS names), the
//! rest by the ZSK; "CSK": one key (257) signs everything. NSEC unless said otherwise; NSEC3 has
//! no salt and 0 extra iterations unless said otherwise. Signatures are valid from now for 4
//! weeks unless said otherwise.
//!
//! | zone | keys | what | names |
//! |------|------|------|-------|
//! | `.` | 8 KSK+ZSK | trust anchor: its KSK's DS ([`SignedHierarchy::trust_anchor`]) | |
//! | `test.` | 13 KSK+ZSK | DS for the signed leaves; proves no DS for `insecure.test.` | |
//! | `secure.test.` | 8 KSK+ZSK | secure data | `www` A/AAAA, apex MX → `mail`, `cname1` → `cname2` → `www`, `*.wild` A, `dn` DNAME `dtarget.secure.test.` (`www.dtarget` A), `to-insecure` CNAME `www.insecure.test.`, `to-bogus` CNAME `www.badsig.test.`; NXDOMAIN `nx`, NODATA `www` TXT |
//! | `ecdsa.test.` | 13 CSK | secure | `www` A |
//! | `ed25519.test.` | 15 KSK+ZSK | secure | `www` A |
//! | `nsec.test.` | 15 CSK | NSEC ranges for aggressive use (RFC 8198) | `a`, `m`, `z` A: `b`..`l` lie in the one range `a` → `m` |
//! | `nsec3.test.` | 13 KSK+ZSK, NSEC3 | secure denial over NSEC3; (d) max-nsec3-hash-computations | `www` A; NXDOMAIN `nx`, `a.b.c` (a closest encloser 3 labels up); NODATA `www` TXT |
//! | `optout.test.` | 13 CSK, NSEC3 opt-out | an unsigned delegation no NSEC3 names (added after signing) | `www` A (secure); NXDOMAIN `nx` (insecure: in an opt-out span); `unsigned` NS (on `127.B.3.1`, unsigned: `www` A) |
//! | `nsec3iter.test.` | 13 CSK, NSEC3 200 iterations | RFC 9276: denial proves nothing → insecure | `www` A (secure), NXDOMAIN `nx` (insecure) |
//! | `insecure.test.` | unsigned, no DS | insecure delegation | `www` A |
//! | `unknown-alg.test.` | unsigned, but a DNSKEY of algorithm 100 (unassigned), and the parent's only DS names it | unsupported algorithm → insecure | `www` A |
//! | `unknown-digest.test.` | 13 CSK; the parent's only DS has digest type 100 (unassigned) | unsupported digest → insecure | `www` A |
//! | `ed448.test.` | 16 CSK | secure to a validator with Ed448 (Unbound with OpenSSL 3), insecure to one without | `www` A |
//! | `badsig.test.` | 13 CSK | bogus: the RRSIG of `www` A has flipped bytes | `www` A |
//! | `expired.test.` | 13 CSK | bogus: signed 30 days ago, expired 7 days ago | `www` A |
//! | `future.test.` | 13 CSK | bogus: valid from 7 days ahead | `www` A |
//! | `wrongds.test.` | 13 CSK | bogus: the parent's DS is of another key | `www` A |
//! | `nosig.test.` | 13 CSK | bogus: `www` A has no RRSIG | `www` A |
//! | `nodnskey.test.` | 13 CSK | bogus: no DNSKEY RRset, though the parent has a DS | `www` A |
//! | `zsksigned.test.` | 13 KSK+ZSK | bogus: the DNSKEY RRset is signed by the ZSK only, the DS names the KSK | `www` A |
//! | `badnsec.test.` | 13 CSK | bogus: the NSEC of `a` (covering `b`) removed, so NXDOMAIN for `b` comes with the apex NSEC only | `a`, `c`, `e` A; ask `b` |
//! | `rrsigs.test.` | 13 KSK + 3 ZSKs | KeyTrap (a): `www` A carries 3 RRSIGs, the two of the lowest key tags corrupted (NSD serves them first) | `www` A |
//! | `keytag.test.` | 8 KSK+ZSK | KeyTrap (b): 2 junk DNSKEYs with the ZSK's key tag and algorithm, served before it | `www` A |
//! | `manyds.test.` | 13 CSK | KeyTrap (c): the parent has 9 DS for it, 8 junk (same tag, algorithm, digest type) served before the real one | `www` A |
//! | `deep.test.` → `l2.deep.test.` → `l3.l2.deep.test.` | 15, 13, 8 CSKs | KeyTrap (e): a five-zone chain of trust (max-signature-validations) | `www.l3.l2.deep.test.` A |
//!
//! NSD serves the records of an RRset in canonical (RFC 4034 §6.3) order, whatever order the
//! zone file has; the KeyTrap fixtures rely on it (the junk sorts first), and
//! tests/dnssec.rs checks it.

use std::fmt::Write as _;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use super::hierarchy::net;
use super::nsd::{NsdServer, find_binary, require_or_skip, run_bounded};

/// The programs a signed hierarchy needs.
pub const TOOLS: [&str; 4] = ["nsd", "ldns-keygen", "ldns-signzone", "ldns-key2ds"];

/// [`require_or_skip`] for every one of [`TOOLS`]: false (skip) if one is missing outside CI.
pub fn require_tools_or_skip() -> bool {
    TOOLS.iter().all(|tool| require_or_skip(tool))
}

/// One tool run may take this long (RSA key generation on a loaded machine is the slowest).
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// The unassigned DNSSEC algorithm number of `unknown-alg.test.` (17-122 are unassigned).
pub const UNKNOWN_ALGORITHM: u8 = 100;
/// The unassigned DS digest type of `unknown-digest.test.` (7-255 are unassigned).
pub const UNKNOWN_DIGEST: u8 = 100;

/// The address of server `index` (0 root, 1 TLD, 2 leaves, 3 grandchildren) in `block`.
pub fn server_ip(block: u8, index: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, block, index, 1)
}

/// A running signed hierarchy; every NSD stops, and the keys and zones are deleted, on drop.
pub struct SignedHierarchy {
    // Field order matters: the servers stop before their zone files are removed.
    pub root: NsdServer,
    pub tld: NsdServer,
    /// Serves every zone delegated from `test.`.
    pub leaves: NsdServer,
    /// Serves the zones delegated from the leaves.
    pub grand: NsdServer,
    root_hints: PathBuf,
    trust_anchor: PathBuf,
    dnskey_trust_anchor: PathBuf,
    dir: TempDir,
}

impl SignedHierarchy {
    /// Generates the keys, signs the zones and starts the servers on `127.{block}.{0,1,2,3}.1`.
    pub fn start(block: u8) -> Result<Self, String> {
        Self::start_inner(block, None)
    }

    /// Like [`SignedHierarchy::start`], with the leaves' NSD control channel on
    /// `127.{block}.2.1:control_port`, so `leaves.queries_received()` counts what reached it.
    pub fn start_with_leaf_control(block: u8, control_port: u16) -> Result<Self, String> {
        Self::start_inner(block, Some(control_port))
    }

    fn start_inner(block: u8, control_port: Option<u16>) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("ferret-signed-")
            .tempdir()
            .map_err(|e| format!("creating tempdir: {e}"))?;
        let built = build(dir.path(), block)?;

        // Bottom up: each level is already answering when the one above refers to it.
        let grand = NsdServer::start(IpAddr::V4(server_ip(block, 3)), &built.grand)?;
        let leaves = match control_port {
            Some(port) => {
                NsdServer::start_with_control(IpAddr::V4(server_ip(block, 2)), &built.leaves, port)?
            }
            None => NsdServer::start(IpAddr::V4(server_ip(block, 2)), &built.leaves)?,
        };
        let tld = NsdServer::start(IpAddr::V4(server_ip(block, 1)), &built.tld)?;
        let root = NsdServer::start(IpAddr::V4(server_ip(block, 0)), &built.root)?;
        Ok(Self {
            root,
            tld,
            leaves,
            grand,
            root_hints: built.root_hints,
            trust_anchor: built.trust_anchor,
            dnskey_trust_anchor: built.dnskey_trust_anchor,
            dir,
        })
    }

    /// A hints file whose only root server is this hierarchy's root (`a.root-servers.test.`).
    pub fn root_hints(&self) -> &Path {
        &self.root_hints
    }

    /// The fake root's trust anchor as a DS record (of its KSK, SHA-256) in zone-file format, for
    /// ferret's `--trust-anchor` and Unbound's `trust-anchor-file:`.
    pub fn trust_anchor(&self) -> &Path {
        &self.trust_anchor
    }

    /// The same anchor as the root KSK's DNSKEY record in zone-file format.
    pub fn dnskey_trust_anchor(&self) -> &Path {
        &self.dnskey_trust_anchor
    }

    /// Keys, zone files (`zones/<origin>zone`, signed and post-processed) and anchors.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The zone file served for `origin` (e.g. `"badsig.test."`).
    pub fn zone_file(&self, origin: &str) -> PathBuf {
        zone_path(self.dir.path(), origin)
    }
}

fn zone_path(dir: &Path, origin: &str) -> PathBuf {
    let stem = if origin == "." { "root." } else { origin };
    dir.join("zones").join(format!("{stem}zone"))
}

/// What [`build`] wrote: the zone files per server, hints and anchors.
struct Built {
    root: Vec<(String, PathBuf)>,
    tld: Vec<(String, PathBuf)>,
    leaves: Vec<(String, PathBuf)>,
    grand: Vec<(String, PathBuf)>,
    root_hints: PathBuf,
    trust_anchor: PathBuf,
    dnskey_trust_anchor: PathBuf,
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// A DNSSEC algorithm as `ldns-keygen -a` names it, with its key size.
#[derive(Clone, Copy, Debug)]
pub enum Alg {
    RsaSha256(u16),
    EcdsaP256,
    Ed25519,
    Ed448,
}

impl Alg {
    fn keygen_args(self) -> Vec<String> {
        match self {
            Alg::RsaSha256(bits) => vec![
                "-a".into(),
                "RSASHA256".into(),
                "-b".into(),
                bits.to_string(),
            ],
            Alg::EcdsaP256 => vec!["-a".into(), "ECDSAP256SHA256".into()],
            Alg::Ed25519 => vec!["-a".into(), "ED25519".into()],
            Alg::Ed448 => vec!["-a".into(), "ED448".into()],
        }
    }
}

const RSA: Alg = Alg::RsaSha256(1024);
const ECDSA: Alg = Alg::EcdsaP256;
const ED25519: Alg = Alg::Ed25519;

/// A key pair made by `ldns-keygen`.
#[derive(Clone, Debug)]
struct Key {
    /// `K<name>+<alg>+<tag>`, without extension: what ldns-signzone and ldns-key2ds take.
    base: PathBuf,
    /// The DNSKEY RDATA in wire format.
    rdata: Vec<u8>,
    tag: u16,
}

impl Key {
    /// `<base>.key`. Not `with_extension`: the base holds dots of its own (`K<name>+...`).
    fn key_file(&self) -> PathBuf {
        let mut file = self.base.clone().into_os_string();
        file.push(".key");
        PathBuf::from(file)
    }
}

/// The DNSKEY RDATA (flags, protocol, algorithm, public key) of a DNSKEY line in zone-file
/// format, e.g. the content of a `.key` file.
fn dnskey_rdata(line: &str) -> Result<Vec<u8>, String> {
    let data = line.split(';').next().unwrap_or("");
    let fields: Vec<&str> = data.split_whitespace().collect();
    let at = fields
        .iter()
        .position(|f| f.eq_ignore_ascii_case("DNSKEY"))
        .ok_or_else(|| format!("no DNSKEY in {line:?}"))?;
    let [flags, protocol, alg, key @ ..] = fields.get(at + 1..).unwrap_or(&[]) else {
        return Err(format!("short DNSKEY in {line:?}"));
    };
    let flags: u16 = flags
        .parse()
        .map_err(|e| format!("flags in {line:?}: {e}"))?;
    let protocol: u8 = protocol
        .parse()
        .map_err(|e| format!("protocol in {line:?}: {e}"))?;
    let alg: u8 = alg
        .parse()
        .map_err(|e| format!("algorithm in {line:?}: {e}"))?;
    let mut rdata = flags.to_be_bytes().to_vec();
    rdata.push(protocol);
    rdata.push(alg);
    rdata.extend(base64_decode(&key.concat())?);
    Ok(rdata)
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B; not for algorithm 1).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            u32::from(b)
        } else {
            u32::from(b) << 8
        };
    }
    ac += (ac >> 16) & 0xFFFF;
    (ac & 0xFFFF) as u16
}

/// Keys are made in their own directories, so two keys of one zone with the same tag can't
/// overwrite each other's files.
struct Keygen {
    dir: PathBuf,
    count: usize,
}

impl Keygen {
    fn new(dir: &Path) -> Self {
        Keygen {
            dir: dir.join("keys"),
            count: 0,
        }
    }

    fn key(&mut self, origin: &str, alg: Alg, ksk: bool) -> Result<Key, String> {
        let keygen = find_binary("ldns-keygen").ok_or("ldns-keygen is not installed")?;
        self.count += 1;
        let dir = self.dir.join(self.count.to_string());
        fs::create_dir_all(&dir).map_err(|e| format!("creating {dir:?}: {e}"))?;
        let mut command = Command::new(keygen);
        command
            .current_dir(&dir)
            .args(alg.keygen_args())
            .args(["-r", "/dev/urandom"]);
        if ksk {
            command.arg("-k");
        }
        command.arg(origin);
        let base = run_bounded(&mut command, TOOL_TIMEOUT)?.trim().to_string();
        if base.is_empty() || base.contains('/') {
            return Err(format!("ldns-keygen printed {base:?} as the key name"));
        }
        let mut key = Key {
            base: dir.join(base),
            rdata: Vec::new(),
            tag: 0,
        };
        let key_file = key.key_file();
        let line =
            fs::read_to_string(&key_file).map_err(|e| format!("reading {key_file:?}: {e}"))?;
        key.rdata = dnskey_rdata(&line)?;
        key.tag = key_tag(&key.rdata);
        Ok(key)
    }

    /// A key pair whose tag differs from every one of `avoid`'s (a zone whose fixture needs the
    /// tags of its keys apart).
    fn key_unlike(
        &mut self,
        origin: &str,
        alg: Alg,
        ksk: bool,
        avoid: &[&Key],
    ) -> Result<Key, String> {
        for _ in 0..16 {
            let key = self.key(origin, alg, ksk)?;
            if avoid.iter().all(|other| other.tag != key.tag) {
                return Ok(key);
            }
        }
        Err(format!(
            "16 keys for {origin} in a row shared a tag with another"
        ))
    }
}

/// The DS record (SHA-256) of `key` in zone-file format, from `ldns-key2ds`.
fn ds_of(key: &Key) -> Result<String, String> {
    let key2ds = find_binary("ldns-key2ds").ok_or("ldns-key2ds is not installed")?;
    let out = run_bounded(
        Command::new(key2ds)
            .args(["-n", "-f", "-2"])
            .arg(key.key_file()),
        TOOL_TIMEOUT,
    )?;
    let line = out
        .lines()
        .find(|l| l.contains("\tDS\t") || l.split_whitespace().any(|f| f == "DS"))
        .ok_or_else(|| format!("ldns-key2ds printed no DS:\n{out}"))?;
    Ok(line.trim().to_string())
}

/// The fields of a DS line: `(owner, tag, algorithm, digest type, digest hex)`.
fn ds_fields(line: &str) -> Result<(String, u16, u8, u8, String), String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let at = fields
        .iter()
        .position(|f| *f == "DS")
        .ok_or_else(|| format!("no DS in {line:?}"))?;
    let [tag, alg, digest_type, digest @ ..] = fields.get(at + 1..).unwrap_or(&[]) else {
        return Err(format!("short DS in {line:?}"));
    };
    Ok((
        fields[0].to_string(),
        tag.parse().map_err(|e| format!("{line:?}: {e}"))?,
        alg.parse().map_err(|e| format!("{line:?}: {e}"))?,
        digest_type.parse().map_err(|e| format!("{line:?}: {e}"))?,
        digest.concat(),
    ))
}

fn ds_line(owner: &str, tag: u16, alg: u8, digest_type: u8, digest_hex: &str) -> String {
    format!("{owner}\t3600\tIN\tDS\t{tag} {alg} {digest_type} {digest_hex}")
}

// ---------------------------------------------------------------------------------------------
// Signing and editing signed zones
// ---------------------------------------------------------------------------------------------

/// How `ldns-signzone` signs a zone.
#[derive(Clone, Copy, Debug, Default)]
struct Signing {
    /// `Some((iterations, opt_out))`: NSEC3 without salt; `None`: NSEC.
    nsec3: Option<(u16, bool)>,
    /// Inception and expiration as seconds since the epoch; `None`: now and 4 weeks on.
    validity: Option<(u64, u64)>,
}

/// One record of a zone signed by ldns-signzone, which prints one record per line:
/// `owner<TAB>ttl<TAB>class<TAB>type<TAB>rdata`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rr {
    owner: String,
    ttl: String,
    class: String,
    rtype: String,
    rdata: String,
}

impl Rr {
    fn parse(line: &str) -> Result<Self, String> {
        let mut parts = line.splitn(5, '\t');
        let mut next = || {
            parts
                .next()
                .map(str::trim)
                .ok_or_else(|| format!("not a record line: {line:?}"))
        };
        let owner = next()?.to_ascii_lowercase();
        let ttl = next()?.to_string();
        let class = next()?.to_string();
        let rtype = next()?.to_string();
        // DNSKEY lines end in a comment (`;{id = ...}`); base64 and hex never hold ';'.
        let rdata = next()?.split(';').next().unwrap_or("").trim().to_string();
        Ok(Rr {
            owner,
            ttl,
            class,
            rtype,
            rdata,
        })
    }

    /// For an RRSIG: the type it covers.
    fn covers(&self) -> Option<&str> {
        (self.rtype == "RRSIG")
            .then(|| self.rdata.split_whitespace().next())
            .flatten()
    }

    /// For an RRSIG: the key tag of the key that made it.
    fn signing_tag(&self) -> Option<u16> {
        (self.rtype == "RRSIG")
            .then(|| self.rdata.split_whitespace().nth(6))
            .flatten()
            .and_then(|t| t.parse().ok())
    }

    fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}",
            self.owner, self.ttl, self.class, self.rtype, self.rdata
        )
    }
}

/// A signed zone as records, to be edited after signing (a fixture that no signer would make).
struct SignedZone {
    origin: String,
    rrs: Vec<Rr>,
}

impl SignedZone {
    fn parse(origin: &str, text: &str) -> Result<Self, String> {
        let rrs = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with(';') && !l.starts_with('$'))
            .map(Rr::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignedZone {
            origin: origin.to_string(),
            rrs,
        })
    }

    fn text(&self) -> String {
        let mut text = format!(
            "; {} signed by ldns-signzone (tests/common/signed.rs)\n",
            self.origin
        );
        for rr in &self.rrs {
            text.push_str(&rr.line());
            text.push('\n');
        }
        text
    }

    /// `label` made absolute within the zone (`"www"` → `"www.badsig.test."`, `"@"` → origin).
    fn fqdn(&self, label: &str) -> String {
        if label == "@" {
            self.origin.clone()
        } else {
            format!("{label}.{}", self.origin).to_ascii_lowercase()
        }
    }

    /// Removes every record of `owner`/`rtype`; fails if there was none (a fixture that quietly
    /// does nothing proves nothing).
    fn remove(&mut self, owner: &str, rtype: &str) -> Result<(), String> {
        let owner = self.fqdn(owner);
        let before = self.rrs.len();
        self.rrs
            .retain(|rr| !(rr.owner == owner && rr.rtype == rtype));
        if self.rrs.len() == before {
            return Err(format!("no {owner} {rtype} to remove"));
        }
        Ok(())
    }

    /// Removes the RRSIGs of `owner` that cover `covered`.
    fn remove_rrsigs(&mut self, owner: &str, covered: &str) -> Result<(), String> {
        let owner = self.fqdn(owner);
        let before = self.rrs.len();
        self.rrs
            .retain(|rr| !(rr.owner == owner && rr.covers() == Some(covered)));
        if self.rrs.len() == before {
            return Err(format!("no RRSIG {covered} at {owner} to remove"));
        }
        Ok(())
    }

    /// Flips bytes in the signature field of the RRSIGs of `owner` over `covered` made by a key
    /// whose tag `which` accepts. Returns how many were corrupted (at least one, or an error).
    fn corrupt_rrsigs(
        &mut self,
        owner: &str,
        covered: &str,
        which: impl Fn(u16) -> bool,
    ) -> Result<usize, String> {
        let owner = self.fqdn(owner);
        let mut corrupted = 0;
        for rr in &mut self.rrs {
            if rr.owner != owner || rr.covers() != Some(covered) {
                continue;
            }
            if !rr.signing_tag().is_some_and(&which) {
                continue;
            }
            let fields: Vec<&str> = rr.rdata.split_whitespace().collect();
            // type alg labels ttl expiration inception tag signer signature...
            let (head, signature) = fields.split_at(8.min(fields.len()));
            let mut sig = base64_decode(&signature.concat())?;
            if sig.len() < 8 {
                return Err(format!("RRSIG of {owner} {covered} too short to corrupt"));
            }
            let middle = sig.len() / 2;
            for b in &mut sig[middle..middle + 4] {
                *b ^= 0x5a;
            }
            rr.rdata = format!("{} {}", head.join(" "), base64_encode(&sig));
            corrupted += 1;
        }
        if corrupted == 0 {
            return Err(format!("no RRSIG {covered} at {owner} to corrupt"));
        }
        Ok(corrupted)
    }

    /// Adds an unsigned record (e.g. a delegation NS, which is never signed).
    fn add(&mut self, owner: &str, rtype: &str, rdata: &str) {
        let owner = self.fqdn(owner);
        self.rrs.push(Rr {
            owner,
            ttl: "3600".into(),
            class: "IN".into(),
            rtype: rtype.into(),
            rdata: rdata.into(),
        });
    }
}

/// The unsigned text of a zone: SOA and NS at the apex, then `body` (relative names allowed).
fn zone_text(origin: &str, ns: &str, body: &str) -> String {
    let contact = if origin == "." {
        "hostmaster.".to_string()
    } else {
        format!("hostmaster.{origin}")
    };
    format!(
        "$ORIGIN {origin}\n$TTL 3600\n@ SOA {ns} {contact} 1 3600 900 604800 300\n@ NS {ns}\n{body}\n"
    )
}

/// Writes `text` as the unsigned zone of `origin` and signs it with `keys`.
fn sign(
    dir: &Path,
    origin: &str,
    text: &str,
    keys: &[&Key],
    how: Signing,
) -> Result<SignedZone, String> {
    let signzone = find_binary("ldns-signzone").ok_or("ldns-signzone is not installed")?;
    let unsigned_dir = dir.join("unsigned");
    fs::create_dir_all(&unsigned_dir).map_err(|e| format!("creating {unsigned_dir:?}: {e}"))?;
    let stem = if origin == "." { "root." } else { origin };
    let unsigned = unsigned_dir.join(format!("{stem}zone"));
    let signed = unsigned_dir.join(format!("{stem}signed"));
    fs::write(&unsigned, text).map_err(|e| format!("writing {unsigned:?}: {e}"))?;

    let mut command = Command::new(signzone);
    command.arg("-o").arg(origin).arg("-f").arg(&signed);
    if let Some((iterations, opt_out)) = how.nsec3 {
        command.args(["-n", "-t", &iterations.to_string()]);
        if opt_out {
            command.arg("-p");
        }
    }
    if let Some((inception, expiration)) = how.validity {
        command
            .args(["-i", &inception.to_string()])
            .args(["-e", &expiration.to_string()]);
    }
    command.arg(&unsigned);
    for key in keys {
        command.arg(&key.base);
    }
    run_bounded(&mut command, TOOL_TIMEOUT)?;
    let text = fs::read_to_string(&signed).map_err(|e| format!("reading {signed:?}: {e}"))?;
    SignedZone::parse(origin, &text)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

const DAY: u64 = 86_400;

// ---------------------------------------------------------------------------------------------
// Junk for the KeyTrap fixtures
// ---------------------------------------------------------------------------------------------

/// An RSA DNSKEY RDATA with the same key tag as `real` (and the same flags, protocol and
/// algorithm) but another modulus, sorting before `real` in canonical order: `step` is subtracted
/// from an early modulus byte and added to a later one at the same parity, which leaves the
/// RFC 4034 App. B checksum, the key tag, as it was. Signature checks with it fail.
fn junk_rsa_dnskey(real: &[u8], step: u8) -> Result<Vec<u8>, String> {
    // flags(2) protocol(1) algorithm(1), then RFC 3110: exponent length (1 byte, or 0 and 2
    // more), exponent, modulus.
    let exp_len_at = 4;
    let exp_len = usize::from(*real.get(exp_len_at).ok_or("DNSKEY too short")?);
    if exp_len == 0 {
        return Err("three-byte RSA exponent lengths are not handled".into());
    }
    let modulus = exp_len_at + 1 + exp_len;
    let mut junk = real.to_vec();
    // The first modulus byte keeps its top bit (the key's size), later ones may go to zero.
    let lower = (modulus..junk.len())
        .find(|&i| {
            let b = junk[i];
            if i == modulus {
                b >= 0x80 + step
            } else {
                b >= step
            }
        })
        .ok_or("no modulus byte to lower")?;
    let raise = (lower + 2..junk.len() - 1)
        .step_by(2)
        .find(|&i| junk[i] <= 0xFF - step)
        .ok_or("no modulus byte to raise")?;
    junk[lower] -= step;
    junk[raise] += step;
    if key_tag(&junk) != key_tag(real) || junk.as_slice() >= real {
        return Err("junk DNSKEY does not share the tag or does not sort first".into());
    }
    Ok(junk)
}

/// The zone-file presentation of a DNSKEY RDATA.
fn dnskey_presentation(rdata: &[u8]) -> String {
    let flags = u16::from_be_bytes([rdata[0], rdata[1]]);
    format!(
        "{flags} {} {} {}",
        rdata[2],
        rdata[3],
        base64_encode(&rdata[4..])
    )
}

/// `hex` (a DS digest) as a big-endian number minus `n`.
fn hex_minus(hex: &str, n: u8) -> Result<String, String> {
    let mut bytes = hex_decode(hex)?;
    let mut borrow = u16::from(n);
    for b in bytes.iter_mut().rev() {
        if borrow == 0 {
            break;
        }
        let v = i32::from(*b) - i32::from(borrow);
        if v < 0 {
            *b = (v + 256) as u8;
            borrow = 1;
        } else {
            *b = v as u8;
            borrow = 0;
        }
    }
    if borrow != 0 {
        return Err(format!("digest {hex} is smaller than {n}"));
    }
    Ok(hex_encode(&bytes))
}

// ---------------------------------------------------------------------------------------------
// The hierarchy
// ---------------------------------------------------------------------------------------------

/// A zone delegated from `test.` to `ns1.nic.test.`, as `test.` sees it: the label, and the DS
/// records `test.` publishes (none: an insecure delegation).
struct Delegation {
    label: String,
    ds: Vec<String>,
}

const NS1: &str = "ns1.nic.test.";
const NS2: &str = "ns2.nic.test.";

fn no_edit(_: &mut SignedZone) -> Result<(), String> {
    Ok(())
}

/// The zones delegated from `test.`, as they are made: their files and their delegations.
struct Leaves<'a> {
    dir: &'a Path,
    files: Vec<(String, PathBuf)>,
    delegations: Vec<Delegation>,
}

impl Leaves<'_> {
    /// Signs `origin` (`body` under the usual SOA and NS) with `keys`, applies `edit`, writes it,
    /// and records its delegation with DS records of `ds_keys`.
    fn signed(
        &mut self,
        origin: &str,
        body: &str,
        keys: &[&Key],
        ds_keys: &[&Key],
        how: Signing,
        edit: &dyn Fn(&mut SignedZone) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut zone = sign(self.dir, origin, &zone_text(origin, NS1, body), keys, how)?;
        edit(&mut zone)?;
        let path = zone_path(self.dir, origin);
        fs::write(&path, zone.text()).map_err(|e| format!("writing {path:?}: {e}"))?;
        self.files.push((origin.to_string(), path));
        let ds = ds_keys
            .iter()
            .map(|k| ds_of(k))
            .collect::<Result<Vec<_>, _>>()?;
        self.delegate(origin, ds);
        Ok(())
    }

    /// Writes the unsigned zone `text` of `origin` and records its delegation with `ds`.
    fn unsigned(&mut self, origin: &str, text: &str, ds: Vec<String>) -> Result<(), String> {
        let path = zone_path(self.dir, origin);
        fs::write(&path, text).map_err(|e| format!("writing {path:?}: {e}"))?;
        self.files.push((origin.to_string(), path));
        self.delegate(origin, ds);
        Ok(())
    }

    fn delegate(&mut self, origin: &str, ds: Vec<String>) {
        self.delegations.push(Delegation {
            label: origin.trim_end_matches(".test.").to_string(),
            ds,
        });
    }

    /// Replaces the DS records of the zone delegated last (a parent-side fixture).
    fn set_last_ds(&mut self, ds: Vec<String>) {
        if let Some(d) = self.delegations.last_mut() {
            d.ds = ds;
        }
    }
}

/// Generates every key, signs every zone bottom-up and writes the files NSD and the resolvers
/// read.
fn build(dir: &Path, block: u8) -> Result<Built, String> {
    let zones_dir = dir.join("zones");
    fs::create_dir_all(&zones_dir).map_err(|e| format!("creating {zones_dir:?}: {e}"))?;
    let mut keys = Keygen::new(dir);
    let write = |zone: &SignedZone| -> Result<(String, PathBuf), String> {
        let path = zone_path(dir, &zone.origin);
        fs::write(&path, zone.text()).map_err(|e| format!("writing {path:?}: {e}"))?;
        Ok((zone.origin.clone(), path))
    };
    let write_unsigned = |origin: &str, text: &str| -> Result<(String, PathBuf), String> {
        let path = zone_path(dir, origin);
        fs::write(&path, text).map_err(|e| format!("writing {path:?}: {e}"))?;
        Ok((origin.to_string(), path))
    };
    let t = now();

    // --- grandchildren, on 127.B.3.1 ------------------------------------------------------
    let mut grand = Vec::new();
    grand.push(write_unsigned(
        "unsigned.optout.test.",
        &zone_text("unsigned.optout.test.", NS2, "www A 192.0.2.60"),
    )?);

    let l3 = keys.key("l3.l2.deep.test.", RSA, true)?;
    let l3_zone = sign(
        dir,
        "l3.l2.deep.test.",
        &zone_text("l3.l2.deep.test.", NS2, "www A 192.0.2.73"),
        &[&l3],
        Signing::default(),
    )?;
    grand.push(write(&l3_zone)?);
    let l2 = keys.key("l2.deep.test.", ECDSA, true)?;
    let l2_zone = sign(
        dir,
        "l2.deep.test.",
        &zone_text(
            "l2.deep.test.",
            NS2,
            &format!("www A 192.0.2.72\nl3 NS {NS2}\n{}", ds_of(&l3)?),
        ),
        &[&l2],
        Signing::default(),
    )?;
    grand.push(write(&l2_zone)?);

    // --- leaves, on 127.B.2.1, delegated from test. ---------------------------------------
    let mut leaves = Leaves {
        dir,
        files: Vec::new(),
        delegations: Vec::new(),
    };

    // secure.test.: everything a secure zone answers.
    let ksk = keys.key("secure.test.", RSA, true)?;
    let zsk = keys.key_unlike("secure.test.", RSA, false, &[&ksk])?;
    leaves.signed(
        "secure.test.",
        "www A 192.0.2.1
www AAAA 2001:db8::1
@ MX 10 mail
mail A 192.0.2.25
cname1 CNAME cname2
cname2 CNAME www
*.wild A 192.0.2.99
dn DNAME dtarget.secure.test.
www.dtarget A 192.0.2.20
to-insecure CNAME www.insecure.test.
to-bogus CNAME www.badsig.test.",
        &[&ksk, &zsk],
        &[&ksk],
        Signing::default(),
        &no_edit,
    )?;

    let csk = keys.key("ecdsa.test.", ECDSA, true)?;
    leaves.signed(
        "ecdsa.test.",
        "www A 192.0.2.2",
        &[&csk],
        &[&csk],
        Signing::default(),
        &no_edit,
    )?;

    let ksk = keys.key("ed25519.test.", ED25519, true)?;
    let zsk = keys.key_unlike("ed25519.test.", ED25519, false, &[&ksk])?;
    leaves.signed(
        "ed25519.test.",
        "www A 192.0.2.3",
        &[&ksk, &zsk],
        &[&ksk],
        Signing::default(),
        &no_edit,
    )?;

    let csk = keys.key("nsec.test.", ED25519, true)?;
    leaves.signed(
        "nsec.test.",
        "a A 192.0.2.4\nm A 192.0.2.5\nz A 192.0.2.6",
        &[&csk],
        &[&csk],
        Signing::default(),
        &no_edit,
    )?;

    let ksk = keys.key("nsec3.test.", ECDSA, true)?;
    let zsk = keys.key_unlike("nsec3.test.", ECDSA, false, &[&ksk])?;
    leaves.signed(
        "nsec3.test.",
        "www A 192.0.2.7",
        &[&ksk, &zsk],
        &[&ksk],
        Signing {
            nsec3: Some((0, false)),
            ..Signing::default()
        },
        &no_edit,
    )?;

    // optout.test.: the delegation is added after signing, so no NSEC3 names it and the proof
    // that it has no DS is an opt-out NSEC3 covering it (RFC 5155 §6, §8.6).
    let csk = keys.key("optout.test.", ECDSA, true)?;
    leaves.signed(
        "optout.test.",
        "www A 192.0.2.8",
        &[&csk],
        &[&csk],
        Signing {
            nsec3: Some((0, true)),
            ..Signing::default()
        },
        &|zone: &mut SignedZone| {
            zone.add("unsigned", "NS", NS2);
            Ok(())
        },
    )?;

    let csk = keys.key("nsec3iter.test.", ECDSA, true)?;
    leaves.signed(
        "nsec3iter.test.",
        "www A 192.0.2.9",
        &[&csk],
        &[&csk],
        Signing {
            nsec3: Some((200, false)),
            ..Signing::default()
        },
        &no_edit,
    )?;

    // insecure.test.: unsigned, and test. proves it has no DS.
    leaves.unsigned(
        "insecure.test.",
        &zone_text("insecure.test.", NS1, "www A 192.0.2.10"),
        vec![],
    )?;

    // unknown-alg.test.: a DNSKEY of an unassigned algorithm, and the parent's DS of it.
    let junk_key = format!(
        "unknown-alg.test.\t3600\tIN\tDNSKEY\t257 3 {UNKNOWN_ALGORITHM} {}",
        base64_encode(&[0x42; 64])
    );
    let junk_dir = dir.join("keys").join("unknown-alg");
    fs::create_dir_all(&junk_dir).map_err(|e| format!("creating {junk_dir:?}: {e}"))?;
    let rdata = dnskey_rdata(&junk_key)?;
    let junk = Key {
        base: junk_dir.join("Kunknown-alg.test."),
        tag: key_tag(&rdata),
        rdata,
    };
    let junk_file = junk.key_file();
    fs::write(&junk_file, format!("{junk_key}\n"))
        .map_err(|e| format!("writing {junk_file:?}: {e}"))?;
    let ds = ds_of(&junk)?;
    if ds_fields(&ds)?.2 != UNKNOWN_ALGORITHM {
        return Err(format!(
            "ldns-key2ds made {ds:?} for an algorithm-{UNKNOWN_ALGORITHM} key"
        ));
    }
    leaves.unsigned(
        "unknown-alg.test.",
        &zone_text(
            "unknown-alg.test.",
            NS1,
            &format!("{junk_key}\nwww A 192.0.2.11"),
        ),
        vec![ds],
    )?;

    // unknown-digest.test.: signed, but the parent's only DS has an unassigned digest type.
    let csk = keys.key("unknown-digest.test.", ECDSA, true)?;
    leaves.signed(
        "unknown-digest.test.",
        "www A 192.0.2.12",
        &[&csk],
        &[],
        Signing::default(),
        &no_edit,
    )?;
    let (owner, tag, alg, _, digest) = ds_fields(&ds_of(&csk)?)?;
    leaves.set_last_ds(vec![ds_line(&owner, tag, alg, UNKNOWN_DIGEST, &digest)]);

    let csk = keys.key("ed448.test.", Alg::Ed448, true)?;
    leaves.signed(
        "ed448.test.",
        "www A 192.0.2.13",
        &[&csk],
        &[&csk],
        Signing::default(),
        &no_edit,
    )?;

    // --- bogus leaves ---
    let csk = keys.key("badsig.test.", ECDSA, true)?;
    leaves.signed(
        "badsig.test.",
        "www A 192.0.2.20",
        &[&csk],
        &[&csk],
        Signing::default(),
        &|zone: &mut SignedZone| zone.corrupt_rrsigs("www", "A", |_| true).map(drop),
    )?;

    let csk = keys.key("expired.test.", ECDSA, true)?;
    leaves.signed(
        "expired.test.",
        "www A 192.0.2.21",
        &[&csk],
        &[&csk],
        Signing {
            validity: Some((t - 30 * DAY, t - 7 * DAY)),
            ..Signing::default()
        },
        &no_edit,
    )?;

    let csk = keys.key("future.test.", ECDSA, true)?;
    leaves.signed(
        "future.test.",
        "www A 192.0.2.22",
        &[&csk],
        &[&csk],
        Signing {
            validity: Some((t + 7 * DAY, t + 30 * DAY)),
            ..Signing::default()
        },
        &no_edit,
    )?;

    let csk = keys.key("wrongds.test.", ECDSA, true)?;
    let other = keys.key_unlike("wrongds.test.", ECDSA, true, &[&csk])?;
    leaves.signed(
        "wrongds.test.",
        "www A 192.0.2.23",
        &[&csk],
        &[&other],
        Signing::default(),
        &no_edit,
    )?;

    let csk = keys.key("nosig.test.", ECDSA, true)?;
    leaves.signed(
        "nosig.test.",
        "www A 192.0.2.24",
        &[&csk],
        &[&csk],
        Signing::default(),
        &|zone: &mut SignedZone| zone.remove_rrsigs("www", "A"),
    )?;

    let csk = keys.key("nodnskey.test.", ECDSA, true)?;
    leaves.signed(
        "nodnskey.test.",
        "www A 192.0.2.25",
        &[&csk],
        &[&csk],
        Signing::default(),
        &|zone: &mut SignedZone| {
            zone.remove("@", "DNSKEY")?;
            zone.remove_rrsigs("@", "DNSKEY")
        },
    )?;

    // zsksigned.test.: the KSK's DNSKEY is in the zone, but only the ZSK signs (the DNSKEY
    // RRset too), so nothing the DS names vouches for the keys.
    let ksk = keys.key("zsksigned.test.", ECDSA, true)?;
    let zsk = keys.key_unlike("zsksigned.test.", ECDSA, false, &[&ksk])?;
    let ksk_line =
        fs::read_to_string(ksk.key_file()).map_err(|e| format!("reading the KSK: {e}"))?;
    leaves.signed(
        "zsksigned.test.",
        &format!("{}\nwww A 192.0.2.26", ksk_line.trim()),
        &[&zsk],
        &[&ksk],
        Signing::default(),
        &|zone: &mut SignedZone| {
            let signers: Vec<u16> = zone
                .rrs
                .iter()
                .filter(|rr| rr.covers() == Some("DNSKEY"))
                .filter_map(Rr::signing_tag)
                .collect();
            if signers != [zsk.tag] {
                return Err(format!(
                    "zsksigned.test. DNSKEY signed by {signers:?}, not the ZSK only"
                ));
            }
            Ok(())
        },
    )?;

    let csk = keys.key("badnsec.test.", ECDSA, true)?;
    leaves.signed(
        "badnsec.test.",
        "a A 192.0.2.27\nc A 192.0.2.28\ne A 192.0.2.29",
        &[&csk],
        &[&csk],
        Signing::default(),
        &|zone: &mut SignedZone| {
            zone.remove("a", "NSEC")?;
            zone.remove_rrsigs("a", "NSEC")
        },
    )?;

    // --- KeyTrap fixtures ---
    // (a) three ZSKs sign everything; at www A the two signatures of the lowest tags are
    // corrupted. NSD serves RRSIGs that differ only in key tag in ascending tag order.
    let ksk = keys.key("rrsigs.test.", ECDSA, true)?;
    let z1 = keys.key_unlike("rrsigs.test.", ECDSA, false, &[&ksk])?;
    let z2 = keys.key_unlike("rrsigs.test.", ECDSA, false, &[&ksk, &z1])?;
    let z3 = keys.key_unlike("rrsigs.test.", ECDSA, false, &[&ksk, &z1, &z2])?;
    let good = z1.tag.max(z2.tag).max(z3.tag);
    leaves.signed(
        "rrsigs.test.",
        "www A 192.0.2.30",
        &[&ksk, &z1, &z2, &z3],
        &[&ksk],
        Signing::default(),
        &|zone: &mut SignedZone| {
            let n = zone.corrupt_rrsigs("www", "A", |tag| tag != good)?;
            if n != 2 {
                return Err(format!(
                    "rrsigs.test.: corrupted {n} RRSIGs of www A, not 2"
                ));
            }
            Ok(())
        },
    )?;

    // (b) two junk DNSKEYs with the ZSK's tag and algorithm, sorting (and so served) first.
    // The real keys are written into the zone too: ldns-signzone adds a key's DNSKEY only if
    // none with its tag is there already, and the junk has that tag.
    let ksk = keys.key("keytag.test.", RSA, true)?;
    let zsk = keys.key_unlike("keytag.test.", RSA, false, &[&ksk])?;
    let mut junk_keys = String::new();
    for key in [&ksk, &zsk] {
        let _ = writeln!(junk_keys, "@ DNSKEY {}", dnskey_presentation(&key.rdata));
    }
    for step in [1, 2] {
        let junk = junk_rsa_dnskey(&zsk.rdata, step)?;
        let _ = writeln!(junk_keys, "@ DNSKEY {}", dnskey_presentation(&junk));
    }
    leaves.signed(
        "keytag.test.",
        &format!("{junk_keys}www A 192.0.2.31"),
        &[&ksk, &zsk],
        &[&ksk],
        Signing::default(),
        &no_edit,
    )?;

    // (c) 8 junk DS (same tag, algorithm and digest type, digests just below the real one, so
    // served first) and the real one.
    let csk = keys.key("manyds.test.", ECDSA, true)?;
    leaves.signed(
        "manyds.test.",
        "www A 192.0.2.32",
        &[&csk],
        &[],
        Signing::default(),
        &no_edit,
    )?;
    let real = ds_of(&csk)?;
    let (owner, tag, alg, digest_type, digest) = ds_fields(&real)?;
    let mut many = Vec::new();
    for n in (1..=8).rev() {
        many.push(ds_line(
            &owner,
            tag,
            alg,
            digest_type,
            &hex_minus(&digest, n)?,
        ));
    }
    many.push(real);
    leaves.set_last_ds(many);

    // (e) deep.test. → l2.deep.test. → l3.l2.deep.test.
    let csk = keys.key("deep.test.", ED25519, true)?;
    leaves.signed(
        "deep.test.",
        &format!("www A 192.0.2.71\nl2 NS {NS2}\n{}", ds_of(&l2)?),
        &[&csk],
        &[&csk],
        Signing::default(),
        &no_edit,
    )?;

    // --- test., on 127.B.1.1 ---------------------------------------------------------------
    let mut body = format!(
        "a.root-servers A {root}\nns.nic A {tld}\nns1.nic A {leaf}\nns2.nic A {grand}\n",
        root = net(block, 0, 1),
        tld = net(block, 1, 1),
        leaf = net(block, 2, 1),
        grand = net(block, 3, 1),
    );
    for d in &leaves.delegations {
        let _ = writeln!(body, "{} NS {NS1}", d.label);
        for ds in &d.ds {
            let _ = writeln!(body, "{ds}");
        }
    }
    let ksk = keys.key("test.", ECDSA, true)?;
    let zsk = keys.key_unlike("test.", ECDSA, false, &[&ksk])?;
    let tld_zone = sign(
        dir,
        "test.",
        &zone_text("test.", "ns.nic.test.", &body),
        &[&ksk, &zsk],
        Signing::default(),
    )?;
    let tld = vec![write(&tld_zone)?];
    let test_ds = ds_of(&ksk)?;

    // --- the root, on 127.B.0.1 ------------------------------------------------------------
    let root_body = format!(
        "a.root-servers.test. A {root}\ntest. NS ns.nic.test.\nns.nic.test. A {tld}\n{test_ds}",
        root = net(block, 0, 1),
        tld = net(block, 1, 1),
    );
    let ksk = keys.key(".", RSA, true)?;
    let zsk = keys.key_unlike(".", RSA, false, &[&ksk])?;
    let root_zone = sign(
        dir,
        ".",
        &zone_text(".", "a.root-servers.test.", &root_body),
        &[&ksk, &zsk],
        Signing::default(),
    )?;
    let root = vec![write(&root_zone)?];

    let root_hints = dir.join("root.hints");
    fs::write(
        &root_hints,
        format!(
            "; Root hints for the signed test hierarchy (tests/common/signed.rs).\n\
             .                     3600000  NS  a.root-servers.test.\n\
             a.root-servers.test.  3600000  A   {}\n",
            net(block, 0, 1)
        ),
    )
    .map_err(|e| format!("writing {root_hints:?}: {e}"))?;
    let trust_anchor = dir.join("root-anchor.ds");
    fs::write(
        &trust_anchor,
        format!("; The fake root's KSK as a DS record.\n{}\n", ds_of(&ksk)?),
    )
    .map_err(|e| format!("writing {trust_anchor:?}: {e}"))?;
    let dnskey_trust_anchor = dir.join("root-anchor.dnskey");
    fs::write(
        &dnskey_trust_anchor,
        format!(
            "; The fake root's KSK as a DNSKEY record.\n.\t3600\tIN\tDNSKEY\t{}\n",
            dnskey_presentation(&ksk.rdata)
        ),
    )
    .map_err(|e| format!("writing {dnskey_trust_anchor:?}: {e}"))?;

    Ok(Built {
        root,
        tld,
        leaves: leaves.files,
        grand,
        root_hints,
        trust_anchor,
        dnskey_trust_anchor,
    })
}

// ---------------------------------------------------------------------------------------------
// base64 (RFC 4648) and hex, which the test crate has no dependency for
// ---------------------------------------------------------------------------------------------

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        if c == b'=' || c.is_ascii_whitespace() {
            continue;
        }
        let v = B64
            .iter()
            .position(|&x| x == c)
            .ok_or_else(|| format!("not base64: {text:?}"))? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn hex_decode(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {hex:?}"));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| format!("hex {hex:?}: {e}")))
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
