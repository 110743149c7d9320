//! The parts every kind's walk shares: the top-level object with its `kind`, and `metadata`.

use super::read::{self, opt_object, opt_str, str_map, Path};
use crate::engine::error::CoreError;
use crate::engine::json::node::{Members, Node};
use crate::engine::json::rules::meta::{self, namespace_or_default, NameRule};
use crate::engine::model::{Interner, ObjectMeta, Str, Uid};

/// One object of kind `kind` whose name follows `rule`: `kind` and `metadata` read here, the rest
/// by `rest`; every error after the name carries the object's key.
pub(crate) fn walk_object<T>(
    v: &Node<'_>,
    kind: &str,
    rule: NameRule,
    interner: &mut Interner,
    rest: impl FnOnce(&Members<'_>, ObjectMeta, &mut Interner) -> Result<T, CoreError>,
) -> Result<T, CoreError> {
    let root = root_object(v, kind)?;
    let meta = parse_meta(root, rule, interner)?;
    let key = meta.key().to_string();
    rest(root, meta, interner).map_err(|e| e.with_key(Some(&key)))
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
    let ns = meta.get("namespace").and_then(Node::as_str);
    Some(format!("{}/{name}", namespace_or_default(ns)))
}

/// Parse `metadata`; errors carry the key as soon as the name is known.
fn parse_meta(
    root: &Members<'_>,
    rule: NameRule,
    interner: &mut Interner,
) -> Result<ObjectMeta, CoreError> {
    let top = Path::Root;
    let p = top.field("metadata");
    let Some(m) = opt_object(root, "metadata", &top)? else {
        return Err(CoreError::invalid(
            "metadata.name",
            "required: the object has no metadata",
        ));
    };
    let name = opt_str(m, "name", &p)?.filter(|s| !s.is_empty());
    let namespace = namespace_or_default(opt_str(m, "namespace", &p)?);
    let Some(name) = name else {
        return Err(CoreError::invalid(
            "metadata.name",
            "required: a name is needed",
        ));
    };
    let key = format!("{namespace}/{name}");
    let with_key = |e: CoreError| e.with_key(Some(&key));
    meta::name(name, rule).map_err(|v| with_key(p.field("name").violation(v)))?;
    meta::namespace(namespace).map_err(|v| with_key(p.field("namespace").violation(v)))?;
    meta_rest(m, &p, interner.namespace(namespace), name.into()).map_err(with_key)
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
