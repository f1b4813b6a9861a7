//! Configuration compilation from JSON: `GateConfig::from_value` with the parsed value (a wrangler
//! `[vars.EDGE_AUTH]` table arrives as one), with the input as a JSON string value (`EDGE_AUTH` set to a
//! string, for example from the dashboard), and with the value's own JSON text. See
//! `edge_auth_fuzz::check_config` for what is asserted.
#![no_main]

use edge_auth_core::GateConfig;
use edge_auth_fuzz::{check_compiled, check_config, secrets};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        check_config(&value, data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let as_string = Value::String(text.to_owned());
        check_compiled(GateConfig::from_value(&as_string, secrets()), data);
    }
});
