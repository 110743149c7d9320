//! `ServicePortInfo` and `EndpointInfo`: read-only Python views of the proxy view's entries
//! (SPEC §9), each sharing its engine value.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::engine::proxy::info::{EndpointInfo, Endpoints, ServicePortInfo};
use crate::py::kind::Wrap;
use crate::py::values::{quote, str_tuple};

/// Python class `kubeproxy_config.EndpointInfo`.
#[pyclass(name = "EndpointInfo", module = "kubeproxy_config", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash)]
pub struct PyEndpointInfo(pub Arc<EndpointInfo>);

#[pymethods]
impl PyEndpointInfo {
    /// The endpoint's address, normalised.
    #[getter]
    fn ip(&self) -> String {
        self.0.ip.to_string()
    }

    /// The target port.
    #[getter]
    fn port(&self) -> u16 {
        self.0.port
    }

    /// `"10.0.0.1:8080"` or `"[fd00::1]:8080"`: kube-proxy's identity string.
    #[getter]
    fn address(&self) -> String {
        self.0.address()
    }

    /// On this proxy's node.
    #[getter]
    fn is_local(&self) -> bool {
        self.0.is_local
    }

    /// Ready (unset: true).
    #[getter]
    fn ready(&self) -> bool {
        self.0.ready
    }

    /// Serving (unset: true).
    #[getter]
    fn serving(&self) -> bool {
        self.0.serving
    }

    /// Terminating (unset: false).
    #[getter]
    fn terminating(&self) -> bool {
        self.0.terminating
    }

    /// `nodeName`.
    #[getter]
    fn node_name(&self) -> Option<&str> {
        self.0.node_name().map(|s| &**s)
    }

    /// `zone`.
    #[getter]
    fn zone(&self) -> Option<&str> {
        self.0.zone().map(|s| &**s)
    }

    /// `hostname`.
    #[getter]
    fn hostname(&self) -> Option<&str> {
        self.0.hostname().map(|s| &**s)
    }

    /// Zones this endpoint is hinted for.
    #[getter]
    fn zone_hints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.0.zone_hints().iter())
    }

    /// Nodes this endpoint is hinted for.
    #[getter]
    fn node_hints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.0.node_hints().iter())
    }

    /// Every field in a plain dict (the names of the attributes).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("ip", self.ip())?;
        d.set_item("port", self.0.port)?;
        d.set_item("address", self.address())?;
        d.set_item("is_local", self.0.is_local)?;
        d.set_item("ready", self.0.ready)?;
        d.set_item("serving", self.0.serving)?;
        d.set_item("terminating", self.0.terminating)?;
        d.set_item("node_name", self.node_name())?;
        d.set_item("zone", self.zone())?;
        d.set_item("hostname", self.hostname())?;
        d.set_item("zone_hints", self.zone_hints(py)?)?;
        d.set_item("node_hints", self.node_hints(py)?)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let e = &self.0;
        let mut flags = Vec::new();
        for (on, name) in [
            (e.ready, "ready"),
            (e.serving, "serving"),
            (e.terminating, "terminating"),
            (e.is_local, "local"),
        ] {
            if on {
                flags.push(name);
            }
        }
        format!("EndpointInfo({}, {})", quote(&e.address()), flags.join("|"))
    }
}

fn endpoint_tuple<'py>(py: Python<'py>, list: &Endpoints) -> PyResult<Bound<'py, PyTuple>> {
    let items = list
        .iter()
        .map(|e| Bound::new(py, PyEndpointInfo(Arc::clone(e))))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

fn endpoint_dicts<'py>(py: Python<'py>, list: &Endpoints) -> PyResult<Bound<'py, PyTuple>> {
    let items = list
        .iter()
        .map(|e| PyEndpointInfo(Arc::clone(e)).to_dict(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

impl Wrap for ServicePortInfo {
    fn wrap(py: Python<'_>, obj: Arc<Self>) -> PyResult<Py<PyAny>> {
        Ok(Py::new(py, PyServicePortInfo(obj))?.into_any())
    }
}

/// Python class `kubeproxy_config.ServicePortInfo`.
#[pyclass(
    name = "ServicePortInfo",
    module = "kubeproxy_config",
    frozen,
    eq,
    hash
)]
#[derive(PartialEq, Eq, Hash)]
pub struct PyServicePortInfo(pub Arc<ServicePortInfo>);

#[pymethods]
impl PyServicePortInfo {
    /// `"namespace/name:port_name/PROTOCOL"`.
    #[getter]
    fn key(&self) -> String {
        self.0.base.to_string()
    }

    /// `"namespace/name"` of the Service.
    #[getter]
    fn service_key(&self) -> String {
        format!("{}/{}", self.0.base.namespace, self.0.base.name)
    }

    /// Namespace of the Service.
    #[getter]
    fn namespace(&self) -> &str {
        &self.0.base.namespace
    }

    /// Name of the Service.
    #[getter]
    fn name(&self) -> &str {
        &self.0.base.name
    }

    /// Port name (`""` when unnamed).
    #[getter]
    fn port_name(&self) -> &str {
        &self.0.base.port_name
    }

    /// "TCP", "UDP" or "SCTP".
    #[getter]
    fn protocol(&self) -> &'static str {
        self.0.base.protocol.as_str()
    }

    /// "IPv4" or "IPv6".
    #[getter]
    fn ip_family(&self) -> &'static str {
        self.0.base.ip_family.as_str()
    }

    /// The cluster IP of this family.
    #[getter]
    fn cluster_ip(&self) -> String {
        self.0.base.cluster_ip.to_string()
    }

    /// The service port.
    #[getter]
    fn port(&self) -> u16 {
        self.0.base.port
    }

    /// Node port (0: none).
    #[getter]
    fn node_port(&self) -> u16 {
        self.0.base.node_port
    }

    /// External IPs of this family.
    #[getter]
    fn external_ips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.0.base.external_ips.iter().map(ToString::to_string))
    }

    /// Load-balancer ingress IPs of this family in VIP mode.
    #[getter]
    fn load_balancer_vips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(
            py,
            self.0
                .base
                .load_balancer_vips
                .iter()
                .map(ToString::to_string),
        )
    }

    /// `loadBalancerSourceRanges` of this family, as networks.
    #[getter]
    fn load_balancer_source_ranges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.0.base.load_balancer_source_ranges.iter())
    }

    /// Session-affinity timeout in seconds (0: no affinity).
    #[getter]
    fn session_affinity_timeout(&self) -> u32 {
        self.0.base.session_affinity_timeout
    }

    /// Externally accessible with `externalTrafficPolicy: Local`.
    #[getter]
    fn external_policy_local(&self) -> bool {
        self.0.base.external_policy_local
    }

    /// `internalTrafficPolicy: Local`.
    #[getter]
    fn internal_policy_local(&self) -> bool {
        self.0.base.internal_policy_local
    }

    /// Health-check node port (0: none).
    #[getter]
    fn health_check_node_port(&self) -> u16 {
        self.0.base.health_check_node_port
    }

    /// Reachable from outside through this family (node port, VIP or external IP).
    #[getter]
    fn externally_accessible(&self) -> bool {
        self.0.base.externally_accessible
    }

    /// Cluster endpoints are used.
    #[getter]
    fn uses_cluster_endpoints(&self) -> bool {
        self.0.base.uses_cluster_endpoints
    }

    /// Local endpoints are used.
    #[getter]
    fn uses_local_endpoints(&self) -> bool {
        self.0.base.uses_local_endpoints
    }

    /// `""`, `"PreferSameZone"` or `"PreferSameNode"`.
    #[getter]
    fn topology_mode(&self) -> &'static str {
        self.0.topology_mode.as_str()
    }

    /// Every endpoint of the port, in kube-proxy's order.
    #[getter]
    fn endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        endpoint_tuple(py, &self.0.endpoints)
    }

    /// Endpoints for cluster traffic; None when the port uses none.
    #[getter]
    fn cluster_endpoints<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.0
            .cluster
            .as_ref()
            .map(|l| endpoint_tuple(py, l))
            .transpose()
    }

    /// Endpoints for local traffic; None when the port uses none.
    #[getter]
    fn local_endpoints<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.0
            .local
            .as_ref()
            .map(|l| endpoint_tuple(py, l))
            .transpose()
    }

    /// Every endpoint some traffic may reach.
    #[getter]
    fn all_reachable_endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        endpoint_tuple(py, &self.0.all_reachable)
    }

    /// Some endpoint can serve (False: reject; True with empty local endpoints: drop).
    #[getter]
    fn has_any_endpoints(&self) -> bool {
        self.0.has_any
    }

    /// Every field in a plain dict, endpoints as dicts.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("key", self.key())?;
        d.set_item("service_key", self.service_key())?;
        d.set_item("namespace", self.namespace())?;
        d.set_item("name", self.name())?;
        d.set_item("port_name", self.port_name())?;
        d.set_item("protocol", self.protocol())?;
        d.set_item("ip_family", self.ip_family())?;
        d.set_item("cluster_ip", self.cluster_ip())?;
        d.set_item("port", self.port())?;
        d.set_item("node_port", self.node_port())?;
        d.set_item("external_ips", self.external_ips(py)?)?;
        d.set_item("load_balancer_vips", self.load_balancer_vips(py)?)?;
        d.set_item(
            "load_balancer_source_ranges",
            self.load_balancer_source_ranges(py)?,
        )?;
        d.set_item("session_affinity_timeout", self.session_affinity_timeout())?;
        d.set_item("external_policy_local", self.external_policy_local())?;
        d.set_item("internal_policy_local", self.internal_policy_local())?;
        d.set_item("health_check_node_port", self.health_check_node_port())?;
        d.set_item("externally_accessible", self.externally_accessible())?;
        d.set_item("uses_cluster_endpoints", self.uses_cluster_endpoints())?;
        d.set_item("uses_local_endpoints", self.uses_local_endpoints())?;
        d.set_item("topology_mode", self.topology_mode())?;
        d.set_item("endpoints", endpoint_dicts(py, &self.0.endpoints)?)?;
        let opt = |l: &Option<Endpoints>| l.as_ref().map(|l| endpoint_dicts(py, l)).transpose();
        d.set_item("cluster_endpoints", opt(&self.0.cluster)?)?;
        d.set_item("local_endpoints", opt(&self.0.local)?)?;
        d.set_item(
            "all_reachable_endpoints",
            endpoint_dicts(py, &self.0.all_reachable)?,
        )?;
        d.set_item("has_any_endpoints", self.has_any_endpoints())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let count =
            |l: &Option<Endpoints>| l.as_ref().map_or("-".to_owned(), |l| l.len().to_string());
        format!(
            "ServicePortInfo({}, endpoints={}, cluster={}, local={})",
            quote(&self.key()),
            self.0.endpoints.len(),
            count(&self.0.cluster),
            count(&self.0.local)
        )
    }
}
