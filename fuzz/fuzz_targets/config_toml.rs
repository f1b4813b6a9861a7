//! Configuration compilation from a wrangler.toml, as `edge-auth check-config` reads it: the document is
//! parsed with the `toml` crate into a JSON value, and `[vars.EDGE_AUTH]` (and every
//! `[env.NAME.vars.EDGE_AUTH]`) is compiled with `GateConfig::from_value`. See
//! `edge_auth_fuzz::check_config` for what is asserted.
#![no_main]

use edge_auth_fuzz::check_config;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(document) = toml::from_str::<Value>(text) else {
        return;
    };
    if let Some(edge_auth) = document.get("vars").and_then(|v| v.get("EDGE_AUTH")) {
        check_config(edge_auth, data);
    }
    if let Some(envs) = document.get("env").and_then(Value::as_object) {
        for env in envs.values() {
            if let Some(edge_auth) = env.get("vars").and_then(|v| v.get("EDGE_AUTH")) {
                check_config(edge_auth, data);
            }
        }
    }
});
