//! Reading a JSON document's members by hand: the `EDGE_AUTH` configuration and the JS package's option
//! objects. Each mistake is named by its field path (`issuers[1].audiences`, `routes[0].any[2].roles`,
//! the same paths the configuration's compile step reports), and every mistake of a document is
//! collected, not only the first: an unknown member (refused, naming the known ones), a missing
//! required one, a value of the wrong JSON type or out of range. Messages name what a value is, never
//! the value itself (a string may be anything a caller passed); only an unknown member's name and an
//! unknown word where one of a few is expected (`auth = "maybe"`) are repeated (cut short), and a
//! number out of range.
//!
//! A reader is a plain function `fn(&mut Walk, path, &Value) -> Option<T>` ([`ReadField`]): `None` means
//! the mistake was recorded in the [`Walk`]. An object's members are read through [`Members`], which
//! has already refused the unknown ones; a reader reads every member before giving up, so that one
//! pass reports them all.

use core::fmt;

use serde_json::{Map, Value};

/// One configuration mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `issuers[0].jwks.keys[2]`, `assertion.ttl_seconds`, … (empty for the document itself).
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "EDGE_AUTH: {}", self.message)
        } else {
            write!(f, "EDGE_AUTH.{}: {}", self.path, self.message)
        }
    }
}

/// Reads one value at a path; `None` when a mistake was recorded.
pub type ReadField<T> = fn(&mut Walk, &str, &Value) -> Option<T>;

/// The mistakes found so far in one document.
#[derive(Debug, Default)]
pub struct Walk {
    errors: Vec<ConfigError>,
}

/// `path.name` (`name` alone at the document's top).
pub fn member_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// What a value is, for a message (never the value itself).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An untrusted name, cut short for a message.
fn short(name: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = name.chars().take(MAX).collect();
    if name.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// `expected one of `a`, `b`, `c`` (the known member names or words), as serde worded it.
fn expected(known: &[&str]) -> String {
    let quoted: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => "there are none".to_owned(),
        [one] => format!("expected {one}"),
        [first, second] => format!("expected {first} or {second}"),
        _ => format!("expected one of {}", quoted.join(", ")),
    }
}

impl Walk {
    pub fn new() -> Walk {
        Walk::default()
    }

    /// Records a mistake at `path`.
    pub fn error(&mut self, path: &str, message: String) {
        self.errors.push(ConfigError {
            path: path.to_owned(),
            message,
        });
    }

    /// What was read, when the document held no mistake; else every mistake.
    pub fn finish<T>(mut self, read: Option<T>) -> Result<T, Vec<ConfigError>> {
        match read {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => {
                if self.errors.is_empty() {
                    // Every reader records why it gives up; should one not, the document still fails.
                    self.error("", "unreadable".to_owned());
                }
                Err(self.errors)
            }
        }
    }

    /// Records `invalid type: <what it is>, expected <expected>`.
    pub fn mismatch<T>(&mut self, path: &str, value: &Value, expected: &str) -> Option<T> {
        self.error(
            path,
            format!("invalid type: {}, expected {expected}", kind(value)),
        );
        None
    }

    /// One of `choices`, named by a string. Another string is `unknown variant `x`, expected …`;
    /// another type is `invalid type: …, expected one of `a`, `b``.
    pub fn variant<T: Copy>(
        &mut self,
        path: &str,
        value: &Value,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let Value::String(given) = value else {
            let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
            return self.mismatch(path, value, &format!("one of {}", quoted.join(", ")));
        };
        if let Some((_, chosen)) = choices.iter().find(|(name, _)| name == given) {
            return Some(*chosen);
        }
        self.error(
            path,
            format!("unknown variant `{}`, {}", short(given), expected(&names)),
        );
        None
    }

    /// An object whose members are all in `known`: each other member is recorded as a mistake (at its
    /// own path), and its known members are then read through the [`Members`].
    pub fn object<'v>(
        &mut self,
        path: &str,
        value: &'v Value,
        known: &[&str],
    ) -> Option<Members<'v>> {
        let Value::Object(map) = value else {
            return self.mismatch(path, value, "an object");
        };
        for name in map.keys() {
            if !known.contains(&name.as_str()) {
                self.error(
                    &member_path(path, name),
                    format!("unknown field `{}`, {}", short(name), expected(known)),
                );
            }
        }
        Some(Members {
            path: path.to_owned(),
            map,
        })
    }

    pub fn string(&mut self, path: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            other => self.mismatch(path, other, "a string"),
        }
    }

    pub fn boolean(&mut self, path: &str, value: &Value) -> Option<bool> {
        match value {
            Value::Bool(b) => Some(*b),
            other => self.mismatch(path, other, "a boolean"),
        }
    }

    /// An integer from 0 to `max`: negative, fractional (`1.5`, also `1.0`) and larger numbers are
    /// refused, naming the number.
    fn integer(&mut self, path: &str, value: &Value, max: u64) -> Option<u64> {
        let Value::Number(number) = value else {
            return self.mismatch(path, value, &format!("an integer from 0 to {max}"));
        };
        match number.as_u64() {
            Some(n) if n <= max => Some(n),
            _ => {
                self.error(
                    path,
                    format!("invalid value: {number}, expected an integer from 0 to {max}"),
                );
                None
            }
        }
    }

    pub fn uint(&mut self, path: &str, value: &Value) -> Option<u64> {
        self.integer(path, value, u64::MAX)
    }

    /// An integer that fits a `usize` (at most 2^32 - 1 on wasm32).
    pub fn size(&mut self, path: &str, value: &Value) -> Option<usize> {
        let max = u64::try_from(usize::MAX).unwrap_or(u64::MAX);
        let n = self.integer(path, value, max)?;
        match usize::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => self.mismatch(path, value, "a smaller integer"),
        }
    }

    /// Any JSON value, as it is.
    pub fn any(&mut self, _path: &str, value: &Value) -> Option<Value> {
        Some(value.clone())
    }

    pub fn strings(&mut self, path: &str, value: &Value) -> Option<Vec<String>> {
        self.list(path, value, "a list of strings", Walk::string)
    }

    /// A list (`expected` names it in a message), each item read by `read` at `path[i]`; every item's
    /// mistakes are recorded.
    pub fn list<T>(
        &mut self,
        path: &str,
        value: &Value,
        expected: &str,
        read: ReadField<T>,
    ) -> Option<Vec<T>> {
        let Value::Array(items) = value else {
            return self.mismatch(path, value, expected);
        };
        let mut out = Some(Vec::with_capacity(items.len()));
        for (i, item) in items.iter().enumerate() {
            match (read(self, &format!("{path}[{i}]"), item), &mut out) {
                (Some(item), Some(list)) => list.push(item),
                _ => out = None,
            }
        }
        out
    }
}

/// The members of an object being read (its unknown members already recorded by [`Walk::object`]).
#[derive(Debug)]
pub struct Members<'v> {
    path: String,
    map: &'v Map<String, Value>,
}

impl<'v> Members<'v> {
    /// The path of the member `name`.
    pub fn path(&self, name: &str) -> String {
        member_path(&self.path, name)
    }

    /// The member's value, unless it is absent or `null`.
    pub fn get(&self, name: &str) -> Option<&'v Value> {
        self.map.get(name).filter(|value| !value.is_null())
    }

    /// A member that must be given (`missing field `name`` at the object's path otherwise); `null` is a
    /// value of the wrong type.
    pub fn required<T>(&self, walk: &mut Walk, name: &str, read: ReadField<T>) -> Option<T> {
        match self.map.get(name) {
            Some(value) => read(walk, &self.path(name), value),
            None => {
                walk.error(&self.path, format!("missing field `{name}`"));
                None
            }
        }
    }

    /// A member that may be left out or be `null` (`Some(None)` then).
    pub fn optional<T>(
        &self,
        walk: &mut Walk,
        name: &str,
        read: ReadField<T>,
    ) -> Option<Option<T>> {
        match self.get(name) {
            Some(value) => read(walk, &self.path(name), value).map(Some),
            None => Some(None),
        }
    }

    /// A member that may be left out (`T::default()` then); `null` is a value of the wrong type.
    pub fn or_default<T: Default>(
        &self,
        walk: &mut Walk,
        name: &str,
        read: ReadField<T>,
    ) -> Option<T> {
        match self.map.get(name) {
            Some(value) => read(walk, &self.path(name), value),
            None => Some(T::default()),
        }
    }
}
