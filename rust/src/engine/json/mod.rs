//! JSON ⇄ objects: parsing with validation and JSON paths in errors, `…List` batches, watch
//! streams, and the Kubernetes JSON shape back out.
//!
//! Two readers share the API server's rules (`rules/`, each rule written once as a pure
//! function): the document walk (`walk/`), which reads any input into a [`Node`] (a `serde_json`
//! document that borrows its strings from the input; the parser's recursion limit of 128 bounds
//! nesting) and names the exact path of every error, and the typed fast path of watch ingest
//! (`fast/`), which reads the usual Service event line straight into the model and declines
//! anything unusual to the walk. `write.rs` writes objects back out.

mod fast;
mod node;
mod rules;
mod walk;
pub mod watch;
mod write;

use serde_json::Value;

use crate::engine::error::CoreError;
use crate::engine::model::{EndpointSlice, Endpoints, Interner, Service};
use crate::engine::object::{ObjKey, Object};

use rules::meta::NameRule;
use walk::object::walk_object;
use walk::read::{self, Path};

pub use fast::service::Scratch;
pub use fast::{FastEvent, FastInvalid, FastRead};
pub use node::{Members, Node};
pub use rules::meta::namespace_or_default;
pub use write::{
    address_to_value, endpoint_port_to_value, endpoint_to_value, service_port_to_value,
    subset_to_value,
};

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
    /// MODIFIED object or, when that object breaks an API-server rule, into the walk's error
    /// for it; [`FastRead::Declined`] whenever anything is unusual — then the line is parsed
    /// again with [`Kind::from_node`], which gives the exact result or error. Every answer must
    /// equal what the walk would give. Kinds without a fast path keep this default.
    #[doc(hidden)]
    fn fast_read<'a>(
        _line: &'a [u8],
        _interner: &mut Interner,
        _scratch: &mut Scratch<'a>,
    ) -> FastRead<'a, Self> {
        FastRead::Declined
    }

    /// [`Kind::fast_read`]'s object, if it read one.
    #[doc(hidden)]
    fn fast_event<'a>(
        line: &'a [u8],
        interner: &mut Interner,
        scratch: &mut Scratch<'a>,
    ) -> Option<FastEvent<'a, Self>> {
        match Self::fast_read(line, interner, scratch) {
            FastRead::Object(event) => Some(event),
            FastRead::Invalid(_) | FastRead::Declined => None,
        }
    }
}

impl Kind for Service {
    const KIND: &'static str = rules::service::KIND;

    fn from_node(v: &Node<'_>, interner: &mut Interner) -> Result<Self, CoreError> {
        walk_object(
            v,
            Self::KIND,
            NameRule::Dns1035Label,
            interner,
            walk::service::parse,
        )
    }

    fn to_value(&self) -> Value {
        write::service_to_value(self)
    }

    fn fast_read<'a>(
        line: &'a [u8],
        interner: &mut Interner,
        scratch: &mut Scratch<'a>,
    ) -> FastRead<'a, Self> {
        fast::service::service_event(line, interner, scratch)
    }
}

impl Kind for Endpoints {
    const KIND: &'static str = "Endpoints";

    fn from_node(v: &Node<'_>, interner: &mut Interner) -> Result<Self, CoreError> {
        walk_object(
            v,
            Self::KIND,
            NameRule::Dns1123Subdomain,
            interner,
            walk::endpoints::parse,
        )
    }

    fn to_value(&self) -> Value {
        write::endpoints_to_value(self)
    }
}

impl Kind for EndpointSlice {
    const KIND: &'static str = "EndpointSlice";

    fn from_node(v: &Node<'_>, interner: &mut Interner) -> Result<Self, CoreError> {
        walk_object(
            v,
            Self::KIND,
            NameRule::Dns1123Subdomain,
            interner,
            walk::slice::parse,
        )
    }

    fn to_value(&self) -> Value {
        write::slice_to_value(self)
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
    Ok(ObjKey::new(namespace_or_default(meta("namespace")), name))
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
