//! Revocation's readers on arbitrary input: the back-channel logout form, the admin endpoint's body,
//! the Durable Object's requests (`RevocationLog::handle`) and an isolate's reading of a sync answer.
//! Properties: nothing panics; whatever the log stores it can restore from its own storage writes
//! (same epoch, sequence and records); every answer of the log to a sync applies to a view.
//!
//! Input: the first byte picks the reader, the rest is UTF-8 text.
#![no_main]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a fuzz target reports a broken invariant by panicking"
)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use edge_auth_core::{GateConfig, RevocationLog, RevocationView, UnixTime};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn config() -> &'static GateConfig {
    static CONFIG: OnceLock<GateConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let config = json!({
            "issuers": [
                { "issuer": "https://a.example/", "audiences": ["api"], "algorithms": ["HS256"], "hmac_secret": "IDP" },
                { "issuer": "https://b.example/", "audiences": ["api"], "algorithms": ["HS256"], "hmac_secret": "IDP" }
            ],
            "assertion": { "issuer": "https://edge.example", "audience": "https://o.example", "signing_key_secret": "KEY" },
            "revocation": { "issuers": ["https://a.example/", "https://b.example/"], "admin": { "issuers": ["https://a.example/"], "roles": ["r"] } }
        });
        let secrets = std::collections::HashMap::from([
            ("IDP".to_owned(), "0123456789abcdef0123456789abcdef".to_owned()),
            (
                "KEY".to_owned(),
                json!({ "kty": "oct", "alg": "HS256", "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" }).to_string(),
            ),
        ]);
        GateConfig::from_value(&config, &secrets).expect("the fuzz configuration compiles")
    })
}

fn persist(storage: &mut BTreeMap<String, String>, answer: &edge_auth_core::LogAnswer) {
    for key in &answer.delete {
        storage.remove(key);
    }
    for (key, value) in &answer.put {
        storage.insert(key.clone(), value.clone());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(token) = edge_auth_gate::logout_token_from_form(
                Some("application/x-www-form-urlencoded"),
                text,
            ) {
                assert!(!token.is_empty());
            }
        }
        1 => {
            if let Ok((issuer, record)) =
                edge_auth_gate::revoke_request(config(), text, UnixTime(NOW))
            {
                assert_eq!(issuer.issuer, record.iss);
                assert!(record.until > NOW && record.until <= NOW + issuer.keep_seconds);
            }
        }
        2 => {
            let mut storage = BTreeMap::new();
            let mut log = RevocationLog::restore([], "e0");
            for (i, body) in text.split('\n').enumerate() {
                let now = NOW + i as u64;
                let answer = log.handle("POST", "/revoke", body, now);
                persist(&mut storage, &answer);
                let sync = log.handle("GET", body, "", now);
                persist(&mut storage, &sync);
                let mut view = RevocationView::new();
                let all = log.handle("GET", &view.sync_path(), "", now);
                view.apply_sync(&all.body, now)
                    .expect("the log's own answer applies");
                assert!(view.len() <= log.len());
            }
            let restored = RevocationLog::restore(
                storage.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                "other",
            );
            if log.seq() > 0 {
                assert_eq!(restored.epoch(), log.epoch());
            }
            assert_eq!(restored.seq(), log.seq());
            assert_eq!(restored.len(), log.len());
        }
        _ => {
            let mut view = RevocationView::new();
            let _ = view.apply_sync(text, NOW);
        }
    }
});
