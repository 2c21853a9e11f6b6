//! Any text as a trust anchor file: ferret reads DNSKEY lines itself (hickory's zone parser
//! refuses them), so the hand-written reader must never panic, and whatever it accepts must be
//! anchors of the zone named.
#![no_main]

use std::path::Path;

use ferret::validator::TrustAnchors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Ok(anchors) = TrustAnchors::parse(text, Path::new("fuzz")) {
        for zone in anchors.zones() {
            let anchor = anchors.at(zone).expect("a listed zone has its anchor");
            assert!(!anchor.ds.is_empty() || !anchor.dnskeys.is_empty());
            assert!(anchors.closest(zone).is_some());
        }
    }
});
