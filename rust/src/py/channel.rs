//! `SourceChannel`: one named source's way into a config (SET / ADD / UPDATE / REMOVE).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::engine::error::CoreError;
use crate::engine::watcher::Sink;
use crate::py::kind::{DynConfig, ListOutcome, OpCode, WatchOutcome};

/// A named source's channel into its config. Sending returns as soon as the update is queued.
#[pyclass(name = "SourceChannel", module = "kubeproxy_config", frozen)]
pub struct PySourceChannel {
    config: Arc<dyn DynConfig>,
    name: String,
    index: usize,
    closed: Arc<AtomicBool>,
}

impl PySourceChannel {
    pub fn new(config: Arc<dyn DynConfig>, name: &str, index: usize) -> Self {
        Self {
            config,
            name: name.to_owned(),
            index,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The Rust transport's way into this channel.
    pub(crate) fn sink(&self) -> Box<dyn Sink> {
        Arc::clone(&self.config).sink(self.index, Arc::clone(&self.closed))
    }

    /// The source name, for logs.
    pub(crate) fn source_name(&self) -> &str {
        &self.name
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
    ) -> PyResult<WatchOutcome> {
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
    ) -> PyResult<ListOutcome> {
        self.config.parse_list(py, data.as_bytes(), skip_invalid)
    }

    /// Mark this source synced without a SET (say, after an initial list that was streamed as ADDs).
    fn mark_synced(&self) -> PyResult<()> {
        self.check_open()?;
        Ok(self.config.control().mark_synced(self.index)?)
    }

    /// Close this channel: later sends raise `ClosedError`; its objects stay merged.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.config.control().is_closed()
    }

    fn __repr__(&self) -> String {
        format!(
            "SourceChannel({:?}, config={:?})",
            self.name,
            self.config.control().name()
        )
    }
}
