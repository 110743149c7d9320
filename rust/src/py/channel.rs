//! `SourceChannel`: one named source's way into a config (SET / ADD / UPDATE / REMOVE).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::engine::error::CoreError;
use crate::engine::json::{key_of, keys_of_batch, parse_batch, parse_node, prefix_path};
use crate::engine::object::ObjKey;
use crate::engine::store::Op;
use crate::py::config::{DynConfig, EndpointsFor};
use crate::py::convert::{extract_batch, is_client_model, py_to_node};
use crate::py::objects::PyKind;

/// SET, ADD, UPDATE or REMOVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Set,
    Add,
    Update,
    Remove,
}

impl OpCode {
    /// From an `Operation` member or its name, case-insensitively.
    fn from_py(op: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text: String = match op.extract::<String>() {
            Ok(s) => s,
            Err(_) => op
                .getattr("value")
                .and_then(|v| v.extract::<String>())
                .map_err(|_| PyTypeError::new_err("op must be an Operation or its name"))?,
        };
        match text.to_ascii_uppercase().as_str() {
            "SET" => Ok(Self::Set),
            "ADD" => Ok(Self::Add),
            "UPDATE" => Ok(Self::Update),
            "REMOVE" => Ok(Self::Remove),
            _ => Err(PyValueError::new_err(format!(
                "unknown operation {text:?}: expected SET, ADD, UPDATE or REMOVE"
            ))),
        }
    }
}

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

/// A named source's channel into its config. Sending returns as soon as the update is queued.
#[pyclass(name = "SourceChannel", module = "kubeproxy_config", frozen)]
pub struct PySourceChannel {
    config: Arc<dyn DynConfig>,
    name: String,
    index: usize,
    closed: AtomicBool,
}

impl PySourceChannel {
    pub fn new(config: Arc<dyn DynConfig>, name: &str, index: usize) -> Self {
        Self {
            config,
            name: name.to_owned(),
            index,
            closed: AtomicBool::new(false),
        }
    }

    fn check_open(&self) -> Result<(), CoreError> {
        if self.closed.load(Ordering::Acquire) {
            Err(CoreError::Closed(format!("channel {:?}", self.name)))
        } else {
            Ok(())
        }
    }

    fn send_op(&self, op: OpCode, objs: &Bound<'_, PyAny>) -> PyResult<()> {
        self.check_open()?;
        self.config.send_objects(self.index, op, objs)
    }
}

#[pymethods]
impl PySourceChannel {
    /// The source name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// Replace everything this source had (an empty SET clears it); marks the source synced.
    fn set(&self, objs: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send_op(OpCode::Set, objs)
    }

    /// Add or replace objects.
    fn add(&self, objs: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send_op(OpCode::Add, objs)
    }

    /// Same as `add` (for watch MODIFIED events).
    fn update(&self, objs: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send_op(OpCode::Update, objs)
    }

    /// Remove objects, given as objects or `"namespace/name"` keys; absent ones are ignored.
    fn remove(&self, objs_or_keys: &Bound<'_, PyAny>) -> PyResult<()> {
        self.send_op(OpCode::Remove, objs_or_keys)
    }

    /// Send a `ServiceUpdate` / `EndpointsUpdate` / `EndpointSliceUpdate` (or any `(op, objects)`).
    fn send(&self, update: &Bound<'_, PyAny>) -> PyResult<()> {
        let (op, objs): (Bound<'_, PyAny>, Bound<'_, PyAny>) = update
            .extract()
            .map_err(|_| PyTypeError::new_err("send() takes an update: (op, objects)"))?;
        self.send_op(OpCode::from_py(&op)?, &objs)
    }

    /// Parse `data` (a JSON object, list of objects or `…List`) in Rust and apply `op`.
    fn send_json(
        &self,
        py: Python<'_>,
        op: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.check_open()?;
        let op = OpCode::from_py(op)?;
        let bytes = if let Ok(b) = data.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(s) = data.cast::<PyString>() {
            s.to_str()?.as_bytes().to_vec()
        } else {
            return Err(PyTypeError::new_err("send_json() takes bytes or str"));
        };
        self.config.send_json(py, self.index, op, bytes)
    }

    /// Apply complete lines of a watch stream, parsed in Rust: ADDED/MODIFIED add, DELETED
    /// removes, BOOKMARK only advances the version. The chunk is validated whole first.
    ///
    /// Returns `(resource_version, error_status, events, rejected)`: the last version seen (to
    /// resume from), the `Status` of an ERROR event (events after it are not applied), the count,
    /// and with `skip_invalid` the messages of objects that failed validation — each treated as
    /// absent (removed) instead of failing the chunk, so one odd object cannot wedge a watch.
    #[pyo3(signature = (data, *, skip_invalid = false))]
    fn apply_watch_events(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        skip_invalid: bool,
    ) -> PyResult<crate::py::config::WatchOutcome> {
        self.check_open()?;
        self.config
            .apply_watch(py, self.index, data.as_bytes(), skip_invalid)
    }

    /// Parse one page of a list response (bytes) into `(objects, resource_version, continue,
    /// rejected)`; nothing is sent. Pages are gathered and then `set()` as one SET. With
    /// `skip_invalid`, items that fail validation are left out and their messages returned.
    #[pyo3(signature = (data, *, skip_invalid = false))]
    fn parse_list(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        skip_invalid: bool,
    ) -> PyResult<crate::py::config::ListOutcome> {
        self.config.parse_list(py, data.as_bytes(), skip_invalid)
    }

    /// Mark this source synced without a SET (say, after an initial list that was streamed as ADDs).
    fn mark_synced(&self) -> PyResult<()> {
        self.check_open()?;
        Ok(self.config.mark_synced(self.index)?)
    }

    /// Close this channel: later sends raise `ClosedError`; its objects stay merged.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.config.is_closed()
    }

    fn __repr__(&self) -> String {
        format!(
            "SourceChannel({:?}, config={:?})",
            self.name,
            self.config.name()
        )
    }
}
