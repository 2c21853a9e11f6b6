//! An in-process authoritative DNS server for tests, answering from zone-file text.
//!
//! Answers follow RFC 1034 §4.3.2 the way NSD does: referrals at zone cuts, CNAME and
//! DNAME (RFC 6672) chasing inside the zone, wildcard synthesis (RFC 4592) and RFC 2308
//! negative answers with the SOA in the authority section. Each server listens on UDP and
//! TCP port 53 of its own loopback address, logs every query it receives, and can be told
//! to misbehave at runtime (see [`Behaviour`]) so resolver robustness can be tested. DNS
//! cookies (RFC 7873) are ignored unless switched on with [`AuthorityServer::set_cookies`].
//!
//! Additional-section processing is deliberately limited to glue in referrals: real
//! servers differ here and a resolver must not depend on it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::{ANAME, CNAME, NS, NULL};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use hickory_proto::serialize::txt::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

/// EDNS payload size the server advertises (the DNS Flag Day 2020 recommendation).
pub const SERVER_EDNS_PAYLOAD: u16 = 1232;

/// Longest CNAME/DNAME chain followed inside one zone; also stops alias loops.
const MAX_ALIAS_CHAIN: usize = 8;

/// Parses `s` as an absolute domain name; a trailing dot is optional.
///
/// Panics on malformed names: it is meant for test data, never for network input.
pub fn fqdn(s: &str) -> Name {
    let mut name = Name::from_ascii(s).unwrap_or_else(|e| panic!("bad domain name {s:?}: {e}"));
    name.set_fqdn(true);
    name
}

/// Number of labels in `name`, counting a leading `*` (unlike `Name::num_labels`).
fn label_count(name: &Name) -> usize {
    name.iter().len()
}

// ---------------------------------------------------------------------------------------
// DNAME support
// ---------------------------------------------------------------------------------------

/// Builds DNAME rdata. hickory-proto 0.26 has no DNAME type: it round-trips as
/// `RData::Unknown`, whose bytes are the uncompressed target name (as RFC 6672 requires).
pub fn dname_rdata(target: &Name) -> RData {
    let wire = target
        .to_bytes()
        .unwrap_or_else(|e| panic!("cannot encode DNAME target {target}: {e}"));
    RData::Unknown {
        code: RecordType::DNAME,
        rdata: NULL::with(wire),
    }
}

/// The target of DNAME rdata, as produced by [`dname_rdata`] or decoded off the wire.
pub fn dname_target(rdata: &RData) -> Option<Name> {
    match rdata {
        RData::Unknown {
            code: RecordType::DNAME,
            rdata,
        } => Name::from_bytes(&rdata.anything).ok(),
        _ => None,
    }
}

/// hickory's zone parser rejects DNAME but parses ANAME, a never-standardised draft type
/// with the same presentation format (one domain name). Renaming the type token lets the
/// parser resolve owner, TTL, class and relative names for us; [`Zone::parse`] turns the
/// ANAME records back into DNAME. Consequently test zones cannot contain real ANAMEs.
fn dname_as_aname(text: &str) -> String {
    let mut paren_depth = 0i32;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let scan = scan_line(line);
        // Inside parentheses a line continues the previous record's rdata.
        if paren_depth == 0 {
            out.push_str(&rename_dname_type(line, &scan.words));
        } else {
            out.push_str(line);
        }
        out.push('\n');
        paren_depth = (paren_depth + scan.paren_delta).max(0);
    }
    out
}

/// Whitespace-separated words of one zone-file line (quoted strings kept whole, comments
/// dropped) as byte ranges, plus the net change in parenthesis nesting.
struct LineScan {
    words: Vec<(usize, usize)>,
    paren_delta: i32,
}

fn scan_line(line: &str) -> LineScan {
    let bytes = line.as_bytes();
    let mut scan = LineScan {
        words: Vec::new(),
        paren_delta: 0,
    };
    let mut start: Option<usize> = None;
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_quotes {
            match c {
                b'\\' => i += 1,
                b'"' => in_quotes = false,
                _ => {}
            }
        } else {
            match c {
                b';' => break,
                b'\\' => {
                    start.get_or_insert(i);
                    i += 1;
                }
                b'"' => {
                    start.get_or_insert(i);
                    in_quotes = true;
                }
                b'(' | b')' | b' ' | b'\t' | b'\r' => {
                    if let Some(s) = start.take() {
                        scan.words.push((s, i));
                    }
                    scan.paren_delta += match c {
                        b'(' => 1,
                        b')' => -1,
                        _ => 0,
                    };
                }
                _ => {
                    start.get_or_insert(i);
                }
            }
        }
        i += 1;
    }
    if let Some(s) = start {
        scan.words.push((s, i.min(bytes.len())));
    }
    scan
}

/// Replaces the record-type word with ANAME if it is DNAME. The type follows the
/// optional owner (present unless the line starts with blank space) and any TTL/class.
fn rename_dname_type(line: &str, words: &[(usize, usize)]) -> String {
    if line.starts_with('$') {
        return line.to_owned();
    }
    let owner_present = !line.starts_with([' ', '\t']);
    let word = |&(s, e): &(usize, usize)| &line[s..e];
    let is_ttl_or_class = |w: &str| {
        w.starts_with(|c: char| c.is_ascii_digit())
            || ["IN", "CH", "HS", "CS"]
                .iter()
                .any(|c| w.eq_ignore_ascii_case(c))
    };
    let type_word = words
        .iter()
        .skip(usize::from(owner_present))
        .find(|w| !is_ttl_or_class(word(w)));
    match type_word {
        Some(&(s, e)) if line[s..e].eq_ignore_ascii_case("DNAME") => {
            format!("{}ANAME{}", &line[..s], &line[e..])
        }
        _ => line.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// Zones and the lookup algorithm
// ---------------------------------------------------------------------------------------

/// One authoritative zone, parsed from zone-file text.
#[derive(Clone, Debug)]
pub struct Zone {
    origin: Name,
    /// RRsets by owner and type. `Name`'s `Eq`/`Hash` ignore case, as DNS requires.
    nodes: HashMap<Name, BTreeMap<RecordType, Vec<Record>>>,
    /// Every owner name and all its ancestors up to the apex, so that empty
    /// non-terminals exist (NODATA, not NXDOMAIN) and wildcards find their closest encloser.
    existing: HashSet<Name>,
}

/// The outcome of one pass of RFC 1034 §4.3.2 step 3 for a single name.
enum Lookup {
    /// The name is at or below a zone cut at `cut`.
    Referral {
        cut: Name,
    },
    /// RRsets matching the question (owners rewritten for wildcard matches).
    Answer(Vec<Record>),
    /// CNAME, or DNAME plus synthesized CNAME: add `records` and continue at `target`.
    Alias {
        records: Vec<Record>,
        target: Name,
    },
    NoData,
    NxDomain,
    /// DNAME substitution overflowed 255 octets (RFC 6672 §2.2); carries the DNAME.
    YxDomain(Record),
}

/// A zone's contribution to a response.
struct ZoneAnswer {
    rcode: ResponseCode,
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    additionals: Vec<Record>,
}

impl Zone {
    /// Parses zone-file text (with `$TTL`, relative names, `@`, parentheses...) for the
    /// zone `origin`. Panics with a descriptive message on bad test data: unparsable
    /// text, a missing SOA at the apex, or records outside the zone.
    pub fn parse(origin: &str, zone_file_text: &str) -> Zone {
        let origin = fqdn(origin);
        let text = dname_as_aname(zone_file_text);
        let (_, rrsets) = Parser::new(text, None, Some(origin.clone()))
            .parse()
            .unwrap_or_else(|e| panic!("zone {origin}: cannot parse zone file: {e}"));
        let mut zone = Zone {
            origin,
            nodes: HashMap::new(),
            existing: HashSet::new(),
        };
        for rrset in rrsets.into_values() {
            for record in rrset.records_without_rrsigs() {
                zone.insert(record.clone());
            }
        }
        if zone.soa().is_none() {
            panic!("zone {}: no SOA record at the apex", zone.origin);
        }
        zone
    }

    fn insert(&mut self, record: Record) {
        let record = aname_to_dname(record);
        if !self.origin.zone_of(&record.name) {
            panic!(
                "zone {}: record {} is outside the zone",
                self.origin, record.name
            );
        }
        for depth in label_count(&self.origin)..=label_count(&record.name) {
            self.existing.insert(record.name.trim_to(depth));
        }
        self.nodes
            .entry(record.name.clone())
            .or_default()
            .entry(record.record_type())
            .or_default()
            .push(record);
    }

    /// Adds an RRSIG over the `covered` RRset at `owner` (hickory's zone parser reads no RRSIGs
    /// without its DNSSEC feature). The signature bytes are filler: nothing here validates, the
    /// record only has to travel the way a real one does. Served with the RRset to DO=1 queries.
    pub fn with_rrsig(mut self, owner: &str, covered: RecordType) -> Zone {
        let owner = fqdn(owner);
        let mut rdata = Vec::new();
        rdata.extend_from_slice(&u16::from(covered).to_be_bytes());
        rdata.push(13); // algorithm: ECDSAP256SHA256
        rdata.push(u8::try_from(label_count(&owner)).unwrap_or(u8::MAX));
        rdata.extend_from_slice(&3600u32.to_be_bytes()); // original TTL
        rdata.extend_from_slice(&u32::MAX.to_be_bytes()); // expiration
        rdata.extend_from_slice(&0u32.to_be_bytes()); // inception
        rdata.extend_from_slice(&12345u16.to_be_bytes()); // key tag
        rdata.extend_from_slice(&self.origin.to_bytes().unwrap_or_default()); // signer
        rdata.extend_from_slice(&[0x5a; 64]); // signature
        let record = Record::from_rdata(
            owner,
            3600,
            RData::Unknown {
                code: RecordType::RRSIG,
                rdata: NULL::with(rdata),
            },
        );
        self.insert(record);
        self
    }

    /// The RRSIGs this zone holds over the RRsets in `records`.
    fn rrsigs_over(&self, records: &[Record]) -> Vec<Record> {
        let mut sets: Vec<(&Name, RecordType)> = records
            .iter()
            .filter(|r| r.record_type() != RecordType::RRSIG)
            .map(|r| (&r.name, r.record_type()))
            .collect();
        sets.dedup();
        sets.into_iter()
            .flat_map(|(name, rtype)| {
                self.rrset(name, RecordType::RRSIG)
                    .iter()
                    .filter(move |sig| match &sig.data {
                        RData::Unknown { rdata, .. } => {
                            rdata.anything.get(..2) == Some(&u16::from(rtype).to_be_bytes()[..])
                        }
                        _ => false,
                    })
                    .cloned()
            })
            .collect()
    }

    /// The zone apex.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The records of one RRset, ignoring zone cuts (so glue is visible); empty if absent.
    pub fn rrset(&self, name: &Name, rtype: RecordType) -> &[Record] {
        self.nodes
            .get(name)
            .and_then(|types| types.get(&rtype))
            .map_or(&[], Vec::as_slice)
    }

    fn soa(&self) -> Option<&Record> {
        self.rrset(&self.origin, RecordType::SOA).first()
    }

    /// The SOA for a negative answer, its TTL capped by MINIMUM (RFC 2308 §3).
    fn negative_soa(&self) -> Vec<Record> {
        let Some(soa) = self.soa() else {
            return Vec::new();
        };
        let mut soa = soa.clone();
        if let RData::SOA(data) = &soa.data {
            soa.ttl = soa.ttl.min(data.minimum);
        }
        vec![soa]
    }

    /// In-zone A/AAAA records for the targets of `ns_records`.
    fn glue_for(&self, ns_records: &[Record]) -> Vec<Record> {
        let mut glue = Vec::new();
        for ns in ns_records {
            let RData::NS(target) = &ns.data else {
                continue;
            };
            if !self.origin.zone_of(&target.0) {
                continue;
            }
            for rtype in [RecordType::A, RecordType::AAAA] {
                glue.extend_from_slice(self.rrset(&target.0, rtype));
            }
        }
        glue
    }

    /// Builds this zone's response to `qname`/`qtype`, following aliases while they
    /// stay inside the zone.
    fn answer(&self, qname: &Name, qtype: RecordType) -> ZoneAnswer {
        let mut out = ZoneAnswer {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        };
        let mut name = qname.clone();
        let mut visited = vec![name.clone()];
        for _ in 0..MAX_ALIAS_CHAIN {
            match self.lookup(&name, qtype) {
                Lookup::Answer(records) => {
                    out.answers.extend(records);
                    return out;
                }
                Lookup::Alias { records, target } => {
                    out.answers.extend(records);
                    if !self.origin.zone_of(&target) || visited.contains(&target) {
                        return out;
                    }
                    visited.push(target.clone());
                    name = target;
                }
                Lookup::Referral { cut } => {
                    // AA covers the first owner in the answer: a referral reached
                    // through an in-zone alias is still an authoritative answer.
                    out.authoritative = !out.answers.is_empty();
                    out.authorities = self.rrset(&cut, RecordType::NS).to_vec();
                    out.additionals = self.glue_for(&out.authorities);
                    return out;
                }
                Lookup::NoData => {
                    out.authorities = self.negative_soa();
                    return out;
                }
                Lookup::NxDomain => {
                    // RFC 6604: the RCODE describes the last name in the chain.
                    out.rcode = ResponseCode::NXDomain;
                    out.authorities = self.negative_soa();
                    return out;
                }
                Lookup::YxDomain(dname) => {
                    out.rcode = ResponseCode::YXDomain;
                    out.answers.push(dname);
                    return out;
                }
            }
        }
        out
    }

    /// Walks from the apex down towards `qname` looking for zone cuts and DNAMEs, then
    /// matches the name itself or, if it does not exist, a wildcard.
    fn lookup(&self, qname: &Name, qtype: RecordType) -> Lookup {
        let apex_depth = label_count(&self.origin);
        let qname_depth = label_count(qname);
        let mut closest_encloser = self.origin.clone();
        for depth in apex_depth..=qname_depth {
            let node = qname.trim_to(depth);
            if !self.existing.contains(&node) {
                break;
            }
            let at_qname = depth == qname_depth;
            // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1).
            let is_cut = depth > apex_depth && !self.rrset(&node, RecordType::NS).is_empty();
            if is_cut && !(at_qname && qtype == RecordType::DS) {
                return Lookup::Referral { cut: node };
            }
            if at_qname {
                return self.match_node(&node, qname, qtype);
            }
            if let Some(dname) = self.rrset(&node, RecordType::DNAME).first() {
                return substitute_dname(qname, dname);
            }
            closest_encloser = node;
        }
        match closest_encloser.prepend_label("*") {
            Ok(wildcard) if self.existing.contains(&wildcard) => {
                self.match_node(&wildcard, qname, qtype)
            }
            _ => Lookup::NxDomain,
        }
    }

    /// Matches the RRsets at `node`; `owner` is the name answers are given for, which
    /// differs from `node` when a wildcard is being expanded.
    fn match_node(&self, node: &Name, owner: &Name, qtype: RecordType) -> Lookup {
        let Some(types) = self.nodes.get(node) else {
            return Lookup::NoData; // empty non-terminal
        };
        let synthesize = |records: &[Record]| -> Vec<Record> {
            records
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    if node.is_wildcard() {
                        r.name = owner.clone();
                    }
                    r
                })
                .collect()
        };
        if qtype == RecordType::ANY {
            let all: Vec<Record> = types.values().flatten().cloned().collect();
            return Lookup::Answer(synthesize(&all));
        }
        if let Some(records) = types.get(&qtype) {
            return Lookup::Answer(synthesize(records));
        }
        if let Some(cname) = types.get(&RecordType::CNAME) {
            let records = synthesize(cname);
            if let Some(RData::CNAME(target)) = records.first().map(|r| &r.data) {
                let target = target.0.clone();
                return Lookup::Alias { records, target };
            }
        }
        Lookup::NoData
    }
}

/// The zone parser produced ANAME for what the test data wrote as DNAME.
fn aname_to_dname(record: Record) -> Record {
    match &record.data {
        RData::ANAME(ANAME(target)) => {
            let mut dname =
                Record::from_rdata(record.name.clone(), record.ttl, dname_rdata(target));
            dname.dns_class = record.dns_class;
            dname
        }
        _ => record,
    }
}

/// RFC 6672 §2.2: replace the DNAME owner suffix of `qname` with the DNAME target and
/// synthesize a CNAME (with the DNAME's TTL) to the result.
fn substitute_dname(qname: &Name, dname: &Record) -> Lookup {
    let Some(target) = dname_target(&dname.data) else {
        return Lookup::NoData;
    };
    let prefix_len = label_count(qname) - label_count(&dname.name);
    let substituted =
        Name::from_labels(qname.iter().take(prefix_len)).and_then(|p| p.append_name(&target));
    match substituted {
        Ok(new_name) => {
            let cname = Record::from_rdata(
                qname.clone(),
                dname.ttl,
                RData::CNAME(CNAME(new_name.clone())),
            );
            Lookup::Alias {
                records: vec![dname.clone(), cname],
                target: new_name,
            }
        }
        Err(_) => Lookup::YxDomain(dname.clone()),
    }
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

/// How a server treats the queries it receives. Every query is logged whatever the mode.
///
/// A *dead* server, by contrast, is just an address nobody listens on: queries to it get
/// ICMP port unreachable (or nothing). `Drop` is a live server that swallows queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer correctly.
    #[default]
    Normal,
    /// Never answer.
    Drop,
    /// Answer correctly, but only after this long (on top of any latency).
    Delay(Duration),
    /// Answer SERVFAIL.
    ServFail,
    /// Answer REFUSED.
    Refused,
    /// Answer FORMERR.
    FormErr,
    /// Answer correctly, but with a different message ID.
    WrongId,
    /// Reply with the query's ID followed by bytes that do not decode as a DNS message
    /// (the header claims 65535 answers), so only a parse can reject it.
    Garbage,
    /// Over UDP, answer with TC=1 and empty sections; answer normally over TCP.
    AlwaysTruncate,
    /// Answer correctly, but with a different name in the question section.
    WrongQuestion,
    /// Over UDP, answer correctly but from this other loopback address (port 53, or any port
    /// if 53 is taken there), as an off-path forger would. Answer normally over TCP.
    WrongSource(IpAddr),
    /// Answer every query with a referral *up*: the parent of the zone holding the question
    /// (the root for a TLD) delegated to `upward-referral-ns.<parent>`, glue pointing back at
    /// this server.
    UpwardReferral,
    /// Answer every query with a referral *sideways*: `sideways-referral.<parent>`, a sibling of
    /// the zone holding the question, delegated to `ns.sideways-referral.<parent>` with glue
    /// pointing back at this server.
    SidewaysReferral,
    /// Answer every query with a referral of the zone holding the question to itself, served by
    /// `referral-loop-ns.<zone>` at the given address. Two servers of one zone pointing at each
    /// other this way make a referral loop.
    ReferralLoop(IpAddr),
    /// Over UDP, first send this many forged answers with wrong IDs (each claiming the question
    /// name has the address [`FORGED_ADDRESS`]), at once, then the real answer (after any
    /// latency): the race an off-path forger runs against the real server. TCP is answered
    /// normally.
    SpoofFlood(u16),
    /// Over UDP, first send one forged answer (see [`Behaviour::SpoofFlood`]) that has the right
    /// ID but the question name with the case of every letter flipped, as a forger who guessed
    /// port and ID but not the 0x20 case would; then the real answer (after any latency).
    ForgeGuessedId,
    /// Answer correctly, but with the question name in lower case, like servers that do not
    /// preserve the case of the query (the 0x20 compatibility problem).
    LowercaseQuestion,
    /// Answer only the first query for each name and type, correctly but after this long; swallow
    /// every later one: a slow server whose answer to a retransmission would come too late, so
    /// that only the first try's answer can be had.
    FirstQueryOnlyAfter(Duration),
    /// Answer AA, NOERROR, with only an A record ([`FORGED_ADDRESS`]) for another name of the
    /// zone, `another-name.<zone>`, in the answer section and the zone's SOA in the authority
    /// section: it looks like NODATA for the question plus a stray record, and is neither.
    AnswerAboutAnotherName,
    /// Answer AA, NOERROR, with every section empty: NODATA without the SOA that would prove it
    /// (RFC 2308 §2.2), whatever the question.
    NoDataWithoutSoa,
    /// Answer AA, NOERROR, with a record at the question name of a type that was not asked for
    /// (TXT, or A with [`FORGED_ADDRESS`] for a TXT question) and the zone's SOA.
    AnswerOfUnexpectedType,
}

/// The address every forged answer of [`Behaviour::SpoofFlood`] and
/// [`Behaviour::ForgeGuessedId`] claims.
pub const FORGED_ADDRESS: &str = "192.0.2.66";

/// A section of a response, for [`AuthorityServer::set_extra_records`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

/// Records appended to every answer a server gives, per section.
#[derive(Clone, Debug, Default)]
struct ExtraRecords {
    answers: Vec<Record>,
    authorities: Vec<Record>,
    additionals: Vec<Record>,
}

/// How a server treats DNS cookies (RFC 7873), whatever its [`Behaviour`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cookies {
    /// Ignore COOKIE options, as a server without cookie support does.
    #[default]
    Ignore,
    /// Echo the client cookie with a server cookie, [`fake_server_cookie`] of it.
    Issue,
    /// As `Issue`, and answer BADCOOKIE (empty, over UDP only) to a query that does not carry
    /// the server cookie issued to its client cookie.
    Require,
    /// Answer with a COOKIE whose client cookie is not the query's: what a forger who cannot
    /// see the query would send.
    WrongClientCookie,
}

/// The server cookie a server in [`Cookies::Issue`] mode gives the client cookie `client`:
/// deterministic, so that tests can tell whether the resolver returned it.
pub fn fake_server_cookie(client: &[u8]) -> Vec<u8> {
    let mut server = b"fakesrv:".to_vec();
    server.extend(client.iter().rev());
    server
}

/// The raw content of a message's COOKIE option, if it has one.
pub fn cookie_of(message: &Message) -> Option<Vec<u8>> {
    match message.edns.as_ref()?.option(EdnsCode::Cookie)? {
        EdnsOption::Unknown(_, bytes) => Some(bytes.clone()),
        _ => None,
    }
}

/// One query as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedQuery {
    /// QNAME with its case preserved (to check 0x20 randomisation, for example).
    pub name: Name,
    pub rtype: RecordType,
    /// Received over TCP rather than UDP.
    pub tcp: bool,
    /// The content of the query's COOKIE option (client cookie, then any server cookie).
    pub cookie: Option<Vec<u8>>,
    /// The address and port the query came from.
    pub source: SocketAddr,
    /// The query's message ID.
    pub id: u16,
    /// The query's RD bit: a resolver iterating sends 0, one forwarding sends 1.
    pub recursion_desired: bool,
}

/// State shared between a server's handle and its tasks.
struct Shared {
    /// The address the server answers on, for referrals that point back at it.
    ip: IpAddr,
    zones: Vec<Zone>,
    log: Mutex<Vec<LoggedQuery>>,
    behaviour: Mutex<Behaviour>,
    latency: Mutex<Duration>,
    cookies: Mutex<Cookies>,
    extra: Mutex<ExtraRecords>,
}

/// A reply and how long to wait before sending it, and forged replies to send at once before it.
struct Outgoing {
    bytes: Vec<u8>,
    delay: Duration,
    forged: Vec<Vec<u8>>,
    /// Sent from this address instead of the server's own (UDP only).
    from: Option<IpAddr>,
}

/// Locks a mutex, ignoring poisoning: a panicking test must not hide the log.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running authoritative server. Dropping it aborts its tasks, which closes its sockets.
pub struct AuthorityServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl AuthorityServer {
    /// Serves `zones` on UDP and TCP port 53 of the loopback address `ip`.
    pub async fn start(ip: IpAddr, zones: Vec<Zone>) -> AuthorityServer {
        Self::start_at(SocketAddr::new(ip, 53), zones, Behaviour::Normal).await
    }

    /// Like [`AuthorityServer::start`], misbehaving from the first query.
    pub async fn start_with(ip: IpAddr, zones: Vec<Zone>, behaviour: Behaviour) -> AuthorityServer {
        Self::start_at(SocketAddr::new(ip, 53), zones, behaviour).await
    }

    /// Serves on an explicit loopback socket address. Port 0 picks a port free for both
    /// UDP and TCP (useful when not running as root). Panics if binding fails.
    pub async fn start_at(
        addr: SocketAddr,
        zones: Vec<Zone>,
        behaviour: Behaviour,
    ) -> AuthorityServer {
        assert!(
            addr.ip().is_loopback(),
            "test servers must only bind loopback addresses, not {addr}"
        );
        let (udp, tcp) = bind_pair(addr).await;
        let addr = udp
            .local_addr()
            .unwrap_or_else(|e| panic!("local address of {addr}: {e}"));
        let shared = Arc::new(Shared {
            ip: addr.ip(),
            zones,
            log: Mutex::new(Vec::new()),
            behaviour: Mutex::new(behaviour),
            latency: Mutex::new(Duration::ZERO),
            cookies: Mutex::new(Cookies::Ignore),
            extra: Mutex::new(ExtraRecords::default()),
        });
        let tasks = vec![
            tokio::spawn(serve_udp(udp, Arc::clone(&shared))),
            tokio::spawn(serve_tcp(tcp, Arc::clone(&shared))),
        ];
        AuthorityServer {
            addr,
            shared,
            tasks,
        }
    }

    /// The address (port 53 unless started with [`AuthorityServer::start_at`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    /// Switches behaviour; applies to queries received from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *lock(&self.shared.behaviour) = behaviour;
    }

    pub fn behaviour(&self) -> Behaviour {
        *lock(&self.shared.behaviour)
    }

    /// Switches how DNS cookies are treated; applies to queries received from now on.
    pub fn set_cookies(&self, cookies: Cookies) {
        *lock(&self.shared.cookies) = cookies;
    }

    /// Adds a fixed delay before every answer, to make cold resolutions measurable.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.shared.latency) = latency;
    }

    /// Appends `records` to `section` of every answer from now on (replacing what an earlier call
    /// set for that section), whatever the question: the way to make a server lie, e.g. add
    /// out-of-bailiwick records or glue for names the referral is not about.
    pub fn set_extra_records(&self, section: Section, records: Vec<Record>) {
        let mut extra = lock(&self.shared.extra);
        match section {
            Section::Answer => extra.answers = records,
            Section::Authority => extra.authorities = records,
            Section::Additional => extra.additionals = records,
        }
    }

    /// Number of queries received (UDP and TCP, answered or not).
    pub fn query_count(&self) -> usize {
        lock(&self.shared.log).len()
    }

    /// Every query received so far, oldest first.
    pub fn queries(&self) -> Vec<LoggedQuery> {
        lock(&self.shared.log).clone()
    }

    /// Number of queries for `name` (case-insensitive, trailing dot optional) and `rtype`.
    pub fn count_for(&self, name: &str, rtype: RecordType) -> usize {
        let name = fqdn(name);
        lock(&self.shared.log)
            .iter()
            .filter(|q| q.rtype == rtype && q.name == name)
            .count()
    }

    /// Forgets the queries logged so far (e.g. after warming a cache).
    pub fn clear_queries(&self) {
        lock(&self.shared.log).clear();
    }

    /// Stops the server and waits until its sockets are closed, so the address can be
    /// bound again straight away. Plain drop also stops it, just not synchronously.
    pub async fn stop(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for AuthorityServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds UDP and TCP on the same address. "Address in use" is retried for a bounded
/// time: a server dropped just before is only closed once the runtime has polled its
/// aborted tasks. With port 0 it retries until one port is free for both protocols.
async fn bind_pair(addr: SocketAddr) -> (UdpSocket, TcpListener) {
    const ATTEMPTS: usize = 100;
    const PAUSE: Duration = Duration::from_millis(10);
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        match try_bind_pair(addr).await {
            Ok(pair) => return pair,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_error = Some(e),
            Err(e) => panic!("cannot bind {addr} (root is needed for port 53): {e}"),
        }
        tokio::time::sleep(PAUSE).await;
    }
    panic!(
        "cannot bind {addr}: {}",
        last_error.map_or_else(String::new, |e| e.to_string())
    );
}

async fn try_bind_pair(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let udp = UdpSocket::bind(addr).await?;
    let port = udp.local_addr()?.port();
    let tcp = TcpListener::bind(SocketAddr::new(addr.ip(), port)).await?;
    Ok((udp, tcp))
}

/// Receives UDP queries and sends replies. Delayed replies are produced by child tasks
/// and funnelled back through a channel, so that only this task owns the socket and
/// aborting it closes the socket at once; the children die with the `JoinSet`.
async fn serve_udp(socket: UdpSocket, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Outgoing, SocketAddr)>();
    let mut delayed = JoinSet::new();
    let mut buf = vec![0u8; 65535];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                // Errors here are transient (e.g. ICMP unreachable from an earlier reply).
                let Ok((len, peer)) = received else { continue };
                let Some(reply) = shared.handle(&buf[..len], peer, false) else { continue };
                for forged in &reply.forged {
                    let _ = socket.send_to(forged, peer).await;
                }
                if reply.delay.is_zero() {
                    send_udp(&socket, reply, peer).await;
                } else {
                    let tx = tx.clone();
                    delayed.spawn(async move {
                        tokio::time::sleep(reply.delay).await;
                        let _ = tx.send((reply, peer));
                    });
                }
                while delayed.try_join_next().is_some() {}
            }
            Some((reply, peer)) = rx.recv() => {
                send_udp(&socket, reply, peer).await;
            }
        }
    }
}

/// Sends a UDP reply from the server's socket, or from a socket on the reply's `from` address.
async fn send_udp(socket: &UdpSocket, reply: Outgoing, peer: SocketAddr) {
    let Some(from) = reply.from else {
        let _ = socket.send_to(&reply.bytes, peer).await;
        return;
    };
    assert!(
        from.is_loopback(),
        "test servers only send from loopback, not {from}"
    );
    let other = match UdpSocket::bind(SocketAddr::new(from, 53)).await {
        Ok(other) => other,
        Err(_) => match UdpSocket::bind(SocketAddr::new(from, 0)).await {
            Ok(other) => other,
            Err(_) => return,
        },
    };
    let _ = other.send_to(&reply.bytes, peer).await;
}

/// Accepts TCP connections; connection tasks live in a `JoinSet` so that aborting this
/// task also aborts them.
async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                connections.spawn(serve_tcp_connection(stream, peer, Arc::clone(&shared)));
            }
            // E.g. out of file descriptors: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
        while connections.try_join_next().is_some() {}
    }
}

/// Serves length-prefixed queries (RFC 1035 §4.2.2) one after another until the peer
/// closes the connection.
async fn serve_tcp_connection(mut stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    loop {
        let Ok(len) = stream.read_u16().await else {
            return;
        };
        let mut query = vec![0u8; usize::from(len)];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let Some(reply) = shared.handle(&query, peer, true) else {
            continue;
        };
        tokio::time::sleep(reply.delay).await;
        let Ok(reply_len) = u16::try_from(reply.bytes.len()) else {
            continue;
        };
        let mut framed = reply_len.to_be_bytes().to_vec();
        framed.extend_from_slice(&reply.bytes);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

impl Shared {
    /// Logs a query and produces the reply the current behaviour calls for.
    fn handle(&self, packet: &[u8], peer: SocketAddr, tcp: bool) -> Option<Outgoing> {
        let behaviour = *lock(&self.behaviour);
        let query = match Message::from_vec(packet) {
            Ok(query) => query,
            Err(_) if behaviour == Behaviour::Drop => return None,
            Err(_) => {
                return format_error_for_undecodable(packet)
                    .map(|bytes| self.outgoing(bytes, Duration::ZERO, None));
            }
        };
        if query.metadata.message_type != MessageType::Query {
            return None; // never answer responses: two servers could ping-pong forever
        }
        let repeated = matches!(behaviour, Behaviour::FirstQueryOnlyAfter(_))
            && query.queries.first().is_some_and(|q| self.asked_before(q));
        self.log_query(&query, peer, tcp);
        if repeated {
            return None;
        }
        let delay = match behaviour {
            Behaviour::Delay(delay) | Behaviour::FirstQueryOnlyAfter(delay) => delay,
            _ => Duration::ZERO,
        };
        let from = match behaviour {
            Behaviour::WrongSource(from) if !tcp => Some(from),
            _ => None,
        };
        let bytes = self.reply(behaviour, &query, tcp)?;
        let mut outgoing = self.outgoing(bytes, delay, from);
        if !tcp {
            outgoing.forged = forgeries(behaviour, &query);
        }
        Some(outgoing)
    }

    /// Whether a query for the name and type of `question` was logged before.
    fn asked_before(&self, question: &hickory_proto::op::Query) -> bool {
        lock(&self.log)
            .iter()
            .any(|q| q.name == *question.name() && q.rtype == question.query_type())
    }

    fn log_query(&self, query: &Message, peer: SocketAddr, tcp: bool) {
        if let Some(question) = query.queries.first() {
            lock(&self.log).push(LoggedQuery {
                name: question.name().clone(),
                rtype: question.query_type(),
                tcp,
                cookie: cookie_of(query),
                source: peer,
                id: query.metadata.id,
                recursion_desired: query.metadata.recursion_desired,
            });
        }
    }

    /// The reply to a decoded query under `behaviour`, or `None` to stay silent.
    fn reply(&self, behaviour: Behaviour, query: &Message, tcp: bool) -> Option<Vec<u8>> {
        let error = |rcode| {
            let mut response = response_header(query);
            response.metadata.response_code = rcode;
            response
        };
        let mut response = match behaviour {
            Behaviour::Drop => return None,
            Behaviour::Garbage => return Some(garbage(query.metadata.id)),
            Behaviour::ServFail => error(ResponseCode::ServFail),
            Behaviour::Refused => error(ResponseCode::Refused),
            Behaviour::FormErr => error(ResponseCode::FormErr),
            Behaviour::UpwardReferral
            | Behaviour::SidewaysReferral
            | Behaviour::ReferralLoop(_) => self.bad_referral(behaviour, query),
            Behaviour::AnswerAboutAnotherName
            | Behaviour::NoDataWithoutSoa
            | Behaviour::AnswerOfUnexpectedType => self.misanswer(behaviour, query),
            Behaviour::Normal
            | Behaviour::FirstQueryOnlyAfter(_)
            | Behaviour::WrongSource(_)
            | Behaviour::Delay(_)
            | Behaviour::WrongId
            | Behaviour::AlwaysTruncate
            | Behaviour::WrongQuestion
            | Behaviour::SpoofFlood(_)
            | Behaviour::ForgeGuessedId
            | Behaviour::LowercaseQuestion => self.with_extra_records(self.respond(query)),
        };
        match behaviour {
            Behaviour::WrongId => response.metadata.id = query.metadata.id.wrapping_add(1),
            Behaviour::AlwaysTruncate if !tcp => response = response.truncate(),
            Behaviour::WrongQuestion => {
                for question in &mut response.queries {
                    question.set_name(fqdn("wrong-question.invalid."));
                }
            }
            Behaviour::LowercaseQuestion => {
                for question in &mut response.queries {
                    let lower = question.name().to_lowercase();
                    question.set_name(lower);
                }
            }
            _ => {}
        }
        self.apply_cookies(query, &mut response, tcp);
        Some(encode(&response, query, tcp))
    }

    /// RFC 7873 §5.2 as the current [`Cookies`] mode has it.
    fn apply_cookies(&self, query: &Message, response: &mut Message, tcp: bool) {
        let mode = *lock(&self.cookies);
        let Some(sent) = cookie_of(query).filter(|sent| sent.len() >= 8) else {
            return;
        };
        let Some(edns) = response.edns.as_mut() else {
            return;
        };
        let (client, server) = sent.split_at(8);
        let mut reply = client.to_vec();
        match mode {
            Cookies::Ignore => return,
            Cookies::Issue | Cookies::Require => reply.extend(fake_server_cookie(client)),
            Cookies::WrongClientCookie => {
                reply.iter_mut().for_each(|b| *b ^= 0x5a);
                reply.extend(fake_server_cookie(client));
            }
        }
        edns.options_mut()
            .insert(EdnsOption::Unknown(u16::from(EdnsCode::Cookie), reply));
        if mode == Cookies::Require && !tcp && server != fake_server_cookie(client) {
            response.metadata.response_code = ResponseCode::BADCOOKIE;
            response.metadata.authoritative = false;
            response.answers.clear();
            response.authorities.clear();
            response.additionals.clear();
        }
    }

    /// `response` with the records of [`AuthorityServer::set_extra_records`] appended.
    fn with_extra_records(&self, mut response: Message) -> Message {
        let extra = lock(&self.extra);
        response.answers.extend(extra.answers.iter().cloned());
        response
            .authorities
            .extend(extra.authorities.iter().cloned());
        response
            .additionals
            .extend(extra.additionals.iter().cloned());
        response
    }

    fn outgoing(&self, bytes: Vec<u8>, delay: Duration, from: Option<IpAddr>) -> Outgoing {
        Outgoing {
            bytes,
            delay: *lock(&self.latency) + delay,
            from,
            forged: Vec::new(),
        }
    }

    /// The referral a misbehaving server sends instead of an answer (see [`Behaviour`]): a zone
    /// cut, one NS name and its glue. Questions outside every served zone are refused as usual.
    fn bad_referral(&self, behaviour: Behaviour, query: &Message) -> Message {
        let Some(question) = query.queries.first() else {
            return self.respond(query);
        };
        let Some(zone) = self.zone_for(question.name(), question.query_type()) else {
            return self.respond(query);
        };
        let parent = zone.origin().base_name();
        let (cut, ns, glue) = match behaviour {
            Behaviour::UpwardReferral => {
                let ns = parent.prepend_label("upward-referral-ns");
                (parent, ns, self.ip)
            }
            Behaviour::SidewaysReferral => {
                let cut = parent.prepend_label("sideways-referral");
                let ns = cut.clone().and_then(|cut| cut.prepend_label("ns"));
                (cut.unwrap_or(parent), ns, self.ip)
            }
            Behaviour::ReferralLoop(other) => {
                let ns = zone.origin().prepend_label("referral-loop-ns");
                (zone.origin().clone(), ns, other)
            }
            _ => return self.respond(query),
        };
        let Ok(ns) = ns else {
            return self.respond(query);
        };
        let mut response = response_header(query);
        response.authorities = vec![Record::from_rdata(cut, 3600, RData::NS(NS(ns.clone())))];
        response.additionals = vec![Record::from_rdata(ns, 3600, address_rdata(glue))];
        response
    }

    /// The authoritative NOERROR answer a misanswering server sends instead of the real one (see
    /// [`Behaviour`]). Questions outside every served zone are refused as usual.
    fn misanswer(&self, behaviour: Behaviour, query: &Message) -> Message {
        let Some(question) = query.queries.first() else {
            return self.respond(query);
        };
        let Some(zone) = self.zone_for(question.name(), question.query_type()) else {
            return self.respond(query);
        };
        let forged = RData::A(hickory_proto::rr::rdata::A(
            FORGED_ADDRESS.parse().expect("forged address"),
        ));
        let mut response = response_header(query);
        response.metadata.authoritative = true;
        match behaviour {
            Behaviour::AnswerAboutAnotherName => {
                if let Ok(other) = zone.origin().prepend_label("another-name") {
                    response.answers = vec![Record::from_rdata(other, 3600, forged)];
                }
                response.authorities = zone.negative_soa();
            }
            Behaviour::AnswerOfUnexpectedType => {
                let data = if question.query_type() == RecordType::TXT {
                    forged
                } else {
                    RData::TXT(hickory_proto::rr::rdata::TXT::new(vec![
                        "a type nobody asked for".to_string(),
                    ]))
                };
                response.answers = vec![Record::from_rdata(question.name().clone(), 3600, data)];
                response.authorities = zone.negative_soa();
            }
            _ => {}
        }
        response
    }

    /// The correct response to `query`.
    fn respond(&self, query: &Message) -> Message {
        let mut response = response_header(query);
        if query.metadata.op_code != OpCode::Query {
            response.metadata.response_code = ResponseCode::NotImp;
            return response;
        }
        let [question] = query.queries.as_slice() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        if query.edns.as_ref().is_some_and(|edns| edns.version() > 0) {
            response.metadata.response_code = ResponseCode::BADVERS;
            return response;
        }
        let class_ok = matches!(question.query_class(), DNSClass::IN | DNSClass::ANY);
        let zone = self.zone_for(question.name(), question.query_type());
        let Some(zone) = zone.filter(|_| class_ok) else {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        };
        let answer = zone.answer(question.name(), question.query_type());
        response.metadata.response_code = answer.rcode;
        response.metadata.authoritative = answer.authoritative;
        response.answers = answer.answers;
        if query.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok) {
            let rrsigs = zone.rrsigs_over(&response.answers);
            response.answers.extend(rrsigs);
        }
        response.authorities = answer.authorities;
        response.additionals = answer.additionals;
        // RFC 1034 §4.3.2 step 6: an NS answer carries the servers' addresses where the zone has
        // them, as real servers do (a root priming answer without them would leave a resolver
        // with root server names and no addresses).
        if question.query_type() == RecordType::NS && response.additionals.is_empty() {
            response.additionals = zone.glue_for(&response.answers);
        }
        response
    }

    /// The served zone that most closely encloses `qname`. For DS at a cut between two
    /// served zones the parent is authoritative, so the child's apex is skipped.
    fn zone_for(&self, qname: &Name, qtype: RecordType) -> Option<&Zone> {
        let deepest = |skip_apex: bool| {
            self.zones
                .iter()
                .filter(|z| z.origin.zone_of(qname) && !(skip_apex && z.origin == *qname))
                .max_by_key(|z| label_count(&z.origin))
        };
        let parent = if qtype == RecordType::DS {
            deepest(true)
        } else {
            None
        };
        parent.or_else(|| deepest(false))
    }
}

/// The forged UDP answers `behaviour` sends ahead of the real one.
fn forgeries(behaviour: Behaviour, query: &Message) -> Vec<Vec<u8>> {
    match behaviour {
        Behaviour::SpoofFlood(count) => (1..=count)
            .map(|i| forged_answer(query, query.metadata.id.wrapping_add(i), false))
            .collect(),
        Behaviour::ForgeGuessedId => vec![forged_answer(query, query.metadata.id, true)],
        _ => Vec::new(),
    }
}

/// An authoritative answer to `query` giving its name the address [`FORGED_ADDRESS`] for a day,
/// with message ID `id` and, if `flip_case`, the question's letters in the opposite case.
fn forged_answer(query: &Message, id: u16, flip_case: bool) -> Vec<u8> {
    let mut response = response_header(query);
    response.metadata.id = id;
    response.metadata.authoritative = true;
    if let Some(question) = response.queries.first_mut() {
        let name = question.name().clone();
        let forged_address = FORGED_ADDRESS.parse().expect("forged address");
        response.answers.push(Record::from_rdata(
            name.clone(),
            86_400,
            RData::A(hickory_proto::rr::rdata::A(forged_address)),
        ));
        if flip_case {
            question.set_name(flipped_case(&name));
        }
    }
    to_wire(&response)
}

/// `name` with the case of every ASCII letter inverted.
fn flipped_case(name: &Name) -> Name {
    let labels: Vec<Vec<u8>> = name
        .iter()
        .map(|label| {
            label
                .iter()
                .map(|&b| if b.is_ascii_alphabetic() { b ^ 0x20 } else { b })
                .collect()
        })
        .collect();
    let mut flipped = Name::from_labels(labels).unwrap_or_else(|_| name.clone());
    flipped.set_fqdn(true);
    flipped
}

fn address_rdata(ip: IpAddr) -> RData {
    match ip {
        IpAddr::V4(v4) => RData::A(v4.into()),
        IpAddr::V6(v6) => RData::AAAA(v6.into()),
    }
}

/// A response skeleton: ID, opcode, RD and CD echoed, the question copied and, if the
/// query had EDNS, an OPT record of our own (echoing the DO bit, RFC 3225).
fn response_header(query: &Message) -> Message {
    let mut response = Message::response(query.metadata.id, query.metadata.op_code);
    response.metadata = Metadata::response_from_request(&query.metadata);
    response.queries = query.queries.clone();
    if let Some(query_edns) = &query.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(SERVER_EDNS_PAYLOAD);
        edns.set_dnssec_ok(query_edns.flags().dnssec_ok);
        response.edns = Some(edns);
    }
    response
}

/// Encodes `response`, truncating it (TC=1, sections emptied) if it exceeds what the
/// client can receive over UDP: 512 octets, or its EDNS payload size (RFC 6891 §6.2.5).
fn encode(response: &Message, query: &Message, tcp: bool) -> Vec<u8> {
    let bytes = to_wire(response);
    if tcp || bytes.len() <= usize::from(query.max_payload()) {
        return bytes;
    }
    to_wire(&response.truncate())
}

/// Encodes our own message; falling back to a bare SERVFAIL keeps the server task alive
/// (and the failure visible) if some test data cannot be encoded.
fn to_wire(message: &Message) -> Vec<u8> {
    message.to_vec().unwrap_or_else(|_| {
        let mut fallback = Message::error_msg(
            message.metadata.id,
            message.metadata.op_code,
            ResponseCode::ServFail,
        );
        fallback.queries = message.queries.clone();
        fallback.to_vec().unwrap_or_default()
    })
}

/// A FORMERR for a query we could not decode, if it at least has a query header.
fn format_error_for_undecodable(packet: &[u8]) -> Option<Vec<u8>> {
    let header = packet.get(..12)?;
    if header[2] & 0x80 != 0 {
        return None; // a response, not a query
    }
    let id = u16::from_be_bytes([header[0], header[1]]);
    Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
        .to_vec()
        .ok()
}

/// The query ID, then a response header claiming one question and 65535 answers, then a
/// few random bytes: matches by ID but can never decode.
fn garbage(id: u16) -> Vec<u8> {
    let mut bytes = id.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0x84, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00]);
    let mut junk = [0u8; 16];
    rand::fill(&mut junk);
    bytes.extend_from_slice(&junk);
    bytes
}
