//! A minimal object kind for engine tests, so they need neither JSON nor Python.
#![allow(dead_code)]

use std::sync::Arc;

use _core::engine::object::{ObjKey, Object};

/// A keyed value: equal keys with equal values are the same object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obj {
    pub key: ObjKey,
    pub value: u32,
}

impl Object for Obj {
    type Notes = ();
    fn key(&self) -> ObjKey {
        self.key.clone()
    }
}

pub fn obj(key: &str, value: u32) -> Arc<Obj> {
    Arc::new(Obj {
        key: ObjKey::parse(key),
        value,
    })
}

pub fn key(key: &str) -> ObjKey {
    ObjKey::parse(key)
}
