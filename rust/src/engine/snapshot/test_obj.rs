//! A keyed value for tests, so they need neither JSON nor Python: equal keys with equal values
//! are the same object. One file for both the crate's unit tests (`snapshot::test_obj`) and the
//! integration tests (`tests/common`, by path); the parent module brings `ObjKey` and `Object`.

use std::sync::Arc;

use super::{ObjKey, Object};

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

/// `key=value` per object, in order.
pub fn kv(objs: &[Arc<Obj>]) -> Vec<String> {
    objs.iter()
        .map(|o| format!("{}={}", o.key, o.value))
        .collect()
}

/// `key:old->new` per updated pair, in order.
pub fn upd(pairs: &[(Arc<Obj>, Arc<Obj>)]) -> Vec<String> {
    pairs
        .iter()
        .map(|(a, b)| format!("{}:{}->{}", a.key, a.value, b.value))
        .collect()
}
