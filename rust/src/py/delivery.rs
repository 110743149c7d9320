//! Calling Python handlers from the engine's delivery threads.

use std::marker::PhantomData;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::engine::broadcast::{Outcome, Sink};
use crate::engine::object::Object;
use crate::engine::snapshot::Snapshot;
use crate::py::kind::PyKind;
use crate::py::snapshot::{PySnapshot, SnapshotView};
use crate::py::thread_state::keep_thread_state;

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `logging.getLogger("kubeproxy_config")`, looked up once.
fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || {
            Ok(py
                .import("logging")?
                .call_method1("getLogger", ("kubeproxy_config",))?
                .unbind())
        })
        .map(|l| l.bind(py))
}

/// Log a handler's exception with its traceback, while attached (never ship a `PyErr` across
/// threads, and normalise it here before anything formats it).
fn log_failure(py: Python<'_>, what: &str, handler: &Py<PyAny>, err: &PyErr) {
    let exc = err.value(py);
    let logged = logger(py).and_then(|log| {
        let kwargs = pyo3::types::PyDict::new(py);
        // A full (type, value, traceback) triple: the value alone may not carry its traceback.
        let exc_info = (err.get_type(py), exc, err.traceback(py));
        kwargs.set_item("exc_info", exc_info)?;
        log.call_method(
            "error",
            ("%s %r raised %r", what, handler.bind(py), exc),
            Some(&kwargs),
        )
    });
    if logged.is_err() {
        // Logging itself failed (e.g. during shutdown): fall back to the unraisable hook.
        err.clone_ref(py)
            .write_unraisable(py, Some(handler.bind(py)));
    }
}

/// A registered Python handler: the update callable and the optional `on_synced`.
pub struct PySink<K> {
    pub update: Py<PyAny>,
    pub synced: Option<Py<PyAny>>,
    pub what: &'static str,
    /// The handler's name in metrics (its qualified name, from the Python layer).
    pub name: String,
    pub kind: PhantomData<fn() -> K>,
}

impl<K> PySink<K> {
    /// A sink calling `update(snapshot)` and `synced()`; `what` names it in logs, `name` in
    /// metrics.
    pub fn new(
        update: Py<PyAny>,
        synced: Option<Py<PyAny>>,
        what: &'static str,
        name: String,
    ) -> Self {
        Self {
            update,
            synced,
            what,
            name,
            kind: PhantomData,
        }
    }

    /// Call `on_synced`, if the handler has one.
    pub(crate) fn call_synced(&self) -> Outcome {
        match &self.synced {
            Some(cb) => self.call(|py| cb.call0(py)),
            None => Outcome::Ok,
        }
    }

    pub(crate) fn call(&self, f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) -> Outcome {
        // `try_attach` is None once the interpreter is finalizing: stop this thread quietly.
        Python::try_attach(|py| match f(py) {
            Ok(_) => Outcome::Ok,
            Err(err) => {
                log_failure(py, self.what, &self.update, &err);
                Outcome::Failed
            }
        })
        .unwrap_or(Outcome::Stop)
    }
}

/// What a handler of `T` is handed: the Python snapshot object of an engine snapshot.
pub trait ToPySnapshot: Object + Sized {
    fn to_py(py: Python<'_>, snapshot: Snapshot<Self>) -> PyResult<Py<PyAny>>;
}

impl<K: PyKind> ToPySnapshot for K {
    fn to_py(py: Python<'_>, snapshot: Snapshot<K>) -> PyResult<Py<PyAny>> {
        let view = Arc::new(SnapshotView::new(snapshot));
        Ok(Py::new(py, PySnapshot::new(view))?.into_any())
    }
}

impl<T: ToPySnapshot> Sink<T> for PySink<T> {
    fn deliver(&self, snapshot: Snapshot<T>) -> Outcome {
        self.call(|py| self.update.call1(py, (T::to_py(py, snapshot)?,)))
    }

    fn synced(&self) -> Outcome {
        self.call_synced()
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn on_thread(&self, body: &mut (dyn FnMut() + Send)) {
        keep_thread_state(body);
    }
}
