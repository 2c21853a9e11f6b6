//! The base32hex decoding of NSEC3 owner labels (RFC 4648 §7, RFC 5155 §3.3).

use super::{base32hex_decode, base32hex_length};

#[test]
fn decodes_rfc_4648_test_vectors() {
    // RFC 4648 §10, BASE32-HEX, without the padding NSEC3 labels leave out.
    for (text, octets) in [
        ("", ""),
        ("CO", "f"),
        ("CPNG", "fo"),
        ("CPNMU", "foo"),
        ("CPNMUOG", "foob"),
        ("CPNMUOJ1", "fooba"),
        ("CPNMUOJ1E8", "foobar"),
    ] {
        assert_eq!(
            base32hex_decode(text.as_bytes()),
            Some(octets.as_bytes().to_vec()),
            "{text}"
        );
    }
}

#[test]
fn decodes_either_case() {
    assert_eq!(
        base32hex_decode(b"cpnmuoj1e8"),
        base32hex_decode(b"CPNMUOJ1E8")
    );
}

#[test]
fn refuses_characters_outside_the_alphabet_and_stray_bits() {
    assert_eq!(base32hex_decode(b"CPNMUOJ1EW"), None);
    assert_eq!(base32hex_decode(b"CPNMUOJ1E="), None);
    // "CP" leaves 2 bits after "f"; they must be zero.
    assert_eq!(base32hex_decode(b"CP"), None);
}

#[test]
fn a_sha1_hash_is_32_characters() {
    assert_eq!(base32hex_length(20), 32);
}
