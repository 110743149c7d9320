//! `_core.ProxyConfig`: the proxy view (SPEC §9) as a derived config that follows a Service
//! config and an endpoints config; the public `ProxyConfig` is a thin Python class over it.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::engine::model::IpFamily;
use crate::engine::proxy::info::ServicePortInfo;
use crate::engine::proxy::options::{ProxyOptions, Topology};
use crate::engine::proxy::ProxyView;
use crate::engine::ratelimit::SystemClock;
use crate::engine::snapshot::Snapshot;
use crate::py::config::PyConfig;
use crate::py::control::{self, deadline_of};
use crate::py::delivery::{PySink, ToPySnapshot};
use crate::py::proxy_snapshot::PyProxySnapshot;
use crate::py::seconds::seconds;

impl ToPySnapshot for ServicePortInfo {
    fn to_py(py: Python<'_>, snapshot: Snapshot<ServicePortInfo>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(py, PyProxySnapshot::new(snapshot))?.into_any())
    }
}

/// The proxy view of a Service config and an endpoints config.
#[pyclass(name = "ProxyConfig", module = "kubeproxy_config._core", frozen)]
pub struct PyProxyConfig {
    view: ProxyView,
    services: Py<PyConfig>,
    endpoints: Py<PyConfig>,
    /// The view's registrations on `services` and `endpoints`.
    feeds: [u64; 2],
    topology: parking_lot::Mutex<Topology>,
}

#[pymethods]
impl PyProxyConfig {
    #[new]
    #[pyo3(signature = (services, endpoints, *, node_name, zone, ip_family, service_proxy_name,
                        prefer_same_node, min_interval, name))]
    #[allow(
        clippy::too_many_arguments,
        reason = "the keyword arguments of SPEC §9"
    )]
    fn new(
        services: Bound<'_, PyConfig>,
        endpoints: Bound<'_, PyConfig>,
        node_name: String,
        zone: String,
        ip_family: &str,
        service_proxy_name: Option<String>,
        prefer_same_node: bool,
        min_interval: f64,
        name: &str,
    ) -> PyResult<Self> {
        if !(min_interval.is_finite() && min_interval >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "min_interval must be a number of seconds >= 0, got {min_interval}"
            )));
        }
        let Some(family) = IpFamily::parse(ip_family) else {
            return Err(PyValueError::new_err(format!(
                "ip_family must be \"IPv4\" or \"IPv6\", got {ip_family:?}"
            )));
        };
        if services.get().inner.kind() != "Service" {
            return Err(PyValueError::new_err("services must be a ServiceConfig"));
        }
        if !matches!(endpoints.get().inner.kind(), "EndpointSlice" | "Endpoints") {
            return Err(PyValueError::new_err(
                "endpoints must be an EndpointSliceConfig or an EndpointsConfig",
            ));
        }
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let opts = ProxyOptions {
            family,
            service_proxy_name,
            prefer_same_node,
            start,
        };
        let topology = Topology { node_name, zone };
        let view = ProxyView::new(
            name,
            seconds("min_interval", min_interval)?,
            Arc::new(SystemClock),
            opts,
            topology.clone(),
        )?;
        let weak = Arc::downgrade(view.mux());
        let feed_services = services.get().inner.feed_proxy(weak.clone())?;
        let feed_endpoints = match endpoints.get().inner.feed_proxy(weak) {
            Ok(id) => id,
            Err(e) => {
                services.get().inner.control().cancel(feed_services);
                return Err(e.into());
            }
        };
        Ok(Self {
            view,
            services: services.unbind(),
            endpoints: endpoints.unbind(),
            feeds: [feed_services, feed_endpoints],
            topology: parking_lot::Mutex::new(topology),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        self.view.mux().name()
    }

    /// The input configs' roles, in priority order.
    #[getter]
    fn sources<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.view.mux().source_names())
    }

    /// The current view (O(1)).
    fn state(&self) -> PyProxySnapshot {
        PyProxySnapshot::new(self.view.mux().state().share())
    }

    /// Register `update(snapshot)` and optional `synced()`; returns the registration id.
    /// `name` labels the handler in metrics.
    #[pyo3(signature = (update, synced = None, *, name = None))]
    fn register(
        &self,
        update: Py<PyAny>,
        synced: Option<Py<PyAny>>,
        name: Option<String>,
    ) -> PyResult<u64> {
        let name = name.unwrap_or_else(|| "handler".to_owned());
        Ok(self
            .view
            .mux()
            .register(Box::new(PySink::<ServicePortInfo>::new(
                update,
                synced,
                "proxy handler",
                name,
            )))?)
    }

    /// Stop delivering to registration `id`; False if it was not registered.
    fn cancel(&self, id: u64) -> bool {
        self.view.mux().cancel(id)
    }

    /// Wait until everything sent to the two inputs before the call is in the view and
    /// delivered to every handler.
    #[pyo3(signature = (timeout = None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = deadline_of(timeout)?;
        // The inputs first (together): once their handlers, our feeds among them, have
        // everything, the view's queue holds it too.
        let inputs = [
            self.services.get().inner.control(),
            self.endpoints.get().inner.control(),
        ];
        if !control::flush_all(py, &inputs, deadline)? {
            return Ok(false);
        }
        control::flush(py, &**self.view.mux(), deadline)
    }

    /// True once both inputs are synced and the view holds their synced state.
    #[getter]
    fn synced(&self) -> bool {
        self.view.mux().synced()
    }

    /// Wait until synced; False on timeout.
    #[pyo3(signature = (timeout = None))]
    fn wait_synced(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        control::wait_synced(py, &**self.view.mux(), timeout)
    }

    /// The node's zone changed: every port is categorised again.
    fn set_zone(&self, zone: String) -> PyResult<()> {
        let mut topology = self.topology.lock();
        topology.zone = zone;
        Ok(self.view.set_topology(topology.clone())?)
    }

    /// The node's name changed: every port is categorised again.
    fn set_node_name(&self, node_name: String) -> PyResult<()> {
        let mut topology = self.topology.lock();
        topology.node_name = node_name;
        Ok(self.view.set_topology(topology.clone())?)
    }

    /// The node name and zone the view is computed for.
    #[getter]
    fn node_name(&self) -> String {
        self.topology.lock().node_name.clone()
    }

    #[getter]
    fn zone(&self) -> String {
        self.topology.lock().zone.clone()
    }

    /// Counters, as for the other configs.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        control::stats(py, &**self.view.mux())
    }

    /// Per-handler figures for metrics (see `Config.handler_stats`).
    fn handler_stats(&self, py: Python<'_>) -> Vec<control::HandlerRow> {
        control::handler_stats(py, &**self.view.mux())
    }

    /// `(cumulative bucket counts, sum)` of the network-programming latency, observed each time
    /// a handler returns from a call carrying trigger times (buckets:
    /// `NETWORK_PROGRAMMING_BUCKETS`, then +Inf).
    fn network_programming(&self) -> control::HistogramRow {
        control::histogram_row(&self.view.mux().network_programming())
    }

    /// Stop following the inputs and stop the delivery threads (see `Config.close`).
    #[pyo3(signature = (timeout = None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        self.services.get().inner.control().cancel(self.feeds[0]);
        self.endpoints.get().inner.control().cancel(self.feeds[1]);
        control::close(py, &**self.view.mux(), timeout)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.view.mux().is_closed()
    }
}
