//! Size limits on what the server sends: one watch event line and one list page body, each
//! enforced while reading, so that reading stops one byte past the limit and nothing larger is
//! ever buffered.

/// Largest watch event line by default: 16 MiB. The API server refuses request bodies over
/// 3 MiB and etcd objects over ~1.5 MiB, so one event is normally far smaller; the margin covers
/// a server configured with larger limits.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 << 20;

/// Largest list page body by default: 256 MiB, room for a page of `limit=500` objects of
/// ~500 KiB each, or for an unpaginated list (`page_size=0`) of ~100,000 ordinary Services or
/// endpoint slices of a few KiB each. Larger than the event limit, so an object refused as an
/// event can still arrive in a list.
pub const DEFAULT_MAX_PAGE_BYTES: usize = 256 << 20;

/// The limits of one list/watch loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest watch event line (a streaming list's events included), in bytes.
    pub event_bytes: usize,
    /// Largest list page body (paginated lists and audits), in bytes.
    pub page_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            event_bytes: DEFAULT_MAX_EVENT_BYTES,
            page_bytes: DEFAULT_MAX_PAGE_BYTES,
        }
    }
}

/// Bounds the lines of a stream read in pieces: says how much the next read may take, so that
/// no line is read past `limit + 1` bytes, and notices a line that goes over.
#[derive(Debug)]
pub struct LineBound {
    limit: usize,
    /// Bytes of the line in progress (read since the last newline); at most `limit`.
    open: usize,
}

impl LineBound {
    /// A bound of `limit` bytes per line (newline excluded); `limit` is at least 1.
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            open: 0,
        }
    }

    /// The largest read to ask for next, given a buffer of `len` bytes: never more than one
    /// byte past the limit of the line in progress (at least 1 byte).
    pub fn room(&self, len: usize) -> usize {
        len.min((self.limit - self.open).saturating_add(1))
    }

    /// Account for `chunk`, read after what came before; Err(bytes of the line read so far)
    /// when a line in it is over the limit.
    pub fn take(&mut self, chunk: &[u8]) -> Result<(), usize> {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let line = self.open + (end - start);
            if line > self.limit {
                return Err(line);
            }
            self.open = 0;
            start = end + 1;
        }
        let open = self.open + (chunk.len() - start);
        if open > self.limit {
            return Err(open);
        }
        self.open = open;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_up_to_the_limit_pass_in_any_pieces() {
        let data = b"12345\n\n1234\n123";
        for cut in 0..data.len() {
            let mut bound = LineBound::new(5);
            let (a, b) = data.split_at(cut);
            assert_eq!(bound.take(a), Ok(()), "cut at {cut}");
            assert_eq!(bound.take(b), Ok(()), "cut at {cut}");
        }
    }

    #[test]
    fn a_line_over_the_limit_is_seen_in_any_pieces() {
        let data = b"12\n123456\n1";
        for cut in 0..data.len() {
            let mut bound = LineBound::new(5);
            let (a, b) = data.split_at(cut);
            let seen = bound.take(a).and_then(|()| bound.take(b));
            assert_eq!(seen, Err(6), "cut at {cut}");
        }
    }

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        // An endless line: a reader that obeys `room` takes exactly limit + 1 bytes of it.
        for limit in [1, 7, 1000, 70_000] {
            let mut source = std::io::repeat(b'x');
            let mut bound = LineBound::new(limit);
            let mut buf = vec![0; 4096];
            let mut read = 0;
            let seen = loop {
                let n = source.read(&mut buf[..bound.room(4096)]).expect("read");
                read += n;
                if let Err(seen) = bound.take(&buf[..n]) {
                    break seen;
                }
            };
            assert_eq!((seen, read), (limit + 1, limit + 1));
        }
    }
}
