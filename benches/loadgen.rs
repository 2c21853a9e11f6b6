//! A batched UDP load generator for DNS servers, for benches/*.sh.
//!
//! dnsperf sends and receives one datagram per system call, so on this 2-core machine it runs out
//! of CPU (near 90k queries/s on its core) before a fast one-thread server does. This generator
//! moves the ceiling to the server: it sends and receives up to `--batch` datagrams per system
//! call (sendmmsg/recvmmsg) over `--sockets` connected sockets, each with at most `--window`
//! queries outstanding, with no rate limit: whenever an answer comes back, the next query goes
//! out. Queries come from a dnsperf-format file (`NAME TYPE` per line), taken in order and
//! cycled. Every answer is matched to its query by socket, ID and question, and timed.
//!
//! With `--once`, every line is sent exactly once and the run ends when the last answer is in
//! (or timed out): that fills caches (dnsperf.sh, memory.sh) and times cold resolution (cold.sh).
//!
//! `--ad-flag` and `--dnssec-ok` ask a validating resolver for the AD bit (cold_dnssec.sh counts
//! the answers that carry it, `ad=`).
//!
//! The last line of output is `RESULT key=value ...`, for the scripts to read.
//!
//! Raw syscalls through the `libc` crate: std has no sendmmsg/recvmmsg/poll, `libc` is already
//! in Cargo.lock (tokio and socket2 use it), and the safe wrappers of `nix` allocate per call.

use std::collections::VecDeque;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use socket2::{Domain, Protocol, Socket, Type};

/// Receive buffer per message: larger than any answer to a query without EDNS (512) or with
/// ours (1232), so no answer is cut.
const RECEIVE_BUFFER: usize = 2048;

/// Kernel socket buffers: large enough that a batch never overflows them.
const SOCKET_BUFFER: usize = 4 << 20;

/// How long to sleep in poll(2) when a pass over the sockets found nothing to do.
const IDLE_POLL_MS: i32 = 2;

/// DNS header length and the offsets used here (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;

#[derive(Debug, Parser)]
#[command(about = "Batched DNS load generator (sendmmsg/recvmmsg), for benches/*.sh")]
struct Args {
    /// Server to load; must be a loopback address.
    #[arg(long)]
    server: SocketAddr,

    /// Query file, one `NAME TYPE` per line (dnsperf's format); `#` starts a comment.
    #[arg(long)]
    queries: PathBuf,

    /// Seconds to send for (with --once: the most the whole run may take).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// Number of UDP sockets (each a separate client port).
    #[arg(long, default_value_t = 16)]
    sockets: usize,

    /// Most queries outstanding per socket.
    #[arg(long, default_value_t = 8)]
    window: usize,

    /// Most datagrams per sendmmsg/recvmmsg call.
    #[arg(long, default_value_t = 32)]
    batch: usize,

    /// A query unanswered after this many milliseconds counts as lost.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,

    /// Send each query of the file once, then wait for the answers and stop.
    #[arg(long)]
    once: bool,

    /// Add an EDNS0 OPT record (payload 1232), as `dnsperf -e` does.
    #[arg(long)]
    edns: bool,

    /// Set the DNSSEC OK bit (implies --edns), as `dnsperf -D` does: answers carry RRSIGs.
    #[arg(long)]
    dnssec_ok: bool,

    /// Set the AD bit in queries (RFC 6840 §5.7): a validating resolver then sets AD on the
    /// answers it validated as secure, without DO. Answers with AD are counted either way.
    #[arg(long)]
    ad_flag: bool,

    /// Local address to send from; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1")]
    source: std::net::IpAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            report.print(&args);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<Report, String> {
    if !args.server.ip().is_loopback() || !args.source.is_loopback() {
        return Err("only loopback addresses may be loaded".into());
    }
    if args.sockets == 0 || args.window == 0 || args.batch == 0 {
        return Err("--sockets, --window and --batch must be at least 1".into());
    }
    let queries = QuerySet::load(&args.queries, QueryFlags::from_args(args))?;
    let mut sockets = (0..args.sockets)
        .map(|_| Client::connect(args.source, args.server, args.batch))
        .collect::<Result<Vec<_>, _>>()?;
    let mut load = Load::new(args, queries.len());
    let mut pollfds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|s| libc::pollfd {
            fd: s.fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();

    while !load.finished() {
        let mut progress = false;
        for socket in &mut sockets {
            progress |= socket.receive(&queries, &mut load)? > 0;
            socket.expire(&mut load);
            progress |= socket.send(&queries, &mut load, args.window)? > 0;
        }
        if !progress {
            // SAFETY: pollfds is a live, correctly sized array of pollfd; poll only writes revents.
            unsafe {
                libc::poll(
                    pollfds.as_mut_ptr(),
                    pollfds.len() as libc::nfds_t,
                    IDLE_POLL_MS,
                );
            }
        }
    }
    Ok(load.report())
}

/// What every query of a run asks for beyond the question.
#[derive(Clone, Copy, Debug)]
struct QueryFlags {
    edns: bool,
    dnssec_ok: bool,
    authentic_data: bool,
}

impl QueryFlags {
    fn from_args(args: &Args) -> Self {
        QueryFlags {
            edns: args.edns || args.dnssec_ok,
            dnssec_ok: args.dnssec_ok,
            authentic_data: args.ad_flag,
        }
    }
}

/// Every query of the file, encoded once, with a placeholder ID that is patched per send.
struct QuerySet {
    wire: Vec<u8>,
    /// Start of each query in `wire`; query `i` is `wire[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    /// Length of the header plus the question section of each query, to compare with answers.
    question_end: Vec<usize>,
}

impl QuerySet {
    fn load(path: &PathBuf, flags: QueryFlags) -> Result<Self, String> {
        let text = fs::read_to_string(path).map_err(|e| format!("reading {path:?}: {e}"))?;
        let mut set = QuerySet {
            wire: Vec::new(),
            offsets: vec![0],
            question_end: Vec::new(),
        };
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (name, rtype) =
                parse_line(line).map_err(|e| format!("{path:?} line {}: {e}", number + 1))?;
            let encoded = encode_query(&name, rtype, flags)?;
            let question_len = name.len() + 4 + 1;
            set.question_end.push(HEADER_LEN + question_len);
            set.wire.extend_from_slice(&encoded);
            set.offsets.push(set.wire.len());
        }
        if set.question_end.is_empty() {
            return Err(format!("{path:?} holds no queries"));
        }
        Ok(set)
    }

    fn len(&self) -> usize {
        self.question_end.len()
    }

    fn query(&self, index: usize) -> &[u8] {
        &self.wire[self.offsets[index]..self.offsets[index + 1]]
    }

    fn question(&self, index: usize) -> &[u8] {
        &self.query(index)[HEADER_LEN..self.question_end[index]]
    }
}

fn parse_line(line: &str) -> Result<(Name, RecordType), String> {
    let mut fields = line.split_whitespace();
    let name = fields.next().ok_or("no name")?;
    let rtype = fields.next().unwrap_or("A");
    let mut name = Name::from_ascii(name).map_err(|e| format!("bad name {name:?}: {e}"))?;
    name.set_fqdn(true);
    let rtype: RecordType = rtype
        .to_ascii_uppercase()
        .parse()
        .map_err(|e| format!("bad type {rtype:?}: {e}"))?;
    Ok((name, rtype))
}

fn encode_query(name: &Name, rtype: RecordType, flags: QueryFlags) -> Result<Vec<u8>, String> {
    let mut message = Message::query();
    message.metadata.id = 0;
    message.metadata.recursion_desired = true;
    message.metadata.authentic_data = flags.authentic_data;
    message.add_query(Query::query(name.clone(), rtype));
    if flags.edns {
        let mut opt = Edns::new();
        opt.set_max_payload(1232);
        opt.set_dnssec_ok(flags.dnssec_ok);
        message.set_edns(opt);
    }
    message
        .to_vec()
        .map_err(|e| format!("encoding {name} {rtype}: {e}"))
}

/// Counters of one run, shared by all sockets.
struct Load {
    started: Instant,
    /// Sending stops here.
    deadline: Duration,
    /// The run ends here at the latest, answers outstanding or not.
    hard_stop: Duration,
    once: bool,
    timeout_ns: u64,
    next_query: usize,
    query_count: usize,
    outstanding: usize,
    sent: u64,
    answered: u64,
    answered_in_time: u64,
    lost: u64,
    mismatched: u64,
    truncated: u64,
    /// Answers with the AD bit (RFC 4035 §3.2.3: the resolver validated them as secure).
    authenticated: u64,
    rcodes: [u64; 16],
    latency: Histogram,
    last_answer: Duration,
}

impl Load {
    fn new(args: &Args, query_count: usize) -> Self {
        let deadline = Duration::from_secs_f64(args.duration.max(0.0));
        let timeout = Duration::from_millis(args.timeout_ms);
        Load {
            started: Instant::now(),
            deadline,
            hard_stop: if args.once {
                deadline
            } else {
                deadline + timeout
            },
            once: args.once,
            timeout_ns: timeout.as_nanos() as u64,
            next_query: 0,
            query_count,
            outstanding: 0,
            sent: 0,
            answered: 0,
            answered_in_time: 0,
            lost: 0,
            mismatched: 0,
            truncated: 0,
            authenticated: 0,
            rcodes: [0; 16],
            latency: Histogram::new(),
            last_answer: Duration::ZERO,
        }
    }

    /// Nanoseconds since the start, never 0 (0 marks a free slot).
    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64 + 1
    }

    fn may_send(&self) -> bool {
        let all_sent = self.once && self.next_query >= self.query_count;
        !all_sent && self.started.elapsed() < self.deadline
    }

    fn take_query(&mut self) -> usize {
        let index = self.next_query % self.query_count;
        self.next_query += 1;
        index
    }

    fn finished(&self) -> bool {
        let elapsed = self.started.elapsed();
        if elapsed >= self.hard_stop {
            return true;
        }
        !self.may_send() && self.outstanding == 0
    }

    fn record_answer(&mut self, rcode: u8, truncated: bool, authenticated: bool, latency_ns: u64) {
        self.answered += 1;
        let elapsed = self.started.elapsed();
        if elapsed <= self.deadline {
            self.answered_in_time += 1;
        }
        self.last_answer = elapsed;
        self.rcodes[usize::from(rcode & 0x0f)] += 1;
        self.truncated += u64::from(truncated);
        self.authenticated += u64::from(authenticated);
        self.latency.record(latency_ns / 1000);
    }

    fn report(&self) -> Report {
        let elapsed = self.started.elapsed();
        let lost_at_stop = self.outstanding as u64;
        let run_time = if self.once {
            self.last_answer.max(Duration::from_nanos(1))
        } else {
            self.deadline
        };
        let answered_for_rate = if self.once {
            self.answered
        } else {
            self.answered_in_time
        };
        Report {
            sent: self.sent,
            answered: self.answered,
            lost: self.lost + lost_at_stop,
            mismatched: self.mismatched,
            truncated: self.truncated,
            authenticated: self.authenticated,
            rcodes: self.rcodes,
            qps: answered_for_rate as f64 / run_time.as_secs_f64(),
            run_time,
            elapsed,
            latency: self.latency.summary(),
        }
    }
}

/// One connected UDP socket with its outstanding queries and its batch buffers.
struct Client {
    socket: Socket,
    /// Outstanding queries by ID: (send time in ns since start, query index); time 0 = free.
    pending: Vec<(u64, u32)>,
    /// IDs in the order sent, with their send time, to find timeouts oldest first.
    order: VecDeque<(u16, u64)>,
    next_id: u16,
    outstanding: usize,
    receive: ReceiveBatch,
    send: SendBatch,
}

impl Client {
    fn connect(source: std::net::IpAddr, server: SocketAddr, batch: usize) -> Result<Self, String> {
        let socket = Socket::new(
            Domain::for_address(server),
            Type::DGRAM,
            Some(Protocol::UDP),
        )
        .map_err(|e| format!("socket: {e}"))?;
        // Best effort: the kernel caps these at net.core.*mem_max.
        let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
        let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
        socket
            .bind(&SocketAddr::new(source, 0).into())
            .map_err(|e| format!("binding {source}: {e}"))?;
        socket
            .connect(&server.into())
            .map_err(|e| format!("connecting to {server}: {e}"))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| format!("non-blocking: {e}"))?;
        Ok(Client {
            socket,
            pending: vec![(0, 0); 1 << 16],
            order: VecDeque::new(),
            next_id: rand_start_id(),
            outstanding: 0,
            receive: ReceiveBatch::new(batch),
            send: SendBatch::new(batch),
        })
    }

    fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Takes every answer waiting (up to one batch). Returns how many datagrams came in.
    fn receive(&mut self, queries: &QuerySet, load: &mut Load) -> Result<usize, String> {
        let received = self.receive.receive(self.fd())?;
        if received == 0 {
            return Ok(0);
        }
        let now = load.now_ns();
        for index in 0..received {
            let datagram = self.receive.datagram(index);
            match match_answer(&mut self.pending, datagram, queries) {
                Some(sent_ns) => {
                    let rcode = datagram[3] & 0x0f;
                    let truncated = datagram[2] & 0x02 != 0;
                    let authenticated = datagram[3] & 0x20 != 0;
                    self.outstanding -= 1;
                    load.outstanding -= 1;
                    load.record_answer(
                        rcode,
                        truncated,
                        authenticated,
                        now.saturating_sub(sent_ns),
                    );
                }
                None => load.mismatched += 1,
            }
        }
        Ok(received)
    }

    /// Drops answered entries from the front of the send order, and counts queries outstanding
    /// for longer than the timeout as lost.
    fn expire(&mut self, load: &mut Load) {
        let now = load.now_ns();
        while let Some(&(id, sent_ns)) = self.order.front() {
            let slot = &mut self.pending[usize::from(id)];
            if slot.0 == sent_ns {
                if now.saturating_sub(sent_ns) < load.timeout_ns {
                    break;
                }
                *slot = (0, 0);
                self.outstanding -= 1;
                load.outstanding -= 1;
                load.lost += 1;
            }
            self.order.pop_front();
        }
    }

    /// Fills the window with new queries, one sendmmsg call. Returns how many went out.
    fn send(
        &mut self,
        queries: &QuerySet,
        load: &mut Load,
        window: usize,
    ) -> Result<usize, String> {
        let room = window
            .saturating_sub(self.outstanding)
            .min(self.send.capacity());
        if room == 0 || !load.may_send() {
            return Ok(0);
        }
        let first_query = load.next_query;
        let mut batch = Vec::with_capacity(room);
        for _ in 0..room {
            if !load.may_send() {
                break;
            }
            let index = load.take_query();
            let id = self.free_id();
            batch.push((id, index));
            self.send.add(id, &queries.query(index)[2..]);
        }
        let sent = self.send.send(self.fd())?;
        // Queries the kernel did not take are handed to the next call again.
        load.next_query = first_query + sent;
        let now = load.now_ns();
        for &(id, index) in &batch[..sent] {
            self.pending[usize::from(id)] = (now, index as u32);
            self.order.push_back((id, now));
        }
        self.outstanding += sent;
        load.outstanding += sent;
        load.sent += sent as u64;
        Ok(sent)
    }

    /// The next ID with no query outstanding. With at most a window of queries outstanding out
    /// of 65536 IDs this takes one step, almost always; IDs count up, so one batch never holds
    /// the same ID twice.
    fn free_id(&mut self) -> u16 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if self.pending[usize::from(id)].0 == 0 {
                return id;
            }
        }
    }
}

/// The send time of the outstanding query `datagram` answers, which is then no longer
/// outstanding; `None` for anything that answers nothing we sent.
fn match_answer(pending: &mut [(u64, u32)], datagram: &[u8], queries: &QuerySet) -> Option<u64> {
    let header = datagram.get(..HEADER_LEN)?;
    if header[2] & 0x80 == 0 {
        return None;
    }
    let id = u16::from_be_bytes([header[0], header[1]]);
    let (sent_ns, query) = pending[usize::from(id)];
    if sent_ns == 0 {
        return None;
    }
    let question = queries.question(query as usize);
    let echoed = datagram.get(HEADER_LEN..HEADER_LEN + question.len())?;
    // Resolvers may echo the question in another case (RFC 4343); anything else is not ours.
    if !echoed.eq_ignore_ascii_case(question) {
        return None;
    }
    pending[usize::from(id)] = (0, 0);
    Some(sent_ns)
}

/// Different sockets start at different IDs, so their queries differ on the wire.
fn rand_start_id() -> u16 {
    rand::random()
}

/// Buffers and headers for one recvmmsg call, built once and reused.
struct ReceiveBatch {
    buffers: Vec<[u8; RECEIVE_BUFFER]>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl ReceiveBatch {
    fn new(batch: usize) -> Self {
        let mut buffers = vec![[0u8; RECEIVE_BUFFER]; batch];
        let mut iovecs: Vec<libc::iovec> = buffers
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: RECEIVE_BUFFER,
            })
            .collect();
        let headers = iovecs
            .iter_mut()
            .map(|iov| message_header(iov, 1))
            .collect();
        // The Vec heap blocks never move after this: the pointers in `headers` stay valid for as
        // long as `buffers` and `iovecs` live, which is as long as `self`.
        ReceiveBatch {
            buffers,
            iovecs,
            headers,
        }
    }

    /// One non-blocking recvmmsg; 0 when nothing is waiting.
    fn receive(&mut self, fd: RawFd) -> Result<usize, String> {
        for (header, iov) in self.headers.iter_mut().zip(&mut self.iovecs) {
            iov.iov_len = RECEIVE_BUFFER;
            header.msg_len = 0;
            header.msg_hdr.msg_flags = 0;
        }
        // SAFETY: `headers` holds `len` mmsghdr whose single iovec each points at a live buffer
        // of RECEIVE_BUFFER bytes owned by `self`; the kernel writes at most that much to each.
        let received = unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                self.headers.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if received >= 0 {
            return Ok(received as usize);
        }
        match io::Error::last_os_error() {
            e if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            // An ICMP error from an earlier send (server not up yet, or restarting): the query
            // times out and counts as lost; the socket stays usable.
            e if e.kind() == io::ErrorKind::ConnectionRefused => Ok(0),
            e => Err(format!("recvmmsg: {e}")),
        }
    }

    fn datagram(&self, index: usize) -> &[u8] {
        let len = (self.headers[index].msg_len as usize).min(RECEIVE_BUFFER);
        &self.buffers[index][..len]
    }
}

/// Headers for one sendmmsg call: each datagram is two iovecs, its own 2-byte ID and the rest
/// of the pre-encoded query, so a query is never copied.
struct SendBatch {
    ids: Vec<[u8; 2]>,
    iovecs: Vec<[libc::iovec; 2]>,
    headers: Vec<libc::mmsghdr>,
    len: usize,
}

impl SendBatch {
    fn new(batch: usize) -> Self {
        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut ids = vec![[0u8; 2]; batch];
        let mut iovecs = vec![[empty, empty]; batch];
        for (pair, id) in iovecs.iter_mut().zip(&mut ids) {
            pair[0] = libc::iovec {
                iov_base: id.as_mut_ptr().cast(),
                iov_len: 2,
            };
        }
        let headers = iovecs
            .iter_mut()
            .map(|pair| message_header(pair.as_mut_ptr(), 2))
            .collect();
        SendBatch {
            ids,
            iovecs,
            headers,
            len: 0,
        }
    }

    fn capacity(&self) -> usize {
        self.headers.len()
    }

    /// Queues a datagram: `id`, then `rest` (the query after its ID), which must outlive the
    /// next [`SendBatch::send`].
    fn add(&mut self, id: u16, rest: &[u8]) {
        let slot = self.len;
        self.ids[slot] = id.to_be_bytes();
        self.iovecs[slot][1] = libc::iovec {
            iov_base: rest.as_ptr() as *mut libc::c_void,
            iov_len: rest.len(),
        };
        self.len += 1;
    }

    /// One non-blocking sendmmsg of everything queued; returns how many the kernel took.
    fn send(&mut self, fd: RawFd) -> Result<usize, String> {
        let queued = std::mem::take(&mut self.len);
        if queued == 0 {
            return Ok(0);
        }
        // SAFETY: the first `queued` headers point at iovec pairs owned by `self`, whose buffers
        // are the ID array of `self` and query bytes in the QuerySet, alive for this call. The
        // kernel only reads them (and writes msg_len).
        let sent = unsafe {
            libc::sendmmsg(
                fd,
                self.headers.as_mut_ptr(),
                queued as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if sent >= 0 {
            return Ok(sent as usize);
        }
        match io::Error::last_os_error() {
            e if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            e if e.raw_os_error() == Some(libc::ENOBUFS) => Ok(0),
            e if e.kind() == io::ErrorKind::ConnectionRefused => Ok(0),
            e => Err(format!("sendmmsg: {e}")),
        }
    }
}

/// An mmsghdr for a connected socket (no address) over `count` iovecs at `iov`.
fn message_header(iov: *mut libc::iovec, count: usize) -> libc::mmsghdr {
    // SAFETY: mmsghdr is a plain C struct for which all-zero bytes are a valid value (null
    // pointers, zero lengths).
    let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
    header.msg_hdr.msg_iov = iov;
    header.msg_hdr.msg_iovlen = count as _;
    header
}

/// Latency counts in microsecond buckets: exact below 2048 µs, then 1024 buckets per power of
/// two (under 0.1% error), up to 2^40 µs.
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum_us: u128,
    max_us: u64,
}

const LINEAR_BITS: u32 = 11;
const LINEAR: usize = 1 << LINEAR_BITS;
const SUB_BITS: u32 = 10;
const SUB: usize = 1 << SUB_BITS;
const MAX_BITS: u32 = 40;

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: vec![0; LINEAR + (MAX_BITS - LINEAR_BITS) as usize * SUB],
            total: 0,
            sum_us: 0,
            max_us: 0,
        }
    }

    fn bucket(us: u64) -> usize {
        let us = us.min((1 << MAX_BITS) - 1);
        if (us as usize) < LINEAR {
            return us as usize;
        }
        let exponent = 63 - us.leading_zeros();
        let shift = exponent - SUB_BITS;
        LINEAR + (exponent - LINEAR_BITS) as usize * SUB + ((us >> shift) as usize - SUB)
    }

    /// The smallest value that falls in bucket `index`.
    fn lower_bound(index: usize) -> u64 {
        if index < LINEAR {
            return index as u64;
        }
        let exponent = (index - LINEAR) / SUB + LINEAR_BITS as usize;
        let mantissa = ((index - LINEAR) % SUB + SUB) as u64;
        mantissa << (exponent as u32 - SUB_BITS)
    }

    fn record(&mut self, us: u64) {
        self.counts[Self::bucket(us)] += 1;
        self.total += 1;
        self.sum_us += u128::from(us);
        self.max_us = self.max_us.max(us);
    }

    /// The value below which a fraction `p` of the samples lie (bucket lower bound).
    fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::lower_bound(index);
            }
        }
        self.max_us
    }

    fn summary(&self) -> LatencySummary {
        LatencySummary {
            average_us: if self.total == 0 {
                0.0
            } else {
                self.sum_us as f64 / self.total as f64
            },
            p50_us: self.percentile(0.50),
            p99_us: self.percentile(0.99),
            p999_us: self.percentile(0.999),
            max_us: self.max_us,
        }
    }
}

struct LatencySummary {
    average_us: f64,
    p50_us: u64,
    p99_us: u64,
    p999_us: u64,
    max_us: u64,
}

struct Report {
    sent: u64,
    answered: u64,
    lost: u64,
    mismatched: u64,
    truncated: u64,
    authenticated: u64,
    rcodes: [u64; 16],
    qps: f64,
    run_time: Duration,
    elapsed: Duration,
    latency: LatencySummary,
}

impl Report {
    fn print(&self, args: &Args) {
        let l = &self.latency;
        println!(
            "loadgen: {} UDP, {} sockets x {} outstanding, batches of {}, {}",
            args.server,
            args.sockets,
            args.window,
            args.batch,
            if args.once {
                "each query once".to_string()
            } else {
                format!("{:.1} s", args.duration)
            }
        );
        println!(
            "  sent {}  answered {}  lost {}  mismatched {}  truncated {}  AD {}",
            self.sent,
            self.answered,
            self.lost,
            self.mismatched,
            self.truncated,
            self.authenticated
        );
        println!(
            "  NOERROR {}  NXDOMAIN {}  SERVFAIL {}  REFUSED {}  other {}",
            self.rcodes[0],
            self.rcodes[3],
            self.rcodes[2],
            self.rcodes[5],
            self.other_rcodes()
        );
        println!(
            "  {:.0} answers/s over {:.3} s; latency avg {:.0} us, p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            self.qps,
            self.run_time.as_secs_f64(),
            l.average_us,
            l.p50_us,
            l.p99_us,
            l.p999_us,
            l.max_us
        );
        println!(
            "RESULT sent={} answered={} lost={} mismatched={} truncated={} ad={} noerror={} nxdomain={} servfail={} other={} qps={:.1} run_s={:.4} elapsed_s={:.4} lat_avg_us={:.1} lat_p50_us={} lat_p99_us={} lat_p999_us={} lat_max_us={}",
            self.sent,
            self.answered,
            self.lost,
            self.mismatched,
            self.truncated,
            self.authenticated,
            self.rcodes[0],
            self.rcodes[3],
            self.rcodes[2],
            self.other_rcodes() + self.rcodes[5],
            self.qps,
            self.run_time.as_secs_f64(),
            self.elapsed.as_secs_f64(),
            l.average_us,
            l.p50_us,
            l.p99_us,
            l.p999_us,
            l.max_us
        );
    }

    fn other_rcodes(&self) -> u64 {
        self.rcodes
            .iter()
            .enumerate()
            .filter(|(code, _)| ![0, 2, 3, 5].contains(code))
            .map(|(_, count)| count)
            .sum()
    }
}
