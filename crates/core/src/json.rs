//! Strict JSON: a JSON object whose members are unique at every depth (RFC 7515 §5.2 lets a verifier
//! refuse duplicates, and RFC 8725 §3.11 warns that parsers disagree on which copy wins).

use core::cell::RefCell;
use core::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a JSON document was refused. Messages never repeat the document's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON, trailing data, or nesting deeper than serde_json's limit (128).
    Syntax { line: usize, column: usize },
    /// The same member name twice in one object.
    DuplicateMember { name: String },
    /// Valid JSON, but not an object.
    NotObject,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax { line, column } => {
                write!(f, "not valid JSON (line {line}, column {column})")
            }
            JsonError::DuplicateMember { name } => {
                write!(f, "duplicate member {}", quoted_short(name))
            }
            JsonError::NotObject => f.write_str("not a JSON object"),
        }
    }
}

/// Quotes an untrusted name for an error message, cut to a short, printable form.
pub(crate) fn quoted_short(name: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = name.chars().take(MAX).collect();
    if name.chars().count() > MAX {
        out.push('…');
    }
    format!("{out:?}")
}

/// Parses `bytes` as a JSON object with unique member names at every depth.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        duplicate: &duplicate,
    }
    .deserialize(&mut de);
    let value = match parsed.and_then(|value| de.end().map(|()| value)) {
        Ok(value) => value,
        Err(err) => {
            return Err(match duplicate.into_inner() {
                Some(name) => JsonError::DuplicateMember { name },
                None => JsonError::Syntax {
                    line: err.line(),
                    column: err.column(),
                },
            })
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::NotObject),
    }
}

#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never produces a non-finite number, so `from_f64` cannot fail; map it to null anyway.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            // One lookup per member: the vacant slot is filled after the value is parsed.
            match map.entry(key) {
                serde_json::map::Entry::Occupied(taken) => {
                    *self.duplicate.borrow_mut() = Some(taken.key().clone());
                    return Err(de::Error::custom("duplicate member"));
                }
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(access.next_value_seed(self)?);
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<(), JsonError>) {
        assert_eq!(
            parse_object(input.as_bytes()).map(|_| ()),
            expected,
            "{input}"
        );
    }

    #[test]
    fn strictness() {
        check(r#"{"a":1,"b":[1,{"c":null}]}"#, Ok(()));
        check(
            r#"{"a":1,"a":2}"#,
            Err(JsonError::DuplicateMember { name: "a".into() }),
        );
        check(
            r#"{"a":{"x":1,"x":1}}"#,
            Err(JsonError::DuplicateMember { name: "x".into() }),
        );
        check(
            r#"{"a":[{"y":1,"y":1}]}"#,
            Err(JsonError::DuplicateMember { name: "y".into() }),
        );
        // Escapes are resolved before comparing: "\u0061" is "a".
        check(
            r#"{"a":1,"\u0061":2}"#,
            Err(JsonError::DuplicateMember { name: "a".into() }),
        );
        check("[1]", Err(JsonError::NotObject));
        check("\"x\"", Err(JsonError::NotObject));
        assert!(matches!(
            parse_object(b"{\"a\":1} x"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_object(b"{\"a\":\"\\ud800\"}"),
            Err(JsonError::Syntax { .. })
        ));
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(500), "]".repeat(500));
        assert!(matches!(
            parse_object(deep.as_bytes()),
            Err(JsonError::Syntax { .. })
        ));
    }
}
