//! Any message's authority section through the denial-of-existence proofs, as if authenticated.
#![no_main]

use std::sync::LazyLock;

use ferret_fuzz::DenialProof;
use libfuzzer_sys::fuzz_target;

static DENIAL_PROOF: LazyLock<DenialProof> = LazyLock::new(DenialProof::new);

fuzz_target!(|input: &[u8]| DENIAL_PROOF.check(input));
