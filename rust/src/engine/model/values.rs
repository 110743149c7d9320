//! Value types the objects are made of: shared strings, the batch [`Interner`], allocation-free
//! empty [`List`]s and compact [`Uid`]s.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustc_hash::FxHashSet;

/// A shared, immutable string.
pub type Str = Arc<str>;

/// Shares equal strings within one parse batch (namespaces, node names, `"Pod"`, port names, …).
///
/// Hashed with `FxHash`, which is fast but not resistant to crafted collisions: the strings come
/// from the API server (or the user's own manifests) and an interner lives for one batch only,
/// so hash flooding is not a concern here.
#[derive(Debug, Default)]
pub struct Interner {
    set: FxHashSet<Str>,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shared copy of `s`, created on first use.
    pub fn intern(&mut self, s: &str) -> Str {
        if let Some(shared) = self.set.get(s) {
            return shared.clone();
        }
        let shared: Str = Arc::from(s);
        self.set.insert(shared.clone());
        shared
    }

    /// The shared copy of namespace `s`, which is the same for the whole process (up to
    /// [`MAX_SHARED_NAMESPACES`] namespaces): object keys then compare namespaces by pointer
    /// (see [`ObjKey`](crate::engine::object::ObjKey)'s ordering), which saves about half the
    /// string comparisons of every search in a merged tree.
    pub fn namespace(&mut self, s: &str) -> Str {
        if let Some(shared) = self.set.get(s) {
            return shared.clone();
        }
        let shared = process_namespace(s);
        self.set.insert(shared.clone());
        shared
    }
}

/// How many namespaces are shared process-wide; later ones get a string per batch (a cluster has
/// far fewer, and this bounds what hostile input can make the process keep).
pub const MAX_SHARED_NAMESPACES: usize = 10_000;

/// The process-wide copy of namespace `s` (looked up once per batch and namespace).
fn process_namespace(s: &str) -> Str {
    static SHARED: OnceLock<Mutex<FxHashSet<Str>>> = OnceLock::new();
    let mut shared = SHARED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(ns) = shared.get(s) {
        return ns.clone();
    }
    let ns: Str = Arc::from(s);
    if shared.len() < MAX_SHARED_NAMESPACES {
        shared.insert(ns.clone());
    }
    ns
}

/// An immutable list that costs no allocation when empty (most optional lists are).
///
/// Empty is always stored as `None`, so derived equality and hashing are by content.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct List<T>(Option<Arc<[T]>>);

impl<T> List<T> {
    /// The empty list.
    pub const fn empty() -> Self {
        Self(None)
    }

    /// The items as a slice.
    pub fn as_slice(&self) -> &[T] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T> From<Vec<T>> for List<T> {
    fn from(items: Vec<T>) -> Self {
        if items.is_empty() {
            Self(None)
        } else {
            Self(Some(Arc::from(items)))
        }
    }
}

impl<T: Copy> From<&[T]> for List<T> {
    fn from(items: &[T]) -> Self {
        Self((!items.is_empty()).then(|| Arc::from(items)))
    }
}

impl<T> FromIterator<T> for List<T> {
    /// One allocation for iterators of known length (`slice.iter().map(…)`), none when empty.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let iter = iter.into_iter();
        if iter.size_hint().1 == Some(0) {
            return Self(None);
        }
        let items: Arc<[T]> = iter.collect();
        Self((!items.is_empty()).then_some(items))
    }
}

impl<T> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: fmt::Debug> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// An object UID: 16 bytes when it is a canonical lowercase UUID (as the API server makes them),
/// else the string as given.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Uid {
    /// A canonical UUID `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lowercase hex).
    Uuid([u8; 16]),
    /// Anything else, kept verbatim.
    Other(Str),
}

impl Uid {
    /// Read a UID; never fails.
    pub fn parse(s: &str) -> Self {
        Self::parse_uuid(s).map_or_else(|| Self::Other(Arc::from(s)), Self::Uuid)
    }

    fn parse_uuid(s: &str) -> Option<[u8; 16]> {
        /// Where each byte's two hex digits start in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
        const AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
        let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
        if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
            return None;
        }
        let mut out = [0u8; 16];
        for (byte, &at) in out.iter_mut().zip(AT.iter()) {
            let hi = HEX[usize::from(b[at])];
            let lo = HEX[usize::from(b[at + 1])];
            if (hi | lo) & 0xf0 != 0 {
                return None;
            }
            *byte = (hi << 4) | lo;
        }
        Some(out)
    }
}

/// The value of a lowercase hex digit, `0xff` for any other byte.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(s) => f.write_str(s),
            Self::Uuid(b) => {
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uid_round_trips() {
        let text = "0f8e7c4a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
        let uid = Uid::parse(text);
        assert!(matches!(uid, Uid::Uuid(_)));
        assert_eq!(uid.to_string(), text);
        let odd = Uid::parse("0F8E7C4A-1B2C-4D5E-8F90-A1B2C3D4E5F6");
        assert!(matches!(odd, Uid::Other(_)));
        assert_eq!(Uid::parse("x").to_string(), "x");
        for odd in [
            "0f8e7c4a-1b2c-4d5e-8f90-a1b2c3d4e5fg",
            "0f8e7c4a11b2c-4d5e-8f90-a1b2c3d4e5f6",
            "0f8e7c4a-1b2c-4d5e-8f90-a1b2c3d4e5f",
            "0f8e7c4a-1b2c-4d5e-8f90-a1b2c3d4e5f6a",
            "0f8e7c4a-1b2c-4d5e-8f9\u{e9}-a1b2c3d4e5f",
        ] {
            assert_eq!(Uid::parse(odd), Uid::Other(odd.into()), "{odd}");
        }
    }

    #[test]
    fn empty_list_is_unallocated_and_equal() {
        let a: List<u8> = Vec::new().into();
        assert_eq!(a, List::empty());
        assert!(a.0.is_none());
    }

    #[test]
    fn namespaces_are_shared_across_batches() {
        let a = Interner::new().namespace("kube-system");
        let b = Interner::new().namespace("kube-system");
        assert!(Arc::ptr_eq(&a, &b));
        let mut batch = Interner::new();
        assert!(Arc::ptr_eq(&batch.namespace("kube-system"), &a));
        assert!(!Arc::ptr_eq(&Interner::new().intern("kube-system"), &a));
    }

    #[test]
    fn interner_shares() {
        let mut i = Interner::new();
        let a = i.intern("Pod");
        let b = i.intern("Pod");
        assert!(Arc::ptr_eq(&a, &b));
    }
}
