//! Any bytes as a value read from the shared cache (Redis), through its decoder and the cache.
#![no_main]

use ferret_fuzz::SharedValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| SharedValue::new().check(input));
