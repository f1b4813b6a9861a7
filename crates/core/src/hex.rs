//! Lower-case hexadecimal: the one writer every part of the project uses (keyed hashes in log lines, the
//! shared-cache key's digest, the MACs of shared-cache entries, JSON's `\u00xx` escapes).

/// The sixteen lower-case digits.
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The digit for `nibble`'s low four bits.
fn digit(nibble: u8) -> char {
    // `& 0xf` keeps the index below 16: `get` always answers.
    char::from(
        DIGITS
            .get(usize::from(nibble & 0xf))
            .copied()
            .unwrap_or(b'0'),
    )
}

/// Appends `bytes` in lower-case hex, two digits a byte.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &byte in bytes {
        out.push(digit(byte >> 4));
        out.push(digit(byte));
    }
}

/// `bytes` in lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_agrees_with_the_formatter() {
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
        assert_eq!(hex(&[]), "");
        let mut out = "prefix:".to_owned();
        push_hex(&mut out, &[0x00, 0x0f, 0xf0, 0xff]);
        assert_eq!(out, "prefix:000ff0ff");
    }
}
