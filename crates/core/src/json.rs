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

/// Appends `value` as a JSON string, escaped byte for byte as serde_json escapes it: `"`, `\` and the
/// control characters (`\b \f \n \r \t`, the others as `\u00xx`); everything else as it is.
pub fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    let mut rest = value;
    loop {
        // The run that needs no escape, copied at once (most strings are one such run).
        let run = rest
            .bytes()
            .position(|b| b < b' ' || b == b'"' || b == b'\\')
            .unwrap_or(rest.len());
        // `run` is at an ASCII byte (or the end): a character boundary.
        let Some((plain, tail)) = rest.split_at_checked(run) else {
            break;
        };
        out.push_str(plain);
        let Some(&byte) = tail.as_bytes().first() else {
            break;
        };
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            byte => {
                out.push_str("\\u00");
                crate::hex::push_hex(out, &[byte]);
            }
        }
        // One ASCII byte consumed: still a character boundary.
        rest = tail.get(1..).unwrap_or_default();
    }
    out.push('"');
}

/// A JSON object written member by member, byte for byte as serde_json writes the same members as a
/// `Value` (its `Map` is sorted: the caller adds members in key order). Cheaper in code than building a
/// `Value` for a message with a fixed shape (the revocation wire, storage and log lines).
#[derive(Debug)]
pub struct JsonObject(String);

impl Default for JsonObject {
    fn default() -> JsonObject {
        JsonObject::new()
    }
}

impl JsonObject {
    pub fn new() -> JsonObject {
        JsonObject(String::from("{"))
    }

    /// `name` is a literal of the caller's: written as it is (no escaping needed).
    fn member(&mut self, name: &str) -> &mut String {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(name);
        self.0.push_str("\":");
        &mut self.0
    }

    pub fn str(mut self, name: &str, value: &str) -> JsonObject {
        push_json_str(self.member(name), value);
        self
    }

    /// `null` when `None`.
    pub fn opt_str(self, name: &str, value: Option<&str>) -> JsonObject {
        match value {
            Some(value) => self.str(name, value),
            None => self.raw(name, "null"),
        }
    }

    pub fn uint(mut self, name: &str, value: u64) -> JsonObject {
        use fmt::Write as _;
        let _ = write!(self.member(name), "{value}");
        self
    }

    /// `null` when `None`.
    pub fn opt_uint(self, name: &str, value: Option<u64>) -> JsonObject {
        match value {
            Some(value) => self.uint(name, value),
            None => self.raw(name, "null"),
        }
    }

    /// An array of strings.
    pub fn str_array(mut self, name: &str, values: &[String]) -> JsonObject {
        let out = self.member(name);
        out.push('[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_str(out, value);
        }
        out.push(']');
        self
    }

    /// `json` is JSON text already (a nested object, array, `true`, `null`).
    pub fn raw(mut self, name: &str, json: &str) -> JsonObject {
        self.member(name).push_str(json);
        self
    }

    pub fn finish(mut self) -> String {
        self.0.push('}');
        self.0
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

    #[test]
    fn written_objects_are_serde_jsons_bytes() {
        let mut every_char: String = (0u8..=0x7f).map(char::from).collect();
        every_char.push_str("é€😀\u{2028}\u{fffd}");
        for value in ["", "plain", "a\"b\\c/d", &every_char] {
            let written = JsonObject::new()
                .opt_str("a", None)
                .str("b", value)
                .uint("c", u64::MAX)
                .raw("d", "[true]")
                .opt_str("e", Some(value))
                .opt_uint("f", None)
                .opt_uint("g", Some(7))
                .str_array("h", &[])
                .str_array("i", &[value.to_owned(), "x".to_owned()])
                .finish();
            let expected = serde_json::json!({
                "a": null, "b": value, "c": u64::MAX, "d": [true], "e": value, "f": null, "g": 7,
                "h": [], "i": [value, "x"],
            });
            assert_eq!(written, expected.to_string());
        }
        assert_eq!(JsonObject::new().finish(), "{}");
    }
}
