//! Python inputs to engine objects (our classes, dicts, JSON bytes/str, kubernetes client models)
//! and JSON values back to Python.

use std::borrow::Cow;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Number, Value};

use crate::engine::error::CoreError;
use crate::engine::json::{self, parse_node_batch_with, prefix_path, Members, Node};
use crate::engine::model::Interner;
use crate::py::kind::PyKind;

/// Nesting deeper than this is refused (`serde_json`'s own limit for JSON text is the same).
const MAX_DEPTH: usize = 128;

/// JSON input at least this large is parsed with the GIL released (detaching costs ~µs).
const DETACH_BYTES: usize = 4096;

/// A batch with more items than this is validated with the GIL released.
const DETACH_ITEMS: usize = 16;

/// `kubeproxy_config._convert.to_jsonable`: the slow path for values that are not plain JSON
/// types (client models, datetimes, other mappings and sequences).
fn to_jsonable(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static FUNC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    FUNC.import(py, "kubeproxy_config._convert", "to_jsonable")
}

/// `kubeproxy_config._convert.model_to_dict`.
fn model_to_dict(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static FUNC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    FUNC.import(py, "kubeproxy_config._convert", "model_to_dict")
}

/// A Python value (dict/list/tuple/str/int/float/bool/None, or anything `_convert.to_jsonable`
/// understands) as a JSON document; other types raise `TypeError`, values JSON cannot hold
/// raise `InvalidObject` naming the object and the field.
pub fn py_to_node(ob: &Bound<'_, PyAny>) -> PyResult<Node<'static>> {
    match to_node(ob, 0, true) {
        Ok(node) => Ok(node),
        Err(Failure::Py(err)) => Err(err),
        // A value JSON cannot hold: name the object, as validation errors do.
        Err(Failure::Invalid(err)) => Err((*err).with_key(dict_key(ob).as_deref()).into()),
    }
}

/// Why a Python value could not become JSON: a Python error, or an invalid value at a path
/// (boxed: every `to_node` call returns a `Result` of this, and a small one moves cheaply).
enum Failure {
    Py(PyErr),
    Invalid(Box<CoreError>),
}

impl Failure {
    fn invalid(err: CoreError) -> Self {
        Self::Invalid(Box::new(err))
    }
}

impl From<PyErr> for Failure {
    fn from(err: PyErr) -> Self {
        Self::Py(err)
    }
}

impl Failure {
    /// Prefix the path of an invalid value with the field or index it was found under.
    fn under(self, prefix: &str) -> Self {
        match self {
            Self::Invalid(err) => Self::invalid(prefix_path(*err, prefix)),
            py @ Self::Py(_) => py,
        }
    }
}

/// `namespace/name` of a dict in object shape, for error messages (namespace "default").
fn dict_key(ob: &Bound<'_, PyAny>) -> Option<String> {
    let meta = ob.cast::<PyDict>().ok()?.get_item("metadata").ok()??;
    let meta = meta.cast::<PyDict>().ok()?;
    let field = |f: &str| meta.get_item(f).ok().flatten()?.extract::<String>().ok();
    let name = field("name").filter(|n| !n.is_empty())?;
    let namespace = field("namespace");
    Some(format!(
        "{}/{name}",
        json::namespace_or_default(namespace.as_deref())
    ))
}

fn py_str(s: &Bound<'_, PyString>) -> Result<String, Failure> {
    py_text(s).map(str::to_owned)
}

fn py_text<'a>(s: &'a Bound<'_, PyString>) -> Result<&'a str, Failure> {
    // A lone surrogate cannot be encoded as UTF-8, so JSON text could not carry it either.
    s.to_str().map_err(|_| {
        Failure::invalid(CoreError::invalid(
            "",
            "a string with a lone surrogate is not valid text",
        ))
    })
}

fn to_node(ob: &Bound<'_, PyAny>, depth: usize, fallback: bool) -> Result<Node<'static>, Failure> {
    if depth > MAX_DEPTH {
        return Err(Failure::invalid(CoreError::invalid(
            "",
            format!("input nested deeper than {MAX_DEPTH} levels"),
        )));
    }
    // Exact types first: a pointer comparison each, where `cast` asks for the type's flags
    // (a call under the stable ABI). Subclasses take the general checks below.
    if let Ok(s) = ob.cast_exact::<PyString>() {
        return Ok(Node::String(Cow::Owned(py_str(s)?)));
    }
    if let Ok(d) = ob.cast_exact::<PyDict>() {
        return object(d, depth, fallback);
    }
    if let Ok(l) = ob.cast_exact::<PyList>() {
        return seq(l.iter(), depth, fallback);
    }
    if let Ok(s) = ob.cast::<PyString>() {
        return Ok(Node::String(Cow::Owned(py_str(s)?)));
    }
    if let Ok(d) = ob.cast::<PyDict>() {
        return object(d, depth, fallback);
    }
    if ob.is_none() {
        return Ok(Node::Null);
    }
    // bool before int: bool is a subclass of int.
    if let Ok(b) = ob.cast::<PyBool>() {
        return Ok(Node::Bool(b.is_true()));
    }
    if ob.is_instance_of::<PyInt>() {
        if let Ok(i) = ob.extract::<i64>() {
            return Ok(Node::Number(i.into()));
        }
        if let Ok(u) = ob.extract::<u64>() {
            return Ok(Node::Number(u.into()));
        }
        // Beyond 64 bits JSON text parses as a float: read the int the same way.
        let x: f64 = ob.extract().unwrap_or(f64::INFINITY);
        return Number::from_f64(x).map(Node::Number).ok_or_else(|| {
            Failure::invalid(CoreError::invalid("", "an integer too large for JSON"))
        });
    }
    if let Ok(f) = ob.cast::<PyFloat>() {
        let x = f.value();
        return Number::from_f64(x).map(Node::Number).ok_or_else(|| {
            Failure::invalid(CoreError::invalid("", format!("not a finite number: {x}")))
        });
    }
    if let Ok(l) = ob.cast::<PyList>() {
        return seq(l.iter(), depth, fallback);
    }
    if let Ok(t) = ob.cast::<PyTuple>() {
        return seq(t.iter(), depth, fallback);
    }
    if fallback {
        // Client models, datetimes, Mapping/Sequence types: Python returns plain JSON types.
        let plain = to_jsonable(ob.py())?.call1((ob,))?;
        return to_node(&plain, depth, false);
    }
    let ty = ob.get_type().name()?;
    Err(PyTypeError::new_err(format!("cannot convert {ty} to JSON")).into())
}

/// `key` as a `'static` string when it is a field name of the kinds read here (most keys are),
/// so that the tree holds no copy of it.
fn field_name(key: &str) -> Option<&'static str> {
    macro_rules! known {
        ($($name:literal),* $(,)?) => {
            match key {
                $($name => Some($name),)*
                _ => None,
            }
        };
    }
    known!(
        "ip",
        "nodeName",
        "targetRef",
        "kind",
        "name",
        "namespace",
        "uid",
        "port",
        "protocol",
        "addresses",
        "ports",
        "metadata",
        "spec",
        "resourceVersion",
        "labels",
        "annotations",
        "hostname",
        "notReadyAddresses",
        "subsets",
        "targetPort",
        "nodePort",
        "appProtocol",
        "clusterIP",
        "clusterIPs",
        "type",
        "selector",
        "conditions",
        "ready",
        "serving",
        "terminating",
        "zone",
        "hints",
        "forZones",
        "forNodes",
        "endpoints",
        "addressType",
        "apiVersion",
        "status",
        "sessionAffinity",
        "ipFamilies",
        "ipFamilyPolicy",
        "internalTrafficPolicy",
        "externalTrafficPolicy",
    )
}

fn object(d: &Bound<'_, PyDict>, depth: usize, fallback: bool) -> Result<Node<'static>, Failure> {
    let mut map = Members::with_capacity(d.len());
    for (k, v) in d.iter() {
        let Ok(key) = k.cast_exact::<PyString>().or_else(|_| k.cast::<PyString>()) else {
            let ty = k.get_type().name()?;
            return Err(PyTypeError::new_err(format!("dict keys must be str, got {ty}")).into());
        };
        let key = py_text(key)?;
        let value = to_node(&v, depth + 1, fallback).map_err(|f| f.under(key))?;
        // A field name the readers know is not copied: most keys are one of them.
        let key = field_name(key).map_or_else(|| Cow::Owned(key.to_owned()), Cow::Borrowed);
        // Dict keys are unique, so pushing keeps `Value`'s one-entry-per-key shape.
        map.push(key, value);
    }
    Ok(Node::Object(map))
}

fn seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
    fallback: bool,
) -> Result<Node<'static>, Failure> {
    items
        .enumerate()
        .map(|(i, v)| to_node(&v, depth + 1, fallback).map_err(|f| f.under(&format!("[{i}]"))))
        .collect::<Result<_, _>>()
        .map(Node::Array)
}

/// A JSON value as Python objects (dict, list, str, int, float, bool, None).
pub fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, value_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

pub(crate) fn is_client_model(ob: &Bound<'_, PyAny>) -> PyResult<bool> {
    // Lists and tuples are the common batch containers: answer without a failed attribute
    // lookup, which builds and discards an AttributeError on every send.
    if ob.is_instance_of::<PyList>() || ob.is_instance_of::<PyTuple>() {
        return Ok(false);
    }
    Ok(ob.hasattr(pyo3::intern!(ob.py(), "openapi_types"))?
        && ob.hasattr(pyo3::intern!(ob.py(), "attribute_map"))?)
}

fn expected_message<K: PyKind>(ob: &Bound<'_, PyAny>, many: bool) -> String {
    let ty = ob
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    let iterable = if many {
        ", or an iterable of these"
    } else {
        ""
    };
    format!(
        "expected a {kind}, a dict, JSON bytes or str, or a kubernetes client model{iterable}; \
         got {ty}",
        kind = K::KIND
    )
}

/// One parsed or ready input item.
enum Item<K> {
    Ready(Arc<K>),
    Node(Node<'static>),
    Json { bytes: Vec<u8> },
}

/// Read one input that is not an iterable of inputs; `None` when its type is not one of ours.
fn read_item<K: PyKind>(ob: &Bound<'_, PyAny>) -> PyResult<Option<Item<K>>> {
    if let Some(obj) = K::unwrap_py(ob) {
        return Ok(Some(Item::Ready(obj)));
    }
    if ob.is_instance_of::<PyDict>() {
        return py_to_node(ob).map(|v| Some(Item::Node(v)));
    }
    if let Ok(b) = ob.cast::<PyBytes>() {
        return Ok(Some(Item::Json {
            bytes: b.as_bytes().to_vec(),
        }));
    }
    if let Ok(s) = ob.cast::<PyString>() {
        return Ok(Some(Item::Json {
            bytes: s.to_str()?.as_bytes().to_vec(),
        }));
    }
    if is_client_model(ob)? {
        let dict = model_to_dict(ob.py())?.call1((ob,))?;
        return py_to_node(&dict).map(|v| Some(Item::Node(v)));
    }
    Ok(None)
}

/// Parse JSON text (bytes or str) holding exactly one object; big inputs without the GIL.
pub fn parse_json_one<K: PyKind>(ob: &Bound<'_, PyAny>) -> PyResult<Arc<K>> {
    let py = ob.py();
    let text: &[u8] = if let Ok(b) = ob.cast::<PyBytes>() {
        b.as_bytes()
    } else if let Ok(s) = ob.cast::<PyString>() {
        s.to_str()?.as_bytes()
    } else {
        let ty = ob.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "expected bytes or str, got {ty}"
        )));
    };
    let parse = || json::parse_one::<K>(text).map(Arc::new);
    let result = if text.len() >= DETACH_BYTES {
        py.detach(parse)
    } else {
        parse()
    };
    Ok(result?)
}

/// One object from: our class (shared, no copy), a dict, JSON bytes/str, or a kubernetes
/// client model (anything with `attribute_map` and `openapi_types`).
pub fn extract_one<K: PyKind>(ob: &Bound<'_, PyAny>) -> PyResult<Arc<K>> {
    if ob.is_instance_of::<PyBytes>() || ob.is_instance_of::<PyString>() {
        // Parsed straight from the Python buffer, without the copy `read_item` makes.
        return parse_json_one::<K>(ob);
    }
    match read_item::<K>(ob)? {
        Some(Item::Ready(obj)) => Ok(obj),
        Some(Item::Node(v)) => Ok(Arc::new(K::from_node(&v, &mut Interner::new())?)),
        Some(Item::Json { .. }) => parse_json_one::<K>(ob),
        None => Err(PyTypeError::new_err(expected_message::<K>(ob, false))),
    }
}

/// Objects from one input (as [`extract_one`]; a dict, bytes or str holding a JSON list or a
/// `…List` gives several) or from any iterable of such inputs. The whole batch is validated
/// before anything is returned; errors name the item (`[3].spec.ports[0].port`).
pub fn extract_batch<K: PyKind>(ob: &Bound<'_, PyAny>) -> PyResult<Vec<Arc<K>>> {
    let py = ob.py();
    let items: Vec<(Option<usize>, Item<K>)> = if let Some(item) = read_item::<K>(ob)? {
        vec![(None, item)]
    } else {
        let iter = ob
            .try_iter()
            .map_err(|_| PyTypeError::new_err(expected_message::<K>(ob, true)))?;
        let mut items = Vec::new();
        for (i, element) in iter.enumerate() {
            let element = element?;
            let Some(item) = read_item::<K>(&element)? else {
                let msg = expected_message::<K>(&element, false);
                return Err(PyTypeError::new_err(format!("item {i}: {msg}")));
            };
            items.push((Some(i), item));
        }
        items
    };
    let heavy = items.len() > DETACH_ITEMS
        || items
            .iter()
            .any(|(_, it)| matches!(it, Item::Json { bytes } if bytes.len() >= DETACH_BYTES));
    let parse = move || parse_items(items);
    let result = if heavy { py.detach(parse) } else { parse() };
    Ok(result?)
}

fn parse_items<K: PyKind>(items: Vec<(Option<usize>, Item<K>)>) -> Result<Vec<Arc<K>>, CoreError> {
    let mut interner = Interner::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items {
        let prefixed = |e: CoreError| match index {
            Some(i) => prefix_path(e, &format!("[{i}]")),
            None => e,
        };
        match item {
            Item::Ready(obj) => out.push(obj),
            Item::Node(v) => {
                let objs = parse_node_batch_with::<K>(&v, &mut interner).map_err(prefixed)?;
                out.extend(objs.into_iter().map(Arc::new));
            }
            Item::Json { bytes } => {
                let v = json::parse_node(&bytes).map_err(prefixed)?;
                let objs = parse_node_batch_with::<K>(&v, &mut interner).map_err(prefixed)?;
                out.extend(objs.into_iter().map(Arc::new));
            }
        }
    }
    Ok(out)
}
