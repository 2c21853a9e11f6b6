//! The cache-hit path and cache inserts, in nanoseconds, at 1k, 100k and 1M cached entries.
//!
//!     cargo bench --bench cache                   # everything (a few minutes)
//!     cargo bench --bench cache -- 'hit/full'     # one group
//!
//! `hit/fast` is what a listener does for a cached question: the message cache, request bytes
//! to response bytes (the offline pipeline, as the fuzzer drives it; each question answered once
//! beforehand so its answer is in the message cache). `hit/full` is the slower path behind it,
//! taken for queries the fast path does not take (cookies, other EDNS options): request bytes in
//! (`pipeline::parse`), `Resolver::answer_without_upstream`, response bytes out
//! (`pipeline::encode`). `hit/parse`, `hit/lookup` and `hit/encode` time the three steps alone,
//! to show where a hit's time goes. `insert` caches one new A RRset into a cache that is full at
//! that size, so each insert also evicts the least recently used entry (the steady state of a busy
//! resolver). Questions are spread over the whole cache, so large caches pay their cache misses.
//!
//! Under `cargo test --all-targets` criterion runs each benchmark once as a smoke test; then only
//! the 1k size is built, to keep the test suite fast.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferret::cache::Rank;
use ferret::server::offline::OfflinePipeline;
use ferret::server::pipeline::{self, ClientQuery, Parsed, Transport};
use ferret::{Clock, Config, Resolver};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType, rdata::A};

/// Distinct questions each benchmark cycles through.
const QUESTIONS: usize = 1024;

/// Whether this is a real benchmark run (`cargo bench`), not criterion's smoke test under
/// `cargo test`, which passes no `--bench`.
fn full_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn sizes() -> Vec<usize> {
    if full_run() {
        vec![1_000, 100_000, 1_000_000]
    } else {
        vec![1_000]
    }
}

fn name(index: usize) -> Name {
    Name::from_ascii(format!("host{index}.zone{}.bench.", index % 100)).expect("valid name")
}

fn a_record(index: usize) -> Record {
    let address = Ipv4Addr::from(0xc000_0200_u32 | (index as u32 & 0xff));
    Record::from_rdata(name(index), 86_400, RData::A(A(address)))
}

/// A resolver whose cache has room for `capacity` entries and was given `entries` A RRsets.
/// Capacity is split over shards, and names do not hash evenly, so a cache filled to exactly its
/// capacity has already evicted a few.
fn filled_resolver(entries: usize, capacity: usize) -> Arc<Resolver> {
    let config = Config {
        cache_size: capacity,
        ..Config::default()
    };
    let resolver = Resolver::new(&config, Clock::system()).expect("built-in root hints load");
    fill(&resolver, entries);
    resolver
}

/// Caches `entries` A RRsets (host0 … host{entries-1}).
fn fill(resolver: &Resolver, entries: usize) {
    for index in 0..entries {
        resolver
            .cache()
            .insert_rrset(vec![a_record(index)], Vec::new(), Rank::AuthAnswer);
    }
}

/// An offline request pipeline (no sockets, no upstream) over a cache filled as
/// [`filled_resolver`] fills one.
fn fast_path_pipeline(entries: usize, capacity: usize) -> OfflinePipeline {
    let config = Config {
        cache_size: capacity,
        prefetch: false,
        ..Config::default()
    };
    let pipeline = OfflinePipeline::new(&config, Clock::system()).expect("pipeline builds");
    fill(pipeline.resolver(), entries);
    pipeline
}

/// Wire-format queries (RD, EDNS as dnsperf -e sends) for names spread evenly over the cache.
fn query_bytes(entries: usize) -> Vec<Vec<u8>> {
    let step = (entries / QUESTIONS).max(1);
    (0..QUESTIONS)
        .map(|i| {
            let mut message = Message::query();
            message.metadata.id = i as u16;
            message.metadata.recursion_desired = true;
            message.add_query(Query::query(name(i * step % entries), RecordType::A));
            message.to_vec().expect("query encodes")
        })
        .collect()
}

fn parsed(bytes: &[u8]) -> ClientQuery {
    match pipeline::parse(bytes) {
        Parsed::Query(query) => query,
        other => panic!("benchmark query does not parse as a query: {other:?}"),
    }
}

fn hits(c: &mut Criterion) {
    let mut group = c.benchmark_group("hit");
    group.throughput(Throughput::Elements(1));
    for entries in sizes() {
        let resolver = filled_resolver(entries, entries * 2);
        let requests = query_bytes(entries);
        let queries: Vec<ClientQuery> = requests.iter().map(|b| parsed(b)).collect();
        let answers: Vec<_> = queries
            .iter()
            .map(|q| {
                resolver
                    .answer_without_upstream(q.name(), q.rtype())
                    .expect("every benchmark question is cached")
            })
            .collect();

        // The path a UDP or TCP cache hit really takes: the message cache, read off the wire.
        // Each question is asked once through the full pipeline first, which stores its answer
        // there; every timed call is then a fast-path hit.
        let pipeline = fast_path_pipeline(entries, entries * 2);
        let client = SocketAddr::from(([127, 0, 0, 1], 5353));
        for request in &requests {
            pipeline.answer_from_cache_only(request, client, Transport::Udp);
        }
        assert!(
            pipeline.resolver().cache().messages().len() >= QUESTIONS.min(entries),
            "every benchmark question's answer is in the message cache"
        );
        group.bench_function(BenchmarkId::new("fast", entries), |b| {
            let mut next = 0;
            b.iter(|| {
                let request = &requests[next % QUESTIONS];
                next += 1;
                black_box(pipeline.answer_from_cache_only(
                    black_box(request),
                    client,
                    Transport::Udp,
                ))
            });
        });
        group.bench_function(BenchmarkId::new("full", entries), |b| {
            let mut next = 0;
            b.iter(|| {
                let request = &requests[next % QUESTIONS];
                next += 1;
                let Parsed::Query(query) = pipeline::parse(black_box(request)) else {
                    unreachable!("checked above");
                };
                let answer = resolver.answer_without_upstream(query.name(), query.rtype());
                let answer = answer.expect("cached");
                black_box(pipeline::encode(&query, &answer, Transport::Udp))
            });
        });
        group.bench_function(BenchmarkId::new("parse", entries), |b| {
            let mut next = 0;
            b.iter(|| {
                next += 1;
                black_box(pipeline::parse(black_box(&requests[next % QUESTIONS])))
            });
        });
        group.bench_function(BenchmarkId::new("lookup", entries), |b| {
            let mut next = 0;
            b.iter(|| {
                let query = &queries[next % QUESTIONS];
                next += 1;
                black_box(resolver.answer_without_upstream(query.name(), query.rtype()))
            });
        });
        group.bench_function(BenchmarkId::new("encode", entries), |b| {
            let mut next = 0;
            b.iter(|| {
                let index = next % QUESTIONS;
                next += 1;
                black_box(pipeline::encode(
                    &queries[index],
                    &answers[index],
                    Transport::Udp,
                ))
            });
        });
    }
    group.finish();
}

fn inserts(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert");
    group.throughput(Throughput::Elements(1));
    for entries in sizes() {
        let resolver = filled_resolver(entries, entries);
        let cache = Arc::clone(resolver.cache());
        // Names never cached before, so every insert adds an entry and evicts the oldest.
        let mut next = entries;
        group.bench_function(BenchmarkId::from_parameter(entries), |b| {
            b.iter_batched(
                || {
                    next += 1;
                    a_record(next)
                },
                |record| cache.insert_rrset(vec![record], Vec::new(), Rank::AuthAnswer),
                BatchSize::SmallInput,
            );
        });
        assert!(
            cache.len() <= entries + 64,
            "the cache grew past its capacity"
        );
    }
    group.finish();
}

criterion_group!(benches, hits, inserts);
criterion_main!(benches);
