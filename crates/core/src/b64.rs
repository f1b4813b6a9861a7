//! Strict base64url (RFC 7515 §2, RFC 4648 §5): no padding, nothing outside the alphabet, no non-zero
//! trailing bits.
//!
//! Two decoders with the same strictness:
//! - [`decode_secret`] for key material (`k`, `d`, …): `base64ct`, constant-time, so secrets decode
//!   without timing leaks.
//! - [`decode`] for token parts, which are public: a table decoder, several times faster than the
//!   constant-time one (token decoding is on every first sight of a token). It agrees with `base64ct` on
//!   every input (the property tests below).

use base64ct::{Base64UrlUnpadded, Encoding};

/// Decodes key material: strict, unpadded base64url in constant time. `None` on any deviation.
pub(crate) fn decode_secret(input: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(input).ok()
}

/// Not in the alphabet.
const BAD: u8 = 0xff;

/// The base64url alphabet's values, `BAD` elsewhere.
const TABLE: [u8; 256] = {
    let mut table = [BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::indexing_slicing,
            reason = "const context (no `get_mut`, no `try_from`); i < 64 and a byte indexes 256 entries"
        )]
        {
            table[alphabet[i] as usize] = i as u8;
        }
        i += 1;
    }
    table
};

fn sextet(byte: u8) -> Option<u32> {
    match TABLE.get(usize::from(byte)) {
        Some(&v) if v != BAD => Some(u32::from(v)),
        _ => None,
    }
}

/// Decodes public data (token parts): strict, unpadded base64url. `None` on any deviation.
pub(crate) fn decode(input: &str) -> Option<Vec<u8>> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    let mut chunks = bytes.chunks_exact(4);
    for chunk in &mut chunks {
        let [a, b, c, d] = *chunk else { return None };
        let n = sextet(a)? << 18 | sextet(b)? << 12 | sextet(c)? << 6 | sextet(d)?;
        let [_, x, y, z] = n.to_be_bytes();
        out.extend_from_slice(&[x, y, z]);
    }
    match *chunks.remainder() {
        [] => {}
        [_] => return None,
        [a, b] => {
            let n = sextet(a)? << 6 | sextet(b)?;
            // 12 bits carry one byte; the low 4 must be zero (canonical form).
            if n & 0xf != 0 {
                return None;
            }
            let [_, _, x, _] = (n << 4).to_be_bytes();
            out.push(x);
        }
        [a, b, c] => {
            let n = sextet(a)? << 12 | sextet(b)? << 6 | sextet(c)?;
            // 18 bits carry two bytes; the low 2 must be zero.
            if n & 0x3 != 0 {
                return None;
            }
            let [_, _, x, y] = (n >> 2).to_be_bytes();
            out.extend_from_slice(&[x, y]);
        }
        _ => return None,
    }
    Some(out)
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Any string over the alphabet, padding, and a few strangers: both decoders agree.
        #[test]
        fn agrees_with_base64ct(input in "[A-Za-z0-9_=+/. -]{0,40}") {
            prop_assert_eq!(decode(&input), decode_secret(&input));
        }

        /// Any bytes round-trip.
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn agrees_with_base64ct_on_edge_cases() {
        for input in [
            "", "A", "AA", "AB", "AAA", "AAB", "AAAA", "Zg", "Zh", "Zm8", "Zm9", "Zm9v", "Zm9vYg",
            "Zm9vYmE", "Zm9vYmFy", "-_-_", "+/+/", "Zg==", "Zm9v=", " Zm9v", "Zm9v\n", "é",
        ] {
            assert_eq!(decode(input), decode_secret(input), "{input:?}");
        }
    }
}
