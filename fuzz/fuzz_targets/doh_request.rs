//! DoH request heads and bodies through the request checks, and bytes through what the
//! encrypted listeners read off messages (max-age, padding).
#![no_main]

use ferret_fuzz::DohRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| DohRequest::new().check(input));
