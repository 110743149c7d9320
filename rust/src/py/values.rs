//! Small conversions of engine values to Python values shared by the object classes.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMappingProxy, PyString, PyTuple};

use crate::engine::model::{PortOrName, StrMap};

/// A read-only `types.MappingProxyType` over a new dict of `m`.
pub(crate) fn mapping<'py>(py: Python<'py>, m: &StrMap) -> PyResult<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    for (k, v) in m.iter() {
        dict.set_item(k, v)?;
    }
    Ok(PyMappingProxy::new(py, dict.as_mapping()).into_any())
}

/// A tuple of Python wrappers, one per item (each a clone wrapped by `wrap`).
pub(crate) fn wrapped_tuple<'py, T: Clone, W: IntoPyObject<'py>>(
    py: Python<'py>,
    items: &[T],
    wrap: fn(T) -> W,
) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, items.iter().cloned().map(wrap))
}

/// A tuple of strings.
pub(crate) fn str_tuple<'py, S: AsRef<str>>(
    py: Python<'py>,
    items: impl IntoIterator<Item = S>,
) -> PyResult<Bound<'py, PyTuple>> {
    let items: Vec<Bound<'py, PyString>> = items
        .into_iter()
        .map(|s| PyString::new(py, s.as_ref()))
        .collect();
    PyTuple::new(py, items)
}

/// `'text'`, as Python's `repr` of a simple string.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `'text'` or `None`.
pub(crate) fn quote_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), quote)
}

/// `targetPort` as a Python int or str.
pub(crate) fn port_or_name<'py>(py: Python<'py>, p: &PortOrName) -> PyResult<Bound<'py, PyAny>> {
    Ok(match p {
        PortOrName::Port(n) => n.into_pyobject(py)?.into_any(),
        PortOrName::Name(s) => PyString::new(py, s).into_any(),
    })
}
