//! The transport's HTTP/1.1 answer reader: the head (status, framing headers) and the body
//! decoder (`Content-Length`, `chunked`, or to the end), fed from memory in reads of various
//! sizes.
//!
//! Invariants: no panic, and the body never grows past the input; the head and the body (bytes
//! and outcome) do not depend on how the input is cut into reads or on the size of the caller's
//! buffer; a well-formed answer (any framing, chunk sizes, extensions, trailers, bare LFs)
//! carrying some lines gives back exactly those lines.

use std::io::{self, Read};

use _core::transport::conn::{Canceller, Stream};
use _core::transport::http::{read_response, Response};

use crate::input::{Input, Rng};

/// `data[0]` picks the read sizes; the rest is read as an answer as it is, and also taken as
/// lines that a well-formed answer carries.
pub fn http_framing(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let rest = input.rest();
    raw(rest, mode);
    well_formed(rest, mode);
}

/// A reader that hands out its bytes in pieces of the given sizes (cycled).
struct Pieces {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = size.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// How one reading went: the head, the body bytes, and whether it ended cleanly.
#[derive(Debug, PartialEq, Eq)]
enum Reading {
    /// The head was refused.
    NoHead,
    /// The head and the body read until its end or an error.
    Answer {
        status: u16,
        reason: String,
        body: Vec<u8>,
        clean: bool,
    },
}

fn read_with(data: &[u8], sizes: Vec<usize>, buf_size: usize) -> Reading {
    let stream = Stream::Memory(Box::new(Pieces {
        data: data.to_vec(),
        at: 0,
        sizes,
        turn: 0,
    }));
    let cancel = Canceller::new();
    let Ok(mut response) = read_response(stream, &cancel) else {
        return Reading::NoHead;
    };
    let (body, clean) = read_body(&mut response, buf_size, &cancel);
    assert!(body.len() <= data.len(), "a body longer than the input");
    Reading::Answer {
        status: response.status,
        reason: response.reason,
        body,
        clean,
    }
}

fn read_body(response: &mut Response, buf_size: usize, cancel: &Canceller) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    let mut buf = vec![0; buf_size];
    loop {
        match response.read_some(&mut buf, cancel) {
            Ok(0) => return (body, true),
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(_) => return (body, false),
        }
    }
}

fn raw(data: &[u8], mode: u8) {
    let whole = read_with(data, vec![usize::MAX], 64 * 1024);
    let cut = read_with(data, sizes(mode), 1 + usize::from(mode >> 4));
    assert_eq!(whole, cut, "the answer depends on how it is cut into reads");
    // The whole-body helpers agree with the piecewise reads.
    if let Reading::Answer { body, clean, .. } = &whole {
        let stream = Stream::Memory(Box::new(io::Cursor::new(data.to_vec())));
        let cancel = Canceller::new();
        let mut response = read_response(stream, &cancel).expect("read once already");
        match response.read_all(data.len(), &cancel) {
            Ok(all) => {
                assert!(*clean, "read_all succeeded where read_some failed");
                assert_eq!(&all, body, "read_all vs read_some");
            }
            Err(_) => assert!(!*clean, "read_all failed where read_some succeeded"),
        }
        let stream = Stream::Memory(Box::new(io::Cursor::new(data.to_vec())));
        let mut response = read_response(stream, &cancel).expect("read once already");
        let limit = usize::from(mode);
        let prefix = response.read_prefix(limit, &cancel);
        assert_eq!(prefix, body[..limit.min(body.len())], "read_prefix");
    }
}

/// Read sizes picked by `mode`: one byte at a time, small primes, or odd mixes.
fn sizes(mode: u8) -> Vec<usize> {
    match mode % 6 {
        0 => vec![1],
        1 => vec![2, 3],
        2 => vec![7, 1, 13],
        3 => vec![5],
        4 => vec![64, 1, 1, 3],
        _ => vec![usize::from(mode), 1],
    }
}

/// The rest as lines, served in a well-formed answer; the body must be exactly those lines.
fn well_formed(data: &[u8], mode: u8) {
    let mut lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut body = Vec::new();
    for line in &lines {
        body.extend_from_slice(line);
        body.push(b'\n');
    }
    let mut rng = Rng::from_bytes(data);
    let eol: &[u8] = if mode & 0x40 == 0 { b"\r\n" } else { b"\n" };
    let mut answer = Vec::new();
    answer.extend_from_slice(b"HTTP/1.1 200 OK");
    answer.extend_from_slice(eol);
    answer.extend_from_slice(b"Content-Type: application/json");
    answer.extend_from_slice(eol);
    match mode % 3 {
        0 => {
            answer.extend_from_slice(b"Transfer-Encoding: chunked");
            answer.extend_from_slice(eol);
            answer.extend_from_slice(eol);
            answer.extend(chunked(&body, eol, &mut rng));
        }
        1 => {
            answer.extend_from_slice(format!("Content-Length: {}", body.len()).as_bytes());
            answer.extend_from_slice(eol);
            answer.extend_from_slice(eol);
            answer.extend_from_slice(&body);
            // Bytes past the length are not the body's.
            answer.extend_from_slice(b"HTTP/1.1 500 junk\r\n");
        }
        _ => {
            answer.extend_from_slice(eol);
            answer.extend_from_slice(&body);
        }
    }
    let read = read_with(&answer, sizes(mode), 1 + usize::from(mode >> 3));
    let Reading::Answer {
        status,
        body: got,
        clean,
        ..
    } = read
    else {
        panic!("a well-formed head was refused");
    };
    assert_eq!(status, 200);
    assert!(clean, "a well-formed body ended in an error");
    assert_eq!(got, body, "the body differs from what was sent");
    let got_lines: Vec<&[u8]> = got.split(|b| *b == b'\n').collect();
    assert_eq!(&got_lines[..got_lines.len() - 1], &lines[..], "lines");
}

/// `body` in chunks of random sizes, with the variations the format allows.
fn chunked(body: &[u8], eol: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let size = (1 + rng.below(40)).min(body.len() - at);
        let digits = match rng.below(3) {
            0 => format!("{size:x}"),
            1 => format!("{size:X}"),
            _ => format!("000{size:x}"),
        };
        out.extend_from_slice(digits.as_bytes());
        if rng.below(4) == 0 {
            out.extend_from_slice(b";name=value");
        }
        out.extend_from_slice(eol);
        out.extend_from_slice(&body[at..at + size]);
        out.extend_from_slice(eol);
        at += size;
    }
    out.extend_from_slice(b"0");
    out.extend_from_slice(eol);
    if rng.below(3) == 0 {
        out.extend_from_slice(b"X-Trailer: yes");
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(eol);
    out
}
