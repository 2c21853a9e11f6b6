//! Canonical name order (RFC 4034 §6.1), which every NSEC proof leans on: hickory-proto's `Ord`
//! for `Name` is used as is, so these tests pin down that it is exactly the RFC's order.

use std::cmp::Ordering;

use super::*;

/// A name from raw labels, leftmost first: `Name::from_ascii` refuses binary octets.
fn raw(labels: &[&[u8]]) -> Name {
    Name::from_labels(labels.iter().copied()).unwrap()
}

/// RFC 4034 §6.1's own example, in the order given there (its `\001` and `\200` are decimal
/// escapes, RFC 1035 §5.1).
fn rfc_4034_example() -> Vec<Name> {
    vec![
        name("example."),
        name("a.example."),
        name("yljkjljk.a.example."),
        name("Z.a.example."),
        name("zABC.a.EXAMPLE."),
        name("z.example."),
        raw(&[b"\x01", b"z", b"example"]),
        name("*.z.example."),
        raw(&[b"\xc8", b"z", b"example"]),
    ]
}

#[test]
fn hickory_orders_names_as_rfc_4034_does() {
    let names = rfc_4034_example();
    for pair in names.windows(2) {
        assert_eq!(pair[0].cmp(&pair[1]), Ordering::Less, "{pair:?}");
    }
    let mut shuffled: Vec<Name> = names.iter().rev().cloned().collect();
    shuffled.sort();
    assert_eq!(shuffled, names);
}

#[test]
fn uppercase_sorts_as_lowercase() {
    // '_' (0x5F) lies between 'Z' (0x5A) and 'z' (0x7A): only lowercasing puts Z after it.
    assert_eq!(name("_.example.").cmp(&name("Z.example.")), Ordering::Less);
    assert_eq!(name("A.EXAMPLE.").cmp(&name("a.example.")), Ordering::Equal);
    assert_eq!(name("A.EXAMPLE."), name("a.example."));
}

#[test]
fn a_missing_octet_sorts_before_a_zero_octet() {
    let zero_octet = raw(&[b"a\x00", b"example"]);
    assert_eq!(name("a.example.").cmp(&zero_octet), Ordering::Less);
    assert_eq!(name("ab.example.").cmp(&name("b.example.")), Ordering::Less);
}

#[test]
fn the_rightmost_labels_decide_first() {
    // By their last labels, not as strings: "b.a" comes before "a.b".
    assert_eq!(
        name("b.a.example.").cmp(&name("a.b.example.")),
        Ordering::Less
    );
    // An ancestor comes before all its descendants, and they before its next sibling.
    assert_eq!(
        name("a.example.").cmp(&name("zzz.a.example.")),
        Ordering::Less
    );
    assert_eq!(
        name("zzz.a.example.").cmp(&name("b.example.")),
        Ordering::Less
    );
}

#[test]
fn the_fixture_zone_is_in_canonical_order() {
    let names: Vec<Name> = ZONE.iter().map(|(owner, _)| name(owner)).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, names);
}
