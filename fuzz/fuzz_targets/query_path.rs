//! Client bytes through ferret's whole request pipeline, answered from a pre-filled cache.
#![no_main]

use std::sync::LazyLock;

use ferret_fuzz::QueryPath;
use libfuzzer_sys::fuzz_target;

static QUERY_PATH: LazyLock<QueryPath> = LazyLock::new(QueryPath::new);

fuzz_target!(|query: &[u8]| QUERY_PATH.check(query));
