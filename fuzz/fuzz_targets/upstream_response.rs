//! Bytes as if from an authoritative server, through the scrubber and the caching step.
#![no_main]

use std::sync::LazyLock;

use ferret_fuzz::UpstreamResponse;
use libfuzzer_sys::fuzz_target;

static UPSTREAM_RESPONSE: LazyLock<UpstreamResponse> = LazyLock::new(UpstreamResponse::new);

fuzz_target!(|input: &[u8]| UPSTREAM_RESPONSE.check(input));
