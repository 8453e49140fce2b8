//! A conversation's flow variables: name to JSON value, in name order.
//!
//! A conversation holds a handful (`answer`, `order`, `result`, ...), so they are a short
//! sorted list ([`litemap`]) rather than a B-tree: a B-tree's first node takes 630 bytes
//! however few entries it holds, and every live conversation has one. Lookups are a binary
//! search of a few entries. The JSON is a map, as it was. Names are `CompactString`s
//! (inline up to 24 bytes), so copying a conversation copies them without allocating.

use std::ops::Index;

use compact_str::CompactString;
use litemap::LiteMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Flow variables, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables(LiteMap<CompactString, Value>);

impl Variables {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.0.get_mut(name)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Set `name`, returning the value it had.
    pub fn insert(&mut self, name: CompactString, value: Value) -> Option<Value> {
        self.0.insert(name, value)
    }

    /// Set `name` to the text `value`. When it is set already (every message sets `answer`),
    /// its name is kept and so is its text's buffer where the new text fits.
    pub fn set_text(&mut self, name: &str, value: &str) {
        match self.0.get_mut(name) {
            Some(Value::String(text)) => {
                text.clear();
                text.push_str(value);
            }
            Some(other) => *other = Value::String(value.to_string()),
            None => {
                self.0.insert(name.into(), Value::String(value.to_string()));
            }
        }
    }

    /// Unset `name`, returning the value it had.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// Name and value of each variable, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&CompactString, &Value)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Index<&str> for Variables {
    type Output = Value;

    /// The value of `name`, or null when it is not set (as indexing a `serde_json::Value`
    /// gives; `serde_json::Map` panicked instead).
    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

impl<N: Into<CompactString>> FromIterator<(N, Value)> for Variables {
    fn from_iter<I: IntoIterator<Item = (N, Value)>>(entries: I) -> Self {
        Self(entries.into_iter().map(|(name, value)| (name.into(), value)).collect())
    }
}

impl Serialize for Variables {
    /// Always a JSON object, even when empty (a bare `LiteMap` would write `[]` then).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Variables {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        LiteMap::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn set_read_and_unset_in_any_order() {
        let mut vars = Variables::new();
        assert_eq!(vars.insert("order".into(), json!("ORD-1")), None);
        vars.insert("answer".into(), json!("hi"));
        assert_eq!(vars.insert("order".into(), json!("ORD-2")), Some(json!("ORD-1")));
        assert_eq!((vars.len(), &vars["order"], &vars["missing"]), (2, &json!("ORD-2"), &Value::Null));
        assert_eq!(vars.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["answer", "order"]);
        assert_eq!(vars.remove("answer"), Some(json!("hi")));
        assert!(!vars.contains_key("answer"));
    }

    #[test]
    fn text_is_set_in_place_whatever_was_there() {
        let mut vars = Variables::new();
        vars.set_text("answer", "my order is ORD-00042");
        vars.set_text("answer", "thanks");
        assert_eq!(vars["answer"], json!("thanks"));
        vars.insert("count".into(), json!(3));
        vars.set_text("count", "three");
        assert_eq!((vars.len(), &vars["count"]), (2, &json!("three")));
    }

    #[test]
    fn the_json_is_an_object_even_empty_and_any_key_order_reads() {
        assert_eq!(serde_json::to_string(&Variables::new()).unwrap(), "{}");
        let vars: Variables = serde_json::from_str(r#"{"z": 1, "a": {"b": [2]}, "m": null}"#).unwrap();
        assert_eq!(serde_json::to_value(&vars).unwrap(), json!({ "a": { "b": [2] }, "m": null, "z": 1 }));
        assert_eq!(vars["a"]["b"][0], 2);
    }
}
