//! The typed fast path of watch-event ingest: one event line read straight into small structs
//! that borrow from the input (`raw.rs`, read by `scan.rs`), then built into the model by the
//! same rules (`json/rules/`) as the `Node` walk.
//!
//! It answers "here is the object", "here is the walk's error for it" (a line read whole whose
//! object breaks an API-server rule: the rules give the message and path, so the line is not
//! parsed again), or "don't know": any type mismatch, duplicate field or unusual shape declines,
//! and the caller parses the same bytes again with the walk, which produces the exact result.
//! `rust/tests/json_equivalence.rs` and the fuzz targets check that every answer equals the
//! walk's.

pub(crate) mod raw;
pub(crate) mod scan;
pub(crate) mod service;

use std::borrow::Cow;
use std::sync::Arc;

use crate::engine::error::CoreError;
use crate::engine::object::ObjKey;

/// What the fast path made of one watch-event line.
#[derive(Debug)]
pub enum FastRead<'a, K> {
    /// An ADDED or MODIFIED object.
    Object(FastEvent<'a, K>),
    /// An ADDED or MODIFIED object that breaks an API-server rule (boxed: rare, and large).
    Invalid(Box<FastInvalid<'a>>),
    /// Not read here: parse the line with the walk.
    Declined,
}

/// An ADDED or MODIFIED event read by the fast path.
#[derive(Debug)]
pub struct FastEvent<'a, K> {
    /// The object, identical to what `Kind::from_node` gives.
    pub object: Arc<K>,
    /// `object.metadata.resourceVersion` as written (empty included), borrowed from the line.
    pub resource_version: Option<Cow<'a, str>>,
}

/// An ADDED or MODIFIED event whose object the walk would reject.
#[derive(Debug)]
pub struct FastInvalid<'a> {
    /// The object's key, as `json::key_of` reads it.
    pub key: ObjKey,
    /// The walk's error for the object (key and message included, path relative to the object).
    pub error: CoreError,
    /// `object.metadata.resourceVersion` as written (empty included), borrowed from the line.
    pub resource_version: Option<Cow<'a, str>>,
}
