//! Revocation through the gate, composed as the Worker composes it, with the core's `RevocationLog`
//! standing in for the Durable Object: admin revocations and back-channel logouts are stored, an
//! isolate's copy syncs, and the next request is refused — cached token or not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

use std::collections::HashMap;

use edge_auth_core::{
    mint, read_revoke_answer, revoke_body, Algorithm, GateConfig, MintOptions, RevocationKind,
    RevocationLog, RevocationView, SigningKey, UnixTime, VerifiedToken, BACKCHANNEL_LOGOUT_EVENT,
};
use edge_auth_gate::{
    self as gate, LogoutRefusal, Plan, Refusal, RequestHead, RevocationCheck, RevocationRead,
};
use serde_json::{json, Value};

const NOW: u64 = 1_800_000_000;
const IDP: &str = "https://idp.example/";
const OTHER: &str = "https://other.example/";
const AUD: &str = "https://api.example";

struct World {
    config: GateConfig,
    idp: SigningKey,
    other: SigningKey,
    object: RevocationLog,
    view: RevocationView,
}

fn world(revocation: Value) -> World {
    let idp = SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
    let other = SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
    let edge = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
    let jwks = |k: &SigningKey| json!({ "keys": [Value::Object(k.public_key().to_jwk())] });
    let mut table =
        json!({ "issuers": [IDP], "admin": { "issuers": [IDP], "roles": ["revoker"] } });
    for (name, value) in revocation.as_object().unwrap() {
        table[name] = value.clone();
    }
    let config = json!({
        "issuers": [
            { "issuer": IDP, "audiences": [AUD], "algorithms": ["ES256"], "jwks": jwks(&idp),
              "backchannel_logout": { "client_id": "edge" } },
            { "issuer": OTHER, "audiences": [AUD], "algorithms": ["ES256"], "jwks": jwks(&other) }
        ],
        "assertion": { "issuer": "https://edge.example", "audience": "https://origin.example",
                       "signing_key_secret": "SIGNING" },
        "revocation": table,
    });
    let secrets = HashMap::from([(
        "SIGNING".to_owned(),
        Value::Object(edge.to_private_jwk()).to_string(),
    )]);
    World {
        config: GateConfig::from_value(&config, &secrets).unwrap(),
        idp,
        other,
        object: RevocationLog::restore([], "epoch1"),
        view: RevocationView::new(),
    }
}

fn token(key: &SigningKey, claims: Value) -> String {
    let mut all = json!({ "aud": AUD, "iat": NOW - 10, "exp": NOW + 600 });
    for (name, value) in claims.as_object().unwrap() {
        all[name] = value.clone();
    }
    mint(key, all.as_object().unwrap(), &MintOptions::default())
}

fn logout_token(key: &SigningKey, claims: Value, typ: Option<&str>) -> String {
    let mut all = json!({
        "iss": IDP, "aud": "edge", "iat": NOW - 1, "exp": NOW + 120, "jti": "L1",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} }, "sid": "s1", "sub": "alice"
    });
    for (name, value) in claims.as_object().unwrap() {
        match value {
            Value::Null => {
                all.as_object_mut().unwrap().remove(name);
            }
            value => all[name] = value.clone(),
        }
    }
    mint(
        key,
        all.as_object().unwrap(),
        &MintOptions { kid: None, typ },
    )
}

impl World {
    fn verify(&self, token: &str) -> VerifiedToken {
        self.config.verifier.verify(token, UnixTime(NOW)).unwrap()
    }

    fn sync(&mut self, now: u64) {
        let answer = self.object.handle("GET", &self.view.sync_path(), "", now);
        assert_eq!(answer.status, 200);
        self.view.apply_sync(&answer.body, now).unwrap();
    }

    /// The hot path's check, with a fresh copy.
    fn check(&self, verified: &VerifiedToken, now: u64) -> Result<RevocationCheck, String> {
        gate::check_revocation(
            &self.config,
            verified,
            RevocationRead::Current(&self.view),
            UnixTime(now),
        )
        .map_err(|r| r.code().to_owned())
    }

    /// The admin endpoint: plan, verify, authorize, read the body, store.
    fn admin(&mut self, bearer: Option<&str>, body: &str) -> Result<Value, (u16, String)> {
        let header = bearer.map(|t| format!("Bearer {t}"));
        let head = RequestHead {
            authorization: header.as_deref(),
            ..RequestHead::simple(
                "POST",
                "https://edge.example/.well-known/edge-auth/revoke",
                "/.well-known/edge-auth/revoke",
                "edge.example",
            )
        };
        let refuse = |r: Refusal| {
            let http = r.to_http("api");
            (http.status, http.code.to_owned())
        };
        let Plan::Revoke { token } = gate::plan(&self.config, &head) else {
            let Plan::Refuse(refusal) = gate::plan(&self.config, &head) else {
                panic!("neither Revoke nor Refuse")
            };
            return Err(refuse(refusal));
        };
        let verified = self
            .config
            .verifier
            .verify(&token, UnixTime(NOW))
            .map_err(|e| refuse(Refusal::Token(e)))?;
        gate::authorize_admin(&self.config, &verified).map_err(refuse)?;
        let (issuer, record) =
            gate::revoke_request(&self.config, body, UnixTime(NOW)).map_err(refuse)?;
        assert_eq!(issuer.issuer, record.iss);
        let max = self.config.revocation.as_ref().unwrap().max_entries;
        let answer = self.object.handle(
            "POST",
            "/revoke",
            &revoke_body(std::slice::from_ref(&record), None, max),
            NOW,
        );
        let outcome = read_revoke_answer(answer.status, &answer.body).unwrap();
        gate::admin_outcome(outcome).map_err(refuse)?;
        Ok(serde_json::from_str(&gate::revoked_body(&record)).unwrap())
    }

    /// The logout endpoint: form, route, signature, the logout checks, records, store.
    fn logout(&mut self, content_type: &str, body: &str) -> Result<(), String> {
        let token = gate::logout_token_from_form(Some(content_type), body).map_err(code)?;
        let routed = self
            .config
            .verifier
            .route(&token)
            .map_err(|e| code(LogoutRefusal::Token(e)))?;
        let client = gate::logout_client(&self.config, routed.issuer_index())
            .map_err(code)?
            .to_owned();
        let signed = routed
            .select()
            .and_then(|p| p.verify_signature(&edge_auth_core::RustCrypto))
            .map_err(|e| code(LogoutRefusal::Token(e)))?;
        let logout = signed
            .check_logout(UnixTime(NOW), &client)
            .map_err(|e| code(LogoutRefusal::Logout(e)))?;
        let (_, record, seen) =
            gate::logout_records(&self.config, &logout, UnixTime(NOW)).map_err(code)?;
        let answer = self.object.handle(
            "POST",
            "/revoke",
            &revoke_body(&[record], Some(&seen), 10),
            NOW,
        );
        let outcome = read_revoke_answer(answer.status, &answer.body).unwrap();
        gate::logout_outcome(outcome).map_err(code)
    }
}

fn code(refusal: LogoutRefusal) -> String {
    let (status, body) = refusal.to_http();
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], refusal.code());
    refusal.code().to_owned()
}

#[test]
fn each_kind_of_revocation_refuses_the_next_request() {
    for (body, kind) in [
        (json!({ "jti": "t1" }), RevocationKind::Jti),
        (json!({ "sid": "s1" }), RevocationKind::Sid),
        (json!({ "sub": "alice", "iss": IDP }), RevocationKind::Sub),
    ] {
        let mut w = world(json!({}));
        let admin = token(
            &w.idp,
            json!({ "iss": IDP, "sub": "root", "roles": ["revoker"] }),
        );
        let user = w.verify(&token(
            &w.idp,
            json!({ "iss": IDP, "sub": "alice", "jti": "t1", "sid": "s1" }),
        ));
        w.sync(NOW);
        // Verified once (the cache would hold it from here on).
        assert_eq!(w.check(&user, NOW), Ok(RevocationCheck::Passed));
        let answer = w.admin(Some(&admin), &body.to_string()).unwrap();
        assert_eq!(answer["revoked"]["kind"], kind.as_str());
        assert_eq!(answer["revoked"]["iss"], IDP);
        w.sync(NOW + 1);
        assert_eq!(
            w.check(&user, NOW + 1),
            Err("token_revoked".into()),
            "{body}"
        );
        let refusal = Refusal::Revoked(kind).to_http("api");
        assert_eq!(refusal.status, 401);
        assert_eq!(
            refusal.www_authenticate.as_deref(),
            Some(r#"Bearer realm="api", error="invalid_token", error_description="token_revoked""#)
        );
        // Another user's token passes; a token from an issuer not under revocation is not checked.
        let bob = w.verify(&token(
            &w.idp,
            json!({ "iss": IDP, "sub": "bob", "jti": "t2", "sid": "s2" }),
        ));
        assert_eq!(w.check(&bob, NOW + 1), Ok(RevocationCheck::Passed));
        let elsewhere = w.verify(&token(
            &w.other,
            json!({ "iss": OTHER, "sub": "alice", "jti": "t1", "sid": "s1" }),
        ));
        assert_eq!(
            w.check(&elsewhere, NOW + 1),
            Ok(RevocationCheck::NotCovered)
        );
    }
}

#[test]
fn a_subject_revocation_spares_tokens_issued_after_it() {
    let mut w = world(json!({}));
    let admin = token(
        &w.idp,
        json!({ "iss": IDP, "sub": "root", "roles": ["revoker"] }),
    );
    w.admin(Some(&admin), r#"{"sub":"alice"}"#).unwrap();
    w.sync(NOW);
    let old = w.verify(&token(
        &w.idp,
        json!({ "iss": IDP, "sub": "alice", "iat": NOW }),
    ));
    let new = w.verify(&token(
        &w.idp,
        json!({ "iss": IDP, "sub": "alice", "iat": NOW + 1 }),
    ));
    assert_eq!(w.check(&old, NOW + 1), Err("token_revoked".into()));
    assert_eq!(w.check(&new, NOW + 1), Ok(RevocationCheck::Passed));
}

#[test]
fn records_live_as_long_as_the_tokens_they_cover() {
    let mut w = world(json!({ "max_token_lifetime_seconds": 600 }));
    let admin = token(
        &w.idp,
        json!({ "iss": IDP, "sub": "root", "roles": ["revoker"] }),
    );
    let revoked = w.admin(Some(&admin), r#"{"sid":"s1"}"#).unwrap();
    // 600 s of token age + the default 60 s leeway + 1.
    assert_eq!(revoked["revoked"]["until"], NOW + 661);
    // A `jti` with its token's `exp`: kept until just past it (with the leeway).
    let revoked = w
        .admin(
            Some(&admin),
            &json!({ "jti": "t9", "exp": NOW + 30 }).to_string(),
        )
        .unwrap();
    assert_eq!(revoked["revoked"]["until"], NOW + 91);
    let revoked = w
        .admin(
            Some(&admin),
            &json!({ "jti": "t8", "exp": NOW + 100_000 }).to_string(),
        )
        .unwrap();
    assert_eq!(
        revoked["revoked"]["until"],
        NOW + 661,
        "exp never lengthens the record"
    );
    w.sync(NOW);
    assert_eq!(w.view.len(), 3);
    w.sync(NOW + 661);
    assert_eq!(w.view.len(), 0);
    assert!(w.object.is_empty());
}

/// (name, bearer token, body, expected: `Ok` or (status, code)).
type AdminCase<'a> = (&'a str, Option<&'a str>, &'a str, Result<(), (u16, String)>);

#[test]
fn the_admin_endpoint_refuses_what_it_should() {
    let mut w = world(json!({ "max_entries": 1 }));
    let admin = token(
        &w.idp,
        json!({ "iss": IDP, "sub": "root", "roles": ["revoker"] }),
    );
    let user = token(&w.idp, json!({ "iss": IDP, "sub": "alice" }));
    let foreign_admin = token(
        &w.other,
        json!({ "iss": OTHER, "sub": "root", "roles": ["revoker"] }),
    );
    let forged = token(
        &w.other,
        json!({ "iss": IDP, "sub": "root", "roles": ["revoker"] }),
    );
    let refused = |status: u16, code: &str| Err((status, code.to_owned()));
    #[rustfmt::skip]
    let cases: Vec<AdminCase<'_>> = vec![
        ("no token", None, r#"{"sid":"s"}"#, refused(401, "token_missing")),
        ("not the role", Some(&user), r#"{"sid":"s"}"#, refused(403, "role_missing")),
        ("another issuer's admin", Some(&foreign_admin), r#"{"sid":"s"}"#, refused(401, "issuer_not_allowed")),
        ("an admin", Some(&admin), r#"{"sid":"s0"}"#, Ok(())),
        ("a forged admin", Some(&forged), r#"{"sid":"s"}"#, refused(401, "key_not_found")),
        ("not JSON", Some(&admin), "sid=s", refused(400, "revoke_request_invalid")),
        ("two kinds", Some(&admin), r#"{"sid":"s","sub":"u"}"#, refused(400, "revoke_request_invalid")),
        ("no kind", Some(&admin), r#"{"iss":"https://idp.example/"}"#, refused(400, "revoke_request_invalid")),
        ("an unknown member", Some(&admin), r#"{"sid":"s","why":"x"}"#, refused(400, "revoke_request_invalid")),
        ("an issuer not under revocation", Some(&admin), r#"{"sid":"s","iss":"https://other.example/"}"#, refused(400, "revoke_request_invalid")),
        ("empty value", Some(&admin), r#"{"sid":""}"#, refused(400, "revoke_request_invalid")),
        ("a number", Some(&admin), r#"{"jti":7}"#, refused(400, "revoke_request_invalid")),
        ("exp on a sid", Some(&admin), r#"{"sid":"s","exp":1}"#, refused(400, "revoke_request_invalid")),
        ("duplicate members", Some(&admin), r#"{"sid":"a","sid":"b"}"#, refused(400, "revoke_request_invalid")),
        ("the store is full", Some(&admin), r#"{"sid":"s1"}"#, refused(507, "revocation_store_full")),
        ("a repeat takes no room", Some(&admin), r#"{"sid":"s0"}"#, Ok(())),
    ];
    for (name, bearer, body, expected) in cases {
        assert_eq!(w.admin(bearer, body).map(|_| ()), expected, "{name}");
    }
    // Any other method: 405 with `Allow: POST`.
    let head = RequestHead::simple(
        "GET",
        "https://edge.example/.well-known/edge-auth/revoke",
        "/.well-known/edge-auth/revoke",
        "edge.example",
    );
    let Plan::Refuse(refusal) = gate::plan(&w.config, &head) else {
        panic!()
    };
    let http = refusal.to_http("api");
    assert_eq!((http.status, http.code), (405, "method_not_allowed"));
    assert!(http.headers(None).contains(&("allow", "POST".to_owned())));
}

#[test]
fn back_channel_logout_follows_the_spec() {
    const FORM: &str = "application/x-www-form-urlencoded";
    let mut w = world(json!({}));
    let form = |t: &str| format!("logout_token={t}");
    let user = w.verify(&token(
        &w.idp,
        json!({ "iss": IDP, "sub": "alice", "sid": "s1" }),
    ));
    let other_session = w.verify(&token(
        &w.idp,
        json!({ "iss": IDP, "sub": "alice", "sid": "s2" }),
    ));
    let good = logout_token(&w.idp, json!({}), Some("logout+jwt"));
    assert_eq!(w.logout(FORM, &form(&good)), Ok(()));
    w.sync(NOW);
    assert_eq!(w.check(&user, NOW), Err("token_revoked".into()));
    // The session ended, not the user's others.
    assert_eq!(w.check(&other_session, NOW), Ok(RevocationCheck::Passed));
    assert_eq!(
        w.logout(FORM, &form(&good)),
        Err("logout_token_replayed".into())
    );

    // Only `sub`: every token of the subject issued up to now.
    let by_sub = logout_token(&w.idp, json!({ "sid": null, "jti": "L2" }), None);
    assert_eq!(
        w.logout(&format!("{FORM}; charset=UTF-8"), &form(&by_sub)),
        Ok(())
    );
    w.sync(NOW);
    assert_eq!(w.check(&other_session, NOW), Err("token_revoked".into()));

    let bad = |claims: Value| logout_token(&w.idp, claims, Some("logout+jwt"));
    let events_not_object = json!({ BACKCHANNEL_LOGOUT_EVENT: true });
    #[rustfmt::skip]
    let cases: Vec<(&str, String, String, &str)> = vec![
        ("no events", FORM.into(), form(&bad(json!({ "events": null, "jti": "x1" }))), "logout_token_invalid"),
        ("another event", FORM.into(), form(&bad(json!({ "events": { "urn:x": {} }, "jti": "x2" }))), "logout_token_invalid"),
        ("the event not an object", FORM.into(), form(&bad(json!({ "events": events_not_object, "jti": "x3" }))), "logout_token_invalid"),
        ("a nonce", FORM.into(), form(&bad(json!({ "nonce": "n", "jti": "x4" }))), "logout_token_invalid"),
        ("neither sub nor sid", FORM.into(), form(&bad(json!({ "sub": null, "sid": null, "jti": "x5" }))), "logout_token_invalid"),
        ("an ID token's typ", FORM.into(), form(&logout_token(&w.idp, json!({ "jti": "x6" }), Some("JWT"))), "logout_token_invalid"),
        ("another audience", FORM.into(), form(&bad(json!({ "aud": "api", "jti": "x7" }))), "audience_mismatch"),
        ("no jti", FORM.into(), form(&bad(json!({ "jti": null }))), "claim_missing"),
        ("no iat", FORM.into(), form(&bad(json!({ "iat": null, "jti": "x8" }))), "claim_missing"),
        ("no exp", FORM.into(), form(&bad(json!({ "exp": null, "jti": "x9" }))), "claim_missing"),
        ("expired", FORM.into(), form(&bad(json!({ "exp": NOW - 3600, "jti": "x10" }))), "token_expired"),
        ("another key", FORM.into(), form(&logout_token(&w.other, json!({ "jti": "x11" }), None)), "key_not_found"),
        ("an issuer without back-channel logout", FORM.into(), form(&logout_token(&w.other, json!({ "iss": OTHER, "jti": "x12" }), None)), "logout_not_configured"),
        ("alg none", FORM.into(), form(&format!("eyJhbGciOiJub25lIn0.{}.", good.split('.').nth(1).unwrap())), "alg_not_allowed"),
        ("JSON, not a form", "application/json".into(), format!(r#"{{"logout_token":"{good}"}}"#), "logout_token_missing"),
        ("no content type's form", "text/plain".into(), form(&good), "logout_token_missing"),
        ("two tokens", FORM.into(), format!("{}&{}", form(&good), form(&good)), "logout_token_missing"),
        ("empty", FORM.into(), "logout_token=".into(), "logout_token_missing"),
        ("a malformed escape", FORM.into(), "logout_token=%zz".into(), "logout_token_missing"),
    ];
    for (name, content_type, body, expected) in cases {
        assert_eq!(
            w.logout(&content_type, &body),
            Err(expected.to_owned()),
            "{name}"
        );
    }
    // Percent-encoded names and values decode.
    let escaped = logout_token(&w.idp, json!({ "jti": "L3" }), None).replace('.', "%2E");
    assert_eq!(
        w.logout(FORM, &format!("state=x&logout%5Ftoken={escaped}")),
        Ok(())
    );
}

#[test]
fn an_unreadable_state_fails_closed_or_open_as_configured() {
    for (fail, expected) in [
        ("closed", Err("revocation_unavailable".to_owned())),
        ("open", Ok(RevocationCheck::FailedOpen)),
    ] {
        let w = world(json!({ "fail": fail }));
        let user = w.verify(&token(&w.idp, json!({ "iss": IDP, "sub": "alice" })));
        let read = RevocationRead::Unavailable(None);
        let result = gate::check_revocation(&w.config, &user, read, UnixTime(NOW))
            .map_err(|r| r.code().to_owned());
        assert_eq!(result, expected, "{fail}");
    }
    // Open still refuses what the last copy knows.
    let mut w = world(json!({ "fail": "open" }));
    let mut last = RevocationView::new();
    last.learn(edge_auth_core::RevocationRecord {
        kind: RevocationKind::Sub,
        iss: IDP.into(),
        value: "alice".into(),
        at: NOW,
        until: NOW + 60,
    });
    w.view = last;
    let user = w.verify(&token(&w.idp, json!({ "iss": IDP, "sub": "alice" })));
    let read = RevocationRead::Unavailable(Some(&w.view));
    assert_eq!(
        gate::check_revocation(&w.config, &user, read, UnixTime(NOW)).map_err(|r| r.code()),
        Err("token_revoked")
    );
    let http = Refusal::RevocationUnavailable.to_http("api");
    assert_eq!(http.status, 503);
    assert!(http
        .headers(Some(5))
        .contains(&("retry-after", "5".to_owned())));
}

#[test]
fn the_plan_routes_the_endpoints() {
    let w = world(json!({ "logout_path": "/bye", "admin_path": "/revoke" }));
    let plan = |method, path: &str| {
        let url = format!("https://edge.example{path}");
        gate::plan(
            &w.config,
            &RequestHead::simple(method, &url, path, "edge.example"),
        )
    };
    assert_eq!(plan("POST", "/bye"), Plan::BackchannelLogout);
    assert_eq!(plan("GET", "/bye"), Plan::Refuse(Refusal::MethodNotAllowed));
    assert_eq!(plan("POST", "/revoke"), Plan::Refuse(Refusal::TokenMissing));
    // The default paths are ordinary paths now.
    assert!(matches!(
        plan("POST", "/.well-known/edge-auth/revoke"),
        Plan::Refuse(Refusal::TokenMissing) | Plan::Verify { .. }
    ));
    // Without `admin` there is no admin endpoint, without a `backchannel_logout` issuer no logout one.
    let mut w = world(json!({}));
    w.config.revocation.as_mut().unwrap().admin = None;
    for issuer in &mut w.config.revocation.as_mut().unwrap().issuers {
        issuer.logout_client_id = None;
    }
    for path in [
        "/.well-known/edge-auth/revoke",
        "/.well-known/edge-auth/backchannel-logout",
    ] {
        let url = format!("https://edge.example{path}");
        let plan = gate::plan(
            &w.config,
            &RequestHead::simple("POST", &url, path, "edge.example"),
        );
        assert!(
            !matches!(plan, Plan::Revoke { .. } | Plan::BackchannelLogout),
            "{path}"
        );
    }
}
