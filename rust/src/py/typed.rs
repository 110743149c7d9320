//! The per-kind side of the bindings: building engine operations from Python input
//! ([`KindOps`]), `endpoints_for` ([`EndpointsFor`]), and [`Typed`], the [`DynConfig`] of one kind.

use std::sync::{Arc, Weak};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use crate::engine::control::Control;
use crate::engine::error::CoreError;
use crate::engine::json::watch::{parse_list_page, parse_watch_events};
use crate::engine::json::{key_of, keys_of_batch, parse_batch, parse_node, prefix_path};
use crate::engine::model::{EndpointSlice, Endpoints, Service};
use crate::engine::mux::Mux;
use crate::engine::object::ObjKey;
use crate::engine::proxy::feed::{FeedSink, ProxyFeed, ProxyMux};
use crate::engine::slices;
use crate::engine::snapshot::Snapshot;
use crate::engine::store::Op;
use crate::engine::watcher::Sink;
use crate::py::convert::{extract_batch, is_client_model, py_to_node, value_to_py};
use crate::py::delivery::PySink;
use crate::py::kind::{DynConfig, DynSnapshot, ListOutcome, OpCode, PyKind, WatchOutcome};
use crate::py::sink::{MuxSink, OpTarget, Versioned};
use crate::py::snapshot::SnapshotView;
use crate::py::subobjects::PyEndpoint;
use std::sync::atomic::AtomicBool;

/// Building engine operations from Python input, per kind.
pub trait KindOps: PyKind + EndpointsFor {
    /// Objects (SET / ADD / UPDATE) or keys (REMOVE), validated whole before anything is sent.
    fn op_from_py(op: OpCode, objs: &Bound<'_, PyAny>) -> PyResult<Op<Self>> {
        Ok(match op {
            OpCode::Set => Op::Set(extract_batch::<Self>(objs)?),
            OpCode::Add | OpCode::Update => Op::Add(extract_batch::<Self>(objs)?),
            OpCode::Remove => Op::Remove(keys_from_py::<Self>(objs)?),
        })
    }

    /// The same from raw JSON bytes, parsed without the GIL when large.
    fn op_from_json(py: Python<'_>, op: OpCode, data: Vec<u8>) -> PyResult<Op<Self>> {
        let parse = move || -> Result<Op<Self>, CoreError> {
            Ok(match op {
                OpCode::Set => Op::Set(
                    parse_batch::<Self>(&data)?
                        .into_iter()
                        .map(Arc::new)
                        .collect(),
                ),
                OpCode::Add | OpCode::Update => Op::Add(
                    parse_batch::<Self>(&data)?
                        .into_iter()
                        .map(Arc::new)
                        .collect(),
                ),
                OpCode::Remove => Op::Remove(keys_of_batch(&parse_node(&data)?)?),
            })
        };
        // Parsing and validating a batch is the long part: do it without the GIL.
        Ok(py.detach(parse)?)
    }
}

impl<K: PyKind + EndpointsFor> KindOps for K {}

/// A key string must be `namespace/name`.
fn key_of_str(s: &str) -> Result<ObjKey, CoreError> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(ObjKey::new(ns, name))
        }
        _ => Err(CoreError::InvalidObject {
            key: Some(s.to_owned()),
            path: String::new(),
            reason: "a key must be \"namespace/name\"".to_owned(),
        }),
    }
}

/// One item of a REMOVE: a key string, one of our objects, a dict, JSON, or a client model.
fn keys_of_item<K: PyKind>(item: &Bound<'_, PyAny>) -> PyResult<Result<Vec<ObjKey>, CoreError>> {
    if let Some(obj) = K::unwrap_py(item) {
        return Ok(Ok(vec![obj.key()]));
    }
    if let Ok(s) = item.cast::<PyString>() {
        let s = s.to_str()?;
        return Ok(if s.trim_start().starts_with(['{', '[']) {
            parse_node(s.as_bytes()).and_then(|v| keys_of_batch(&v))
        } else {
            key_of_str(s).map(|k| vec![k])
        });
    }
    if let Ok(b) = item.cast::<PyBytes>() {
        return Ok(parse_node(b.as_bytes()).and_then(|v| keys_of_batch(&v)));
    }
    if item.is_instance_of::<PyDict>() || is_client_model(item)? {
        return Ok(key_of(&py_to_node(item)?).map(|k| vec![k]));
    }
    Err(PyTypeError::new_err(format!(
        "cannot remove a {}: expected a key \"namespace/name\", an object, a dict or JSON",
        item.get_type().name()?
    )))
}

fn is_single<K: PyKind>(objs: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(K::unwrap_py(objs).is_some()
        || objs.is_instance_of::<PyString>()
        || objs.is_instance_of::<PyBytes>()
        || objs.is_instance_of::<PyDict>()
        || is_client_model(objs)?)
}

/// Keys of a whole REMOVE, validated before anything is sent; errors name the item (`[2]`).
fn keys_from_py<K: PyKind>(objs: &Bound<'_, PyAny>) -> PyResult<Vec<ObjKey>> {
    if is_single::<K>(objs)? {
        return Ok(keys_of_item::<K>(objs)??);
    }
    let mut out = Vec::new();
    for (i, item) in objs.try_iter()?.enumerate() {
        let keys = keys_of_item::<K>(&item?)?.map_err(|e| prefix_path(e, &format!("[{i}]")))?;
        out.extend(keys);
    }
    Ok(out)
}

/// One kind's config: its mux, and the name its handlers have in logs.
pub struct Typed<K: PyKind> {
    pub mux: Mux<K>,
    pub what: &'static str,
}

impl<K: PyKind + KindOps + ProxyFeed + Versioned> DynConfig for Typed<K> {
    fn control(&self) -> &dyn Control {
        &self.mux
    }
    fn kind(&self) -> &'static str {
        K::KIND
    }
    fn feed_proxy(&self, view: Weak<ProxyMux>) -> Result<u64, CoreError> {
        self.mux.register(Box::new(FeedSink::<K>::new(view)))
    }
    fn sink(self: Arc<Self>, source: usize, closed: Arc<AtomicBool>) -> Box<dyn Sink> {
        Box::new(MuxSink::new(self, source, closed))
    }
    fn send_objects(&self, source: usize, op: OpCode, objs: &Bound<'_, PyAny>) -> PyResult<()> {
        let op = K::op_from_py(op, objs)?;
        Ok(self.mux.send(source, op)?)
    }
    fn send_json(&self, py: Python<'_>, source: usize, op: OpCode, data: Vec<u8>) -> PyResult<()> {
        let op = K::op_from_json(py, op, data)?;
        Ok(self.mux.send(source, op)?)
    }
    fn state(&self) -> Arc<dyn DynSnapshot> {
        Arc::new(SnapshotView::of(&self.mux.state()))
    }
    fn register(
        &self,
        update: Py<PyAny>,
        synced: Option<Py<PyAny>>,
        name: String,
    ) -> Result<u64, CoreError> {
        self.mux
            .register(Box::new(PySink::<K>::new(update, synced, self.what, name)))
    }
    fn endpoints_for(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyTuple>> {
        K::endpoints_for(py, &self.mux.state(), key)
    }
    fn apply_watch(
        &self,
        py: Python<'_>,
        source: usize,
        data: &[u8],
        skip_invalid: bool,
    ) -> PyResult<WatchOutcome> {
        // `data` is a `bytes` object's buffer: immutable, and alive for the whole call.
        let batch = py.detach(|| parse_watch_events::<K>(data, skip_invalid))?;
        for op in batch.ops {
            self.mux.send(source, op)?;
        }
        let error = batch
            .error
            .map(|v| value_to_py(py, &v).map(Bound::unbind))
            .transpose()?;
        let rejected = batch.rejected.iter().map(ToString::to_string).collect();
        Ok((batch.resource_version, error, batch.events, rejected))
    }
    fn parse_list(&self, py: Python<'_>, data: &[u8], skip_invalid: bool) -> PyResult<ListOutcome> {
        let page = py.detach(|| parse_list_page::<K>(data, skip_invalid))?;
        let rejected = page.rejected.iter().map(ToString::to_string).collect();
        let objs = page
            .items
            .into_iter()
            .map(|o| K::wrap(py, Arc::new(o)))
            .collect::<PyResult<_>>()?;
        Ok((objs, page.resource_version, page.continue_token, rejected))
    }
}

impl<K: PyKind> OpTarget<K> for Typed<K> {
    fn send_op(&self, source: usize, op: Op<K>) -> Result<(), CoreError> {
        self.mux.send(source, op)
    }
}

/// Implemented per kind: `endpoints_for` exists only for endpoint slices.
pub trait EndpointsFor: crate::engine::object::Object + Sized {
    fn endpoints_for(_: Python<'_>, _: &Snapshot<Self>, _: &str) -> PyResult<Py<PyTuple>> {
        Err(PyTypeError::new_err(
            "endpoints_for() is only available on EndpointSliceConfig",
        ))
    }
}

impl EndpointsFor for Service {}

impl EndpointsFor for Endpoints {}

impl EndpointsFor for EndpointSlice {
    fn endpoints_for(py: Python<'_>, snap: &Snapshot<Self>, key: &str) -> PyResult<Py<PyTuple>> {
        let Some((namespace, service)) = key.split_once('/') else {
            return Err(PyValueError::new_err(format!(
                "service key must be \"namespace/name\", got {key:?}"
            )));
        };
        let service = ObjKey::new(namespace, service);
        let out = slices::merged_endpoints(slices::slices_in(&snap.items, &service))
            .into_iter()
            .map(|ep| Py::new(py, PyEndpoint(ep.clone())))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyTuple::new(py, out)?.unbind())
    }
}
