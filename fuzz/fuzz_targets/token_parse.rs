//! Token parsing and verification: `UntrustedToken::parse` (both payload kinds), `decode_unverified`,
//! and a full `Verifier::verify` against a fixed verifier — with real signatures, and with a backend that
//! accepts every signature so that key selection and the claims checks run on every mutated token.
#![no_main]

use edge_auth_core::{
    decode_unverified, Limits, PayloadKind, UntrustedToken, VerifyError, ERROR_CODES,
};
use edge_auth_fuzz::{verifier, AcceptAll, NOW};
use libfuzzer_sys::fuzz_target;

fn check_error(error: &VerifyError) {
    assert!(
        ERROR_CODES.contains(&error.code()),
        "unlisted code {}",
        error.code()
    );
    let _ = error.to_string();
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();

    let opaque = UntrustedToken::parse(token, &limits, PayloadKind::Opaque);
    let jwt = UntrustedToken::parse(token, &limits, PayloadKind::JwtClaims);
    let unverified = decode_unverified(token, &limits);
    if let Ok(parsed) = &jwt {
        // A JWT is also a valid opaque JWS, and decodes the same without the header rules.
        let opaque = opaque.as_ref().ok();
        assert!(opaque.is_some(), "a JWT that is not a JWS");
        assert!(parsed.claims().is_some());
        assert!(
            unverified.is_ok(),
            "parse accepted what decode_unverified refused"
        );
        if let Ok(unverified) = &unverified {
            assert_eq!(&unverified.header, parsed.header().raw());
            assert_eq!(unverified.claims.as_ref().ok(), parsed.claims());
        }
    }
    if let Ok(parsed) = &opaque {
        // The signed part is exactly the token up to its last dot.
        let signing_input = parsed.signing_input();
        assert!(token.as_bytes().starts_with(signing_input));
        assert_eq!(token.as_bytes().get(signing_input.len()), Some(&b'.'));
        assert!(token.len() <= limits.max_token_bytes);
    }
    if let Err(error) = &opaque {
        let _ = error.to_string();
    }

    for result in [
        verifier().verify(token, NOW),
        verifier().verify_with(token, NOW, &AcceptAll),
    ] {
        match result {
            Ok(verified) => {
                // Only a token that parses as a JWT verifies, and its claims are the parsed ones.
                let parsed = jwt.as_ref().ok();
                assert!(parsed.is_some(), "verified a token that does not parse");
                assert_eq!(Some(verified.claims()), parsed.and_then(|p| p.claims()));
                let iss = verified.registered().iss.as_deref();
                assert!(matches!(iss, Some("https://idp.example.com/" | "joe")));
                let _ = (verified.scopes(), verified.roles(), verified.key_id());
                assert!(verifier().recheck(&verified, NOW).is_ok());
            }
            Err(error) => check_error(&error),
        }
    }
});
