//! The boundary between `CoreError` and the exceptions defined in `kubeproxy_config.errors`.

use pyo3::prelude::*;

use crate::engine::error::CoreError;

pyo3::import_exception!(kubeproxy_config.errors, InvalidObject);
pyo3::import_exception!(kubeproxy_config.errors, ClosedError);

/// Turns an engine error into the matching Python exception. Convert only after `detach` returned.
impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> Self {
        match &err {
            CoreError::InvalidObject { key, path, .. } => {
                InvalidObject::new_err((err.to_string(), key.clone(), path.clone()))
            }
            CoreError::Closed(_) => ClosedError::new_err(err.to_string()),
        }
    }
}
