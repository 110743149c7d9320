//! `PyO3` bindings: the only part of the crate that names pyo3.

pub mod channel;
pub mod config;
pub mod control;
pub mod convert;
pub mod delivery;
pub mod errors;
pub mod kind;
pub mod objects;
pub mod proxy;
pub mod proxy_objects;
pub mod proxy_snapshot;
pub mod reflector;
pub mod seconds;
pub mod sink;
pub mod snapshot;
pub mod subobjects;
pub mod thread_state;
pub mod typed;
pub mod values;
pub mod wait;
