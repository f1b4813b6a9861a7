//! The `Cache-Control` parser: `max_age` and `RemoteSettings::freshness`, whose result must stay within
//! `[min_ttl, max_ttl]` whatever the provider sends (with the default settings, and with bounds taken
//! from the input, including a minimum above the maximum).
//!
//! Input: the header value. Its first 16 bytes, when there are that many, also give the bounds.
#![no_main]

use edge_auth_core::{max_age, RemoteSettings};
use libfuzzer_sys::fuzz_target;

fn check(settings: &RemoteSettings, header: &str) {
    let floor = settings.min_ttl;
    let ceiling = settings.max_ttl.max(settings.min_ttl);
    for given in [Some(header), None] {
        let fresh = settings.freshness(given);
        assert!(
            (floor..=ceiling).contains(&fresh),
            "freshness {fresh} outside [{floor}, {ceiling}]"
        );
    }
    assert_eq!(settings.freshness(None), floor);
}

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = max_age(header);
    if let Some(seconds) = parsed {
        // The value is a decimal number written in the header.
        assert!(header.contains(&seconds.to_string()));
    }
    // Directive names are case-insensitive (RFC 9111 §5.2); values here are digits.
    assert_eq!(max_age(&header.to_ascii_uppercase()), parsed);
    assert_eq!(max_age(&header.to_ascii_lowercase()), parsed);

    check(&RemoteSettings::default(), header);
    if let (Some(min), Some(max)) = (data.get(..8), data.get(8..16)) {
        let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
        let settings = RemoteSettings {
            min_ttl: word(min),
            max_ttl: word(max),
            ..RemoteSettings::default()
        };
        check(&settings, header);
    }
});
