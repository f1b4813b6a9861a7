//! Point validation for P-384 and P-521 without their signature backends.
//!
//! A build without the `p384` or `p521` feature (the Worker and the JS package, which verify ES384 and
//! ES512 through WebCrypto) still refuses, at load time, every public key those crates refuse: a
//! coordinate that is not a field element (≥ p) or a point that is not on the curve. Both curves are
//! short Weierstrass curves with a = −3 (FIPS 186-5, SEC 2), so the check is
//! `y² ≡ x³ − 3x + b (mod p)`, in `crypto-bigint`'s Montgomery arithmetic. Only public data goes in,
//! so nothing here needs to run in constant time (the private-scalar range check does). The tests below
//! compare it with the `p384` and `p521` crates on valid, perturbed, random and out-of-range points.

use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::subtle::{ConstantTimeEq, ConstantTimeLess};
use crypto_bigint::{Uint, U384, U576};

use zeroize::Zeroizing;

use crate::alg::Curve;

/// P-384: p = 2³⁸⁴ − 2¹²⁸ − 2⁹⁶ + 2³² − 1 and b (SEC 2 §2.5.1).
const P384_P: U384 = U384::from_be_hex(
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
);
const P384_B: U384 = U384::from_be_hex(
    "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
);
/// P-521: p = 2⁵²¹ − 1 and b (SEC 2 §2.6.1), in 576 bits.
const P521_P: U576 = U576::from_be_hex(concat!(
    "00000000000001ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
));
const P521_B: U576 = U576::from_be_hex(concat!(
    "0000000000000051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b48991",
    "8ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
));

/// The Montgomery parameters of each field, computed at compile time (`new` refuses an even modulus;
/// in a constant that is a build error, never a panic at run time).
const P384_FIELD: DynResidueParams<{ U384::LIMBS }> = DynResidueParams::new(&P384_P);
const P521_FIELD: DynResidueParams<{ U576::LIMBS }> = DynResidueParams::new(&P521_P);

/// The group orders n (SEC 2 §2.5.1, §2.6.1): a private scalar is in [1, n − 1].
const P384_N: U384 = U384::from_be_hex(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
);
const P521_N: U576 = U576::from_be_hex(concat!(
    "00000000000001ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
));

/// Whether big-endian `x`, `y` (each exactly the curve's coordinate length) are the affine coordinates
/// of a point on P-384 or P-521. Other curves answer `None`: their own crates check them.
pub(crate) fn on_weierstrass_curve(curve: Curve, x: &[u8], y: &[u8]) -> Option<bool> {
    let len = curve.coordinate_len();
    if matches!(curve, Curve::P384 | Curve::P521) && (x.len() != len || y.len() != len) {
        return Some(false);
    }
    match curve {
        Curve::P384 => Some(on_curve(&P384_FIELD, &P384_B, x, y)),
        Curve::P521 => Some(on_curve(&P521_FIELD, &P521_B, x, y)),
        Curve::P256 | Curve::Secp256k1 => None,
    }
}

/// Reads a big-endian number of at most `LIMBS` limbs; `None` if it is longer.
fn read<const LIMBS: usize>(bytes: &[u8]) -> Option<Uint<LIMBS>> {
    let size = Uint::<LIMBS>::BYTES;
    let padding = size.checked_sub(bytes.len())?;
    // A private scalar passes through here too: the copy is wiped when dropped.
    let mut padded = Zeroizing::new(vec![0u8; padding]);
    padded.extend_from_slice(bytes);
    Some(Uint::from_be_slice(&padded))
}

fn on_curve<const LIMBS: usize>(
    field: &DynResidueParams<LIMBS>,
    b: &Uint<LIMBS>,
    x: &[u8],
    y: &[u8],
) -> bool {
    let p = field.modulus();
    let (Some(x), Some(y)) = (read::<LIMBS>(x), read::<LIMBS>(y)) else {
        return false;
    };
    // Coordinates are field elements: a value ≥ p is another encoding of a smaller one, refused.
    if &x >= p || &y >= p {
        return false;
    }
    let residue = |v: &Uint<LIMBS>| DynResidue::new(v, *field);
    let (x, y, b) = (residue(&x), residue(&y), residue(b));
    let three = residue(&Uint::from_u8(3));
    let left = y.square();
    let right = x.square() * x - three * x + b;
    left.retrieve() == right.retrieve()
}

/// Whether a private scalar `d` (big-endian, the curve's coordinate length) is in [1, n − 1], compared
/// in constant time. Other curves answer `None`: their own crates check them.
pub(crate) fn scalar_in_range(curve: Curve, d: &[u8]) -> Option<bool> {
    match curve {
        Curve::P384 => Some(in_range(&P384_N, d)),
        Curve::P521 => Some(in_range(&P521_N, d)),
        Curve::P256 | Curve::Secp256k1 => None,
    }
}

fn in_range<const LIMBS: usize>(n: &Uint<LIMBS>, d: &[u8]) -> bool {
    let Some(d) = read::<LIMBS>(d) else {
        return false;
    };
    bool::from(!d.ct_eq(&Uint::ZERO) & d.ct_lt(n))
}

#[cfg(all(test, feature = "p384", feature = "p521"))]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use crypto_bigint::Encoding;
    use rand_core::{OsRng, RngCore};

    use super::*;

    /// What the curve crates say about the uncompressed point (x, y).
    fn crate_accepts(curve: Curve, x: &[u8], y: &[u8]) -> bool {
        let mut point = vec![4u8];
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        match curve {
            Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).is_ok(),
            Curve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).is_ok(),
            Curve::P256 | Curve::Secp256k1 => unreachable!(),
        }
    }

    fn random_point(curve: Curve) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (point, d) = match curve {
            Curve::P384 => {
                let k = p384::ecdsa::SigningKey::random(&mut OsRng);
                let point = k
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec();
                (point, k.to_bytes().to_vec())
            }
            Curve::P521 => {
                let k = p521::ecdsa::SigningKey::random(&mut OsRng);
                let point = p521::ecdsa::VerifyingKey::from(&k)
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec();
                (point, k.to_bytes().to_vec())
            }
            Curve::P256 | Curve::Secp256k1 => unreachable!(),
        };
        let len = curve.coordinate_len();
        (point[1..=len].to_vec(), point[1 + len..].to_vec(), d)
    }

    /// Adds `v` to a big-endian number in place (wrapping at its width).
    fn add(bytes: &mut [u8], v: u8) {
        let mut carry = u16::from(v);
        for byte in bytes.iter_mut().rev() {
            let sum = u16::from(*byte) + carry;
            *byte = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
    }

    fn check(curve: Curve, x: &[u8], y: &[u8]) {
        assert_eq!(
            on_weierstrass_curve(curve, x, y),
            Some(crate_accepts(curve, x, y)),
            "{curve:?} x={x:02x?} y={y:02x?}"
        );
    }

    #[test]
    fn agrees_with_the_curve_crates() {
        for curve in [Curve::P384, Curve::P521] {
            let len = curve.coordinate_len();
            let p = match curve {
                Curve::P384 => P384_P.to_be_bytes().to_vec(),
                _ => P521_P.to_be_bytes()[72 - len..].to_vec(),
            };
            for _ in 0..64 {
                let (x, y, d) = random_point(curve);
                assert_eq!(on_weierstrass_curve(curve, &x, &y), Some(true));
                assert_eq!(scalar_in_range(curve, &d), Some(true));
                check(curve, &x, &y);
                // Perturbed: almost never on the curve; whatever it is, both must say the same.
                for delta in [1u8, 2, 255] {
                    let mut y2 = y.clone();
                    add(&mut y2, delta);
                    check(curve, &x, &y2);
                    let mut x2 = x.clone();
                    add(&mut x2, delta);
                    check(curve, &x2, &y);
                }
                // The negated point (x, p − y) is on the curve; (x, 2p − y) would be the same residue.
                let mut random = vec![0u8; len];
                OsRng.fill_bytes(&mut random);
                check(curve, &random, &y);
                check(curve, &x, &random);
            }
            // Coordinates ≥ p: refused even where the residue would be on the curve.
            let (x, y, _) = random_point(curve);
            check(curve, &p, &y);
            check(curve, &x, &p);
            let mut over = p.clone();
            add(&mut over, 1);
            check(curve, &over, &y);
            // Zero, all ones, and the wrong lengths.
            check(curve, &vec![0; len], &vec![0; len]);
            check(curve, &vec![0xff; len], &vec![0xff; len]);
            assert_eq!(on_weierstrass_curve(curve, &x[1..], &y), Some(false));
        }
    }

    #[test]
    fn scalars_in_range() {
        for (curve, n) in [
            (Curve::P384, P384_N.to_be_bytes().to_vec()),
            (Curve::P521, P521_N.to_be_bytes()[6..].to_vec()),
        ] {
            let len = curve.coordinate_len();
            let mut one = vec![0u8; len];
            add(&mut one, 1);
            let mut n_minus_one = n.clone();
            if let Some(last) = n_minus_one.last_mut() {
                *last -= 1;
            }
            assert_eq!(scalar_in_range(curve, &vec![0; len]), Some(false));
            assert_eq!(scalar_in_range(curve, &one), Some(true));
            assert_eq!(scalar_in_range(curve, &n_minus_one), Some(true));
            assert_eq!(scalar_in_range(curve, &n), Some(false));
            assert_eq!(scalar_in_range(curve, &vec![0xff; len]), Some(false));
        }
        assert_eq!(scalar_in_range(Curve::P256, &[1; 32]), None);
    }
}
