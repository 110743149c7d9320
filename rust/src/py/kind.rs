//! The kind-generic layer of the bindings: [`PyKind`] (what a Python object class gives the
//! configs), the operation codes, and the kind-erased traits that one Python class per concept
//! holds: [`DynConfig`] (only what differs per kind; the rest is the engine's [`Control`]),
//! [`DynSnapshot`] and [`DynChanges`]. Declarations only: the per-kind implementations are in
//! `typed.rs`.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Weak};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::engine::control::Control;
use crate::engine::error::CoreError;
use crate::engine::json::Kind;
use crate::engine::object::{ObjKey, Object};
use crate::engine::proxy::feed::ProxyMux;
use crate::engine::watcher::Sink;

/// An engine object that has a Python class: handlers and snapshots hand out these.
pub trait Wrap: Object {
    /// A new Python object sharing `obj`.
    fn wrap(py: Python<'_>, obj: Arc<Self>) -> PyResult<Py<PyAny>>;
}

/// What the Python configs need of an input object kind: wrapping engine objects for handlers
/// and taking our own instances back without copying.
pub trait PyKind: Kind + Wrap {
    /// The shared engine object if `ob` is an instance of this kind's class.
    fn unwrap_py(ob: &Bound<'_, PyAny>) -> Option<Arc<Self>>;
}

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
    pub(crate) fn from_py(op: &Bound<'_, PyAny>) -> PyResult<Self> {
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

/// The kind-erased config: what a config does differently per object kind. The rest (sources,
/// sync, flush, close, stats) is the mux's [`Control`].
pub trait DynConfig: Send + Sync {
    /// The kind-independent side.
    fn control(&self) -> &dyn Control;
    /// `"Service"`, `"Endpoints"` or `"EndpointSlice"`.
    fn kind(&self) -> &'static str;
    /// Validate `objs` whole and queue them as `op` of `source`.
    fn send_objects(&self, source: usize, op: OpCode, objs: &Bound<'_, PyAny>) -> PyResult<()>;
    /// Parse `data` (without the GIL) and queue it as `op` of `source`.
    fn send_json(&self, py: Python<'_>, source: usize, op: OpCode, data: Vec<u8>) -> PyResult<()>;
    /// The current state as a kind-erased snapshot.
    fn state(&self) -> Arc<dyn DynSnapshot>;
    /// Register Python callables as a handler named `name` in metrics.
    fn register(
        &self,
        update: Py<PyAny>,
        synced: Option<Py<PyAny>>,
        name: String,
    ) -> Result<u64, CoreError>;
    /// `EndpointSliceConfig.endpoints_for`.
    fn endpoints_for(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyTuple>>;
    /// Apply a chunk of watch-event lines of `source`.
    fn apply_watch(
        &self,
        py: Python<'_>,
        source: usize,
        data: &[u8],
        skip_invalid: bool,
    ) -> PyResult<WatchOutcome>;
    /// Parse one list page.
    fn parse_list(&self, py: Python<'_>, data: &[u8], skip_invalid: bool) -> PyResult<ListOutcome>;
    /// Register a handler forwarding every version to the proxy view `view`.
    fn feed_proxy(&self, view: Weak<ProxyMux>) -> Result<u64, CoreError>;
    /// The Rust transport's way into `source` (it stops once `closed` is set).
    fn sink(self: Arc<Self>, source: usize, closed: Arc<AtomicBool>) -> Box<dyn Sink>;
}

/// `(resource_version, error_status, events, rejected)` of a chunk of watch events.
pub type WatchOutcome = (Option<String>, Option<Py<PyAny>>, usize, Vec<String>);
/// `(objects, resource_version, continue_token, rejected)` of a list page.
pub type ListOutcome = (Vec<Py<PyAny>>, Option<String>, Option<String>, Vec<String>);

/// The kind-erased side of a snapshot, so one Python class serves every object kind.
pub trait DynSnapshot: Send + Sync {
    fn version(&self) -> u64;
    fn len(&self) -> usize;
    fn item(&self, py: Python<'_>, index: usize) -> PyResult<Option<Py<PyAny>>>;
    fn get(&self, py: Python<'_>, key: &ObjKey) -> PyResult<Option<Py<PyAny>>>;
    fn contains(&self, key: &ObjKey) -> bool;
    /// Position of an object equal to `value` (one of this kind's objects), if present.
    fn position(&self, value: &Bound<'_, PyAny>) -> Option<usize>;
    fn changes(&self) -> Arc<dyn DynChanges>;
}

/// The kind-erased side of `Changes`.
pub trait DynChanges: Send + Sync {
    fn added(&self, py: Python<'_>) -> PyResult<Py<PyTuple>>;
    fn updated(&self, py: Python<'_>) -> PyResult<Py<PyTuple>>;
    fn removed(&self, py: Python<'_>) -> PyResult<Py<PyTuple>>;
    fn counts(&self) -> (usize, usize, usize);
}
