//! QNAME minimisation (RFC 9156): tell each server only as much of the name as it needs.

use hickory_proto::rr::{Name, RecordType};

/// After this many minimised queries for one name, the rest of the name is sent whole
/// (RFC 9156 §2.3, MAX_MINIMISE_COUNT), so a name with many labels cannot multiply queries.
const MAX_MINIMISE_COUNT: u32 = 10;

/// Which name to ask a zone's servers about next.
#[derive(Debug, Clone)]
pub struct Minimiser {
    enabled: bool,
    /// Labels of the name asked last; the next question adds one.
    labels: u8,
    steps: u32,
}

/// One question to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub rtype: RecordType,
    pub minimised: bool,
}

impl Minimiser {
    pub fn new(enabled: bool) -> Self {
        Minimiser {
            enabled,
            labels: 0,
            steps: 0,
        }
    }

    /// The question for servers of `zone` on the way to `qname`/`qtype`: one label below the zone
    /// (or below the last name asked), or the full question once nothing is left to hide.
    ///
    /// Minimised questions ask for type A, as Unbound does and RFC 9156 §2.1 allows: some servers
    /// answer NS queries for names that are not zone cuts badly, while A is asked of everything.
    pub fn question(&self, zone: &Name, qname: &Name, qtype: RecordType) -> Question {
        let next = self.labels.max(zone.num_labels()) + 1;
        if !self.enabled || next >= qname.num_labels() || self.steps >= MAX_MINIMISE_COUNT {
            return Question {
                name: qname.clone(),
                rtype: qtype,
                minimised: false,
            };
        }
        Question {
            name: qname.trim_to(usize::from(next)),
            rtype: RecordType::A,
            minimised: true,
        }
    }

    /// The minimised name asked last was not a zone cut: go one label further.
    pub fn went_deeper(&mut self, asked: &Name) {
        self.labels = asked.num_labels();
        self.steps += 1;
    }

    /// RFC 9156 §2.3 fallback: a server answered a minimised question badly (an error, or an
    /// NXDOMAIN that may be a broken empty non-terminal), so ask the full name from now on.
    pub fn give_up(&mut self) {
        self.enabled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn walks_one_label_at_a_time_then_asks_the_real_question() {
        let mut qmin = Minimiser::new(true);
        let qname = name("a.b.example.test.");
        let q = qmin.question(&Name::root(), &qname, RecordType::MX);
        assert_eq!(
            (q.name, q.rtype, q.minimised),
            (name("test."), RecordType::A, true)
        );
        let q = qmin.question(&name("test."), &qname, RecordType::MX);
        assert_eq!(q.name, name("example.test."));
        qmin.went_deeper(&q.name);
        let q = qmin.question(&name("test."), &qname, RecordType::MX);
        assert_eq!(q.name, name("b.example.test."));
        qmin.went_deeper(&q.name);
        let q = qmin.question(&name("test."), &qname, RecordType::MX);
        assert_eq!(
            (q.name, q.rtype, q.minimised),
            (qname.clone(), RecordType::MX, false)
        );
    }

    #[test]
    fn disabled_or_given_up_asks_the_full_name() {
        let qname = name("a.b.example.test.");
        let q = Minimiser::new(false).question(&Name::root(), &qname, RecordType::A);
        assert_eq!((q.name, q.minimised), (qname.clone(), false));
        let mut qmin = Minimiser::new(true);
        qmin.give_up();
        assert!(
            !qmin
                .question(&Name::root(), &qname, RecordType::A)
                .minimised
        );
    }

    #[test]
    fn long_names_stop_minimising_after_the_limit() {
        let qname = name(&format!("{}example.test.", "x.".repeat(20)));
        let mut qmin = Minimiser::new(true);
        let zone = name("test.");
        let mut asked = 0;
        loop {
            let q = qmin.question(&zone, &qname, RecordType::A);
            if !q.minimised {
                break;
            }
            asked += 1;
            qmin.went_deeper(&q.name);
        }
        assert_eq!(asked, MAX_MINIMISE_COUNT);
    }
}
