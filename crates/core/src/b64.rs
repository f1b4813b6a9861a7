//! Strict base64url (RFC 7515 §2, RFC 4648 §5): no padding, nothing outside the alphabet, no non-zero
//! trailing bits. `base64ct` is constant-time and canonical, so secrets (`k`, `d`) decode without leaks.

use base64ct::{Base64UrlUnpadded, Encoding};

/// Decodes strict, unpadded base64url. `None` on any deviation.
pub(crate) fn decode(input: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(input).ok()
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}
