//! [`StrMap`]: labels, annotations and selectors, packed into one allocation.
//!
//! A Service's labels and selector are a handful of short strings, half of them unique to the
//! object (`instance: web-0042`). Keeping each as its own shared string cost an allocation or an
//! interner lookup per string, and a reference count to touch on every clone and drop; packed, a
//! map is one allocation however many entries it has, and compares as one byte slice.

use std::cell::RefCell;
use std::fmt;

use super::values::List;

/// Bytes of the entry count and of each string's end offset.
const WORD: usize = std::mem::size_of::<u32>();

/// A string-to-string map (labels, annotations, selector), sorted by key without repeats.
///
/// Layout of the one allocation: the entry count, the end offset of every key and value in
/// order (each a little-endian `u32`, counted from the start of the text), then the text — the
/// keys and values concatenated. Empty takes no allocation. The packing is canonical, so derived
/// equality and hashing are by content.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct StrMap(List<u8>);

thread_local! {
    /// The buffers a map is assembled in before it is copied into its allocation (reused, so
    /// building a map costs one allocation).
    static SCRATCH: RefCell<Buffers> = const { RefCell::new(Buffers { head: Vec::new(), text: Vec::new() }) };
}

/// A map being assembled: the header (count and end offsets) and the text, apart.
struct Buffers {
    head: Vec<u8>,
    text: Vec<u8>,
}

/// Entries of a map being built, pushed in increasing key order (see [`StrMap::build_sorted`]).
pub struct SortedEntries<'b> {
    buffers: &'b mut Buffers,
    count: usize,
    /// Where the last key is in the text.
    last_key: std::ops::Range<usize>,
}

impl SortedEntries<'_> {
    /// Add an entry; `None` (and nothing added) unless `key` sorts after the previous key.
    pub fn push(&mut self, key: &str, value: &str) -> Option<()> {
        let text = &mut self.buffers.text;
        if self.count > 0 && text[self.last_key.clone()] >= *key.as_bytes() {
            return None;
        }
        let start = text.len();
        text.extend_from_slice(key.as_bytes());
        self.last_key = start..text.len();
        self.buffers.head.extend_from_slice(&to_word(text.len()));
        text.extend_from_slice(value.as_bytes());
        self.buffers.head.extend_from_slice(&to_word(text.len()));
        self.count += 1;
        Some(())
    }
}

impl StrMap {
    /// A map from pairs in any order; for a repeated key the last pair wins.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Self {
        Self::last_of_each(pairs.iter().map(|(k, v)| (k.as_ref(), Some(v.as_ref()))))
    }

    /// A map from a JSON object's members in document order (`None` for a `null` value): for a
    /// repeated key the last member wins, and a key whose last value is `null` is left out.
    pub fn from_members<K: AsRef<str>, V: AsRef<str>>(members: &[(K, Option<V>)]) -> Self {
        Self::last_of_each(
            members
                .iter()
                .map(|(k, v)| (k.as_ref(), v.as_ref().map(AsRef::as_ref))),
        )
    }

    /// The last entry of each key (`None`: the key is left out), sorted.
    fn last_of_each<'s>(
        entries: impl DoubleEndedIterator<Item = (&'s str, Option<&'s str>)>,
    ) -> Self {
        // Stable sort of the reversed input: the first of equal keys is the last given.
        let mut last: Vec<(&str, Option<&str>)> = entries.rev().collect();
        last.sort_by(|a, b| a.0.cmp(b.0));
        last.dedup_by(|later, first| later.0 == first.0);
        Self::from_sorted(last.iter().filter_map(|&(k, v)| Some((k, v?))))
    }

    /// A map from pairs sorted by key without repeats (the usual input); others are sorted
    /// as by [`StrMap::from_pairs`].
    pub fn from_sorted<'s, I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'s str, &'s str)>,
        I::IntoIter: Clone,
    {
        let pairs = pairs.into_iter();
        Self::build_sorted(|entries| pairs.clone().try_for_each(|(k, v)| entries.push(k, v)))
            .unwrap_or_else(|| Self::from_pairs(&pairs.collect::<Vec<_>>()))
    }

    /// A map from the entries `fill` pushes in increasing key order, or `None` when `fill` gives
    /// up (or pushes a key out of order).
    pub fn build_sorted(fill: impl FnOnce(&mut SortedEntries<'_>) -> Option<()>) -> Option<Self> {
        SCRATCH.with_borrow_mut(|buffers| {
            buffers.head.clear();
            buffers.text.clear();
            buffers.head.extend_from_slice(&[0; WORD]);
            let mut entries = SortedEntries {
                buffers,
                count: 0,
                last_key: 0..0,
            };
            fill(&mut entries)?;
            let count = entries.count;
            if count == 0 {
                return Some(Self::default());
            }
            buffers.head[..WORD].copy_from_slice(&to_word(count));
            buffers.head.extend_from_slice(&buffers.text);
            Some(Self(List::from(&buffers.head[..])))
        })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.word(0)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `i`th entry in key order.
    fn entry(&self, i: usize) -> (&str, &str) {
        let key_start = if i == 0 { 0 } else { self.word(2 * i) };
        let key_end = self.word(2 * i + 1);
        (
            self.text(key_start, key_end),
            self.text(key_end, self.word(2 * i + 2)),
        )
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        (0..self.len()).map(|i| self.entry(i))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (k, v) = self.entry(mid);
            match k.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(v),
            }
        }
        None
    }

    /// Word `n` of the header: the count (0), then the end offsets (1 ..= 2 × count).
    fn word(&self, n: usize) -> usize {
        self.0
            .get(n * WORD..(n + 1) * WORD)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// The text between two end offsets.
    fn text(&self, from: usize, to: usize) -> &str {
        let base = (1 + 2 * self.len()) * WORD;
        let bytes = self.0.get(base + from..base + to).unwrap_or_default();
        // Built from whole `str`s, so every offset is a char boundary: this never fails.
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

/// `n` as a header word; a map's text is far below 4 GiB (it comes from one JSON document).
fn to_word(n: usize) -> [u8; WORD] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

impl fmt::Debug for StrMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_keeps_the_last_of_repeated_keys() {
        let m = StrMap::from_pairs(&[("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.iter().collect::<Vec<_>>(), [("a", "2"), ("b", "3")]);
        assert_eq!(m.get("b"), Some("3"));
        assert_eq!(m.get("a"), Some("2"));
        assert_eq!(m.get("c"), None);
        assert_eq!(format!("{m:?}"), r#"{"a": "2", "b": "3"}"#);
    }

    #[test]
    fn a_null_as_the_last_member_of_a_key_leaves_it_out() {
        let m = StrMap::from_members(&[
            ("a", Some("1")),
            ("b", None),
            ("a", None),
            ("b", Some("2")),
            ("c", None),
        ]);
        assert_eq!(m.iter().collect::<Vec<_>>(), [("b", "2")]);
    }

    #[test]
    fn empty_strings_unicode_and_lookups_at_every_position() {
        let pairs = [
            ("", "x"),
            ("a", ""),
            ("b\u{e9}", "\u{1f600}"),
            ("c", "long value"),
        ];
        let m = StrMap::from_sorted(pairs);
        assert_eq!(m.iter().collect::<Vec<_>>(), pairs);
        for (k, v) in pairs {
            assert_eq!(m.get(k), Some(v), "{k:?}");
        }
        for absent in ["0", "aa", "bz", "d", "\u{e9}"] {
            assert_eq!(m.get(absent), None, "{absent:?}");
        }
    }

    #[test]
    fn building_stops_at_a_key_out_of_order() {
        let built = StrMap::build_sorted(|e| {
            e.push("a", "1")?;
            e.push("b", "2")?;
            e.push("b", "3")
        });
        assert!(built.is_none());
        let built = StrMap::build_sorted(|e| e.push("b", "1").and_then(|()| e.push("a", "2")));
        assert!(built.is_none());
        assert!(StrMap::build_sorted(|_| None).is_none());
        let m = StrMap::build_sorted(|e| e.push("a", "1").and_then(|()| e.push("ab", "2")));
        assert_eq!(
            m.unwrap().iter().collect::<Vec<_>>(),
            [("a", "1"), ("ab", "2")]
        );
        // Unsorted input to `from_sorted` is sorted, not lost.
        let m = StrMap::from_sorted([("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(m.iter().collect::<Vec<_>>(), [("a", "2"), ("b", "3")]);
    }

    #[test]
    fn empty_takes_no_allocation_and_equality_is_by_content() {
        let empty = StrMap::from_sorted([]);
        assert_eq!(empty, StrMap::default());
        assert_eq!(empty.len(), 0);
        assert!(empty.is_empty() && empty.iter().next().is_none());
        assert_eq!(empty.get(""), None);
        assert_eq!(
            StrMap::from_pairs(&[("b", "2"), ("a", "1")]),
            StrMap::from_sorted([("a", "1"), ("b", "2")])
        );
        // The same bytes split differently are different maps.
        assert_ne!(
            StrMap::from_sorted([("ab", "c")]),
            StrMap::from_sorted([("a", "bc")])
        );
    }
}
