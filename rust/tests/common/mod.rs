//! A minimal object kind for engine tests, so they need neither JSON nor Python: the crate's own
//! test object, included from its source.
#![allow(dead_code)]

use _core::engine::object::{ObjKey, Object};

#[path = "../../src/engine/snapshot/test_obj.rs"]
mod test_obj;
pub use test_obj::*;
