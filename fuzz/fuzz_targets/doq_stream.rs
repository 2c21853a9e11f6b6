//! What a DoQ client sends on one stream, through the server's framing checks.
#![no_main]

use ferret_fuzz::DoqStream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| DoqStream::new().check(input));
