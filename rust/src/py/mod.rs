//! PyO3 bindings: the only part of the crate that names pyo3.

pub mod convert;
pub mod errors;
pub mod objects;
