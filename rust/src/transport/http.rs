//! HTTP/1.1 GETs on a fresh connection each, with a streaming body: `Content-Length`,
//! `chunked`, or to the end of the connection. The head is parsed by `httparse`.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};

use super::conn::{Canceller, Dialer, Stream};
use crate::engine::watcher::{Bounded, WatchError};

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Bytes of a non-2xx answer read for its `Status`.
pub const MAX_ERROR_BODY: usize = 64 * 1024;
/// Buffer of one connection: large enough that a busy watch is read in few system calls.
const BUFFER: usize = 256 * 1024;

/// An answer whose head was read; the body is read on demand.
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    body: Body,
}

enum Framing {
    Length(u64),
    /// Bytes left in the current chunk; `None` before a chunk-size line; ended at chunk 0.
    Chunked {
        left: Option<u64>,
        done: bool,
    },
    Eof,
}

struct Body {
    reader: BufReader<Stream>,
    framing: Framing,
}

/// GET `target` (path and query) with `headers`; an error names what failed.
pub fn get(
    dialer: &Dialer,
    target: &str,
    headers: &[(&str, &str)],
    cancel: &Canceller,
) -> Result<Response, WatchError> {
    let mut stream = dialer.connect(cancel)?;
    let authority = dialer.server.authority();
    let path = format!("{}{target}", dialer.server.prefix);
    let line_target = if dialer.via_plain_proxy() {
        format!("http://{authority}{path}")
    } else {
        path
    };
    let mut request =
        format!("GET {line_target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(name);
        request.push_str(": ");
        request.push_str(value);
        request.push_str("\r\n");
    }
    if dialer.via_plain_proxy() {
        for (name, value) in &dialer.proxy_headers {
            let _ = write!(request, "{name}: {value}\r\n");
        }
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| io_error(&e, cancel, "sending the request"))?;
    read_response(stream, cancel)
}

/// Read an answer's head from `stream` (the request was sent); the body is read on demand.
pub fn read_response(stream: Stream, cancel: &Canceller) -> Result<Response, WatchError> {
    let mut reader = BufReader::with_capacity(BUFFER, stream);
    let head = read_head(&mut reader, cancel)?;
    let mut parsed_headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut parsed_headers);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => {
            return Err(WatchError::Protocol(
                "the server's answer is not HTTP".to_owned(),
            ))
        }
    }
    let status = parsed.code.unwrap_or(0);
    let reason = parsed.reason.unwrap_or("").to_owned();
    let mut framing = Framing::Eof;
    let mut chunked = false;
    for header in parsed.headers.iter() {
        let value = String::from_utf8_lossy(header.value);
        if header.name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
        // No encoding is asked for (no `Accept-Encoding`), so none is decoded: a compressed
        // body could inflate past every limit, and is refused rather than misread.
        if header.name.eq_ignore_ascii_case("content-encoding")
            && !value.trim().eq_ignore_ascii_case("identity")
        {
            return Err(WatchError::Protocol(format!(
                "the server sent a {:?}-encoded body, which was not asked for",
                value.trim()
            )));
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            let n = value
                .trim()
                .parse()
                .map_err(|_| WatchError::Protocol(format!("bad Content-Length {value:?}")))?;
            framing = Framing::Length(n);
        }
    }
    // Chunked framing wins over a `Content-Length` (RFC 9112, 6.3).
    if chunked {
        framing = Framing::Chunked {
            left: None,
            done: false,
        };
    }
    Ok(Response {
        status,
        reason,
        body: Body { reader, framing },
    })
}

fn read_head(reader: &mut BufReader<Stream>, cancel: &Canceller) -> Result<Vec<u8>, WatchError> {
    let mut head = Vec::with_capacity(1024);
    loop {
        let before = head.len();
        // Never past one byte over the limit, even inside a line that does not end.
        let room = (MAX_HEAD + 1 - head.len()) as u64;
        let n = reader
            .by_ref()
            .take(room)
            .read_until(b'\n', &mut head)
            .map_err(|e| io_error(&e, cancel, "reading the answer"))?;
        if n == 0 {
            return Err(WatchError::Network(
                "the server closed the connection before answering".to_owned(),
            ));
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(WatchError::Protocol(
                "the answer's head is too large".to_owned(),
            ));
        }
    }
}

impl Response {
    /// Read into `buf` as soon as some body bytes arrive; 0 at the end of the body.
    pub fn read_some(&mut self, buf: &mut [u8], cancel: &Canceller) -> Result<usize, WatchError> {
        match self.body.read_some(buf) {
            // A socket shut down by `cancel` reads as an end: it is a stop, not the body's end.
            Ok(0) if cancel.is_cancelled() => Err(WatchError::Stopped),
            Ok(n) => Ok(n),
            Err(e) => Err(io_error(&e, cancel, "reading the body")),
        }
    }

    /// The whole body of a list page, at most `limit` bytes: a `Content-Length` over it is
    /// refused unread, and reading any other framing stops one byte past it
    /// ([`WatchError::TooLarge`]), so no more than `limit + 1` bytes are ever buffered.
    pub fn read_all(&mut self, limit: usize, cancel: &Canceller) -> Result<Vec<u8>, WatchError> {
        let too_large = |seen: u64, announced: bool| WatchError::TooLarge {
            what: Bounded::ListPage,
            limit: limit as u64,
            seen,
            announced,
        };
        if let Framing::Length(n) = self.body.framing {
            if n > limit as u64 {
                return Err(too_large(n, true));
            }
        }
        let mut out = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let room = buf.len().min((limit - out.len()).saturating_add(1));
            let n = self.read_some(&mut buf[..room], cancel)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
            if out.len() > limit {
                return Err(too_large(out.len() as u64, false));
            }
        }
    }

    /// Up to `limit` bytes of the body, errors ignored (for a failed request's `Status`).
    pub fn read_prefix(&mut self, limit: usize, cancel: &Canceller) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0; 16 * 1024];
        while out.len() < limit {
            match self.read_some(&mut buf, cancel) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n.min(limit - out.len())]),
            }
        }
        out
    }
}

impl Body {
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.framing {
            Framing::Eof => read_tolerant(&mut self.reader, buf),
            Framing::Length(left) => {
                if *left == 0 {
                    return Ok(0);
                }
                let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                let n = self.reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(unexpected_end());
                }
                *left -= n as u64;
                Ok(n)
            }
            Framing::Chunked { left, done } => loop {
                if *done {
                    return Ok(0);
                }
                match left {
                    Some(0) => {
                        expect_crlf(&mut self.reader)?;
                        *left = None;
                    }
                    Some(n) => {
                        let want = buf.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                        let got = self.reader.read(&mut buf[..want])?;
                        if got == 0 {
                            return Err(unexpected_end());
                        }
                        *n -= got as u64;
                        return Ok(got);
                    }
                    None => {
                        let size = chunk_size(&mut self.reader)?;
                        if size == 0 {
                            skip_trailers(&mut self.reader)?;
                            *done = true;
                        } else {
                            *left = Some(size);
                        }
                    }
                }
            },
        }
    }
}

/// A close_notify-less TLS end counts as the end of an EOF-framed body.
fn read_tolerant(reader: &mut BufReader<Stream>, buf: &mut [u8]) -> io::Result<usize> {
    match reader.read(buf) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        other => other,
    }
}

fn chunk_size(reader: &mut BufReader<Stream>) -> io::Result<u64> {
    let mut line = Vec::new();
    if reader.by_ref().take(1024).read_until(b'\n', &mut line)? == 0 {
        return Err(unexpected_end());
    }
    let text = String::from_utf8_lossy(&line);
    let digits = text.split(';').next().unwrap_or("").trim();
    u64::from_str_radix(digits, 16).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad chunk size {digits:?}"),
        )
    })
}

fn expect_crlf(reader: &mut BufReader<Stream>) -> io::Result<()> {
    let mut line = Vec::new();
    reader.by_ref().take(2).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(unexpected_end());
    }
    if line != b"\r\n" && line != b"\n" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a chunk does not end in CRLF",
        ));
    }
    Ok(())
}

fn skip_trailers(reader: &mut BufReader<Stream>) -> io::Result<()> {
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = reader.by_ref().take(8192).read_until(b'\n', &mut line)?;
        if n == 0 || line == b"\r\n" || line == b"\n" {
            return Ok(());
        }
        // Bounded like a head: endless trailers would keep a finished body open forever.
        total += n;
        if total > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the trailers are too large",
            ));
        }
    }
}

fn unexpected_end() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the connection ended inside the body",
    )
}

/// An I/O error as the loop sees it: a cancelled read is a stop, a timed-out one a stall.
pub fn io_error(e: &io::Error, cancel: &Canceller, doing: &str) -> WatchError {
    if cancel.is_cancelled() {
        return WatchError::Stopped;
    }
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => WatchError::Stalled,
        io::ErrorKind::InvalidData => WatchError::Protocol(format!("{doing}: {e}")),
        _ => WatchError::Network(format!("{doing}: {e}")),
    }
}
