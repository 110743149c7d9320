//! The value classes inside objects: `ServicePort`, `EndpointSubset`, `EndpointAddress`,
//! `EndpointPort` and `Endpoint` (SPEC §2). Each holds its engine value (a few `Arc`s).

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::engine::json::{
    address_to_value, endpoint_port_to_value, endpoint_to_value, service_port_to_value,
    subset_to_value,
};
use crate::engine::model::{
    Endpoint, EndpointAddress, EndpointPort, EndpointSubset, ServicePort, TargetRef,
};
use crate::py::convert::value_to_py;
use crate::py::values::{port_or_name, quote, quote_opt, str_tuple, wrapped_tuple};

/// A frozen Python class holding one engine value, with the methods every such class has:
/// `__copy__` and `__deepcopy__` (immutable: the object itself) and `to_dict` (by `$to_value`).
/// `port` adds the getters of a port's `name`, `protocol` and `appProtocol`; `addressed` those
/// of a value with `hostname`, `nodeName` and `targetRef`. A macro
/// because `#[pymethods]` must see every method of the class in one `impl`.
macro_rules! value_class {
    (
        $(#[$doc:meta])* $wrapper:ident($value:ty), $pyname:literal, $to_value:path, port,
        { $($methods:tt)* }
    ) => {
        value_class!($(#[$doc])* $wrapper($value), $pyname, $to_value, {
            /// Port name; `""` when unnamed.
            #[getter]
            fn name(&self) -> &str {
                &self.0.name
            }

            /// "TCP", "UDP" or "SCTP".
            #[getter]
            fn protocol(&self) -> &'static str {
                self.0.protocol.as_str()
            }

            /// `appProtocol`.
            #[getter]
            fn app_protocol(&self) -> Option<&str> {
                self.0.app_protocol.as_deref()
            }

            $($methods)*
        });
    };
    (
        $(#[$doc:meta])* $wrapper:ident($value:ty), $pyname:literal, $to_value:path, addressed,
        { $($methods:tt)* }
    ) => {
        value_class!($(#[$doc])* $wrapper($value), $pyname, $to_value, {
            $($methods)*

            /// `hostname`.
            #[getter]
            fn hostname(&self) -> Option<&str> {
                self.0.hostname.as_deref()
            }

            /// `nodeName`.
            #[getter]
            fn node_name(&self) -> Option<&str> {
                self.0.node_name.as_deref()
            }

            /// `targetRef.kind`, e.g. "Pod".
            #[getter]
            fn target_ref_kind(&self) -> Option<&str> {
                ref_kind(self.0.target_ref.as_ref())
            }

            /// `targetRef.name`.
            #[getter]
            fn target_ref_name(&self) -> Option<&str> {
                ref_name(self.0.target_ref.as_ref())
            }
        });
    };
    (
        $(#[$doc:meta])* $wrapper:ident($value:ty), $pyname:literal, $to_value:path,
        { $($methods:tt)* }
    ) => {
        $(#[$doc])*
        #[pyclass(name = $pyname, module = "kubeproxy_config", frozen, eq, hash)]
        #[derive(PartialEq, Eq, Hash)]
        pub struct $wrapper(pub $value);

        #[pymethods]
        impl $wrapper {
            $($methods)*

            /// Immutable: a copy is the object itself.
            fn __copy__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
                slf
            }

            /// Immutable: a deep copy is the object itself.
            #[pyo3(signature = (_memo, /))]
            fn __deepcopy__<'py>(
                slf: Bound<'py, Self>,
                _memo: &Bound<'py, PyAny>,
            ) -> Bound<'py, Self> {
                slf
            }

            /// The Kubernetes JSON shape.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                value_to_py(py, &$to_value(&self.0))
            }
        }
    };
}

value_class!(
    /// Python class `kubeproxy_config.ServicePort`.
    PyServicePort(ServicePort), "ServicePort", service_port_to_value, port, {
    /// The Service port.
    #[getter]
    fn port(&self) -> u16 {
        self.0.port
    }

    /// Target port: a number, or a named container port.
    #[getter]
    fn target_port<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        port_or_name(py, &self.0.target_port)
    }

    /// Node port, when allocated.
    #[getter]
    fn node_port(&self) -> Option<u16> {
        self.0.node_port
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let p = &self.0;
        let target = port_or_name(py, &p.target_port)?.repr()?.to_string();
        let node = p
            .node_port
            .map(|n| format!(", node_port={n}"))
            .unwrap_or_default();
        Ok(format!(
            "ServicePort(name={}, protocol={}, port={}, target_port={target}{node})",
            quote(&p.name),
            quote(p.protocol.as_str()),
            p.port
        ))
    }
});

value_class!(
    /// Python class `kubeproxy_config.EndpointSubset`.
    PyEndpointSubset(EndpointSubset), "EndpointSubset", subset_to_value, {
    /// Ready addresses.
    #[getter]
    fn addresses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        wrapped_tuple(py, &self.0.addresses, PyEndpointAddress)
    }

    /// Addresses not ready yet.
    #[getter]
    fn not_ready_addresses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        wrapped_tuple(py, &self.0.not_ready_addresses, PyEndpointAddress)
    }

    /// Ports.
    #[getter]
    fn ports<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        wrapped_tuple(py, &self.0.ports, PyEndpointPort)
    }

    fn __repr__(&self) -> String {
        format!(
            "EndpointSubset(addresses={}, not_ready={}, ports={})",
            self.0.addresses.len(),
            self.0.not_ready_addresses.len(),
            self.0.ports.len()
        )
    }
});

fn ref_kind(r: Option<&TargetRef>) -> Option<&str> {
    r.and_then(|r| r.kind.as_deref())
}

fn ref_name(r: Option<&TargetRef>) -> Option<&str> {
    r.and_then(|r| r.name.as_deref())
}

fn ref_repr(r: Option<&TargetRef>) -> String {
    match (ref_kind(r), ref_name(r)) {
        (None, None) => String::new(),
        (kind, name) => {
            format!(
                ", target_ref={}",
                quote(&format!("{}/{}", kind.unwrap_or(""), name.unwrap_or("")))
            )
        }
    }
}

value_class!(
    /// Python class `kubeproxy_config.EndpointAddress`.
    PyEndpointAddress(EndpointAddress), "EndpointAddress", address_to_value, addressed, {
    /// The IP address.
    #[getter]
    fn ip(&self) -> String {
        self.0.ip.to_string()
    }

    fn __repr__(&self) -> String {
        let node = self
            .0
            .node_name
            .as_deref()
            .map(|n| format!(", node_name={}", quote(n)));
        format!(
            "EndpointAddress(ip={}{}{})",
            quote(&self.0.ip.to_string()),
            node.unwrap_or_default(),
            ref_repr(self.0.target_ref.as_ref())
        )
    }
});

value_class!(
    /// Python class `kubeproxy_config.EndpointPort`.
    PyEndpointPort(EndpointPort), "EndpointPort", endpoint_port_to_value, port, {
    /// Port number (always set in Endpoints; may be `None` in an `EndpointSlice`).
    #[getter]
    fn port(&self) -> Option<u16> {
        self.0.port
    }

    fn __repr__(&self) -> String {
        let port = self
            .0
            .port
            .map_or_else(|| "None".to_owned(), |p| p.to_string());
        format!(
            "EndpointPort(name={}, port={port}, protocol={})",
            quote(&self.0.name),
            quote(self.0.protocol.as_str())
        )
    }
});

value_class!(
    /// Python class `kubeproxy_config.Endpoint` (one endpoint of an `EndpointSlice`).
    PyEndpoint(Endpoint), "Endpoint", endpoint_to_value, addressed, {
    /// Addresses (IPs, or names for FQDN slices).
    #[getter]
    fn addresses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.0.addresses.iter().map(ToString::to_string))
    }

    /// `conditions.ready` (unset means true).
    #[getter]
    fn ready(&self) -> bool {
        self.0.conditions.is_ready()
    }

    /// `conditions.serving` (unset means the same as `ready`).
    #[getter]
    fn serving(&self) -> bool {
        self.0.conditions.is_serving()
    }

    /// `conditions.terminating` (unset means false).
    #[getter]
    fn terminating(&self) -> bool {
        self.0.conditions.is_terminating()
    }

    /// `zone`.
    #[getter]
    fn zone(&self) -> Option<&str> {
        self.0.zone.as_deref()
    }

    /// `hints.forZones[].name`.
    #[getter]
    fn hints_for_zones<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.0.hints_for_zones.iter())
    }

    /// `hints.forNodes[].name`.
    #[getter]
    fn hints_for_nodes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        str_tuple(py, self.0.hints_for_nodes.iter())
    }

    fn __repr__(&self) -> String {
        let e = &self.0;
        let addresses: Vec<String> = e.addresses.iter().map(|a| quote(&a.to_string())).collect();
        let tuple = if addresses.len() == 1 {
            format!("({},)", addresses[0])
        } else {
            format!("({})", addresses.join(", "))
        };
        let py_bool = |b: bool| if b { "True" } else { "False" };
        format!(
            "Endpoint(addresses={tuple}, ready={}, serving={}, terminating={}, node_name={})",
            py_bool(e.conditions.is_ready()),
            py_bool(e.conditions.is_serving()),
            py_bool(e.conditions.is_terminating()),
            quote_opt(e.node_name.as_deref())
        )
    }
});
