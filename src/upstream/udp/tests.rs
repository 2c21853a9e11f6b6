use std::time::Duration;

use hickory_proto::op::MessageType;

use super::*;
use crate::cookie::Cookie;
use crate::upstream::build_query;

/// A server on loopback that answers each query by echoing it as a response, `copies` times.
fn echo_server(copies: Vec<usize>) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let serving = std::thread::spawn(move || {
        let mut buffer = [0u8; 1500];
        for copies in copies {
            let Ok((length, client)) = socket.recv_from(&mut buffer) else {
                return;
            };
            let mut response = Message::from_vec(&buffer[..length]).unwrap();
            response.metadata.message_type = MessageType::Response;
            let bytes = response.to_vec().unwrap();
            for _ in 0..copies {
                socket.send_to(&bytes, client).unwrap();
            }
        }
    });
    (addr, serving)
}

async fn ask(sockets: &Arc<SocketPool>, server: SocketAddr, name: &Name) -> Message {
    let cookie = Cookie::client_only([7; 8]);
    let (id, query) = build_query(name, RecordType::A, &cookie).unwrap();
    let expected = Expected {
        id,
        name,
        rtype: RecordType::A,
        cookie: &cookie.client,
        exact_case: false,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    exchange(sockets, server, &query, &expected, deadline)
        .await
        .unwrap()
}

/// The first answer comes twice; the second copy is still queued on the socket when the next
/// query to the server takes it. That query must skip it and get its own answer.
#[tokio::test]
async fn a_stale_answer_left_on_a_reused_socket_is_skipped() {
    let (server, serving) = echo_server(vec![2, 1]);
    let sockets = Arc::new(SocketPool::default());
    let first = Name::from_ascii("first.test.").unwrap();
    let second = Name::from_ascii("second.test.").unwrap();
    assert_eq!(
        ask(&sockets, server, &first).await.queries[0].name(),
        &first
    );
    // Let the duplicate arrive before the socket is taken again.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sockets.idle(), 1, "the socket waits for the next query");
    let response = ask(&sockets, server, &second).await;
    assert_eq!(response.queries[0].name(), &second);
    assert_eq!(sockets.idle(), 1, "and is kept again");
    serving.join().unwrap();
}
