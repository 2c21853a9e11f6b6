//! Property: whatever a client sends to ferret's UDP listener, it gets no answer or a well-formed
//! response to its message, and ferret goes on answering normal queries (issue 4, "Hard to break").
//!
//! Inputs are random byte strings and valid queries with a few random mutations (bytes changed,
//! inserted, removed, the message cut short), sent to a ferret that resolves from the standard fake
//! world. Each case is followed by a normal query that must be answered. Responses that need an
//! upstream resolution may come after that probe, so every case keeps its socket, and the answers
//! that came late are collected and checked once all cases have run.
//!
//! Address block 160 (127.160.x.y) belongs to this file.

mod common;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::client::{QueryOpts, build_query};
use common::hierarchy::{Hierarchy, net};
use common::world;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::RecordType;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use tokio::net::UdpSocket;
use tokio::runtime::Runtime;
use tokio::time::{Instant, timeout_at};

const BLOCK: u8 = 160;
/// Enough cases to cover every kind of mutation many times, few enough to run in seconds.
const CASES: u32 = 300;
/// How long the probe after each case may take: generous, the machine is shared.
const PROBE_WAIT: Duration = Duration::from_secs(5);
/// How long late answers are waited for at the end: longer than a resolution may take
/// (`test_config` sets 3 s).
const LATE_WAIT: Duration = Duration::from_millis(3_500);
const CLASSIC_UDP_LIMIT: usize = 512;
/// ferret's own EDNS payload size, the most it sends over UDP.
const FERRET_UDP_LIMIT: u16 = 1232;

/// One change to a valid query.
#[derive(Debug, Clone)]
enum Mutation {
    Set { at: usize, byte: u8 },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    Truncate { at: usize },
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match *self {
            Mutation::Set { at, byte } if len > 0 => bytes[at % len] = byte,
            Mutation::Insert { at, byte } => bytes.insert(at % (len + 1), byte),
            Mutation::Remove { at } if len > 0 => {
                bytes.remove(at % len);
            }
            Mutation::Truncate { at } => bytes.truncate(at % (len + 1)),
            _ => {}
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        1 => any::<usize>().prop_map(|at| Mutation::Remove { at }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

/// Valid queries to mutate: names the world answers (with and without EDNS, DO, a big answer)
/// and one it does not have.
fn valid_queries() -> Vec<Vec<u8>> {
    let plain = QueryOpts {
        edns: None,
        ..QueryOpts::default()
    };
    let dnssec = QueryOpts {
        dnssec_ok: true,
        ..QueryOpts::default()
    };
    [
        ("www.example.test.", RecordType::A, QueryOpts::default()),
        ("www.example.test.", RecordType::AAAA, plain),
        ("big.example.test.", RecordType::TXT, dnssec),
        ("example.test.", RecordType::NS, plain),
        (
            "nothing-here.example.test.",
            RecordType::A,
            QueryOpts::default(),
        ),
    ]
    .into_iter()
    .map(|(name, rtype, opts)| {
        build_query(name, rtype, opts)
            .to_vec()
            .expect("query encodes")
    })
    .collect()
}

/// Random bytes, or a valid query with one to four mutations.
fn client_message() -> impl Strategy<Value = Vec<u8>> {
    let queries = valid_queries();
    let mutated = (
        0..queries.len(),
        proptest::collection::vec(mutation(), 1..=4),
    )
        .prop_map(move |(pick, mutations)| {
            let mut bytes = queries[pick].clone();
            for mutation in &mutations {
                mutation.apply(&mut bytes);
            }
            bytes
        });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..600),
        3 => mutated,
    ]
}

/// What a response to `sent` must be: a DNS response with its ID, no bigger than the client
/// takes over UDP.
fn check_response(sent: &[u8], response: &[u8]) -> Result<(), String> {
    if sent.len() < 12 {
        return Err(format!("an answer to a {}-byte message", sent.len()));
    }
    let limit = Message::from_vec(sent)
        .ok()
        .and_then(|message| message.edns)
        .map_or(CLASSIC_UDP_LIMIT, |edns| {
            usize::from(edns.max_payload().min(FERRET_UDP_LIMIT)).max(CLASSIC_UDP_LIMIT)
        });
    if response.len() > limit {
        return Err(format!(
            "a {}-byte UDP response to a client that takes {limit}",
            response.len()
        ));
    }
    let message = Message::from_vec(response)
        .map_err(|error| format!("the response does not parse: {error}"))?;
    if message.metadata.message_type != MessageType::Response {
        return Err("QR=0 in the response".into());
    }
    let id = u16::from_be_bytes([sent[0], sent[1]]);
    if message.metadata.id != id {
        return Err(format!(
            "ID {} in the response to ID {id}",
            message.metadata.id
        ));
    }
    Ok(())
}

/// A normal query on `socket` must be answered; whatever else arrives first is the answer to the
/// case's message and is checked. Returns how many of those there were.
async fn probe(socket: &UdpSocket, server: SocketAddr, sent: &[u8]) -> Result<usize, String> {
    let mut query = build_query("www.example.test.", RecordType::A, QueryOpts::default());
    // Never the case's own ID, so the two answers cannot be mistaken for each other.
    let case_id = match sent {
        [high, low, ..] => u16::from_be_bytes([*high, *low]),
        _ => 0,
    };
    query.metadata.id = case_id.wrapping_add(1);
    socket
        .send_to(&query.to_vec().expect("query encodes"), server)
        .await
        .map_err(|error| format!("sending the probe: {error}"))?;
    let deadline = Instant::now() + PROBE_WAIT;
    let mut buf = vec![0u8; 65_535];
    let mut answers = 0;
    loop {
        let len = match timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return Err("ferret stopped answering normal queries".into()),
            Ok(Err(error)) => return Err(format!("receiving: {error}")),
            Ok(Ok(len)) => len,
        };
        let received = &buf[..len];
        if let Ok(message) = Message::from_vec(received)
            && message.metadata.id == query.metadata.id
            && message.queries == query.queries
        {
            if message.metadata.response_code != ResponseCode::NoError || message.answers.is_empty()
            {
                return Err(format!("the probe got a wrong answer: {message}"));
            }
            return Ok(answers);
        }
        check_response(sent, received)?;
        answers += 1;
    }
}

/// Sends one case and probes behind it; the socket is kept (with what was sent) for late answers.
/// Returns how many answers to the case came before the probe's.
async fn run_case(
    server: SocketAddr,
    sent: &[u8],
    kept: &Mutex<Vec<(UdpSocket, Vec<u8>)>>,
) -> Result<usize, String> {
    let client = SocketAddr::new(net(BLOCK, 100, 1).parse().expect("client address"), 0);
    let socket = UdpSocket::bind(client)
        .await
        .map_err(|error| format!("binding {client}: {error}"))?;
    socket
        .connect(server)
        .await
        .map_err(|error| format!("connecting to {server}: {error}"))?;
    socket
        .send(sent)
        .await
        .map_err(|error| format!("sending: {error}"))?;
    let answers = probe(&socket, server, sent).await?;
    kept.lock().expect("lock").push((socket, sent.to_vec()));
    Ok(answers)
}

/// Checks whatever arrived on the kept sockets after their probes.
fn check_late_answers(kept: Vec<(UdpSocket, Vec<u8>)>) -> Result<usize, String> {
    let mut late = 0;
    let mut buf = vec![0u8; 65_535];
    for (socket, sent) in kept {
        while let Ok(len) = socket.try_recv(&mut buf) {
            check_response(&sent, &buf[..len])
                .map_err(|error| format!("{error} (sent {sent:02x?})"))?;
            late += 1;
        }
    }
    Ok(late)
}

struct Running {
    // Field order is drop order: ferret stops before the hierarchy it resolves from.
    ferret: ferret::server::RunningServer,
    _world: Hierarchy,
}

async fn start() -> Running {
    let world = world::start(BLOCK).await;
    let config = common::ferret::test_config(BLOCK, &world.root_hints_path());
    let ferret = common::ferret::start(&config).await;
    Running {
        ferret,
        _world: world,
    }
}

#[test]
fn any_message_gets_silence_or_a_well_formed_response() {
    let runtime = Runtime::new().expect("tokio runtime");
    let running = runtime.block_on(start());
    let server = common::ferret::addr(&running.ferret);
    let kept = Mutex::new(Vec::new());
    let answered = AtomicUsize::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let outcome = runner.run(&client_message(), |sent| {
        let answers = runtime
            .block_on(run_case(server, &sent, &kept))
            .map_err(TestCaseError::fail)?;
        answered.fetch_add(answers, Ordering::Relaxed);
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    runtime.block_on(async { tokio::time::sleep(LATE_WAIT).await });
    let _context = runtime.enter();
    let kept = kept.into_inner().expect("lock");
    assert!(
        kept.len() >= CASES as usize,
        "only {} cases ran",
        kept.len()
    );
    let late = match check_late_answers(kept) {
        Ok(late) => late,
        Err(failure) => panic!("a late answer: {failure}"),
    };
    // Most mutated queries still parse, and FORMERR answers most of the rest: a run where hardly
    // anything was answered checked nothing.
    let answered = answered.into_inner() + late;
    assert!(
        answered >= CASES as usize / 3,
        "only {answered} of {CASES} messages were answered"
    );
    drop(running);
}
