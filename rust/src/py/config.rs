//! `_core.Config`: one config (services, endpoints or endpoint slices) and its registrations.
//!
//! The public `ServiceConfig` / `EndpointsConfig` / `EndpointSliceConfig` are thin Python classes
//! over this one (handler adaptation, context manager, asyncio); everything that runs per update
//! is here or in the engine.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::engine::model::{EndpointSlice, Endpoints, Service};
use crate::engine::mux::Mux;
use crate::engine::ratelimit::SystemClock;
use crate::py::channel::PySourceChannel;
use crate::py::control;
use crate::py::kind::DynConfig;
use crate::py::seconds::seconds;
use crate::py::snapshot::PySnapshot;
use crate::py::typed::Typed;

/// One config of one object kind: sources, merged state, handlers.
#[pyclass(name = "Config", module = "kubeproxy_config._core", frozen)]
pub struct PyConfig {
    pub(crate) inner: Arc<dyn DynConfig>,
    channels: Mutex<Vec<(String, Py<PySourceChannel>)>>,
}

#[pymethods]
impl PyConfig {
    /// `kind` is "services", "endpoints" or "endpointslices".
    #[new]
    #[pyo3(signature = (kind, *, name, min_interval = 0.0))]
    fn new(kind: &str, name: &str, min_interval: f64) -> PyResult<Self> {
        let interval = seconds("min_interval", min_interval)?;
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
        self.inner.control().name()
    }

    /// The channel of source `source`, created on first use; the same object for the same name.
    fn channel(&self, py: Python<'_>, source: &str) -> PyResult<Py<PySourceChannel>> {
        if source.is_empty() {
            return Err(PyValueError::new_err("a source name must not be empty"));
        }
        if let Some((_, ch)) = self.channels.lock().iter().find(|(n, _)| n == source) {
            return Ok(ch.clone_ref(py));
        }
        let index = self.inner.control().source(source)?;
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
        PyTuple::new(py, self.inner.control().source_names())
    }

    /// The current merged state (O(1)).
    fn state(&self) -> PySnapshot {
        PySnapshot::new(self.inner.state())
    }

    /// Register `update(snapshot)` and optional `synced()`; returns the registration id.
    /// `name` labels the handler in metrics (with an index among live handlers of that name).
    #[pyo3(signature = (update, synced = None, *, name = None))]
    fn register(
        &self,
        update: Py<PyAny>,
        synced: Option<Py<PyAny>>,
        name: Option<String>,
    ) -> PyResult<u64> {
        let name = name.unwrap_or_else(|| "handler".to_owned());
        Ok(self.inner.register(update, synced, name)?)
    }

    /// Stop delivering to registration `id`; False if it was not registered.
    fn cancel(&self, id: u64) -> bool {
        self.inner.control().cancel(id)
    }

    /// Wait until everything sent before the call is merged and delivered to every handler.
    #[pyo3(signature = (timeout = None))]
    pub(crate) fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        control::flush(py, self.inner.control(), control::deadline_of(timeout)?)
    }

    /// True once every channel created so far has sent a SET or been marked synced.
    #[getter]
    fn synced(&self) -> bool {
        self.inner.control().synced()
    }

    /// Wait until synced; False on timeout.
    #[pyo3(signature = (timeout = None))]
    fn wait_synced(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        control::wait_synced(py, self.inner.control(), timeout)
    }

    /// Counters: updates, objects merged, versions, deliveries, coalesced deliveries, handler
    /// errors, conflicts.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        control::stats(py, self.inner.control())
    }

    /// Per handler, for metrics: `(label, deliveries, coalesced deliveries, errors, lag seconds,
    /// cumulative call-duration bucket counts, duration sum)`; buckets are
    /// `HANDLER_DURATION_BUCKETS`, then +Inf. Reads atomics only: no lock is held meanwhile.
    fn handler_stats(&self, py: Python<'_>) -> Vec<control::HandlerRow> {
        control::handler_stats(py, self.inner.control())
    }

    /// Stop accepting sends, merge what was queued, stop the delivery threads. Waits for handlers
    /// inside a call until `timeout` (None: as long as they take); returns False if one was still
    /// running. Idempotent.
    #[pyo3(signature = (timeout = None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        control::close(py, self.inner.control(), timeout)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.control().is_closed()
    }

    /// The endpoints of every slice of `service_key`, de-duplicated by address.
    fn endpoints_for(&self, py: Python<'_>, service_key: &str) -> PyResult<Py<PyTuple>> {
        self.inner.endpoints_for(py, service_key)
    }
}
