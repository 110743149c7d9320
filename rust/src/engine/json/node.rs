//! A JSON document that borrows its strings from the input: what the parsers walk.
//!
//! Reading an object into a `serde_json::Value` costs a `String` per key and value and a
//! `BTreeMap` per object; a [`Node`] borrows every string that has no escapes and keeps an
//! object's members in a `Vec` in document order (Kubernetes objects are small, so a linear
//! lookup beats a tree). It reads exactly what `Value` reads: the same deserializer (and so the
//! same syntax errors and recursion limit of 128), the same numbers, and for a duplicate key the
//! last value wins, as `Value`'s map keeps it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One JSON value; strings borrowed from the input where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as `serde_json` reads it.
    Number(Number),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object.
    Object(Members<'a>),
}

/// An object's members in document order (duplicates kept; lookups see the last one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Members<'a> {
    /// An empty object with room for `n` members.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Add a member (a later member with the same key hides this one).
    pub fn push(&mut self, key: Cow<'a, str>, value: Node<'a>) {
        self.0.push((key, value));
    }

    /// The value of `key` (the last one, if the key is repeated).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The members as a map would hold them: sorted by key, the last of duplicates.
    pub fn sorted(&self) -> Vec<(&str, &Node<'a>)> {
        let mut out: Vec<(&str, &Node<'a>)> = self.0.iter().rev().map(|(k, v)| (&**k, v)).collect();
        // Stable sort of the reversed list: the first of equal keys is the last in the input.
        out.sort_by(|a, b| a.0.cmp(b.0));
        out.dedup_by(|later, first| later.0 == first.0);
        out
    }

    /// Members as written (duplicates included).
    pub fn members(&self) -> &[(Cow<'a, str>, Node<'a>)] {
        &self.0
    }
}

impl<'a> Node<'a> {
    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Members<'a>> {
        match self {
            Node::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Field `key` of an object (`None` for other values), like `Value::get`.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// A view of a `serde_json::Value` (strings borrowed).
    pub fn from_value(v: &'a Value) -> Self {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(Cow::Borrowed(s)),
            Value::Array(items) => Node::Array(items.iter().map(Node::from_value).collect()),
            Value::Object(m) => Node::Object(Members(
                m.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::from_value(v)))
                    .collect(),
            )),
        }
    }

    /// The same document as a `serde_json::Value` (duplicate keys: the last wins).
    pub fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.to_string()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(m) => {
                let mut map = Map::new();
                for (k, v) in &m.0 {
                    map.insert(k.to_string(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }

    /// An owned copy, free of the input's lifetime.
    pub fn into_owned(self) -> Node<'static> {
        match self {
            Node::Null => Node::Null,
            Node::Bool(b) => Node::Bool(b),
            Node::Number(n) => Node::Number(n),
            Node::String(s) => Node::String(Cow::Owned(s.into_owned())),
            Node::Array(items) => Node::Array(items.into_iter().map(Node::into_owned).collect()),
            Node::Object(m) => Node::Object(Members(
                m.0.into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Node<'de>, E> {
        // As `Value` does: a non-finite float (never produced by the parser) reads as null.
        Ok(Number::from_f64(f).map_or(Node::Null, Node::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s.to_owned())))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(s)))
    }

    fn visit_string<E>(self, s: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s)))
    }

    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members.push((key, map.next_value()?));
        }
        Ok(Node::Object(Members(members)))
    }
}

/// An object key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn borrows_and_matches_value() {
        let text = br#"{"a":"x","b\n":"y\u0041","a":[1,-2,3.5,18446744073709551615,null,true]}"#;
        let n: Node<'_> = serde_json::from_slice(text).unwrap();
        let v: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(n.to_value(), v);
        assert_eq!(Node::from_value(&v).to_value(), v);
        let Node::Object(m) = &n else { panic!() };
        assert!(matches!(
            &m.members()[0].1,
            Node::String(Cow::Borrowed("x"))
        ));
        assert!(matches!(m.get("a"), Some(Node::Array(_))));
        let keys: Vec<&str> = m.sorted().iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["a", "b\n"]);
        assert!(matches!(m.sorted()[0].1, Node::Array(_)));
    }

    #[test]
    fn recursion_limit_is_serde_jsons() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let a = serde_json::from_str::<Node<'_>>(&deep)
            .unwrap_err()
            .to_string();
        let b = serde_json::from_str::<Value>(&deep)
            .unwrap_err()
            .to_string();
        assert_eq!(a, b);
    }
}
