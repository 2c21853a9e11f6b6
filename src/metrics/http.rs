//! A minimal HTTP/1.1 responder for `GET /metrics`.
//!
//! prometheus-client does all the formatting, so the HTTP side is one request line read and one
//! response written per connection (`Connection: close`). That is a few dozen lines on tokio,
//! against hyper plus its body, service and runtime-glue crates for a single fixed route. It is
//! meant for a scraper on a trusted network (the default address is loopback), and still bounds
//! what a stray client can cost: a small request head, a read deadline, a cap on connections.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

/// The most request-head bytes read; a scraper's GET is a few hundred.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Time a client has to send its request, and to take the response.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 16;

/// Produces the exposition text (and its content type) when a scrape arrives.
pub type Render = Arc<dyn Fn() -> Result<String, std::fmt::Error> + Send + Sync>;

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, render: Render, content_type: &'static str) {
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&connections).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "metrics: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let render = Arc::clone(&render);
        tokio::spawn(async move {
            if let Err(error) = respond(stream, &render, content_type).await {
                tracing::debug!(%error, "metrics: connection failed");
            }
            drop(permit);
        });
    }
}

async fn respond(
    mut stream: TcpStream,
    render: &Render,
    content_type: &'static str,
) -> std::io::Result<()> {
    let head = match timeout(IO_TIMEOUT, read_head(&mut stream)).await {
        Ok(result) => result?,
        Err(_) => return Ok(()),
    };
    let response = match route(&head) {
        Route::Metrics { head_only } => match render() {
            Ok(body) => response("200 OK", content_type, &body, head_only),
            Err(_) => response(
                "500 Internal Server Error",
                "text/plain",
                "encoding failed\n",
                false,
            ),
        },
        Route::NotFound => response("404 Not Found", "text/plain", "try /metrics\n", false),
        Route::MethodNotAllowed => {
            response("405 Method Not Allowed", "text/plain", "GET only\n", false)
        }
        Route::BadRequest => response("400 Bad Request", "text/plain", "bad request\n", false),
    };
    timeout(IO_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await
    .unwrap_or(Ok(()))
}

/// Reads until the blank line that ends the request head, or [`MAX_REQUEST_HEAD`] bytes.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Ok(head)
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics { head_only: bool },
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Decides from the request line alone (RFC 9112 §3): headers do not matter for one route.
fn route(head: &[u8]) -> Route {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Route::BadRequest;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Route::MethodNotAllowed,
    };
    // A scraper may add a query string (`?name[]=...`); the whole exposition is sent anyway.
    let path = target.split('?').next().unwrap_or(target);
    if path == "/metrics" {
        Route::Metrics { head_only }
    } else {
        Route::NotFound
    }
}

fn response(status: &str, content_type: &str, body: &str, head_only: bool) -> String {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    if status.starts_with("405") {
        text.push_str("Allow: GET, HEAD\r\n");
    }
    text.push_str("\r\n");
    if !head_only {
        text.push_str(body);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_request_line() {
        let get = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(route(get), Route::Metrics { head_only: false });
        assert_eq!(
            route(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Route::MethodNotAllowed
        );
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b""), Route::BadRequest);
    }

    #[test]
    fn responses_carry_length_and_close() {
        let text = response("200 OK", "text/plain", "abc", false);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\nabc"));
        assert!(response("200 OK", "text/plain", "abc", true).ends_with("\r\n\r\n"));
    }
}
