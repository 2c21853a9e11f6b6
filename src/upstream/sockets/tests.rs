use super::*;

/// A loopback address with a socket bound to it, so that the pool's sockets have a real peer.
fn server() -> (std::net::UdpSocket, SocketAddr) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

fn port(lent: &Lent<'_>) -> u16 {
    lent.socket().local_addr().unwrap().port()
}

#[tokio::test]
async fn an_answered_socket_serves_the_next_query_to_its_server() {
    let pool = Arc::new(SocketPool::default());
    let (_peer, addr) = server();
    let mut first = pool.lend(addr).unwrap();
    let used = port(&first);
    first.answered();
    drop(first);
    assert_eq!(pool.idle(), 1);
    let again = pool.lend(addr).unwrap();
    assert_eq!(port(&again), used);
    assert_eq!(
        again.socket().peer_addr().unwrap(),
        addr,
        "still connected to it"
    );
    assert_eq!(pool.idle(), 0, "lent out, no longer idle");
}

#[tokio::test]
async fn outstanding_queries_never_share_a_socket() {
    let pool = Arc::new(SocketPool::default());
    let (_peer, addr) = server();
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut lent = pool.lend(addr).unwrap();
        lent.answered();
        held.push(lent);
    }
    let mut ports: Vec<u16> = held.iter().map(port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 8, "one port per outstanding query");
    drop(held);
    assert_eq!(pool.idle(), 8);
}

#[tokio::test]
async fn a_query_without_its_answer_closes_its_socket() {
    let pool = Arc::new(SocketPool::default());
    let (_peer, addr) = server();
    drop(pool.lend(addr).unwrap());
    assert_eq!(pool.idle(), 0);
}

#[tokio::test]
async fn a_socket_is_never_lent_for_another_server() {
    let pool = Arc::new(SocketPool::default());
    let (_a, first) = server();
    let (_b, second) = server();
    let mut lent = pool.lend(first).unwrap();
    lent.answered();
    drop(lent);
    let other = pool.lend(second).unwrap();
    assert_eq!(other.socket().peer_addr().unwrap(), second);
    assert_eq!(
        pool.idle(),
        1,
        "the first server's socket still waits for it"
    );
}

#[tokio::test]
async fn a_socket_is_closed_after_its_last_use() {
    let pool = Arc::new(SocketPool::default());
    let (_peer, addr) = server();
    let mut ports = Vec::new();
    for _ in 0..MAX_QUERIES_PER_SOCKET {
        let mut lent = pool.lend(addr).unwrap();
        ports.push(port(&lent));
        lent.answered();
    }
    assert!(ports.iter().all(|p| *p == ports[0]), "one socket all along");
    assert_eq!(
        pool.idle(),
        0,
        "closed after {MAX_QUERIES_PER_SOCKET} queries"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_sockets_are_closed_in_good_time() {
    let pool = Arc::new(SocketPool::default());
    let (_peer, addr) = server();
    let mut lent = pool.lend(addr).unwrap();
    lent.answered();
    drop(lent);
    assert_eq!(pool.idle(), 1);
    tokio::time::sleep(MAX_IDLE + Duration::from_millis(1)).await;
    tokio::task::yield_now().await;
    assert_eq!(pool.idle(), 0, "swept");
    // Another one still gets swept: the sweeper starts again.
    let mut lent = pool.lend(addr).unwrap();
    lent.answered();
    drop(lent);
    tokio::time::sleep(2 * MAX_IDLE).await;
    assert_eq!(pool.idle(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_old_idle_socket_is_not_lent() {
    let pool = Arc::new(SocketPool::default());
    let (_peer, addr) = server();
    let mut lent = pool.lend(addr).unwrap();
    lent.answered();
    drop(lent);
    tokio::time::advance(MAX_IDLE).await;
    // Whether the sweeper or `lend` got to it first, the old socket is not used.
    let fresh = pool.lend(addr).unwrap();
    assert_eq!(fresh.uses, 1, "a new socket");
    assert_eq!(pool.idle(), 0);
}

#[tokio::test]
async fn the_pool_keeps_a_bounded_number_per_server() {
    let pool = Arc::new(SocketPool::default());
    let (_peer, addr) = server();
    let held: Vec<Lent<'_>> = (0..MAX_IDLE_PER_SERVER + 5)
        .map(|_| {
            let mut lent = pool.lend(addr).unwrap();
            lent.answered();
            lent
        })
        .collect();
    drop(held);
    assert_eq!(pool.idle(), MAX_IDLE_PER_SERVER);
}

#[tokio::test]
async fn the_pool_keeps_a_bounded_number_in_all() {
    let pool = Arc::new(SocketPool::with_limit(3));
    let peers: Vec<_> = (0..5).map(|_| server()).collect();
    let held: Vec<Lent<'_>> = peers
        .iter()
        .map(|(_, addr)| {
            let mut lent = pool.lend(*addr).unwrap();
            lent.answered();
            lent
        })
        .collect();
    drop(held);
    assert_eq!(pool.idle(), 3, "the other two sockets were closed");
}

#[test]
fn the_limit_in_all_follows_the_descriptor_limit_within_bounds() {
    let limit = idle_socket_limit();
    assert!((MIN_IDLE_SOCKETS..=MAX_IDLE_SOCKETS).contains(&limit));
    let mut nofile = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile) },
        0
    );
    let soft = usize::try_from(nofile.rlim_cur).unwrap_or(usize::MAX);
    assert!(
        limit <= soft / 4 || limit == MIN_IDLE_SOCKETS,
        "{limit} idle sockets with a soft limit of {soft} descriptors"
    );
}
