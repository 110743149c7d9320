//! `ProxySnapshot`: the proxy view at one version, with what a proxy's sync needs to know
//! (SPEC §9), as a read-only Python sequence built in O(1).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::engine::model::{Protocol, Str};
use crate::engine::object::ObjKey;
use crate::engine::proxy::info::{parse_port_key, port_key, ServicePortInfo};
use crate::engine::snapshot::{same, Snapshot};
use crate::py::kind::Wrap;
use crate::py::kind::{DynChanges, DynSnapshot};
use crate::py::proxy_objects::PyServicePortInfo;
use crate::py::snapshot::{sequence_item, ChangesView, PyChanges, SnapshotIter};

/// An engine snapshot of the view plus its ports in order, materialised on first positional use.
pub struct ProxySnapshotView {
    snap: Snapshot<ServicePortInfo>,
    ordered: OnceLock<Vec<Arc<ServicePortInfo>>>,
}

impl ProxySnapshotView {
    pub fn new(snap: Snapshot<ServicePortInfo>) -> Self {
        Self {
            snap,
            ordered: OnceLock::new(),
        }
    }

    fn ordered(&self) -> &[Arc<ServicePortInfo>] {
        self.ordered
            .get_or_init(|| self.snap.items.values().cloned().collect())
    }
}

fn wrap(py: Python<'_>, port: &Arc<ServicePortInfo>) -> PyResult<Py<PyAny>> {
    ServicePortInfo::wrap(py, Arc::clone(port))
}

impl DynSnapshot for ProxySnapshotView {
    fn version(&self) -> u64 {
        self.snap.version
    }

    fn len(&self) -> usize {
        self.snap.items.len()
    }

    fn item(&self, py: Python<'_>, index: usize) -> PyResult<Option<Py<PyAny>>> {
        self.ordered().get(index).map(|p| wrap(py, p)).transpose()
    }

    fn get(&self, py: Python<'_>, key: &ObjKey) -> PyResult<Option<Py<PyAny>>> {
        self.snap.items.get(key).map(|p| wrap(py, p)).transpose()
    }

    fn contains(&self, key: &ObjKey) -> bool {
        self.snap.items.contains_key(key)
    }

    fn position(&self, value: &Bound<'_, PyAny>) -> Option<usize> {
        let port = Arc::clone(&value.cast::<PyServicePortInfo>().ok()?.get().0);
        let stored = self.snap.items.get(&port.base.key)?;
        if !same(stored, &port) {
            return None;
        }
        self.ordered()
            .binary_search_by(|p| p.base.key.cmp(&port.base.key))
            .ok()
    }

    fn changes(&self) -> Arc<dyn DynChanges> {
        Arc::new(ChangesView(Arc::clone(&self.snap.changes)))
    }
}

/// The proxy view at one version: a sequence of `ServicePortInfo` sorted by (namespace, name,
/// port name, protocol).
#[pyclass(name = "ProxySnapshot", module = "kubeproxy_config", frozen, sequence)]
pub struct PyProxySnapshot {
    view: Arc<ProxySnapshotView>,
}

impl PyProxySnapshot {
    pub fn new(snap: Snapshot<ServicePortInfo>) -> Self {
        Self {
            view: Arc::new(ProxySnapshotView::new(snap)),
        }
    }

    fn notes(&self) -> &crate::engine::proxy::notes::ProxyNotes {
        &self.view.snap.notes
    }
}

fn key_str(key: &ObjKey) -> String {
    key.to_string()
}

#[pymethods]
impl PyProxySnapshot {
    /// Monotonic version of the view.
    #[getter]
    fn version(&self) -> u64 {
        self.view.snap.version
    }

    /// Ports added, removed and updated since the state the receiver saw before.
    #[getter]
    fn changes(&self) -> PyChanges {
        PyChanges {
            inner: self.view.changes(),
        }
    }

    /// The port at `key` (`"namespace/name:port_name/PROTOCOL"`), or at
    /// `(namespace, name, port_name="", protocol="TCP")`; None if absent.
    #[pyo3(signature = (key, name = None, port_name = "", protocol = "TCP"))]
    fn get(
        &self,
        py: Python<'_>,
        key: &str,
        name: Option<&str>,
        port_name: &str,
        protocol: &str,
    ) -> PyResult<Option<Py<PyAny>>> {
        let key = match name {
            Some(name) => {
                let Some(protocol) = Protocol::parse(protocol) else {
                    return Err(PyValueError::new_err(format!(
                        "protocol must be TCP, UDP or SCTP, got {protocol:?}"
                    )));
                };
                port_key(&Str::from(key), name, port_name, protocol)
            }
            None => match parse_port_key(key) {
                Some(k) => k,
                None => return Ok(None),
            },
        };
        self.view.get(py, &key)
    }

    fn __len__(&self) -> usize {
        self.view.len()
    }

    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        sequence_item(py, self.view.len(), index, |i| self.view.item(py, i))
    }

    /// A key `"namespace/name:port_name/PROTOCOL"` or an equal `ServicePortInfo`.
    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        match key.extract::<&str>() {
            Ok(s) => parse_port_key(s).is_some_and(|k| self.view.contains(&k)),
            Err(_) => self.view.position(key).is_some(),
        }
    }

    fn __iter__(&self) -> SnapshotIter {
        SnapshotIter::new(Arc::clone(&self.view) as Arc<dyn DynSnapshot>)
    }

    /// Services (`"namespace/name"`) a partial sync must rewrite, accumulated since this
    /// handler's previous call.
    #[getter]
    fn updated_services<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let keys: Vec<String> = self
            .notes()
            .updated_services()
            .iter()
            .map(key_str)
            .collect();
        PyTuple::new(py, keys)
    }

    /// Rewrite everything: a handler's first delivery, or the first after a topology change.
    #[getter]
    fn full_sync(&self) -> bool {
        self.notes().full_sync()
    }

    /// Some updated service has a UDP port, before or after.
    #[getter]
    fn conntrack_cleanup_required(&self) -> bool {
        self.notes().conntrack_cleanup_required()
    }

    /// `{service key: (epoch seconds, ...)}` of changed slices' last-change-trigger-time.
    #[getter]
    fn trigger_times<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (key, times) in self.notes().trigger_times() {
            d.set_item(key_str(key), PyTuple::new(py, times)?)?;
        }
        Ok(d)
    }

    /// `{service key: health-check node port}` of the current state.
    #[getter]
    fn health_check_node_ports<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut ports = BTreeMap::new();
        for port in self.view.snap.items.values() {
            if port.base.health_check_node_port != 0 {
                ports.insert(port.base.service_key(), port.base.health_check_node_port);
            }
        }
        let d = PyDict::new(py);
        for (key, port) in ports {
            d.set_item(key_str(&key), port)?;
        }
        Ok(d)
    }

    /// `{service key: distinct local ready IPs}` of the current state (services with none absent).
    #[getter]
    fn local_ready_endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut ips: BTreeMap<ObjKey, BTreeSet<std::net::IpAddr>> = BTreeMap::new();
        for port in self.view.snap.items.values() {
            for e in port.endpoints.iter().filter(|e| e.is_local && e.ready) {
                ips.entry(port.base.service_key()).or_default().insert(e.ip);
            }
        }
        let d = PyDict::new(py);
        for (key, set) in ips {
            d.set_item(key_str(&key), set.len())?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "ProxySnapshot(version={}, ports={})",
            self.view.snap.version,
            self.view.len()
        )
    }
}
