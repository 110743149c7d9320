//! Rust core of `kubeproxy-config`: the configuration layer of a Kubernetes service proxy.
//!
//! [`engine`] is pure Rust (source multiplexing, per-source stores, the merged persistent state and
//! delivery to handlers) and is tested with `cargo test --no-default-features`, without libpython.
//! `py` holds the `PyO3` bindings and is compiled only with the default `python` feature.

pub mod engine;
pub mod transport;

/// mimalloc for every allocation of the extension (and of the Rust tests).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "python")]
mod py;

/// The native module `kubeproxy_config._core`: it only lists exports, the code lives in `py`.
#[cfg(feature = "python")]
#[pyo3::pymodule(gil_used = false)]
mod _core {
    #[pymodule_export]
    use crate::py::objects::{PyEndpointSlice, PyEndpoints, PyService};

    #[pymodule_export]
    use crate::py::subobjects::{
        PyEndpoint, PyEndpointAddress, PyEndpointPort, PyEndpointSubset, PyServicePort,
    };

    #[pymodule_export]
    use crate::py::channel::PySourceChannel;

    #[pymodule_export]
    use crate::py::config::PyConfig;

    #[pymodule_export]
    use crate::py::proxy::PyProxyConfig;

    #[pymodule_export]
    use crate::py::proxy_objects::{PyEndpointInfo, PyServicePortInfo};

    #[pymodule_export]
    use crate::py::proxy_snapshot::PyProxySnapshot;

    #[pymodule_export]
    use crate::py::reflector::{replay, PyRecording, PyReflector};

    #[pymodule_export]
    use crate::py::snapshot::{PyChanges, PySnapshot, SnapshotIter};

    /// The histogram bucket bounds the metrics use, as module constants.
    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use crate::engine::histogram::{HANDLER_DURATION_BUCKETS, NETWORK_PROGRAMMING_BUCKETS};
        use pyo3::types::PyModuleMethods;
        let py = m.py();
        m.add(
            "HANDLER_DURATION_BUCKETS",
            pyo3::types::PyTuple::new(py, HANDLER_DURATION_BUCKETS)?,
        )?;
        m.add(
            "NETWORK_PROGRAMMING_BUCKETS",
            pyo3::types::PyTuple::new(py, NETWORK_PROGRAMMING_BUCKETS)?,
        )?;
        Ok(())
    }
}
