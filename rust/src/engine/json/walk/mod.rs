//! The document walk: a whole object read as a `Node` document
//! (strings borrowed from the input), then walked field by field so that every error names the
//! exact JSON path. It reads every input shape and gives the exact error; the API server's rules
//! themselves come from `json/rules/`. JSON `null` counts as absent everywhere, as in the API
//! server; unknown fields are ignored.

pub(crate) mod endpoints;
pub(crate) mod object;
pub(crate) mod read;
pub(crate) mod service;
pub(crate) mod slice;
