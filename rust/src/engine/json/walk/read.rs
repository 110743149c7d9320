//! Typed reads from a JSON map with the JSON path of each field, for error messages.

use std::fmt::Write as _;

use crate::engine::error::CoreError;
use crate::engine::json::node::{Members, Node};
use crate::engine::json::rules::values::{api_enum, optional_port};
use crate::engine::json::rules::violation::Violation;
use crate::engine::model::StrMap;
use crate::engine::validate;

/// A JSON path built on the stack while walking; rendered only when an error is reported.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    /// The object itself.
    Root,
    /// A field of the parent.
    Field(&'a Path<'a>, &'a str),
    /// An element of the parent array.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    /// The path of field `name` below this one.
    pub(crate) fn field(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }

    /// The path of element `i` below this one.
    pub(crate) fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }

    /// `spec.ports[0].port`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Field(parent, name) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Path::Index(parent, i) => {
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }

    /// An invalid-object error at this path.
    pub(crate) fn err(&self, reason: impl Into<String>) -> CoreError {
        CoreError::invalid(self.render(), reason)
    }

    /// The error of a rule given the value at this path.
    pub(crate) fn violation(&self, v: Violation) -> CoreError {
        v.into_error(self.render())
    }
}

/// "a string", "an integer", … for "expected X, got Y" messages.
pub(crate) fn type_name(v: &Node<'_>) -> &'static str {
    match v {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Array(_) => "an array",
        Node::Object(_) => "an object",
    }
}

fn expected(p: &Path<'_>, what: &str, got: &Node<'_>) -> CoreError {
    p.err(format!("expected {what}, got {}", type_name(got)))
}

/// A field's value; `null` counts as absent.
pub(crate) fn get<'v>(m: &'v Members<'_>, key: &str) -> Option<&'v Node<'v>> {
    m.get(key).filter(|v| !v.is_null())
}

/// `v` as an object.
pub(crate) fn object<'v>(v: &'v Node<'_>, p: &Path<'_>) -> Result<&'v Members<'v>, CoreError> {
    match v {
        Node::Object(m) => Ok(m),
        other => Err(expected(p, "an object", other)),
    }
}

/// `v` as a string.
pub(crate) fn string<'v>(v: &'v Node<'_>, p: &Path<'_>) -> Result<&'v str, CoreError> {
    match v {
        Node::String(s) => Ok(s),
        other => Err(expected(p, "a string", other)),
    }
}

/// `v` as an integer (an integral float such as `80.0` is accepted).
pub(crate) fn integer(v: &Node<'_>, p: &Path<'_>) -> Result<i64, CoreError> {
    let n = match v {
        Node::Number(n) => n,
        other => return Err(expected(p, "an integer", other)),
    };
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        #[allow(clippy::float_cmp)]
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ if n.is_u64() => Err(p.err(format!("expected an integer in range, got {n}"))),
        _ => Err(p.err(format!("expected an integer, got {n}"))),
    }
}

/// Optional string field.
pub(crate) fn opt_str<'v>(
    m: &'v Members<'_>,
    key: &str,
    p: &Path<'_>,
) -> Result<Option<&'v str>, CoreError> {
    get(m, key).map(|v| string(v, &p.field(key))).transpose()
}

/// Optional string field where `""` also means absent.
pub(crate) fn opt_nonempty<'v>(
    m: &'v Members<'_>,
    key: &str,
    p: &Path<'_>,
) -> Result<Option<&'v str>, CoreError> {
    Ok(opt_str(m, key, p)?.filter(|s| !s.is_empty()))
}

/// Optional integer field.
pub(crate) fn opt_int(m: &Members<'_>, key: &str, p: &Path<'_>) -> Result<Option<i64>, CoreError> {
    get(m, key).map(|v| integer(v, &p.field(key))).transpose()
}

/// Optional boolean field.
pub(crate) fn opt_bool(
    m: &Members<'_>,
    key: &str,
    p: &Path<'_>,
) -> Result<Option<bool>, CoreError> {
    match get(m, key) {
        None => Ok(None),
        Some(Node::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(expected(&p.field(key), "a boolean", other)),
    }
}

/// Optional object field.
pub(crate) fn opt_object<'v>(
    m: &'v Members<'_>,
    key: &str,
    p: &Path<'_>,
) -> Result<Option<&'v Members<'v>>, CoreError> {
    get(m, key).map(|v| object(v, &p.field(key))).transpose()
}

/// Optional array field; absent reads as empty.
pub(crate) fn opt_array<'v>(
    m: &'v Members<'_>,
    key: &str,
    p: &Path<'_>,
) -> Result<&'v [Node<'v>], CoreError> {
    match get(m, key) {
        None => Ok(&[]),
        Some(Node::Array(items)) => Ok(items),
        Some(other) => Err(expected(&p.field(key), "an array", other)),
    }
}

/// Optional port field (1–65535). With `zero_unset`, `0` reads as absent (Go's zero value).
pub(crate) fn opt_port(
    m: &Members<'_>,
    key: &str,
    p: &Path<'_>,
    zero_unset: bool,
) -> Result<Option<u16>, CoreError> {
    optional_port(opt_int(m, key, p)?, zero_unset).map_err(|v| p.field(key).violation(v))
}

/// Optional API enum field; `""` reads as absent.
pub(crate) fn opt_enum<E>(
    m: &Members<'_>,
    key: &str,
    p: &Path<'_>,
    parse: fn(&str) -> Option<E>,
    values: &[&str],
) -> Result<Option<E>, CoreError> {
    let Some(s) = opt_nonempty(m, key, p)? else {
        return Ok(None);
    };
    api_enum(s, parse, values)
        .map(Some)
        .map_err(|v| p.field(key).violation(v))
}

/// Optional array field, each element read by `each` with its path, in order.
#[inline]
pub(crate) fn opt_list<T>(
    m: &Members<'_>,
    key: &str,
    p: &Path<'_>,
    mut each: impl FnMut(&Node<'_>, &Path<'_>) -> Result<T, CoreError>,
) -> Result<Vec<T>, CoreError> {
    let field = p.field(key);
    let items = opt_array(m, key, p)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(each(item, &field.index(i))?);
    }
    Ok(out)
}

/// Optional string list field, each element checked by `each`.
pub(crate) fn str_list<T>(
    m: &Members<'_>,
    key: &str,
    p: &Path<'_>,
    mut each: impl FnMut(&str, &Path<'_>) -> Result<T, CoreError>,
) -> Result<Vec<T>, CoreError> {
    opt_list(m, key, p, |item, ip| each(string(item, ip)?, ip))
}

/// Optional string-to-string map field (labels, annotations, selector).
pub(crate) fn str_map(m: &Members<'_>, key: &str, p: &Path<'_>) -> Result<StrMap, CoreError> {
    let Some(map) = opt_object(m, key, p)? else {
        return Ok(StrMap::default());
    };
    let field = p.field(key);
    let members = map.sorted();
    let mut pairs = Vec::with_capacity(members.len());
    for (k, v) in members {
        let s = match v {
            Node::String(s) => &**s,
            // A null value is dropped, as the API server does for map[string]string.
            Node::Null => continue,
            other => return Err(expected(&field.field(k), "a string", other)),
        };
        pairs.push((k, s));
    }
    Ok(StrMap::from_pairs(&pairs))
}

/// Check a value against a name rule, as an error at `p`.
pub(crate) fn check(p: &Path<'_>, rule: validate::Check) -> Result<(), CoreError> {
    rule.map_err(|r| p.err(r))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn json(text: &str) -> Node<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn paths_render() {
        let root = Path::Root;
        let spec = root.field("spec");
        let ports = spec.field("ports");
        let first = ports.index(0);
        assert_eq!(first.field("port").render(), "spec.ports[0].port");
        assert_eq!(root.index(3).render(), "[3]");
    }

    #[test]
    fn integers() {
        let root = Path::Root;
        assert_eq!(integer(&json("80"), &root), Ok(80));
        assert_eq!(integer(&json("80.0"), &root), Ok(80));
        assert!(integer(&json("80.5"), &root).is_err());
        assert!(integer(&json("18446744073709551615"), &root).is_err());
        let err = integer(&json("\"80\""), &root.field("port")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid object at port: expected an integer, got a string"
        );
    }
}
