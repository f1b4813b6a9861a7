//! `AbsoluteUrl::parse` (the core's own WHATWG parser for http(s) URLs) against the `url` crate on
//! arbitrary input: the same serialization and parts, or both refuse; then `with_path_and_query`
//! against the crate's setters. The property is `crates/core/tests/support/url_oracle.rs`, shared with
//! the core's tests.
//!
//! Input: any UTF-8 text.
#![no_main]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a fuzz target reports a broken invariant by panicking"
)]

#[path = "../../crates/core/tests/support/url_oracle.rs"]
mod url_oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        url_oracle::check(text);
    }
});
