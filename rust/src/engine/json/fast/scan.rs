//! A small JSON reader for the typed fast path, reading straight from the input without `serde`'s
//! visitor layers (which cost twice the tokenising itself on a Service event).
//!
//! It never reports errors: every method answers `None` for anything it does not read exactly as
//! the `Node` parser would — bad syntax, control characters, lone surrogates,
//! exponents, fractions or signs in integers, nesting deeper than [`MAX_DEPTH`] — and the caller
//! then parses the line with the walk, which gives the exact result or error. So it may refuse
//! valid JSON, but anything it accepts reads as the `serde_json` document would.

use std::borrow::Cow;

/// Deepest nesting skipped here (the walk's parser allows 128; deeper input falls back to it).
const MAX_DEPTH: u32 = 100;

/// A position in one JSON document; the input is valid UTF-8. A copy saves the position.
#[derive(Clone, Copy)]
pub(crate) struct Scan<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Scan<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte after whitespace, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let rest = &self.bytes()[self.pos..];
        rest.starts_with(word.as_bytes())
            .then(|| self.pos += word.len())
    }

    /// Only whitespace is left.
    pub(crate) fn end(&mut self) -> Option<()> {
        self.peek().is_none().then_some(())
    }

    /// Consume a `null` if one is next.
    pub(crate) fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal("null").is_some()
    }

    pub(crate) fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal("true").map(|()| true),
            b'f' => self.literal("false").map(|()| false),
            _ => None,
        }
    }

    /// A non-negative integer without fraction or exponent that fits an `i64`.
    pub(crate) fn int(&mut self) -> Option<i64> {
        self.peek()?;
        let bytes = self.bytes();
        let start = self.pos;
        let mut end = start;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let digits = &self.text[start..end];
        // A leading zero (`007`), a fraction or an exponent: the walk decides.
        if digits.is_empty()
            || (digits.len() > 1 && digits.starts_with('0'))
            || matches!(bytes.get(end), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.pos = end;
        digits.parse().ok()
    }

    /// A string, borrowed unless it has escapes.
    // Called for every key and string value: inlined at each call site, it measured 1.5% faster
    // on W2's parse than the compiler's choice.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let bytes = self.bytes();
        let start = self.pos;
        let (i, found) = special(bytes, start);
        match found? {
            b'"' => {
                self.pos = i + 1;
                Some(Cow::Borrowed(&self.text[start..i]))
            }
            b'\\' => self.escaped(start, i),
            _ => None,
        }
    }

    /// The rest of a string that has an escape at `i` (`start` is after the opening quote).
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize, mut i: usize) -> Option<Cow<'a, str>> {
        let bytes = self.bytes();
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(&self.text[start..i]);
        let mut run = i;
        loop {
            match *bytes.get(i)? {
                b'"' => {
                    out.push_str(&self.text[run..i]);
                    self.pos = i + 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    out.push_str(&self.text[run..i]);
                    let (c, len) = self.escape(i)?;
                    out.push(c);
                    i += len;
                    run = i;
                }
                0..=0x1f => return None,
                _ => i = special(bytes, i).0,
            }
        }
    }

    /// The escape at `at` (a backslash) and its length. A lone surrogate is left to the walk.
    fn escape(&self, at: usize) -> Option<(char, usize)> {
        let bytes = self.bytes();
        let c = match *bytes.get(at + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4(at + 2)?;
                if !(0xd800..0xe000).contains(&unit) {
                    return Some((char::from_u32(unit)?, 6));
                }
                // A high surrogate must be followed by an escaped low one.
                if unit >= 0xdc00 || bytes.get(at + 6..at + 8)? != b"\\u" {
                    return None;
                }
                let low = self.hex4(at + 8)?;
                if !(0xdc00..0xe000).contains(&low) {
                    return None;
                }
                let c = char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))?;
                return Some((c, 12));
            }
            _ => return None,
        };
        Some((c, 2))
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    /// An object, calling `each` with every key; `each` must read that key's value.
    pub(crate) fn object(
        &mut self,
        mut each: impl FnMut(&mut Self, Cow<'a, str>) -> Option<()>,
    ) -> Option<()> {
        self.items(b'{', b'}', |scan| {
            let key = scan.string()?;
            scan.eat(b':')?;
            each(scan, key)
        })
    }

    /// An array, calling `each` to read every element.
    pub(crate) fn array(&mut self, each: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.items(b'[', b']', each)
    }

    /// `open`, items read by `item` separated by commas, `close`.
    fn items(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.nest()?;
        if self.eat(close).is_none() {
            loop {
                item(self)?;
                match self.peek()? {
                    b',' => self.pos += 1,
                    b if b == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn nest(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Any value, checked and dropped.
    pub(crate) fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|s, _| s.skip()),
            b'[' => self.array(Self::skip),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number(),
        }
    }

    /// A number in JSON syntax without an exponent (`1e400` is an error for the walk).
    fn number(&mut self) -> Option<()> {
        let bytes = self.bytes();
        let mut i = self.pos;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |mut i: usize| {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let int_end = digits(i);
        let int = &bytes[i..int_end];
        if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
            return None;
        }
        i = int_end;
        if bytes.get(i) == Some(&b'.') {
            let frac_end = digits(i + 1);
            if frac_end == i + 1 {
                return None;
            }
            i = frac_end;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            return None;
        }
        self.pos = i;
        Some(())
    }
}

/// The index of the first `"`, `\\` or control character at or after `from`, and that byte
/// (`None` at the end of the input), eight bytes at a time: strings are most of a document's
/// bytes. The byte is taken from the word already loaded, not read again.
#[inline]
fn special(bytes: &[u8], from: usize) -> (usize, Option<u8>) {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Marks bytes that are zero; the lowest mark is exact (later ones may be spurious).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut i = from;
    while let Some(word) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let marks = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if marks != 0 {
            let bit = marks.trailing_zeros();
            return (i + (bit / 8) as usize, Some((w >> (bit & !7)) as u8));
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return (i, Some(b));
        }
        i += 1;
    }
    (i, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(text: &str) -> Option<()> {
        let mut s = Scan::new(text);
        s.skip()?;
        s.end()
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for ok in [
            r#"{"a":[1,2.5,-3,0,true,false,null,"x\"y\\z\n"],"b":{},"c":[]}"#,
            " \t\r\n{ \"k\" : [ ] } \n",
            r#""é and ☃""#,
            r#""caf\u00e9 \u0026 \ud83d\ude00""#,
        ] {
            assert!(skip_all(ok).is_some(), "{ok}");
            assert!(serde_json::from_str::<serde_json::Value>(ok).is_ok());
        }
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        for odd in [
            r#"{"a":1,}"#,
            r"[1,]",
            r#"{"a" 1}"#,
            r"01",
            r"1.",
            r"-",
            r"1e5",
            r#""\ud800""#,
            r#""\udc00\udc00""#,
            r#""\ud800\u0041""#,
            r#""\u12G4""#,
            "\"tab\there\"",
            r#""\x""#,
            r#"{"a":1} x"#,
            r"tru",
            r#""open"#,
        ] {
            assert!(skip_all(odd).is_none(), "{odd}");
        }
        let deep = format!("{}{}", "[".repeat(101), "]".repeat(101));
        assert!(skip_all(&deep).is_none());
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(skip_all(&fine).is_some());
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789-é☃".as_bytes();
        for at in 0..text.len() {
            for b in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                let mut t = text.to_vec();
                t[at] = b;
                for from in 0..=at {
                    assert_eq!(
                        special(&t, from),
                        (at, Some(b)),
                        "{b:#x} at {at} from {from}"
                    );
                }
                // A second special byte later changes nothing.
                if at + 3 < t.len() {
                    t[at + 3] = b'"';
                    assert_eq!(special(&t, 0), (at, Some(b)));
                }
            }
        }
        assert_eq!(special(text, 0), (text.len(), None));
        assert_eq!(special(b" \x7f\xff ", 0), (4, None));
    }

    #[test]
    fn strings_and_ints() {
        let mut s = Scan::new(r#" "plain" "a\"b\/c\\" 8080 007 12.0 9223372036854775808"#);
        assert!(matches!(s.string(), Some(Cow::Borrowed("plain"))));
        assert_eq!(s.string().as_deref(), Some("a\"b/c\\"));
        let mut u = Scan::new(r#""caf\u00e9\u0026\ud83d\ude00\n""#);
        assert_eq!(u.string().as_deref(), Some("café&😀\n"));
        assert_eq!(s.int(), Some(8080));
        assert_eq!(s.int(), None);
        s.pos += 4;
        assert_eq!(s.int(), None);
        s.pos += 5;
        assert_eq!(s.int(), None);
    }
}
