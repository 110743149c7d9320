//! The API server's rules for the fields this package keeps, each written once as a pure function
//! over plain values (strings, numbers, already-read lists) that returns the value or a
//! [`Violation`](violation::Violation): what is wrong and where, relative to what it was given.
//!
//! Both readers call them: the document walk (`json/walk/`), which turns a violation into an
//! error at its JSON path, and the typed fast path of watch ingest (`json/fast/`), which turns it
//! into the same error directly. Neither reader restates a rule, and they must call the rules
//! in the same order so that the first violation found is the same.
//!
//! The few rules marked `inline(always)` are the ones the release build did not inline into the
//! fast path by itself; their calls cost W2's parse about 1% together (counted with cachegrind).

pub(crate) mod meta;
pub(crate) mod service;
pub(crate) mod values;
pub(crate) mod violation;
