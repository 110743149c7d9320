//! The immutable object classes `Service`, `Endpoints` and `EndpointSlice` (SPEC §2), each an
//! `Arc` of the engine struct, and the [`PyKind`] bridge the configs use to wrap and unwrap them.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::engine::json::Kind;
use crate::engine::model::{
    EndpointSlice, Endpoints, IpFamilyPolicy, IpMode, Service, TrafficPolicy,
};
use crate::py::convert::{extract_one, parse_json_one, value_to_py};
use crate::py::kind::{PyKind, Wrap};

use crate::py::subobjects::{PyEndpoint, PyEndpointPort, PyEndpointSubset, PyServicePort};
use crate::py::values::{mapping, quote, quote_opt, str_tuple, wrapped_tuple};

/// Declares the wrapper struct of a top-level kind with its value equality, cached hash and
/// [`PyKind`] impl, and a `#[pymethods]` block with the common members plus `$extra`.
macro_rules! top_kind {
    ($wrapper:ident, $kind:ty, $pyname:literal, { $($extra:tt)* }) => {
        #[doc = concat!("Python class `kubeproxy_config.", $pyname, "`: an immutable, shared ", $pyname, ".")]
        #[pyclass(name = $pyname, module = "kubeproxy_config", frozen, eq, hash)]
        pub struct $wrapper {
            /// The engine object, shared with stores and snapshots.
            pub inner: Arc<$kind>,
            /// `hash(self)`, computed on first use (objects can be large).
            hash: OnceLock<u64>,
        }

        impl $wrapper {
            /// Wrap a shared engine object.
            pub fn new(inner: Arc<$kind>) -> Self {
                Self { inner, hash: OnceLock::new() }
            }
        }

        impl PartialEq for $wrapper {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.inner, &other.inner) || *self.inner == *other.inner
            }
        }

        impl Hash for $wrapper {
            fn hash<H: Hasher>(&self, state: &mut H) {
                let h = *self.hash.get_or_init(|| {
                    let mut hasher = DefaultHasher::new();
                    self.inner.hash(&mut hasher);
                    hasher.finish()
                });
                state.write_u64(h);
            }
        }

        impl Wrap for $kind {
            fn wrap(py: Python<'_>, obj: Arc<Self>) -> PyResult<Py<PyAny>> {
                Ok(Py::new(py, $wrapper::new(obj))?.into_any())
            }
        }

        impl PyKind for $kind {
            fn unwrap_py(ob: &Bound<'_, PyAny>) -> Option<Arc<Self>> {
                ob.cast::<$wrapper>().ok().map(|b| b.get().inner.clone())
            }
        }

        #[pymethods]
        impl $wrapper {
            /// Namespace.
            #[getter]
            fn namespace(&self) -> &str {
                &self.inner.meta.namespace
            }

            /// Name.
            #[getter]
            fn name(&self) -> &str {
                &self.inner.meta.name
            }

            /// `"namespace/name"`.
            #[getter]
            fn key(&self) -> String {
                format!("{}/{}", self.inner.meta.namespace, self.inner.meta.name)
            }

            /// `metadata.uid`.
            #[getter]
            fn uid(&self) -> Option<String> {
                self.inner.meta.uid.as_ref().map(ToString::to_string)
            }

            /// `metadata.resourceVersion`.
            #[getter]
            fn resource_version(&self) -> Option<&str> {
                self.inner.meta.resource_version.as_deref()
            }

            /// `metadata.labels`, read-only.
            #[getter]
            fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                mapping(py, &self.inner.meta.labels)
            }

            /// `metadata.annotations`, read-only.
            #[getter]
            fn annotations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                mapping(py, &self.inner.meta.annotations)
            }

            /// The Kubernetes JSON shape (camelCase), as the API server returns it.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                value_to_py(py, &self.inner.to_value())
            }

            /// Build from a dict in Kubernetes JSON shape (or a kubernetes client model).
            #[staticmethod]
            #[pyo3(signature = (data, /))]
            fn from_dict(data: &Bound<'_, PyAny>) -> PyResult<Self> {
                extract_one::<$kind>(data).map(Self::new)
            }

            /// Parse one object from JSON bytes or str.
            #[staticmethod]
            #[pyo3(signature = (data, /))]
            fn from_json(data: &Bound<'_, PyAny>) -> PyResult<Self> {
                parse_json_one::<$kind>(data).map(Self::new)
            }

            /// Pickle support: rebuilt through `from_dict`.
            fn __reduce__<'py>(
                slf: &Bound<'py, Self>,
            ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyAny>,))> {
                let from_dict = slf.get_type().getattr(pyo3::intern!(slf.py(), "from_dict"))?;
                Ok((from_dict, (slf.get().to_dict(slf.py())?,)))
            }

            /// Immutable: a copy is the object itself.
            fn __copy__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                slf
            }

            /// Immutable: a deep copy is the object itself.
            #[pyo3(signature = (_memo, /))]
            fn __deepcopy__<'py>(slf: Bound<'py, Self>, _memo: &Bound<'py, PyAny>) -> Bound<'py, Self> {
                slf
            }

            $($extra)*
        }
    };
}

top_kind!(PyService, Service, "Service", {
    /// `spec.type`: `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
    #[getter]
    fn r#type(&self) -> &'static str {
        self.inner.service_type.as_str()
    }

    /// `spec.clusterIP`: an address, `"None"` when headless, `None` when unset.
    #[getter]
    fn cluster_ip(&self) -> Option<String> {
        self.inner.cluster_ip.map(|ip| ip.to_string())
    }

    /// `spec.clusterIPs`.
    #[getter]
    fn cluster_ips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.inner.cluster_ips.iter().map(ToString::to_string))
    }

    /// `spec.ipFamilies`.
    #[getter]
    fn ip_families<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.inner.ip_families.iter().map(|f| f.as_str()))
    }

    /// `spec.ipFamilyPolicy`.
    #[getter]
    fn ip_family_policy(&self) -> Option<&'static str> {
        self.inner.ip_family_policy.map(IpFamilyPolicy::as_str)
    }

    /// `spec.ports`.
    #[getter]
    fn ports<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        wrapped_tuple(py, &self.inner.ports, PyServicePort)
    }

    /// `spec.selector`, read-only.
    #[getter]
    fn selector<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        mapping(py, &self.inner.selector)
    }

    /// `spec.sessionAffinity`: `"None"` or `"ClientIP"`.
    #[getter]
    fn session_affinity(&self) -> &'static str {
        self.inner.session_affinity.as_str()
    }

    /// Client-IP affinity timeout (10800 by default with `ClientIP`), else `None`.
    #[getter]
    fn session_affinity_timeout_seconds(&self) -> Option<u32> {
        self.inner.session_affinity_timeout_seconds
    }

    /// `spec.externalIPs`.
    #[getter]
    fn external_ips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.inner.external_ips.iter().map(ToString::to_string))
    }

    /// `status.loadBalancer.ingress[].ip` (entries without an IP are left out).
    #[getter]
    fn load_balancer_ingress_ips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(
            py,
            self.inner
                .load_balancer_ingress
                .iter()
                .map(|i| i.ip.to_string()),
        )
    }

    /// `status.loadBalancer.ingress[].ipMode` ("VIP", "Proxy" or None when unset), one per entry
    /// of `load_balancer_ingress_ips`.
    #[getter]
    fn load_balancer_ingress_ip_modes<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let modes = self
            .inner
            .load_balancer_ingress
            .iter()
            .map(|i| i.ip_mode.map(IpMode::as_str));
        PyTuple::new(py, modes)
    }

    /// `spec.loadBalancerSourceRanges`.
    #[getter]
    fn load_balancer_source_ranges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.inner.load_balancer_source_ranges.iter())
    }

    /// `spec.externalName`.
    #[getter]
    fn external_name(&self) -> Option<&str> {
        self.inner.external_name.as_deref()
    }

    /// `spec.externalTrafficPolicy` ("Cluster" by default for `NodePort` and `LoadBalancer`).
    #[getter]
    fn external_traffic_policy(&self) -> Option<&'static str> {
        self.inner
            .external_traffic_policy
            .map(TrafficPolicy::as_str)
    }

    /// `spec.internalTrafficPolicy` ("Cluster" by default, `None` for `ExternalName`).
    #[getter]
    fn internal_traffic_policy(&self) -> Option<&'static str> {
        self.inner
            .internal_traffic_policy
            .map(TrafficPolicy::as_str)
    }

    /// `spec.healthCheckNodePort`.
    #[getter]
    fn health_check_node_port(&self) -> Option<u16> {
        self.inner.health_check_node_port
    }

    /// `spec.publishNotReadyAddresses`.
    #[getter]
    fn publish_not_ready_addresses(&self) -> bool {
        self.inner.publish_not_ready_addresses
    }

    fn __repr__(&self) -> String {
        let s = &*self.inner;
        format!(
            "Service({}, type={}, cluster_ip={}, ports={})",
            quote(&s.meta.key().to_string()),
            quote(s.service_type.as_str()),
            quote_opt(s.cluster_ip.map(|ip| ip.to_string()).as_deref()),
            s.ports.len()
        )
    }
});

top_kind!(PyEndpoints, Endpoints, "Endpoints", {
    /// `subsets`.
    #[getter]
    fn subsets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        wrapped_tuple(py, &self.inner.subsets, PyEndpointSubset)
    }

    fn __repr__(&self) -> String {
        let e = &*self.inner;
        let ready: usize = e.subsets.iter().map(|s| s.addresses.len()).sum();
        let not_ready: usize = e.subsets.iter().map(|s| s.not_ready_addresses.len()).sum();
        format!(
            "Endpoints({}, subsets={}, addresses={ready}, not_ready={not_ready})",
            quote(&e.meta.key().to_string()),
            e.subsets.len()
        )
    }
});

top_kind!(PyEndpointSlice, EndpointSlice, "EndpointSlice", {
    /// The owning Service's name (label `kubernetes.io/service-name`), `None` if unlabelled.
    #[getter]
    fn service_name(&self) -> Option<&str> {
        self.inner.service_name()
    }

    /// `addressType`: "IPv4", "IPv6" or "FQDN".
    #[getter]
    fn address_type(&self) -> &'static str {
        self.inner.address_type.as_str()
    }

    /// `endpoints`.
    #[getter]
    fn endpoints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        wrapped_tuple(py, &self.inner.endpoints, PyEndpoint)
    }

    /// `ports`.
    #[getter]
    fn ports<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        wrapped_tuple(py, &self.inner.ports, PyEndpointPort)
    }

    fn __repr__(&self) -> String {
        let s = &*self.inner;
        format!(
            "EndpointSlice({}, service={}, address_type={}, endpoints={}, ports={})",
            quote(&s.meta.key().to_string()),
            quote_opt(s.service_name()),
            quote(s.address_type.as_str()),
            s.endpoints.len(),
            s.ports.len()
        )
    }
});
