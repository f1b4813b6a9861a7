//! Over-estimates of the heap bytes a verified token holds, for the verified-token cache's byte bound
//! ([`crate::TokenCache`]): a count of entries alone does not bound memory, since one cached token may
//! hold half a megabyte of parsed claims (an 8 KiB token of one-member objects) and another 3 KiB.
//!
//! The estimates follow the layouts that hold the bytes (a `String`'s capacity, a `Vec`'s capacity
//! times its element's size, B-tree nodes of at most 11 entries) and add [`PER_ALLOCATION`] to every
//! allocation, empty ones included, for the allocator's own bookkeeping. `tests/cache_memory.rs`
//! checks them against the bytes actually allocated (as dhat counts them: the bytes asked for, so not
//! `PER_ALLOCATION`), on ordinary tokens and on shapes chosen to be expensive per byte of token.
//!
//! Plain sums: what they add up is bounded by the token's size limit, far from overflowing.

use std::mem::size_of;

use serde_json::{Map, Value};

/// What an allocator adds to each allocation (header and rounding), over-estimated.
pub(crate) const PER_ALLOCATION: usize = 16;

/// A B-tree node of `Map<String, Value>` (an internal one, the larger): 11 keys, 11 values, 12 edges and
/// a small header.
const NODE: usize =
    11 * (size_of::<String>() + size_of::<Value>()) + 12 * size_of::<usize>() + 16 + PER_ALLOCATION;

pub(crate) fn map(map: &Map<String, Value>) -> usize {
    // An empty map allocates nothing; up to 11 entries fit the root (claims maps are built by insertion
    // and never shrink); past that, every node but the root holds at least 5.
    let nodes = match map.len() {
        0 => 0,
        1..=11 => 1,
        n => 1 + n / 5,
    };
    nodes * NODE
        + map
            .iter()
            .map(|(key, value)| key.capacity() + PER_ALLOCATION + value_bytes(value))
            .sum::<usize>()
}

fn value_bytes(value: &Value) -> usize {
    match value {
        // Numbers are held inline (no `arbitrary_precision`).
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => s.capacity() + PER_ALLOCATION,
        Value::Array(items) => {
            items.capacity() * size_of::<Value>()
                + PER_ALLOCATION
                + items.iter().map(value_bytes).sum::<usize>()
        }
        Value::Object(members) => map(members),
    }
}

/// An optional string.
pub(crate) fn optional(s: Option<&String>) -> usize {
    s.map_or(0, |s| s.capacity() + PER_ALLOCATION)
}

/// A list of strings and its strings.
pub(crate) fn strings(list: &[String], capacity: usize) -> usize {
    capacity * size_of::<String>()
        + PER_ALLOCATION
        + list
            .iter()
            .map(|s| s.capacity() + PER_ALLOCATION)
            .sum::<usize>()
}
