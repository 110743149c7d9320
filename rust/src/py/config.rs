//! `_core.Config`: one config (services, endpoints or endpoint slices) and its registrations.
//!
//! The public `ServiceConfig` / `EndpointsConfig` / `EndpointSliceConfig` are thin Python classes
//! over this one (handler adaptation, context manager, asyncio); everything that runs per update
//! is here or in the engine.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::engine::error::CoreError;
use crate::engine::json::watch::{parse_list_page, parse_watch_events};
use crate::engine::model::{EndpointSlice, Endpoints, Service};
use crate::engine::mux::Mux;
use crate::engine::object::ObjKey;
use crate::engine::proxy::feed::{FeedSink, ProxyFeed, ProxyMux};
use crate::engine::ratelimit::SystemClock;
use crate::engine::slices;
use crate::engine::snapshot::Snapshot;
use crate::py::channel::{KindOps, OpCode, PySourceChannel};
use crate::py::convert::value_to_py;
use crate::py::delivery::PySink;
use crate::py::objects::PyKind;
use crate::py::snapshot::{DynSnapshot, PySnapshot, SnapshotView};
use crate::py::subobjects::PyEndpoint;
use crate::py::wait::wait_in_slices;

/// The kind-erased config, so one Python class serves every object kind.
pub trait DynConfig: Send + Sync {
    fn name(&self) -> &str;
    fn source(&self, name: &str) -> Result<usize, CoreError>;
    fn source_names(&self) -> Vec<String>;
    fn send_objects(&self, source: usize, op: OpCode, objs: &Bound<'_, PyAny>) -> PyResult<()>;
    fn send_json(&self, py: Python<'_>, source: usize, op: OpCode, data: Vec<u8>) -> PyResult<()>;
    fn mark_synced(&self, source: usize) -> Result<(), CoreError>;
    fn state(&self) -> Arc<dyn DynSnapshot>;
    fn register(&self, update: Py<PyAny>, synced: Option<Py<PyAny>>) -> Result<u64, CoreError>;
    fn cancel(&self, id: u64) -> bool;
    fn flush_request(&self) -> Option<crossbeam_channel::Receiver<u64>>;
    fn version(&self) -> u64;
    fn wait_delivered(&self, version: u64, deadline: Instant) -> bool;
    fn synced(&self) -> bool;
    fn wait_synced(&self, deadline: Instant) -> bool;
    fn stats(&self) -> [(&'static str, u64); 7];
    fn close(&self, deadline: Instant) -> bool;
    fn is_closed(&self) -> bool;
    fn handler_count(&self) -> usize;
    fn endpoints_for(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyTuple>>;
    fn apply_watch(
        &self,
        py: Python<'_>,
        source: usize,
        data: &[u8],
        skip_invalid: bool,
    ) -> PyResult<WatchOutcome>;
    fn parse_list(&self, py: Python<'_>, data: &[u8], skip_invalid: bool) -> PyResult<ListOutcome>;
    /// `"Service"`, `"Endpoints"` or `"EndpointSlice"`.
    fn kind(&self) -> &'static str;
    /// Register a handler forwarding every version to the proxy view `view`.
    fn feed_proxy(&self, view: Weak<ProxyMux>) -> Result<u64, CoreError>;
}

/// `(resource_version, error_status, events, rejected)` of a chunk of watch events.
pub type WatchOutcome = (Option<String>, Option<Py<PyAny>>, usize, Vec<String>);
/// `(objects, resource_version, continue_token, rejected)` of a list page.
pub type ListOutcome = (Vec<Py<PyAny>>, Option<String>, Option<String>, Vec<String>);

struct Typed<K: PyKind> {
    mux: Mux<K>,
    what: &'static str,
}

impl<K: PyKind + KindOps + ProxyFeed> DynConfig for Typed<K> {
    fn kind(&self) -> &'static str {
        K::KIND
    }
    fn feed_proxy(&self, view: Weak<ProxyMux>) -> Result<u64, CoreError> {
        self.mux.register(Box::new(FeedSink::<K>::new(view)))
    }
    fn name(&self) -> &str {
        self.mux.name()
    }
    fn source(&self, name: &str) -> Result<usize, CoreError> {
        self.mux.source(name)
    }
    fn source_names(&self) -> Vec<String> {
        self.mux.source_names()
    }
    fn send_objects(&self, source: usize, op: OpCode, objs: &Bound<'_, PyAny>) -> PyResult<()> {
        let op = K::op_from_py(op, objs)?;
        Ok(self.mux.send(source, op)?)
    }
    fn send_json(&self, py: Python<'_>, source: usize, op: OpCode, data: Vec<u8>) -> PyResult<()> {
        let op = K::op_from_json(py, op, data)?;
        Ok(self.mux.send(source, op)?)
    }
    fn mark_synced(&self, source: usize) -> Result<(), CoreError> {
        self.mux.mark_synced(source)
    }
    fn state(&self) -> Arc<dyn DynSnapshot> {
        Arc::new(SnapshotView::of(&self.mux.state()))
    }
    fn register(&self, update: Py<PyAny>, synced: Option<Py<PyAny>>) -> Result<u64, CoreError> {
        self.mux
            .register(Box::new(PySink::<K>::new(update, synced, self.what)))
    }
    fn cancel(&self, id: u64) -> bool {
        self.mux.cancel(id)
    }
    fn flush_request(&self) -> Option<crossbeam_channel::Receiver<u64>> {
        self.mux.request_flush()
    }
    fn version(&self) -> u64 {
        self.mux.state().version
    }
    fn wait_delivered(&self, version: u64, deadline: Instant) -> bool {
        self.mux.wait_delivered(version, deadline)
    }
    fn synced(&self) -> bool {
        self.mux.synced()
    }
    fn wait_synced(&self, deadline: Instant) -> bool {
        self.mux.wait_synced(deadline)
    }
    fn stats(&self) -> [(&'static str, u64); 7] {
        self.mux.stats()
    }
    fn close(&self, deadline: Instant) -> bool {
        self.mux.close(deadline)
    }
    fn is_closed(&self) -> bool {
        self.mux.is_closed()
    }
    fn handler_count(&self) -> usize {
        self.mux.handler_count()
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

/// One config of one object kind: sources, merged state, handlers.
#[pyclass(name = "Config", module = "kubeproxy_config._core", frozen)]
pub struct PyConfig {
    pub(crate) inner: Arc<dyn DynConfig>,
    channels: Mutex<Vec<(String, Py<PySourceChannel>)>>,
}

pub(crate) fn deadline_of(timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => {
            Ok(Some(Instant::now() + Duration::from_secs_f64(t.min(1e9))))
        }
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be a number >= 0, got {t}"
        ))),
    }
}

#[pymethods]
impl PyConfig {
    /// `kind` is "services", "endpoints" or "endpointslices".
    #[new]
    #[pyo3(signature = (kind, *, name, min_interval = 0.0))]
    fn new(kind: &str, name: &str, min_interval: f64) -> PyResult<Self> {
        if !(min_interval.is_finite() && min_interval >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "min_interval must be a number of seconds >= 0, got {min_interval}"
            )));
        }
        let interval = Duration::from_secs_f64(min_interval);
        let clock = Arc::new(SystemClock);
        let inner: Arc<dyn DynConfig> = match kind {
            "services" => Arc::new(Typed::<Service> {
                mux: Mux::new(name, interval, clock)?,
                what: "service handler",
            }),
            "endpoints" => Arc::new(Typed::<Endpoints> {
                mux: Mux::new(name, interval, clock)?,
                what: "endpoints handler",
            }),
            "endpointslices" => Arc::new(Typed::<EndpointSlice> {
                mux: Mux::new(name, interval, clock)?,
                what: "endpoint slice handler",
            }),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown config kind {other:?}: expected services, endpoints or endpointslices"
                )))
            }
        };
        Ok(Self {
            inner,
            channels: Mutex::new(Vec::new()),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The channel of source `source`, created on first use; the same object for the same name.
    fn channel(&self, py: Python<'_>, source: &str) -> PyResult<Py<PySourceChannel>> {
        if source.is_empty() {
            return Err(PyValueError::new_err("a source name must not be empty"));
        }
        if let Some((_, ch)) = self.channels.lock().iter().find(|(n, _)| n == source) {
            return Ok(ch.clone_ref(py));
        }
        let index = self.inner.source(source)?;
        let created = Py::new(
            py,
            PySourceChannel::new(Arc::clone(&self.inner), source, index),
        )?;
        let mut channels = self.channels.lock();
        if let Some((_, ch)) = channels.iter().find(|(n, _)| n == source) {
            return Ok(ch.clone_ref(py));
        }
        channels.push((source.to_owned(), created.clone_ref(py)));
        Ok(created)
    }

    /// Source names in channel-creation order (earlier wins a conflict).
    #[getter]
    fn sources<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.source_names())
    }

    /// The current merged state (O(1)).
    fn state(&self) -> PySnapshot {
        PySnapshot::new(self.inner.state())
    }

    /// Register `update(snapshot)` and optional `synced()`; returns the registration id.
    #[pyo3(signature = (update, synced = None))]
    fn register(&self, update: Py<PyAny>, synced: Option<Py<PyAny>>) -> PyResult<u64> {
        Ok(self.inner.register(update, synced)?)
    }

    /// Stop delivering to registration `id`; False if it was not registered.
    fn cancel(&self, id: u64) -> bool {
        self.inner.cancel(id)
    }

    /// Wait until everything sent before the call is merged and delivered to every handler.
    #[pyo3(signature = (timeout = None))]
    pub(crate) fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = deadline_of(timeout)?;
        let Some(reply) = self.inner.flush_request() else {
            let version = self.inner.version();
            let inner = Arc::clone(&self.inner);
            return wait_in_slices(py, deadline, move |d| inner.wait_delivered(version, d));
        };
        let mut version = None;
        let merged = wait_in_slices(py, deadline, |d| match reply.recv_deadline(d) {
            Ok(v) => {
                version = Some(v);
                true
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => false,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => true,
        })?;
        if !merged {
            return Ok(false);
        }
        let version = version.unwrap_or_else(|| self.inner.version());
        let inner = Arc::clone(&self.inner);
        wait_in_slices(py, deadline, move |d| inner.wait_delivered(version, d))
    }

    /// True once every channel created so far has sent a SET or been marked synced.
    #[getter]
    fn synced(&self) -> bool {
        self.inner.synced()
    }

    /// Wait until synced; False on timeout.
    #[pyo3(signature = (timeout = None))]
    fn wait_synced(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = deadline_of(timeout)?;
        let inner = Arc::clone(&self.inner);
        wait_in_slices(py, deadline, move |d| inner.wait_synced(d))
    }

    /// Counters: updates, objects merged, versions, deliveries, coalesced deliveries, handler
    /// errors, conflicts.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.stats() {
            d.set_item(k, v)?;
        }
        d.set_item("handlers", self.inner.handler_count())?;
        Ok(d)
    }

    /// Stop accepting sends, merge what was queued, stop the delivery threads. Waits for handlers
    /// inside a call until `timeout` (None: as long as they take); returns False if one was still
    /// running. Idempotent.
    #[pyo3(signature = (timeout = None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = deadline_of(timeout)?;
        let inner = Arc::clone(&self.inner);
        // Repeated engine closes keep waiting for the same threads, so wait in slices.
        wait_in_slices(py, deadline, move |d| inner.close(d))
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The endpoints of every slice of `service_key`, de-duplicated by address.
    fn endpoints_for(&self, py: Python<'_>, service_key: &str) -> PyResult<Py<PyTuple>> {
        self.inner.endpoints_for(py, service_key)
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
