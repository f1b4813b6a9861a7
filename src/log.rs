//! The Worker's own log lines (one JSON object each, on the console), written member by member with the
//! core's [`JsonObject`]: the bytes `serde_json::json!` gave (members in its sorted order), with less
//! code and time per line. The decision line (`entry.rs`) too: its `io_wait_ms` is written as a whole
//! number (`json!` wrote the same `f64` as `12.0`).

use edge_auth_core::JsonObject;
use wasm_bindgen::JsValue;

/// A line on `console.error`.
pub(crate) fn error(line: JsonObject) {
    web_sys::console::error_1(&JsValue::from_str(&line.finish()));
}

/// A line on `console.log`.
pub(crate) fn info(line: JsonObject) {
    web_sys::console::log_1(&JsValue::from_str(&line.finish()));
}

/// `{"error":…,"event":…}` on `console.error`.
pub(crate) fn error_event(event: &str, error: &str) {
    self::error(JsonObject::new().str("error", error).str("event", event));
}
