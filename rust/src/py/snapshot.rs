//! `Snapshot` and `Changes`: read-only Python views over an engine snapshot, built in O(1).

use std::sync::{Arc, OnceLock};

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PySlice, PyTuple, PyType};

use crate::engine::object::ObjKey;
use crate::engine::snapshot::{same, Changes, Snapshot};
use crate::py::kind::{DynChanges, DynSnapshot, PyKind, Wrap};

/// An engine snapshot plus its items in order, materialised on first positional access only.
pub struct SnapshotView<K: crate::engine::object::Object> {
    snap: Snapshot<K>,
    ordered: OnceLock<Vec<Arc<K>>>,
}

impl<K: PyKind> SnapshotView<K> {
    pub fn new(snap: Snapshot<K>) -> Self {
        Self {
            snap,
            ordered: OnceLock::new(),
        }
    }

    /// The view of a shared published snapshot (the structure is shared, not copied).
    pub fn of(snap: &Snapshot<K>) -> Self {
        Self::new(snap.share())
    }
}

impl<K: PyKind> SnapshotView<K> {
    /// Items in key order, materialised once (O(N)) on first positional access.
    fn ordered(&self) -> &[Arc<K>] {
        self.ordered
            .get_or_init(|| self.snap.items.values().cloned().collect())
    }
}

impl<K: PyKind> DynSnapshot for SnapshotView<K> {
    fn version(&self) -> u64 {
        self.snap.version
    }

    fn len(&self) -> usize {
        self.snap.items.len()
    }

    fn item(&self, py: Python<'_>, index: usize) -> PyResult<Option<Py<PyAny>>> {
        self.ordered()
            .get(index)
            .map(|o| K::wrap(py, Arc::clone(o)))
            .transpose()
    }

    fn position(&self, value: &Bound<'_, PyAny>) -> Option<usize> {
        let obj = K::unwrap_py(value)?;
        let key = obj.key();
        let stored = self.snap.items.get(&key)?;
        if !same(stored, &obj) {
            return None;
        }
        self.ordered().binary_search_by(|o| o.key().cmp(&key)).ok()
    }

    fn get(&self, py: Python<'_>, key: &ObjKey) -> PyResult<Option<Py<PyAny>>> {
        self.snap
            .items
            .get(key)
            .map(|o| K::wrap(py, Arc::clone(o)))
            .transpose()
    }

    fn contains(&self, key: &ObjKey) -> bool {
        self.snap.items.contains_key(key)
    }

    fn changes(&self) -> Arc<dyn DynChanges> {
        Arc::new(ChangesView(Arc::clone(&self.snap.changes)))
    }
}

/// `Changes` of any kind with a Python class.
pub struct ChangesView<K: Wrap>(pub Arc<Changes<K>>);

fn wrap_all<K: Wrap>(py: Python<'_>, objs: &[Arc<K>]) -> PyResult<Py<PyTuple>> {
    let items = objs
        .iter()
        .map(|o| K::wrap(py, Arc::clone(o)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyTuple::new(py, items)?.unbind())
}

impl<K: Wrap> DynChanges for ChangesView<K> {
    fn added(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        wrap_all(py, &self.0.added)
    }

    fn updated(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        let pairs = self
            .0
            .updated
            .iter()
            .map(|(old, new)| {
                let pair = (K::wrap(py, Arc::clone(old))?, K::wrap(py, Arc::clone(new))?);
                Ok(PyTuple::new(py, [pair.0, pair.1])?.unbind())
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyTuple::new(py, pairs)?.unbind())
    }

    fn removed(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        wrap_all(py, &self.0.removed)
    }

    fn counts(&self) -> (usize, usize, usize) {
        (
            self.0.added.len(),
            self.0.updated.len(),
            self.0.removed.len(),
        )
    }
}

/// Merged state at one version: an immutable sequence sorted by (namespace, name).
#[pyclass(name = "Snapshot", module = "kubeproxy_config", frozen, sequence)]
pub struct PySnapshot {
    inner: Arc<dyn DynSnapshot>,
}

impl PySnapshot {
    pub fn new(inner: Arc<dyn DynSnapshot>) -> Self {
        Self { inner }
    }
}

/// A `namespace/name` key from `key`, or from `(namespace, name)`.
fn key_from(key: &str, name: Option<&str>) -> ObjKey {
    match name {
        Some(name) => ObjKey::new(key, name),
        None => ObjKey::parse(key),
    }
}

#[pymethods]
impl PySnapshot {
    /// Monotonic version of the merged state (0 for the empty config).
    #[getter]
    fn version(&self) -> u64 {
        self.inner.version()
    }

    /// What changed since the state the receiver saw before (the previous version for `state()`).
    #[getter]
    fn changes(&self) -> PyChanges {
        PyChanges {
            inner: self.inner.changes(),
        }
    }

    /// The object at `key` (`"namespace/name"`), or at `(namespace, name)`; None if absent.
    #[pyo3(signature = (key, name = None, /))]
    fn get(&self, py: Python<'_>, key: &str, name: Option<&str>) -> PyResult<Option<Py<PyAny>>> {
        self.inner.get(py, &key_from(key, name))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        sequence_item(py, self.inner.len(), index, |i| self.inner.item(py, i))
    }

    /// A key `"namespace/name"` is in the snapshot when present; an object when an equal one is.
    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        match key.extract::<&str>() {
            Ok(s) => self.inner.contains(&ObjKey::parse(s)),
            Err(_) => self.inner.position(key).is_some(),
        }
    }

    /// Position of `value` (Sequence protocol); `ValueError` if absent.
    #[pyo3(signature = (value, start = 0, stop = None, /))]
    fn index(
        &self,
        value: &Bound<'_, PyAny>,
        start: isize,
        stop: Option<isize>,
    ) -> PyResult<usize> {
        let len = self.inner.len() as isize;
        let clamp = |i: isize| if i < 0 { (i + len).max(0) } else { i.min(len) } as usize;
        let (start, stop) = (clamp(start), clamp(stop.unwrap_or(len)));
        match self.inner.position(value) {
            Some(i) if i >= start && i < stop => Ok(i),
            _ => Err(PyValueError::new_err("object is not in the snapshot")),
        }
    }

    /// Occurrences of `value`: 0 or 1, as keys are unique.
    fn count(&self, value: &Bound<'_, PyAny>) -> usize {
        usize::from(self.inner.position(value).is_some())
    }

    fn __reversed__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let items = (0..self.inner.len())
            .rev()
            .filter_map(|i| self.inner.item(py, i).transpose())
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyTuple::new(py, items)?
            .as_any()
            .try_iter()?
            .into_any()
            .unbind())
    }

    fn __iter__(slf: Bound<'_, Self>) -> SnapshotIter {
        SnapshotIter {
            snap: Arc::clone(&slf.get().inner),
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Snapshot(version={}, objects={})",
            self.inner.version(),
            self.inner.len()
        )
    }

    #[classmethod]
    fn __class_getitem__(cls: &Bound<'_, PyType>, item: &Bound<'_, PyAny>) -> Py<PyType> {
        let _ = item;
        cls.clone().unbind()
    }
}

/// `seq[index]` or `seq[a:b:c]` (a tuple) over `len` items fetched by `item`.
pub(crate) fn sequence_item(
    py: Python<'_>,
    len: usize,
    index: &Bound<'_, PyAny>,
    item: impl Fn(usize) -> PyResult<Option<Py<PyAny>>>,
) -> PyResult<Py<PyAny>> {
    if let Ok(slice) = index.cast::<PySlice>() {
        let ind = slice.indices(len as isize)?;
        let mut out = Vec::with_capacity(ind.slicelength);
        let mut i = ind.start;
        for _ in 0..ind.slicelength {
            if let Some(obj) = item(i as usize)? {
                out.push(obj);
            }
            i += ind.step;
        }
        return Ok(PyTuple::new(py, out)?.into_any().unbind());
    }
    let index: isize = index.extract()?;
    let i = if index < 0 {
        index + len as isize
    } else {
        index
    };
    let found = if i < 0 { None } else { item(i as usize)? };
    found.ok_or_else(|| PyIndexError::new_err("snapshot index out of range"))
}

/// Iterator over a snapshot, in key order.
#[pyclass(module = "kubeproxy_config", frozen)]
pub struct SnapshotIter {
    snap: Arc<dyn DynSnapshot>,
    next: std::sync::atomic::AtomicUsize,
}

impl SnapshotIter {
    /// An iterator from the first item of `snap`.
    pub(crate) fn new(snap: Arc<dyn DynSnapshot>) -> Self {
        Self {
            snap,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

#[pymethods]
impl SnapshotIter {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.snap.item(py, i)
    }
}

/// `Changes(added, updated, removed)`: the exact difference between two states.
#[pyclass(name = "Changes", module = "kubeproxy_config", frozen)]
pub struct PyChanges {
    pub(crate) inner: Arc<dyn DynChanges>,
}

#[pymethods]
impl PyChanges {
    /// Objects present now and absent before, sorted by key.
    #[getter]
    fn added(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.inner.added(py)
    }

    /// `(old, new)` pairs of objects whose content changed, sorted by key.
    #[getter]
    fn updated(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.inner.updated(py)
    }

    /// Objects present before and absent now, as they were last seen.
    #[getter]
    fn removed(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.inner.removed(py)
    }

    fn __bool__(&self) -> bool {
        self.inner.counts() != (0, 0, 0)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let t = PyTuple::new(py, [self.added(py)?, self.updated(py)?, self.removed(py)?])?;
        Ok(t.as_any().try_iter()?.into_any().unbind())
    }

    fn __repr__(&self) -> String {
        let (a, u, r) = self.inner.counts();
        format!("Changes(added={a}, updated={u}, removed={r})")
    }
}
