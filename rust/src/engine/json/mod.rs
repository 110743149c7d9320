//! JSON ⇄ objects: parsing with validation and JSON paths in errors, `…List` batches, and the
//! Kubernetes JSON shape back out.
//!
//! Input is first read into a [`Node`] (a `serde_json` document that borrows its strings from the
//! input; the parser's recursion limit of 128 bounds nesting), then walked field by field so that every error names the exact path. JSON `null` counts as
//! absent everywhere, as in the API server; unknown fields are ignored.

mod endpoints;
mod fast;
mod node;
mod raw;
mod read;
mod scan;
mod service;
mod slice;
pub mod watch;

use serde_json::{Map, Value};

use crate::engine::error::CoreError;
use crate::engine::model::{Interner, ObjectMeta, Str, StrMap, Uid};
use crate::engine::object::{ObjKey, Object};
use crate::engine::validate;

use read::{opt_object, opt_str, str_map, Path};

#[doc(hidden)]
pub use fast::Scratch;
pub use node::{Members, Node};

pub use endpoints::{address_to_value, endpoint_port_to_value, subset_to_value};
pub use service::service_port_to_value;
pub use slice::endpoint_to_value;

/// An object kind with a JSON form: Service, Endpoints, `EndpointSlice`.
pub trait Kind: Object + Clone + std::fmt::Debug + Sized {
    /// `"Service"`, `"Endpoints"` or `"EndpointSlice"`.
    const KIND: &'static str;

    /// Parse and validate one object from a JSON document. `apiVersion` and `kind` may be absent;
    /// a `kind` naming another kind is rejected at path `kind`.
    fn from_node(v: &Node<'_>, interner: &mut Interner) -> Result<Self, CoreError>;

    /// [`Kind::from_node`] on a `serde_json::Value`.
    fn from_value(v: &Value, interner: &mut Interner) -> Result<Self, CoreError> {
        Self::from_node(&Node::from_value(v), interner)
    }

    /// The Kubernetes JSON shape (camelCase) as the API server would return it.
    fn to_value(&self) -> Value;

    /// The typed fast path of watch ingest: one event line read straight into an ADDED or
    /// MODIFIED object, or `None` whenever anything is unusual — then the line is parsed again
    /// with [`Kind::from_node`], which gives the exact result or error. A success must equal
    /// what the walk would give. Kinds without a fast path keep this default.
    #[doc(hidden)]
    fn fast_event<'a>(
        _line: &'a [u8],
        _interner: &mut Interner,
        _scratch: &mut fast::Scratch<'a>,
    ) -> Option<fast::FastEvent<'a, Self>> {
        None
    }
}

/// Parse bytes holding one object, a JSON array of objects, or a `…List` (`items`).
///
/// The batch is validated whole: any invalid item fails the call (its path prefixed with
/// `items[3].` or `[3].`) and nothing is returned. Syntax errors name the line and column.
pub fn parse_batch<K: Kind>(bytes: &[u8]) -> Result<Vec<K>, CoreError> {
    parse_node_batch_with(&parse_node(bytes)?, &mut Interner::new())
}

/// Parse bytes holding exactly one object.
pub fn parse_one<K: Kind>(bytes: &[u8]) -> Result<K, CoreError> {
    K::from_node(&parse_node(bytes)?, &mut Interner::new())
}

/// Read JSON text into a value; a syntax error becomes [`CoreError::InvalidObject`] at path "".
pub fn parse_json(bytes: &[u8]) -> Result<Value, CoreError> {
    serde_json::from_slice(bytes).map_err(|e| CoreError::invalid("", format!("invalid JSON: {e}")))
}

/// Read JSON text into a [`Node`] borrowing from `bytes`; errors as [`parse_json`].
pub fn parse_node(bytes: &[u8]) -> Result<Node<'_>, CoreError> {
    serde_json::from_slice(bytes).map_err(|e| CoreError::invalid("", format!("invalid JSON: {e}")))
}

/// [`parse_batch`] on an already parsed value.
pub fn parse_value_batch<K: Kind>(v: &Value) -> Result<Vec<K>, CoreError> {
    parse_value_batch_with(v, &mut Interner::new())
}

/// [`parse_value_batch`] sharing the caller's interner across several inputs of one batch.
pub fn parse_value_batch_with<K: Kind>(
    v: &Value,
    interner: &mut Interner,
) -> Result<Vec<K>, CoreError> {
    parse_node_batch_with(&Node::from_value(v), interner)
}

/// [`parse_value_batch_with`] on a [`Node`].
pub fn parse_node_batch_with<K: Kind>(
    v: &Node<'_>,
    interner: &mut Interner,
) -> Result<Vec<K>, CoreError> {
    match batch_items(v)? {
        Some((items, prefix)) => parse_items(items, prefix, interner),
        None => Ok(vec![K::from_node(v, interner)?]),
    }
}

/// The items of a JSON array (prefix "") or of a `…List` (prefix "items"), or `None` for a
/// single object: the batch shapes every entry point accepts.
fn batch_items<'n>(v: &'n Node<'n>) -> Result<Option<(&'n [Node<'n>], &'static str)>, CoreError> {
    Ok(match v {
        Node::Array(items) => Some((items, "")),
        Node::Object(map) if is_list(map) => {
            Some((read::opt_array(map, "items", &Path::Root)?, "items"))
        }
        _ => None,
    })
}

/// Whether an object is a `…List`: `kind` ends in `List`, or no `kind` and an `items` array.
fn is_list(map: &Members<'_>) -> bool {
    match map.get("kind") {
        Some(Node::String(kind)) => kind.ends_with("List"),
        None | Some(Node::Null) => matches!(map.get("items"), Some(Node::Array(_))),
        Some(_) => false,
    }
}

/// The `namespace/name` of an object in JSON shape (namespace "default" when absent), without
/// validating the rest of it: what a removal needs.
pub fn key_of(obj: &Node<'_>) -> Result<ObjKey, CoreError> {
    let meta = |field: &str| {
        obj.get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Node::as_str)
    };
    let Some(name) = meta("name").filter(|n| !n.is_empty()) else {
        return Err(CoreError::invalid("metadata.name", "a name is required"));
    };
    let namespace = meta("namespace")
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    Ok(ObjKey::new(namespace, name))
}

/// The keys of one object, a JSON array of objects or a `…List`, as [`key_of`] reads them;
/// errors name the item (`[2].metadata.name`).
pub fn keys_of_batch(v: &Node<'_>) -> Result<Vec<ObjKey>, CoreError> {
    match batch_items(v)? {
        Some((items, prefix)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| key_of(item).map_err(|e| prefix_path(e, &format!("{prefix}[{i}]"))))
            .collect(),
        None => Ok(vec![key_of(v)?]),
    }
}

fn parse_items<K: Kind>(
    items: &[Node<'_>],
    prefix: &str,
    interner: &mut Interner,
) -> Result<Vec<K>, CoreError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            K::from_node(item, interner).map_err(|e| prefix_path(e, &format!("{prefix}[{i}]")))
        })
        .collect()
}

/// Prefix the path of an [`CoreError::InvalidObject`] with `prefix` (e.g. `items[3]`).
pub fn prefix_path(err: CoreError, prefix: &str) -> CoreError {
    match err {
        CoreError::InvalidObject { key, path, reason } => {
            let path = if path.is_empty() {
                prefix.to_owned()
            } else if path.starts_with('[') {
                format!("{prefix}{path}")
            } else {
                format!("{prefix}.{path}")
            };
            CoreError::InvalidObject { key, path, reason }
        }
        other @ CoreError::Closed(_) => other,
    }
}

/// Which rule an object's name must follow.
#[derive(Clone, Copy)]
enum NameRule {
    Dns1123Subdomain,
    Dns1035Label,
}

/// The top-level map of an object, after checking `kind`.
fn root_object<'v>(v: &'v Node<'_>, kind: &str) -> Result<&'v Members<'v>, CoreError> {
    let root = Path::Root;
    let map = read::object(v, &root)?;
    if let Some(got) = opt_str(map, "kind", &root)? {
        if got != kind {
            let err = CoreError::invalid("kind", format!("expected kind {kind:?}, got {got:?}"));
            return Err(err.with_key(peek_key(map).as_deref()));
        }
    }
    Ok(map)
}

/// The key of an object not parsed yet, if its name can be read.
fn peek_key(map: &Members<'_>) -> Option<String> {
    let meta = map.get("metadata")?.as_object()?;
    let name = meta.get("name")?.as_str().filter(|s| !s.is_empty())?;
    let ns = meta
        .get("namespace")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty());
    Some(format!("{}/{name}", ns.unwrap_or("default")))
}

/// Parse `metadata`; errors carry the key as soon as the name is known.
fn parse_meta(
    root: &Members<'_>,
    rule: NameRule,
    interner: &mut Interner,
) -> Result<ObjectMeta, CoreError> {
    let top = Path::Root;
    let p = top.field("metadata");
    let Some(meta) = opt_object(root, "metadata", &top)? else {
        return Err(CoreError::invalid(
            "metadata.name",
            "required: the object has no metadata",
        ));
    };
    let name = opt_str(meta, "name", &p)?.filter(|s| !s.is_empty());
    let namespace = opt_str(meta, "namespace", &p)?
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let Some(name) = name else {
        return Err(CoreError::invalid(
            "metadata.name",
            "required: a name is needed",
        ));
    };
    let key = format!("{namespace}/{name}");
    let with_key = |e: CoreError| e.with_key(Some(&key));
    let name_check = match rule {
        NameRule::Dns1123Subdomain => validate::dns1123_subdomain(name),
        NameRule::Dns1035Label => validate::dns1035_label(name),
    };
    name_check.map_err(|r| with_key(CoreError::invalid("metadata.name", r)))?;
    validate::dns1123_label(namespace)
        .map_err(|r| with_key(CoreError::invalid("metadata.namespace", r)))?;
    meta_rest(meta, &p, interner.namespace(namespace), name.into()).map_err(with_key)
}

fn meta_rest(
    meta: &Members<'_>,
    p: &Path<'_>,
    namespace: Str,
    name: Str,
) -> Result<ObjectMeta, CoreError> {
    Ok(ObjectMeta {
        namespace,
        name,
        uid: opt_str(meta, "uid", p)?
            .filter(|s| !s.is_empty())
            .map(Uid::parse),
        resource_version: opt_str(meta, "resourceVersion", p)?
            .filter(|s| !s.is_empty())
            .map(Into::into),
        labels: str_map(meta, "labels", p)?,
        annotations: str_map(meta, "annotations", p)?,
    })
}

/// `metadata` in API shape.
fn meta_to_value(meta: &ObjectMeta) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::from(&*meta.name));
    m.insert("namespace".into(), Value::from(&*meta.namespace));
    if let Some(uid) = &meta.uid {
        m.insert("uid".into(), Value::from(uid.to_string()));
    }
    if let Some(rv) = &meta.resource_version {
        m.insert("resourceVersion".into(), Value::from(&**rv));
    }
    put_map(&mut m, "labels", &meta.labels);
    put_map(&mut m, "annotations", &meta.annotations);
    Value::Object(m)
}

/// Insert a string map unless empty (the API server omits empty maps).
fn put_map(m: &mut Map<String, Value>, key: &str, map: &StrMap) {
    if !map.is_empty() {
        let obj = map
            .iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        m.insert(key.into(), Value::Object(obj));
    }
}

/// Insert a list unless empty.
fn put_list(m: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if !items.is_empty() {
        m.insert(key.into(), Value::Array(items));
    }
}

/// Insert an optional string.
fn put_str(m: &mut Map<String, Value>, key: &str, s: Option<&str>) {
    if let Some(s) = s {
        m.insert(key.into(), Value::from(s));
    }
}

/// An object with `apiVersion`, `kind` and `metadata` set.
fn object_head(api_version: &str, kind: &str, meta: &ObjectMeta) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("apiVersion".into(), Value::from(api_version));
    m.insert("kind".into(), Value::from(kind));
    m.insert("metadata".into(), meta_to_value(meta));
    m
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::engine::model::Service;
    use serde_json::json;

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse_batch::<Service>(b"{\n  \"metadata\": ").unwrap_err();
        let CoreError::InvalidObject { path, reason, key } = err else {
            panic!()
        };
        assert_eq!(path, "");
        assert!(key.is_none());
        assert!(reason.contains("line 2"), "{reason}");
    }

    #[test]
    fn prefixes() {
        let e = prefix_path(CoreError::invalid("spec.x", "r"), "items[3]");
        assert!(
            matches!(e, CoreError::InvalidObject { ref path, .. } if path == "items[3].spec.x")
        );
        let e = prefix_path(CoreError::invalid("", "r"), "[1]");
        assert!(matches!(e, CoreError::InvalidObject { ref path, .. } if path == "[1]"));
        let e = prefix_path(CoreError::invalid("items[0]", "r"), "[1]");
        assert!(matches!(e, CoreError::InvalidObject { ref path, .. } if path == "[1].items[0]"));
    }

    #[test]
    fn list_detection() {
        let v = json!({"kind": "ServiceList", "items": [{"metadata": {"name": "a"}}]});
        assert_eq!(parse_value_batch::<Service>(&v).unwrap().len(), 1);
        let v = json!({"items": []});
        assert!(parse_value_batch::<Service>(&v).unwrap().is_empty());
        let v = json!({"kind": "ServiceList"});
        assert!(parse_value_batch::<Service>(&v).unwrap().is_empty());
    }
}
