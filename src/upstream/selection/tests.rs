use super::*;

const MAX: Duration = Duration::from_millis(800);

fn ip(s: &str) -> SocketAddr {
    SocketAddr::new(s.parse().unwrap(), 53)
}

fn servers(plan: &[Try]) -> Vec<SocketAddr> {
    plan.iter().map(|t| t.server).collect()
}

/// Every server a plan asks in the foreground, in order.
fn in_order(plan: &Plan) -> Vec<SocketAddr> {
    servers(&plan.tries)
        .into_iter()
        .chain(servers(&plan.last_resort))
        .collect()
}

fn fail(selection: &ServerSelection, server: SocketAddr, times: u32) {
    for _ in 0..times {
        selection.record_failure(server);
    }
}

#[test]
fn failed_servers_go_last_and_fast_ones_first() {
    let selection = ServerSelection::new(Clock::system());
    let (dead, slow, fast) = (ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3"));
    selection.record_failure(dead);
    selection.record_success(slow, Duration::from_millis(300));
    selection.record_success(fast, Duration::from_millis(1));
    let plan = selection.plan(&[dead, slow, fast], MAX);
    assert_eq!(in_order(&plan), vec![fast, slow, dead]);
    assert!(plan.probes.is_empty());
}

#[test]
fn untried_servers_come_before_failed_ones() {
    let selection = ServerSelection::new(Clock::system());
    let (dead, new) = (ip("127.0.0.1"), ip("127.0.0.2"));
    selection.record_failure(dead);
    assert_eq!(
        in_order(&selection.plan(&[dead, new], MAX)),
        vec![new, dead]
    );
}

#[test]
fn duplicate_addresses_are_asked_once() {
    let selection = ServerSelection::new(Clock::system());
    let a = ip("127.0.0.1");
    assert_eq!(servers(&selection.plan(&[a, a, a], MAX).tries), vec![a]);
}

#[test]
fn try_timeouts_follow_the_measured_rtt_within_bounds() {
    let selection = ServerSelection::new(Clock::system());
    let (fast, slow, dead, new) = (
        ip("127.0.0.1"),
        ip("127.0.0.2"),
        ip("127.0.0.3"),
        ip("127.0.0.4"),
    );
    selection.record_success(fast, Duration::from_millis(10));
    selection.record_success(slow, Duration::from_millis(500));
    selection.record_failure(dead);
    let plan = selection.plan(&[fast, slow, dead, new], MAX);
    let timeout_of = |server| {
        plan.tries
            .iter()
            .find(|t| t.server == server)
            .map(|t| t.timeout)
            .unwrap()
    };
    // 10 ms * 3 + 100 ms margin.
    assert_eq!(timeout_of(fast), Duration::from_millis(130));
    // 500 ms * 3 + 100 ms is over the configured ceiling.
    assert_eq!(timeout_of(slow), MAX);
    assert_eq!(timeout_of(dead), MAX);
    // Never measured: as Unbound, 376 ms.
    assert_eq!(timeout_of(new), Duration::from_millis(UNTRIED_TIMEOUT_MS));
    // The ceiling wins even over the floor.
    let tiny = Duration::from_millis(20);
    assert!(
        selection
            .plan(&[fast], tiny)
            .tries
            .iter()
            .all(|t| t.timeout == tiny)
    );
}

#[test]
fn a_server_that_keeps_failing_is_held_down_for_a_growing_bounded_time() {
    let clock = Clock::system();
    let selection = ServerSelection::new(clock.clone());
    let server = ip("127.0.0.1");
    fail(&selection, server, HOLD_DOWN_AFTER - 1);
    assert_eq!(selection.health(server).unwrap().held_until, 0);
    let mut previous = 0;
    for extra in 0..12 {
        let before = clock.now_ms();
        selection.record_failure(server);
        let held_for = selection.health(server).unwrap().held_until - before;
        assert!(held_for >= previous, "hold-down shrank after {extra} more");
        assert!(held_for <= MAX_HOLD_DOWN_MS + 1_000);
        previous = held_for;
    }
    assert!(previous >= MAX_HOLD_DOWN_MS - 1_000, "reaches the bound");
    assert_eq!(hold_down_ms(HOLD_DOWN_AFTER), BASE_HOLD_DOWN_MS);
    assert_eq!(hold_down_ms(HOLD_DOWN_AFTER + 1), 2 * BASE_HOLD_DOWN_MS);
    assert_eq!(hold_down_ms(u32::MAX), MAX_HOLD_DOWN_MS);
}

#[test]
fn held_down_servers_are_tried_only_after_the_others() {
    let selection = ServerSelection::new(Clock::system());
    let (held, slow) = (ip("127.0.0.1"), ip("127.0.0.2"));
    // Slower than the held-down server's penalty would be, were it ordered by SRTT alone.
    selection.record_success(slow, Duration::from_millis(100_000));
    selection.record_success(held, Duration::from_millis(1));
    fail(&selection, held, HOLD_DOWN_AFTER);
    let plan = selection.plan(&[held, slow], MAX);
    assert_eq!(servers(&plan.tries), vec![slow]);
    assert_eq!(servers(&plan.last_resort), vec![held]);
    assert!(plan.probes.is_empty(), "no probe before the hold-down ends");
}

#[test]
fn after_its_hold_down_a_server_is_probed_once_in_the_background() {
    let clock = Clock::system();
    let selection = ServerSelection::new(clock.clone());
    let (held, healthy) = (ip("127.0.0.1"), ip("127.0.0.2"));
    selection.record_success(healthy, Duration::from_millis(5));
    fail(&selection, held, HOLD_DOWN_AFTER);
    clock.advance(Duration::from_millis(BASE_HOLD_DOWN_MS + 1));
    let plan = selection.plan(&[held, healthy], MAX);
    assert_eq!(in_order(&plan), vec![healthy, held]);
    assert_eq!(servers(&plan.probes), vec![held]);
    // While that probe is out, other queries do not probe again and keep it as a last resort.
    let plan = selection.plan(&[held, healthy], MAX);
    assert_eq!(servers(&plan.tries), vec![healthy]);
    assert_eq!(servers(&plan.last_resort), vec![held]);
    assert!(plan.probes.is_empty());
    // A probe that fails doubles the hold-down; no new probe until it is over.
    selection.record_failure(held);
    clock.advance(Duration::from_millis(BASE_HOLD_DOWN_MS + 1));
    assert!(selection.plan(&[held, healthy], MAX).probes.is_empty());
    clock.advance(Duration::from_millis(BASE_HOLD_DOWN_MS));
    assert_eq!(
        servers(&selection.plan(&[held, healthy], MAX).probes),
        vec![held]
    );
}

#[test]
fn a_successful_probe_brings_the_server_back() {
    let clock = Clock::system();
    let selection = ServerSelection::new(clock.clone());
    let (back, other) = (ip("127.0.0.1"), ip("127.0.0.2"));
    selection.record_success(other, Duration::from_millis(50));
    fail(&selection, back, 10);
    clock.advance(Duration::from_millis(MAX_HOLD_DOWN_MS + 1));
    assert_eq!(
        servers(&selection.plan(&[back, other], MAX).probes),
        vec![back]
    );
    selection.record_success(back, Duration::from_millis(2));
    let health = selection.health(back).unwrap();
    assert_eq!(
        (health.failures, health.held_until, health.srtt_ms),
        (0, 0, 2)
    );
    let plan = selection.plan(&[back, other], MAX);
    assert_eq!(servers(&plan.tries), vec![back, other]);
    assert!(plan.probes.is_empty());
}

#[test]
fn when_every_server_is_held_down_the_due_one_is_asked_first_and_all_are_tried() {
    let clock = Clock::system();
    let selection = ServerSelection::new(clock.clone());
    let (a, b) = (ip("127.0.0.1"), ip("127.0.0.2"));
    fail(&selection, a, HOLD_DOWN_AFTER);
    clock.advance(Duration::from_millis(BASE_HOLD_DOWN_MS + 1));
    fail(&selection, b, HOLD_DOWN_AFTER);
    let plan = selection.plan(&[b, a], MAX);
    assert_eq!(servers(&plan.tries), vec![a, b]);
    assert!(plan.last_resort.is_empty());
    assert!(
        plan.probes.is_empty(),
        "nobody else can answer: probe inline"
    );
}

#[test]
fn a_clock_stepping_back_does_not_hold_a_server_down_for_longer_than_the_bound() {
    let clock = Clock::system();
    let selection = ServerSelection::new(clock.clone());
    let (a, b) = (ip("127.0.0.1"), ip("127.0.0.2"));
    selection.record_success(b, Duration::from_millis(5));
    // A hold-down set by a clock an hour ahead of now, as after the wall clock stepped back.
    let ahead = Clock::system();
    ahead.advance(Duration::from_secs(3600));
    let from_the_future = ServerSelection::new(ahead);
    fail(&from_the_future, a, HOLD_DOWN_AFTER);
    let health = from_the_future.health(a).unwrap();
    selection.lock().put(a, health);
    assert_eq!(servers(&selection.plan(&[a, b], MAX).probes), vec![a]);
}

#[test]
fn memory_is_bounded() {
    let selection = ServerSelection::new(Clock::system());
    for i in 0..(TRACKED_SERVERS as u32 + 100) {
        selection.record_failure(SocketAddr::new(std::net::IpAddr::V4(i.into()), 53));
    }
    assert_eq!(selection.lock().len(), TRACKED_SERVERS);
}
