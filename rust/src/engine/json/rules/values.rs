//! Rules shared by every kind: API enums, port numbers, IP addresses, name formats.

use std::net::IpAddr;

use super::violation::Violation;
use crate::engine::validate;

/// An API enum value (`""` must already have been read as absent).
#[inline]
pub(crate) fn api_enum<E>(
    s: &str,
    parse: fn(&str) -> Option<E>,
    values: &[&str],
) -> Result<E, Violation> {
    match parse(s) {
        Some(value) => Ok(value),
        None => Err(not_one_of(s, values)),
    }
}

#[cold]
fn not_one_of(s: &str, values: &[&str]) -> Violation {
    let list: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    Violation::here(format!("expected one of {}, got {s:?}", list.join(", ")))
}

/// A port number 1–65535.
#[inline]
pub(crate) fn port(n: i64) -> Result<u16, Violation> {
    validate::port(n).map_err(Violation::here)
}

/// An optional port number; with `zero_unset`, `0` is absent (Go's zero value).
#[inline]
pub(crate) fn optional_port(n: Option<i64>, zero_unset: bool) -> Result<Option<u16>, Violation> {
    match n {
        None => Ok(None),
        Some(0) if zero_unset => Ok(None),
        Some(n) => port(n).map(Some),
    }
}

/// An IP address, as the API server reads its IP fields (see [`validate::ip`]).
#[inline]
pub(crate) fn ip(s: &str) -> Result<IpAddr, Violation> {
    validate::ip(s).map_err(Violation::here)
}

/// A name or format check of [`validate`].
#[inline]
pub(crate) fn format(check: validate::Check) -> Result<(), Violation> {
    check.map_err(Violation::here)
}
