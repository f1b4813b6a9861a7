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

/// The base64url alphabet (RFC 4648 §5).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Not in the alphabet.
const BAD: u8 = 0xff;

/// The base64url alphabet's values, `BAD` elsewhere.
const TABLE: [u8; 256] = {
    let mut table = [BAD; 256];
    let alphabet = ALPHABET;
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

/// How a leniently decoded part deviates from canonical base64url (all false: canonical).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Deviations {
    /// Trailing `=` padding.
    pub(crate) padding: bool,
    /// `+` or `/` from the standard alphabet.
    pub(crate) standard_alphabet: bool,
    /// Non-zero bits after the last byte.
    pub(crate) trailing_bits: bool,
}

impl Deviations {
    pub(crate) fn any(self) -> bool {
        self.padding || self.standard_alphabet || self.trailing_bits
    }
}

/// Decodes what a lax decoder would accept, for describing a token (never for verifying one): trailing
/// `=` padding, the standard alphabet's `+` and `/`, and non-zero trailing bits are accepted and
/// reported. `None` for anything else (other characters, `=` inside, an impossible length).
pub(crate) fn decode_lenient(input: &str) -> Option<(Vec<u8>, Deviations)> {
    let mut deviations = Deviations::default();
    let body = input.trim_end_matches('=');
    if body.len() != input.len() {
        deviations.padding = true;
    }
    let mut canonical = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '+' => {
                deviations.standard_alphabet = true;
                canonical.push('-');
            }
            '/' => {
                deviations.standard_alphabet = true;
                canonical.push('_');
            }
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => canonical.push(c),
            _ => return None,
        }
    }
    if let Some(bytes) = decode(&canonical) {
        return Some((bytes, deviations));
    }
    // The only other deviation a lax decoder accepts: non-zero bits after the last byte. Clear them in
    // the last character and decode again.
    let last = canonical.pop()?;
    let value = sextet(u8::try_from(u32::from(last)).ok()?)?;
    let mask = match canonical.len() % 4 {
        1 => 0b11_0000, // two characters carry one byte: the last keeps its 2 high bits
        2 => 0b11_1100, // three characters carry two bytes: the last keeps its 4 high bits
        _ => return None,
    };
    let cleared = value & mask;
    let replacement = ALPHABET.get(usize::try_from(cleared).ok()?)?;
    canonical.push(char::from(*replacement));
    deviations.trailing_bits = true;
    decode(&canonical).map(|bytes| (bytes, deviations))
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Encodes public data (the assertion's parts and signature, on every forwarded request): a table
/// encoder, several times faster than the constant-time [`encode`], which key material keeps. The same
/// output as [`encode`] for every input (the property test below).
pub(crate) fn encode_public(bytes: &[u8]) -> String {
    let sextet = |n: u32, shift: u32| {
        let index = usize::try_from((n >> shift) & 63).unwrap_or(0);
        ALPHABET.get(index).copied().unwrap_or(b'A')
    };
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    let mut chunks = bytes.chunks_exact(3);
    for chunk in &mut chunks {
        let [a, b, c] = *chunk else { continue };
        let n = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        out.extend_from_slice(&[sextet(n, 18), sextet(n, 12), sextet(n, 6), sextet(n, 0)]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[sextet(n, 18), sextet(n, 12)]);
        }
        [a, b] => {
            let n = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[sextet(n, 18), sextet(n, 12), sextet(n, 6)]);
        }
        _ => {}
    }
    // Every byte is from the alphabet: ASCII.
    String::from_utf8(out).unwrap_or_default()
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

        /// Both encoders write the same text for any bytes.
        #[test]
        fn encoders_agree(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(encode_public(&bytes), encode(&bytes));
        }

        /// Any bytes round-trip.
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn lenient_decoding_reports_each_deviation() {
        let none = Deviations::default();
        assert_eq!(decode_lenient("Zm9v"), Some((b"foo".to_vec(), none)));
        assert_eq!(decode_lenient(""), Some((Vec::new(), none)));
        let padded = decode_lenient("Zg==").unwrap();
        assert_eq!(padded.0, b"f");
        assert!(padded.1.padding && !padded.1.standard_alphabet && !padded.1.trailing_bits);
        let standard = decode_lenient("+/+/").unwrap();
        assert_eq!(standard.0, decode("-_-_").unwrap());
        assert!(standard.1.standard_alphabet && !standard.1.padding);
        // "Zh": 'h' carries non-zero bits after the byte 'f'.
        let bits = decode_lenient("Zh").unwrap();
        assert_eq!(bits.0, b"f");
        assert!(bits.1.trailing_bits && bits.1.any());
        let bits = decode_lenient("Zm9").unwrap();
        assert_eq!(bits.0, b"fo");
        assert!(bits.1.trailing_bits);
        for bad in ["Z", "Zm9vY", "Zm=9v", "a b", "é", "Zm9v\n", "*"] {
            assert_eq!(decode_lenient(bad), None, "{bad:?}");
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
