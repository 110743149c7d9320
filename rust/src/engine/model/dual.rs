//! [`DualStack`]: the values of a dual-stack field, kept inline.

use std::fmt;
use std::ops::Deref;

/// Zero, one or two values: a dual-stack field (`spec.clusterIPs`, `spec.ipFamilies`) holds at
/// most one per IP family. Kept inline, so a Service's addresses cost no allocation of their own.
///
/// Derived equality and hashing are by content: each length has one variant.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DualStack<T> {
    /// No value.
    #[default]
    Empty,
    /// One value (single-stack).
    One([T; 1]),
    /// Two values, one per family, in the order given.
    Two([T; 2]),
}

impl<T> DualStack<T> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::Empty => &[],
            Self::One(items) => items,
            Self::Two(items) => items,
        }
    }
}

impl<T: Copy> DualStack<T> {
    /// The values of `items`, or `None` when there are more than two (whether two values are
    /// of different families is the parser's check).
    pub fn from_slice(items: &[T]) -> Option<Self> {
        match *items {
            [] => Some(Self::Empty),
            [a] => Some(Self::One([a])),
            [a, b] => Some(Self::Two([a, b])),
            _ => None,
        }
    }
}

impl<T> Deref for DualStack<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: fmt::Debug> fmt::Debug for DualStack<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_up_to_two_values_in_order() {
        assert_eq!(DualStack::<u8>::from_slice(&[]), Some(DualStack::Empty));
        assert_eq!(DualStack::from_slice(&[4]).as_deref(), Some(&[4][..]));
        assert_eq!(DualStack::from_slice(&[6, 4]).as_deref(), Some(&[6, 4][..]));
        assert_eq!(DualStack::from_slice(&[4, 6, 4]), None);
        assert_eq!(format!("{:?}", DualStack::Two([4, 6])), "[4, 6]");
        assert!(DualStack::<u8>::default().is_empty());
    }
}
