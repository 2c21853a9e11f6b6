//! The scrubber: what an authoritative server's answer means, keeping only what that server may say.
//!
//! A server asked as an authority for zone Z speaks only for names at or below Z (its bailiwick).
//! Records outside it are dropped before anything is cached or followed: this is the defence
//! against the classic poisoning trick of appending a forged A record for some other zone's name
//! (Kaminsky-style and older). Glue is kept only for the NS names of the referral it belongs to,
//! and only when those names are themselves inside Z.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use crate::records::{cname_target, ns_name, rrsig_covers, synthesize_cname};

/// A SOA record and its RRSIGs, proving a negative answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaProof {
    pub soa: Record,
    pub rrsigs: Vec<Record>,
}

/// What a response means for the question it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// The records answering the question, after the CNAME/DNAME chain that led to them.
    Answer { chain: Vec<Record> },
    /// A chain that leaves the zone (or that the server did not follow): resolve `target` next.
    Alias { chain: Vec<Record>, target: Name },
    /// `name` (the question, or the end of `chain`) does not exist.
    NxDomain {
        chain: Vec<Record>,
        name: Name,
        soa: Option<SoaProof>,
    },
    /// `name` exists but has no data of the type asked for.
    NoData {
        chain: Vec<Record>,
        name: Name,
        soa: Option<SoaProof>,
    },
    /// The server delegates `zone` to the servers in `ns`; `glue` holds their in-bailiwick addresses.
    Referral {
        zone: Name,
        ns: Vec<Record>,
        glue: Vec<Record>,
    },
    /// Nothing usable: an error rcode, a lame or upward referral, a loop. Ask another server.
    Unusable(&'static str),
}

/// Interprets `response` to the question `qname`/`qtype` sent to a server of `zone`.
pub fn classify(response: &Message, zone: &Name, qname: &Name, qtype: RecordType) -> Classified {
    let rcode = response.metadata.response_code;
    if rcode != ResponseCode::NoError && rcode != ResponseCode::NXDomain {
        return Classified::Unusable("error rcode");
    }
    let answers = in_bailiwick(&response.answers, zone);
    let mut chain = Vec::new();
    let mut name = qname.clone();
    let mut seen = vec![qname.clone()];
    loop {
        let hits: Vec<&Record> = answers
            .iter()
            .filter(|r| r.name == name && matches_type(r, qtype))
            .collect();
        if !hits.is_empty() {
            chain.extend(hits.into_iter().cloned());
            chain.extend(rrsigs_at(&answers, &name, qtype));
            return Classified::Answer { chain };
        }
        let Some(next) = follow_alias(&answers, &name, qtype, &mut chain) else {
            break;
        };
        if seen.contains(&next) {
            return Classified::Unusable("CNAME loop");
        }
        seen.push(next.clone());
        name = next;
        if !zone.zone_of(&name) {
            return Classified::Alias {
                chain,
                target: name,
            };
        }
    }
    let soa = soa_proof(&response.authorities, zone, &name);
    if rcode == ResponseCode::NXDomain {
        return Classified::NxDomain { chain, name, soa };
    }
    if !chain.is_empty() {
        return match soa {
            Some(soa) => Classified::NoData {
                chain,
                name,
                soa: Some(soa),
            },
            None => Classified::Alias {
                chain,
                target: name,
            },
        };
    }
    if let Some(soa) = soa {
        return nodata(response, name, qtype, soa);
    }
    if let Some(referral) = referral(response, zone, qname) {
        return referral;
    }
    // An empty NOERROR without the SOA proves nothing, AA or not: RFC 2308 §2.2's NODATA carries
    // the zone's SOA, without which it cannot even be cached (§5). A server that answers so for a
    // name its zone holds is lame for the zone, as Unbound and Knot treat it: its other servers
    // are asked.
    Classified::Unusable("lame: neither answer, referral nor negative answer with SOA")
}

/// NODATA for `name`, unless the answer section speaks of something else: a NOERROR answer
/// with records in it none of which answer or lead on from the question is not "no data of
/// that type" (RFC 2308 §2.2: NODATA has an empty answer section), whatever the scrubber then
/// keeps of it. The server answered another question, or garbage, and is asked no further.
fn nodata(response: &Message, name: Name, qtype: RecordType, soa: SoaProof) -> Classified {
    if let Some(why) = unrelated_answer(&response.answers, &name, qtype) {
        return Classified::Unusable(why);
    }
    Classified::NoData {
        chain: Vec::new(),
        name,
        soa: Some(soa),
    }
}

/// Why the answer section of a would-be NODATA for `qname`/`qtype` is no NODATA, if it is not:
/// records only for other names, or a record at the name of a type that neither answers nor
/// leads on (not the type asked, a CNAME, a DNAME or a signature).
fn unrelated_answer(answers: &[Record], qname: &Name, qtype: RecordType) -> Option<&'static str> {
    if !answers.is_empty() && answers.iter().all(|r| r.name != *qname) {
        return Some("answer about another name");
    }
    let unexpected = |r: &&Record| {
        let rtype = r.record_type();
        r.name == *qname
            && rtype != qtype
            && !matches!(
                rtype,
                RecordType::CNAME | RecordType::DNAME | RecordType::RRSIG
            )
    };
    if answers.iter().any(|r| unexpected(&r)) {
        return Some("answer of an unexpected type");
    }
    None
}

fn matches_type(record: &Record, qtype: RecordType) -> bool {
    let rtype = record.record_type();
    rtype == qtype || (qtype == RecordType::ANY && rtype != RecordType::RRSIG)
}

/// Records of the IN class whose owner lies inside `zone`.
fn in_bailiwick(records: &[Record], zone: &Name) -> Vec<Record> {
    records
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN && zone.zone_of(&r.name))
        .cloned()
        .collect()
}

fn rrsigs_at<'a>(
    records: &'a [Record],
    name: &'a Name,
    covered: RecordType,
) -> impl Iterator<Item = Record> + 'a {
    records
        .iter()
        .filter(move |r| {
            // Signatures of another class sign nothing of ours (RFC 4034 §3: an RRSIG has the
            // class of the RRset it covers); like other-class records, they are dropped.
            r.dns_class == DNSClass::IN
                && r.name == *name
                && (rrsig_covers(r, covered)
                    || (covered == RecordType::ANY && r.record_type() == RecordType::RRSIG))
        })
        .cloned()
}

/// Appends the link that leads on from `name` to `chain` and returns the name it points to: a
/// DNAME above `name` with the CNAME it implies, or else the CNAME at `name`.
///
/// The DNAME is looked at first, and its CNAME is rebuilt here rather than taken from the server
/// (RFC 6672 §3.4): a server cannot point the chain anywhere its DNAME does not, and the client
/// sees the DNAME that explains the CNAME.
fn follow_alias(
    answers: &[Record],
    name: &Name,
    qtype: RecordType,
    chain: &mut Vec<Record>,
) -> Option<Name> {
    if qtype != RecordType::DNAME
        && let Some(dname) = answers.iter().find(|r| {
            r.record_type() == RecordType::DNAME && r.name != *name && r.name.zone_of(name)
        })
    {
        let cname = synthesize_cname(name, dname)?;
        let target = cname_target(&cname)?.clone();
        chain.push(dname.clone());
        chain.extend(rrsigs_at(answers, &dname.name, RecordType::DNAME));
        chain.push(cname);
        return Some(target);
    }
    if qtype == RecordType::CNAME {
        return None;
    }
    let cname = answers
        .iter()
        .find(|r| r.name == *name && r.record_type() == RecordType::CNAME)?;
    let target = cname_target(cname)?.clone();
    chain.push(cname.clone());
    chain.extend(rrsigs_at(answers, name, RecordType::CNAME));
    Some(target)
}

/// The SOA proving a negative answer for `name`: it must be the apex of a zone inside `zone` that
/// contains `name`.
fn soa_proof(authorities: &[Record], zone: &Name, name: &Name) -> Option<SoaProof> {
    let soa = authorities.iter().find(|r| {
        r.record_type() == RecordType::SOA
            && r.dns_class == DNSClass::IN
            && zone.zone_of(&r.name)
            && r.name.zone_of(name)
    })?;
    Some(SoaProof {
        soa: soa.clone(),
        rrsigs: rrsigs_at(authorities, &soa.name, RecordType::SOA).collect(),
    })
}

/// A delegation to a zone strictly below `zone` that contains `qname`. An NS set for `zone` itself
/// or for anything above or beside it is a lame or upward referral and is not followed.
fn referral(response: &Message, zone: &Name, qname: &Name) -> Option<Classified> {
    let cut = response
        .authorities
        .iter()
        .find(|r| r.record_type() == RecordType::NS && r.dns_class == DNSClass::IN)?
        .name
        .clone();
    if cut == *zone || !zone.zone_of(&cut) || !cut.zone_of(qname) {
        return Some(Classified::Unusable("upward or sideways referral"));
    }
    let ns: Vec<Record> = response
        .authorities
        .iter()
        .filter(|r| {
            r.record_type() == RecordType::NS && r.name == cut && r.dns_class == DNSClass::IN
        })
        .cloned()
        .collect();
    let ns_names: Vec<&Name> = ns.iter().filter_map(ns_name).collect();
    let glue = response
        .additionals
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .filter(|r| {
            r.dns_class == DNSClass::IN && zone.zone_of(&r.name) && ns_names.contains(&&r.name)
        })
        .cloned()
        .collect();
    Some(Classified::Referral {
        zone: cut,
        ns,
        glue,
    })
}
#[cfg(test)]
mod tests;
