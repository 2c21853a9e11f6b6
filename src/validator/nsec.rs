//! NSEC proofs (RFC 4035 §5.4, RFC 4034 §4): each NSEC record names the next name of its zone
//! in canonical order (RFC 4034 §6.1) and lists the types at its owner, so it proves that no name
//! lies strictly between the two, and which types its owner lacks.
//!
//! Canonical order is hickory-proto's `Ord` for `Name`: labels compared from the right as octet
//! strings with ASCII letters lowercased, a shorter label first when one is a prefix of the
//! other, fewer labels first. That is RFC 4034 §6.1 for fully qualified names, the only kind a
//! message holds; `denial/tests/order.rs` pins it down with the RFC's own example.

use hickory_proto::dnssec::rdata::NSEC;
use hickory_proto::rr::{Name, RecordType, RecordTypeSet};

use super::denial::{
    Denial, ProofFailure, common_ancestor, label_count, nodata_at_owner, speaks_only_for_owner,
    wildcard_at,
};

/// Whether one authenticated NSEC record of `zone` proves that `qname` does not exist (RFC 8198
/// §5.1, aggressive use of a cached NSEC). Not a whole NXDOMAIN proof: the wildcard at
/// [`nsec_closest_encloser`] must be proven absent too, by this or another NSEC.
///
/// `zone` (the RRSIG's signer) is needed: a zone's NSEC may only deny names in that zone, and
/// only the last NSEC of a zone may wrap around, to the apex (RFC 4034 §4.1.1). Without the
/// check, a record of `example.com.` whose next name were `com.` would deny `google.com.`.
pub fn nsec_covers(zone: &Name, nsec_owner: &Name, nsec: &NSEC, qname: &Name) -> bool {
    zone.zone_of(qname)
        && Link::of_zone(zone, nsec_owner, nsec).is_some_and(|link| link.proves_absent(qname))
}

/// Whether one authenticated NSEC record of `zone` proves that `qname` exists without `qtype`
/// or a CNAME (RFC 8198 §5.2): the NSEC at qname, or the one showing qname an empty
/// non-terminal. For qtype DS this is true both at an unsigned delegation and at a name that is
/// no delegation; [`super::denial::prove_nodata`] tells the two apart.
pub fn nsec_denies_type(
    zone: &Name,
    nsec_owner: &Name,
    nsec: &NSEC,
    qname: &Name,
    qtype: RecordType,
) -> bool {
    if !zone.zone_of(qname) {
        return false;
    }
    let Some(link) = Link::of_zone(zone, nsec_owner, nsec) else {
        return false;
    };
    if link.owner == qname {
        return nodata_at_owner(qname, link.types(), qtype).is_ok();
    }
    link.shows_empty_non_terminal(qname)
}

/// The closest encloser of `qname` that an NSEC proving qname absent shows: the longest ancestor
/// of qname that is also an ancestor of the NSEC's owner or of its next name. Every ancestor of
/// qname below that one sorts strictly between the two, so does not exist (RFC 4035 §5.4, RFC
/// 7129 §5.5). The wildcard that could have answered for qname is the one at this name.
pub fn nsec_closest_encloser(nsec_owner: &Name, nsec: &NSEC, qname: &Name) -> Name {
    Link {
        owner: nsec_owner,
        nsec,
    }
    .closest_encloser(qname)
}

/// The NSEC records of one zone, as given.
pub(super) struct NsecChain<'a> {
    links: Vec<Link<'a>>,
}

impl<'a> NsecChain<'a> {
    /// The well-formed NSEC records of `zone` among `records`, or `None` if there are none.
    pub(super) fn new(
        zone: &Name,
        records: impl IntoIterator<Item = (&'a Name, &'a NSEC)>,
    ) -> Option<Self> {
        let links: Vec<Link<'a>> = records
            .into_iter()
            .filter_map(|(owner, nsec)| Link::of_zone(zone, owner, nsec))
            .collect();
        (!links.is_empty()).then_some(NsecChain { links })
    }

    /// NXDOMAIN (RFC 4035 §5.4): no record shows qname (or a name below it) to exist, one proves
    /// qname absent, and one proves absent the wildcard at the closest encloser that record shows.
    pub(super) fn prove_nxdomain(&self, qname: &Name) -> Result<Denial, ProofFailure> {
        if self.shows_existence_of(qname) {
            return Err(ProofFailure::NameExists);
        }
        let cover = self.absence_of(qname)?;
        let wildcard = wildcard_at(qname, &cover.closest_encloser(qname));
        if self.shows_existence_of(&wildcard) {
            return Err(ProofFailure::WildcardExists);
        }
        self.absence_of(&wildcard)
            .map_err(|failure| match failure {
                ProofFailure::NotCovered => ProofFailure::WildcardNotDenied,
                other => other,
            })?;
        Ok(Denial::NxDomain)
    }

    /// NODATA (RFC 4035 §5.4): the NSEC at qname lacks qtype and CNAME, or qname is an empty
    /// non-terminal (RFC 4035 §3.1.3.2, RFC 7129 §3.2), or qname does not exist and the NSEC at
    /// the wildcard of its closest encloser lacks them (wildcard NODATA, RFC 4035 §3.1.3.4).
    pub(super) fn prove_nodata(
        &self,
        qname: &Name,
        qtype: RecordType,
    ) -> Result<Denial, ProofFailure> {
        if let Some(proof) = self.nodata_at(qname, qtype) {
            return proof;
        }
        if self.shows_existence_of(qname) {
            return Err(ProofFailure::NameRecordMissing);
        }
        let cover = self.absence_of(qname)?;
        let wildcard = wildcard_at(qname, &cover.closest_encloser(qname));
        match self.nodata_at(&wildcard, qtype) {
            Some(proof) => proof.map(|_| Denial::WildcardNoData {
                source_of_synthesis: wildcard,
            }),
            None => Err(ProofFailure::WildcardRecordMissing),
        }
    }

    /// A wildcard answer (RFC 4035 §5.3.4): an NSEC proves qname absent, and the closest encloser
    /// it shows is the one the RRSIG names. A closer one would mean a closer wildcard, or none,
    /// should have answered.
    pub(super) fn prove_wildcard_answer(
        &self,
        qname: &Name,
        closest_encloser: &Name,
    ) -> Result<Denial, ProofFailure> {
        if self.shows_existence_of(qname) {
            return Err(ProofFailure::NameExists);
        }
        let cover = self.absence_of(qname)?;
        if cover.closest_encloser(qname) != *closest_encloser {
            return Err(ProofFailure::WrongClosestEncloser);
        }
        Ok(Denial::WildcardAnswer)
    }

    /// Whether some record names `name` or a name below it, as owner or next name: then `name`
    /// exists, if only as an empty non-terminal.
    fn shows_existence_of(&self, name: &Name) -> bool {
        self.links
            .iter()
            .any(|link| name.zone_of(link.owner) || name.zone_of(link.next()))
    }

    /// The record proving `name` absent. A record that would, but sits at a zone cut or DNAME
    /// above the name, is reported as such rather than as a missing proof.
    fn absence_of(&self, name: &Name) -> Result<Link<'a>, ProofFailure> {
        let mut from_above_cut = false;
        for link in &self.links {
            if link.spans(name) && !name.zone_of(link.next()) {
                if link.speaks_for(name) {
                    return Ok(*link);
                }
                from_above_cut = true;
            }
        }
        Err(if from_above_cut {
            ProofFailure::BelowZoneCut
        } else {
            ProofFailure::NotCovered
        })
    }

    /// What the records prove about `qtype` at `name` if they show that `name` exists: by the
    /// NSEC at `name`, or by one showing it an empty non-terminal (which holds no type at all).
    /// `None` if they show neither.
    fn nodata_at(&self, name: &Name, qtype: RecordType) -> Option<Result<Denial, ProofFailure>> {
        if let Some(link) = self.links.iter().find(|link| link.owner == name) {
            return Some(nodata_at_owner(name, link.types(), qtype));
        }
        self.links
            .iter()
            .any(|link| link.shows_empty_non_terminal(name))
            .then_some(Ok(Denial::NoData))
    }
}

/// One NSEC record: from its owner to the next name of the zone.
#[derive(Clone, Copy)]
struct Link<'a> {
    owner: &'a Name,
    nsec: &'a NSEC,
}

impl<'a> Link<'a> {
    /// The record, if it may speak for `zone`: owner and next name in the zone, and a next name
    /// sorting at or before the owner only in the zone's last NSEC, where it is the apex (RFC 4034
    /// §4.1.1). Anything else would let one zone's key deny another zone's names.
    fn of_zone(zone: &Name, owner: &'a Name, nsec: &'a NSEC) -> Option<Self> {
        let next = nsec.next_domain_name();
        let in_zone = zone.zone_of(owner) && zone.zone_of(next);
        let wraps_to_apex = next > owner || next == zone;
        (in_zone && wraps_to_apex).then_some(Link { owner, nsec })
    }

    fn next(&self) -> &'a Name {
        self.nsec.next_domain_name()
    }

    fn types(&self) -> &'a RecordTypeSet {
        self.nsec.type_set()
    }

    /// Whether `name` sorts strictly between the owner and the next name, the span this record
    /// denies. In the last NSEC the next name is the apex (RFC 4034 §4.1.1): the span runs from
    /// the owner to the end of the zone.
    fn spans(&self, name: &Name) -> bool {
        let next = self.next();
        if self.owner < next {
            self.owner < name && name < next
        } else {
            self.owner < name && next.zone_of(name)
        }
    }

    /// Whether this record may deny `name`: not if it sits at a zone cut or a DNAME above it
    /// (RFC 6840 §4.1). The names there belong to the child zone, or are redirected.
    fn speaks_for(&self, name: &Name) -> bool {
        let below_owner = self.owner.zone_of(name) && self.owner != name;
        !(below_owner && speaks_only_for_owner(self.types()))
    }

    /// Whether this record proves `name` absent: in its span, allowed to speak for it, and not
    /// followed by a name below `name`, which would make `name` an empty non-terminal.
    fn proves_absent(&self, name: &Name) -> bool {
        self.spans(name) && self.speaks_for(name) && !name.zone_of(self.next())
    }

    /// Whether this record shows `name` to be an empty non-terminal: `name` has no record of its
    /// own (it is in the span) but the next name lies below it (RFC 7129 §3.2, RFC 4035
    /// §3.1.3.2).
    fn shows_empty_non_terminal(&self, name: &Name) -> bool {
        let next = self.next();
        self.spans(name) && self.speaks_for(name) && name.zone_of(next) && next != name
    }

    fn closest_encloser(&self, name: &Name) -> Name {
        let by_owner = common_ancestor(name, self.owner);
        let by_next = common_ancestor(name, self.next());
        if label_count(&by_next) > label_count(&by_owner) {
            by_next
        } else {
            by_owner
        }
    }
}
