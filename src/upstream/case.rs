//! 0x20 mixed-case query names (draft-vixie-dnsext-dns0x20, Unbound's use-caps-for-id).
//!
//! Servers compare names case-insensitively but copy the question into the answer byte for byte,
//! so a randomly cased question comes back with the same case. A forger who does not see the
//! query has to guess one bit per letter on top of the source port and the ID.

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RData, Record};

/// `name` with the case of each ASCII letter chosen at random.
pub fn mix_case(name: &Name) -> Name {
    let labels: Vec<Vec<u8>> = name
        .iter()
        .map(|label| label.iter().map(|&byte| random_case(byte)).collect())
        .collect();
    match Name::from_labels(labels) {
        Ok(mut mixed) => {
            mixed.set_fqdn(name.is_fqdn());
            mixed
        }
        // Changing case never changes a label's length, so this cannot happen; sending the name
        // as it is would be the harmless way out.
        Err(_) => name.clone(),
    }
}

fn random_case(byte: u8) -> u8 {
    if byte.is_ascii_alphabetic() && rand::random::<bool>() {
        byte ^ 0x20
    } else {
        byte
    }
}

/// Whether `name` has any letter whose case can carry a bit.
pub fn has_letters(name: &Name) -> bool {
    name.iter().flatten().any(u8::is_ascii_alphabetic)
}

/// Puts the case of `original` back wherever the answer repeats the mixed-case name `mixed`, so
/// that neither the cache nor clients see the random case. Servers that compress names against
/// the question copy its case into owner names and into names inside the data (`ns1.ExAmPle.`),
/// so every name whose trailing labels match `mixed` exactly gets those labels from `original`.
pub fn restore_case(response: &mut Message, mixed: &Name, original: &Name) {
    for question in &mut response.queries {
        let name = unmix(question.name(), mixed, original);
        question.set_name(name);
    }
    let sections = [
        &mut response.answers,
        &mut response.authorities,
        &mut response.additionals,
    ];
    for records in sections {
        records
            .iter_mut()
            .for_each(|record| restore_record(record, mixed, original));
    }
}

fn restore_record(record: &mut Record, mixed: &Name, original: &Name) {
    record.name = unmix(&record.name, mixed, original);
    match &mut record.data {
        RData::CNAME(target) => target.0 = unmix(&target.0, mixed, original),
        RData::NS(target) => target.0 = unmix(&target.0, mixed, original),
        RData::PTR(target) => target.0 = unmix(&target.0, mixed, original),
        _ => {}
    }
}

/// `name` with its trailing labels that equal `mixed`'s byte for byte replaced by `original`'s.
fn unmix(name: &Name, mixed: &Name, original: &Name) -> Name {
    let labels: Vec<&[u8]> = name.iter().collect();
    let mixed_labels: Vec<&[u8]> = mixed.iter().collect();
    let original_labels: Vec<&[u8]> = original.iter().collect();
    let shared = labels
        .iter()
        .rev()
        .zip(mixed_labels.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    if shared == 0 || original_labels.len() != mixed_labels.len() {
        return name.clone();
    }
    let keep = labels.len() - shared;
    let restored = labels[..keep]
        .iter()
        .chain(&original_labels[original_labels.len() - shared..])
        .map(|label| label.to_vec());
    match Name::from_labels(restored) {
        Ok(mut restored) => {
            restored.set_fqdn(name.is_fqdn());
            restored
        }
        Err(_) => name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::RecordType;
    use hickory_proto::rr::rdata::{A, CNAME};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn mixing_keeps_the_name_and_varies_the_case() {
        let original = name("www.example-domain.test.");
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let mixed = mix_case(&original);
            assert_eq!(mixed, original, "same name, case aside");
            assert!(mixed.is_fqdn());
            seen.insert(mixed.to_ascii());
        }
        // 19 letters: 50 draws from 2^19 spellings are practically all different.
        assert!(seen.len() > 40, "only {} spellings", seen.len());
        let digits = name("1.2.3.4.");
        assert!(mix_case(&digits).eq_case(&digits));
        assert!(!has_letters(&digits));
        assert!(has_letters(&original));
    }

    #[test]
    fn restoring_undoes_the_mix_in_owners_and_targets() {
        let original = name("www.Example.test.");
        let mixed = name("wWW.eXAmple.TeSt.");
        let mut response = Message::new(1, MessageType::Response, OpCode::Query);
        response.add_query(Query::query(mixed.clone(), RecordType::A));
        response.answers.push(Record::from_rdata(
            mixed.clone(),
            60,
            RData::CNAME(CNAME(name("web.eXAmple.TeSt."))),
        ));
        response.answers.push(Record::from_rdata(
            name("web.eXAmple.TeSt."),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        // A name from the zone's own data keeps its own case.
        response.additionals.push(Record::from_rdata(
            name("NS1.example.test."),
            60,
            RData::A(A::new(192, 0, 2, 2)),
        ));
        restore_case(&mut response, &mixed, &original);
        assert!(response.queries[0].name().eq_case(&original));
        assert!(response.answers[0].name.eq_case(&original));
        let RData::CNAME(target) = &response.answers[0].data else {
            panic!("CNAME expected");
        };
        assert!(target.0.eq_case(&name("web.Example.test.")));
        assert!(response.answers[1].name.eq_case(&name("web.Example.test.")));
        assert!(
            response.additionals[0]
                .name
                .eq_case(&name("NS1.example.test."))
        );
    }
}
