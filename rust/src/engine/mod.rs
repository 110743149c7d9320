//! Pure-Rust engine: objects, parsing, merge and delivery. Never names pyo3.
#![warn(missing_docs)]

pub mod broadcast;
pub mod control;
pub mod error;
pub mod handler_stats;
pub mod histogram;
pub mod json;
pub mod merger;
pub mod model;
pub mod mux;
pub mod object;
pub mod parallel;
pub mod proxy;
pub mod ratelimit;
pub mod slices;
pub mod snapshot;
pub mod stats;
pub mod store;
pub mod validate;
pub mod watcher;
