//! The HTTP layer over real loopback sockets: body framings, a body cut short, a stall, and a
//! read blocked on a silent server ended from another thread, and the page size limit.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use _core::engine::watcher::{Bounded, WatchError};
use _core::transport::conn::{Canceller, Dialer};
use _core::transport::http;
use _core::transport::tls::server_name;
use _core::transport::url::BaseUrl;

/// A server answering one connection with `answer` (after reading the request head), then
/// holding the connection open until `hold` passes.
fn serve_once(answer: Vec<u8>, hold: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        read_request(&mut sock);
        sock.write_all(&answer).expect("write");
        thread::sleep(hold);
    });
    port
}

fn read_request(sock: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).expect("read") == 0 {
            return;
        }
        head.push(byte[0]);
    }
}

fn dialer(port: u16, read_timeout: Duration) -> Dialer {
    Dialer {
        server: BaseUrl::parse(&format!("http://127.0.0.1:{port}"), "host").expect("url"),
        proxy: None,
        proxy_headers: Vec::new(),
        tls: None,
        server_name: server_name("127.0.0.1").expect("name"),
        connect_timeout: Duration::from_secs(5),
        read_timeout,
    }
}

fn body_of(answer: &[u8]) -> Result<(u16, Vec<u8>), WatchError> {
    let port = serve_once(answer.to_vec(), Duration::from_millis(0));
    let cancel = Canceller::new();
    let mut response = http::get(&dialer(port, Duration::from_secs(5)), "/x", &[], &cancel)?;
    let body = response.read_all(1 << 20, &cancel)?;
    Ok((response.status, body))
}

#[test]
fn chunked_bodies_are_reassembled_across_chunk_boundaries() {
    let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\n{\"a\":\r\n4;ext=1\r\n 1}\n\r\n0\r\nTrailer: x\r\n\r\n";
    let (status, body) = body_of(answer).expect("body");
    assert_eq!(status, 200);
    assert_eq!(body, b"{\"a\": 1}\n");
}

#[test]
fn content_length_and_eof_framing() {
    let (_, body) = body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").expect("length");
    assert_eq!(body, b"abc");
    let (status, body) =
        body_of(b"HTTP/1.1 500 Internal Server Error\r\n\r\n{\"code\":500}").expect("eof");
    assert_eq!((status, body.as_slice()), (500, &b"{\"code\":500}"[..]));
}

#[test]
fn a_body_cut_short_is_a_network_error() {
    let err = body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").expect_err("short");
    assert!(matches!(err, WatchError::Network(_)), "{err:?}");
    let err = body_of(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        .expect_err("bad chunk");
    assert!(matches!(err, WatchError::Protocol(_)), "{err:?}");
    let err = body_of(b"garbage\r\n\r\n").expect_err("not http");
    assert!(matches!(err, WatchError::Protocol(_)), "{err:?}");
}

/// A watch whose server sends the head and then nothing for `hold`.
fn silent_watch(
    hold: Duration,
    read_timeout: Duration,
) -> (Dialer, Arc<Canceller>, http::Response) {
    let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let d = dialer(serve_once(answer, hold), read_timeout);
    let cancel = Canceller::new();
    let response = http::get(&d, "/watch", &[], &cancel).expect("head");
    (d, cancel, response)
}

#[test]
fn a_silent_server_is_a_stall() {
    let (_, cancel, mut response) =
        silent_watch(Duration::from_secs(5), Duration::from_millis(200));
    let mut buf = [0u8; 64];
    assert_eq!(
        response.read_some(&mut buf, &cancel),
        Err(WatchError::Stalled)
    );
}

#[test]
fn cancel_ends_a_blocked_read_at_once() {
    let (d, cancel, mut response) =
        silent_watch(Duration::from_secs(30), Duration::from_secs(3600));
    let canceller = Arc::clone(&cancel);
    let stopper = thread::spawn(move || {
        // Time for the reader to block; cancelling first gives the same result.
        thread::sleep(Duration::from_millis(100));
        canceller.cancel();
    });
    // The server holds the connection for 30 s and the read timeout is an hour: only the
    // cancel can end this read with `Stopped` (an unwoken read would end with Ok(0) at 30 s).
    let mut buf = [0u8; 64];
    assert_eq!(
        response.read_some(&mut buf, &cancel),
        Err(WatchError::Stopped)
    );
    stopper.join().expect("join");
    // A cancelled canceller refuses new connections.
    assert_eq!(
        http::get(&d, "/again", &[], &cancel).err(),
        Some(WatchError::Stopped)
    );
}

/// A server that answers with `head` and then streams `body_len` bytes of `fill` (as one
/// chunk when `chunked`), ignoring the write error once the client hangs up; then it holds the
/// connection open for `hold`.
fn serve_large(head: &str, body_len: usize, fill: u8, chunked: bool, hold: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let head = head.to_owned();
    thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        read_request(&mut sock);
        let _ = sock.write_all(head.as_bytes());
        if chunked {
            let _ = write!(sock, "{body_len:x}\r\n");
        }
        let piece = vec![fill; 64 * 1024];
        let mut left = body_len;
        while left > 0 {
            let n = left.min(piece.len());
            if sock.write_all(&piece[..n]).is_err() {
                return;
            }
            left -= n;
        }
        if chunked {
            let _ = sock.write_all(b"\r\n0\r\n\r\n");
        }
        thread::sleep(hold);
    });
    port
}

fn page_of(port: u16, limit: usize) -> Result<Vec<u8>, WatchError> {
    let cancel = Canceller::new();
    let mut response = http::get(&dialer(port, Duration::from_secs(5)), "/x", &[], &cancel)?;
    response.read_all(limit, &cancel)
}

fn too_large(seen: u64, announced: bool) -> WatchError {
    WatchError::TooLarge {
        what: Bounded::ListPage,
        limit: 1000,
        seen,
        announced,
    }
}

#[test]
fn a_page_over_the_limit_is_read_to_one_byte_past_it_in_every_framing() {
    let big = 8 << 20;
    // Announced: refused before reading.
    let port = serve_large(
        &format!("HTTP/1.1 200 OK\r\nContent-Length: {big}\r\n\r\n"),
        big,
        b' ',
        false,
        Duration::ZERO,
    );
    assert_eq!(page_of(port, 1000), Err(too_large(big as u64, true)));
    // Chunked and to the end of the connection: `seen` is what was read.
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let port = serve_large(chunked, big, b' ', true, Duration::ZERO);
    assert_eq!(page_of(port, 1000), Err(too_large(1001, false)));
    let port = serve_large("HTTP/1.1 200 OK\r\n\r\n", big, b' ', false, Duration::ZERO);
    assert_eq!(page_of(port, 1000), Err(too_large(1001, false)));
    // At the limit exactly: accepted.
    let port = serve_large(chunked, 1000, b' ', true, Duration::ZERO);
    assert_eq!(page_of(port, 1000).expect("page").len(), 1000);
}

#[test]
fn an_encoded_body_is_refused() {
    let answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc";
    let err = body_of(answer).expect_err("gzip");
    assert!(matches!(err, WatchError::Protocol(_)), "{err:?}");
    let answer = b"HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(body_of(answer).expect("identity").1, b"abc");
}

#[test]
fn an_endless_head_line_is_cut() {
    // The line goes on as long as the connection is open: only a bounded read ends it early.
    let hold = Duration::from_secs(5);
    let port = serve_large("HTTP/1.1 200 OK\r\nX-Padding: ", 1 << 20, b'x', false, hold);
    let cancel = Canceller::new();
    let err = http::get(&dialer(port, Duration::from_secs(2)), "/x", &[], &cancel)
        .err()
        .expect("too large");
    assert_eq!(
        err,
        WatchError::Protocol("the answer's head is too large".to_owned())
    );
}
