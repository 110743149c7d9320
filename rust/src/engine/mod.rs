//! Pure-Rust engine: objects, parsing, merge and delivery. Never names pyo3.
#![warn(missing_docs)]

pub mod error;
pub mod object;
