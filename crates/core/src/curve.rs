//! Point validation for P-256, P-384, P-521 and Ed25519 without their signature backends.
//!
//! A build without the `p256`, `p384`, `p521` or `ed25519` feature (the Worker and the JS package, which
//! verify and sign those algorithms through WebCrypto) still refuses, at load time, every public key
//! those crates refuse:
//! - NIST curves: a coordinate that is not a field element (≥ p) or a point that is not on the curve.
//!   All three are short Weierstrass curves with a = −3 (FIPS 186-5, SEC 2), so the check is
//!   `y² ≡ x³ − 3x + b (mod p)`.
//! - Ed25519 (RFC 8032 §5.1.3): an encoding that does not decode to a point, or a point of small order
//!   (what `ed25519-dalek`'s `VerifyingKey::from_bytes` and `is_weak` refuse).
//!
//! The arithmetic is `crypto-bigint`'s Montgomery form, and for Ed25519's square test a binary Jacobi
//! symbol. Only public data goes in, so nothing here needs to run in constant time (the private-scalar
//! range check does). The tests below compare it with the `p256`, `p384`, `p521` and `ed25519-dalek`
//! crates on valid, perturbed, random and out-of-range points.

use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::subtle::{ConstantTimeEq, ConstantTimeLess};
use crypto_bigint::{Encoding, Uint, U256, U384, U576};

use zeroize::Zeroizing;

use crate::alg::Curve;

/// P-256: p = 2²⁵⁶ − 2²²⁴ + 2¹⁹² + 2⁹⁶ − 1, b and n (SEC 2 §2.4.2).
const P256_P: U256 =
    U256::from_be_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
const P256_B: U256 =
    U256::from_be_hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
const P256_N: U256 =
    U256::from_be_hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const P256_FIELD: DynResidueParams<{ U256::LIMBS }> = DynResidueParams::new(&P256_P);

/// Ed25519's field, p = 2²⁵⁵ − 19, and the curve constant d = −121665/121666 (RFC 8032 §5.1).
const ED25519_P: U256 =
    U256::from_be_hex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed");
const ED25519_D: U256 =
    U256::from_be_hex("52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3");
const ED25519_FIELD: DynResidueParams<{ U256::LIMBS }> = DynResidueParams::new(&ED25519_P);
/// The y-coordinates of the points of order 1, 2, 4 and 8 (x is ± anything on the curve with that y):
/// 1, p − 1, 0, and ±y₈ with y₈² = −x₈² (the points that double to order 4).
const ED25519_SMALL_ORDER_Y: [U256; 5] = [
    U256::ONE,
    U256::from_be_hex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffec"),
    U256::ZERO,
    U256::from_be_hex("05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826"),
    U256::from_be_hex("7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7"),
];

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
    if curve != Curve::Secp256k1 && (x.len() != len || y.len() != len) {
        return Some(false);
    }
    match curve {
        Curve::P256 => Some(on_curve(&P256_FIELD, &P256_B, x, y)),
        Curve::P384 => Some(on_curve(&P384_FIELD, &P384_B, x, y)),
        Curve::P521 => Some(on_curve(&P521_FIELD, &P521_B, x, y)),
        Curve::Secp256k1 => None,
    }
}

/// Whether a 32-byte Ed25519 public key decodes to a point (RFC 8032 §5.1.3: y from the low 255 bits,
/// read modulo p as `ed25519-dalek` does, and x² = (y² − 1)/(d·y² + 1) a square) of more than small
/// order. The sign bit only chooses between x and −x, which have the same order.
pub(crate) fn ed25519_public_ok(encoded: &[u8; 32]) -> bool {
    let mut be = *encoded;
    be.reverse();
    if let Some(top) = be.first_mut() {
        *top &= 0x7f;
    }
    let y = U256::from_be_slice(&be);
    let residue = |v: &U256| DynResidue::new(v, ED25519_FIELD);
    let y = residue(&y);
    let canonical_y = y.retrieve();
    if ED25519_SMALL_ORDER_Y.contains(&canonical_y) {
        return false;
    }
    let one = residue(&U256::ONE);
    let y2 = y.square();
    let u = y2 - one;
    let v = residue(&ED25519_D) * y2 + one;
    // v ≠ 0 for every y (−1/d is not a square), so u/v is a square exactly when u·v is a square (or
    // zero). The Jacobi symbol answers that with shifts and subtractions rather than Euler's
    // criterion's 254 Montgomery squarings, which a Worker runs on its first request in code V8 has
    // not optimized yet.
    jacobi(limbs(&(u * v).retrieve()), ED25519_P_LIMBS) != -1
}

/// 2²⁵⁵ − 19 as [`Limbs`] (a test checks it against [`ED25519_P`]).
const ED25519_P_LIMBS: Limbs = [
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];

/// A 256-bit number as four 64-bit limbs, least significant first.
type Limbs = [u64; 4];

fn limbs(value: &U256) -> Limbs {
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().zip(value.to_be_bytes().rchunks_exact(8)) {
        if let Ok(bytes) = <[u8; 8]>::try_from(chunk) {
            *limb = u64::from_be_bytes(bytes);
        }
    }
    out
}

/// The Jacobi symbol (a | n) for an odd n (for a prime n, the Legendre symbol: 1 for a non-zero square
/// mod n, −1 for a non-square, 0 for a multiple of n), by the binary algorithm: factors of two leave by
/// (2 | n), the rest by quadratic reciprocity and (a | n) = (a − n | n). Variable time: public data
/// only. An even n answers 0 (the symbol is not defined; the loop would not end for n = 0).
///
/// Each round after the first removes at least one bit from a or n, so 256-bit numbers take at most
/// 513 rounds; the loop stops at [`JACOBI_ROUNDS`] regardless and answers −1 (for the Ed25519 check:
/// refused), so that a mistake here could refuse a key but never hang the isolate on one.
fn jacobi(mut a: Limbs, mut n: Limbs) -> i8 {
    if n[0] & 1 == 0 {
        return 0;
    }
    let mut symbol = 1i8;
    let mut rounds = 0;
    while a != [0; 4] {
        rounds += 1;
        if rounds > JACOBI_ROUNDS {
            return -1;
        }
        // (2 | n) = −1 exactly when n ≡ ±3 (mod 8).
        let twos = trailing_zeros(&a);
        shift_right(&mut a, twos);
        if twos % 2 == 1 && matches!(n[0] & 7, 3 | 5) {
            symbol = -symbol;
        }
        // Both odd now. Quadratic reciprocity: (a | n) = (n | a), negated when both are 3 (mod 4).
        if less(&a, &n) {
            std::mem::swap(&mut a, &mut n);
            if a[0] & 3 == 3 && n[0] & 3 == 3 {
                symbol = -symbol;
            }
        }
        // (a | n) = (a − n | n); a − n is even (or zero).
        subtract(&mut a, &n);
    }
    // a reached 0 with n = gcd: the symbol is 0 unless they were coprime.
    if n == [1, 0, 0, 0] {
        symbol
    } else {
        0
    }
}

/// Above the 513 rounds two 256-bit numbers can take.
const JACOBI_ROUNDS: u32 = 600;

fn trailing_zeros(a: &Limbs) -> u32 {
    let mut zeros = 0;
    for limb in a {
        if *limb != 0 {
            return zeros + limb.trailing_zeros();
        }
        zeros += 64;
    }
    zeros
}

/// a >>= bits, for bits < 256.
fn shift_right(a: &mut Limbs, bits: u32) {
    let words = (bits / 64) as usize;
    let bits = bits % 64;
    let source = *a;
    for (i, limb) in a.iter_mut().enumerate() {
        let low = source.get(i + words).copied().unwrap_or(0);
        let high = source.get(i + words + 1).copied().unwrap_or(0);
        *limb = if bits == 0 {
            low
        } else {
            (low >> bits) | (high << (64 - bits))
        };
    }
}

fn less(a: &Limbs, b: &Limbs) -> bool {
    a.iter().rev().cmp(b.iter().rev()) == std::cmp::Ordering::Less
}

/// a −= b, for a ≥ b.
fn subtract(a: &mut Limbs, b: &Limbs) {
    let mut borrow = false;
    for (x, y) in a.iter_mut().zip(b) {
        let (difference, under) = x.overflowing_sub(*y);
        let (difference, under_again) = difference.overflowing_sub(u64::from(borrow));
        *x = difference;
        borrow = under || under_again;
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
        Curve::P256 => Some(in_range(&P256_N, d)),
        Curve::P384 => Some(in_range(&P384_N, d)),
        Curve::P521 => Some(in_range(&P521_N, d)),
        Curve::Secp256k1 => None,
    }
}

fn in_range<const LIMBS: usize>(n: &Uint<LIMBS>, d: &[u8]) -> bool {
    let Some(d) = read::<LIMBS>(d) else {
        return false;
    };
    bool::from(!d.ct_eq(&Uint::ZERO) & d.ct_lt(n))
}

#[cfg(all(
    test,
    feature = "p256",
    feature = "p384",
    feature = "p521",
    feature = "ed25519"
))]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use rand_core::{OsRng, RngCore};

    use super::*;

    /// What the curve crates say about the uncompressed point (x, y).
    fn crate_accepts(curve: Curve, x: &[u8], y: &[u8]) -> bool {
        let mut point = vec![4u8];
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        match curve {
            Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).is_ok(),
            Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).is_ok(),
            Curve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).is_ok(),
            Curve::Secp256k1 => unreachable!(),
        }
    }

    fn random_point(curve: Curve) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (point, d) = match curve {
            Curve::P256 => {
                let k = p256::ecdsa::SigningKey::random(&mut OsRng);
                let point = k
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec();
                (point, k.to_bytes().to_vec())
            }
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
            Curve::Secp256k1 => unreachable!(),
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
        for curve in [Curve::P256, Curve::P384, Curve::P521] {
            let len = curve.coordinate_len();
            let p = match curve {
                Curve::P256 => P256_P.to_be_bytes().to_vec(),
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
            (Curve::P256, P256_N.to_be_bytes().to_vec()),
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
        assert_eq!(scalar_in_range(Curve::Secp256k1, &[1; 32]), None);
    }

    /// What `ed25519-dalek` says: decodes, and is not of small order.
    fn dalek_accepts(x: &[u8; 32]) -> bool {
        ed25519_dalek::VerifyingKey::from_bytes(x).is_ok_and(|k| !k.is_weak())
    }

    /// The Legendre symbol of a small `a` mod a small prime `p`, by Euler's criterion.
    fn legendre(a: u64, p: u64) -> i8 {
        let (mut base, mut exponent, mut result) = (a % p, (p - 1) / 2, 1u64);
        while exponent > 0 {
            if exponent & 1 == 1 {
                result = result * base % p;
            }
            base = base * base % p;
            exponent >>= 1;
        }
        match result {
            0 => 0,
            1 => 1,
            _ => -1,
        }
    }

    fn small(v: u64) -> Limbs {
        [v, 0, 0, 0]
    }

    /// Against the definition: the product of the Legendre symbols over n's prime factors.
    #[test]
    fn jacobi_of_small_numbers_is_the_product_of_legendre_symbols() {
        for n in (1..400u64).step_by(2) {
            let mut factors = Vec::new();
            let (mut rest, mut f) = (n, 3);
            while rest > 1 {
                while rest % f == 0 {
                    factors.push(f);
                    rest /= f;
                }
                f += 2;
            }
            for a in 0..3 * n {
                let expected = factors.iter().map(|&p| legendre(a, p)).product::<i8>();
                assert_eq!(jacobi(small(a), small(n)), expected, "({a} | {n})");
            }
        }
        assert_eq!(jacobi(small(3), small(0)), 0);
        assert_eq!(jacobi(small(3), small(10)), 0);
    }

    /// Powers of two cross every limb boundary (a random value almost never has 64 trailing zeros):
    /// p ≡ 5 (mod 8), so (2 | p) = −1, and (3 | p) = (p | 3) = 1, so (2ᵏ | p) = (3·2ᵏ | p) = (−1)ᵏ.
    #[test]
    fn jacobi_of_powers_of_two_across_the_limbs() {
        assert_eq!(limbs(&ED25519_P), ED25519_P_LIMBS);
        for k in 0..255u32 {
            let expected = if k % 2 == 0 { 1 } else { -1 };
            let two_k = U256::ONE.shl_vartime(k as usize);
            assert_eq!(jacobi(limbs(&two_k), ED25519_P_LIMBS), expected, "2^{k}");
            if k < 253 {
                let three_two_k = two_k.wrapping_mul(&U256::from_u8(3));
                assert_eq!(
                    jacobi(limbs(&three_two_k), ED25519_P_LIMBS),
                    expected,
                    "3·2^{k}"
                );
            }
        }
    }

    #[test]
    fn shift_right_matches_crypto_bigint() {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let value = U256::from_be_slice(&bytes);
        for bits in [0u32, 1, 63, 64, 65, 127, 128, 191, 192, 255] {
            let mut shifted = limbs(&value);
            shift_right(&mut shifted, bits);
            assert_eq!(shifted, limbs(&value.shr_vartime(bits as usize)), "{bits}");
        }
    }

    /// Against Euler's criterion (what this check computed before) in Ed25519's field, on random
    /// values, their squares (always 1), and 0, 1, p − 1 (−1 is a square: p ≡ 1 mod 4).
    #[test]
    fn jacobi_agrees_with_eulers_criterion_mod_the_ed25519_prime() {
        let half =
            U256::from_be_hex("3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff6");
        let euler = |a: &U256| {
            let r = DynResidue::new(a, ED25519_FIELD).pow(&half).retrieve();
            if r == U256::ZERO {
                0
            } else if r == U256::ONE {
                1
            } else {
                assert_eq!(r, ED25519_P.wrapping_sub(&U256::ONE));
                -1
            }
        };
        let mut seen = [0usize; 3];
        let mut check = |a: U256| {
            let expected = euler(&a);
            assert_eq!(jacobi(limbs(&a), ED25519_P_LIMBS), expected, "a={a}");
            seen[usize::try_from(expected + 1).unwrap()] += 1;
        };
        check(U256::ZERO);
        check(U256::ONE);
        check(ED25519_P.wrapping_sub(&U256::ONE));
        for _ in 0..2000 {
            let mut bytes = [0u8; 32];
            OsRng.fill_bytes(&mut bytes);
            bytes[0] &= 0x7f;
            let a = U256::from_be_slice(&bytes);
            let a = DynResidue::new(&a, ED25519_FIELD);
            check(a.retrieve());
            check(a.square().retrieve());
        }
        assert!(
            seen[0] > 500 && seen[2] > 2000,
            "non-squares {}, squares {}",
            seen[0],
            seen[2]
        );
    }

    #[test]
    fn ed25519_agrees_with_dalek() {
        let mut checked = 0;
        let mut check = |x: [u8; 32]| {
            assert_eq!(ed25519_public_ok(&x), dalek_accepts(&x), "x={x:02x?}");
            checked += 1;
        };
        // The small-order encodings (libsodium's blocklist, canonical and not) with both sign bits, and
        // y = p + k (non-canonical encodings of small y).
        let small: [&str; 7] = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        for hex in small {
            let mut x = [0u8; 32];
            for (i, byte) in x.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
            }
            check(x);
            x[31] ^= 0x80;
            check(x);
        }
        // Generated keys (valid), and random encodings (about half decode).
        for _ in 0..1000 {
            let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
            check(key.verifying_key().to_bytes());
            let mut x = [0u8; 32];
            OsRng.fill_bytes(&mut x);
            check(x);
            // Every y ≥ p (2²⁵⁵ − 19 … 2²⁵⁵ − 1) is a non-canonical encoding of y − p.
            let mut high = [0xffu8; 32];
            high[31] = 0x7f;
            high[0] = 0xed + (x[0] % 19);
            check(high);
        }
        assert!(checked > 3000);
    }
}
