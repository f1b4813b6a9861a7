// Generates tests/vectors/keys.json: JWKs that must load or be refused at load, the same in every build of
// the core (with the Rust RSA/P-256/P-384/P-521/Ed25519 backends natively, without them in the Worker and
// the JS package, where crate::curve checks the points). Run: `node tests/vectors/keys_gen.mjs`. Keys are
// random (node:crypto), so a run rewrites the file with new ones; the cases stay the same.
//
// Each case: { name, kind: "public" | "private", jwk, expect } where `expect` is "ok" or the name of the
// core's KeyError variant (`PointNotOnCurve`, `KeyMismatch`, …). A private case that only a build with
// the backend can refuse at load says so in `unchecked_without_backend: true`: without the backend the
// key loads (its pairing unchecked) and its first WebCrypto signature must fail instead.
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const b64 = (bytes) => Buffer.from(bytes).toString("base64url");
const unb64 = (text) => Buffer.from(text, "base64url");
const toBig = (text) => BigInt(`0x${unb64(text).toString("hex") || "0"}`);
const fromBig = (value, len) => {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, "hex");
  return len === undefined ? bytes : Buffer.concat([Buffer.alloc(Math.max(0, len - bytes.length)), bytes]);
};

// SEC 2 §2.4.2 (P-256), §2.5.1 (P-384), §2.6.1 (P-521): the field primes and group orders.
const CURVES = {
  "P-256": {
    len: 32,
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  "P-384": {
    len: 48,
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  "P-521": {
    len: 66,
    p: 2n ** 521n - 1n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
};

const ecPrivate = (crv) => generateKeyPairSync("ec", { namedCurve: crv }).privateKey.export({ format: "jwk" });
const publicOf = (jwk) => Object.fromEntries(Object.entries(jwk).filter(([m]) => !["d", "p", "q", "dp", "dq", "qi"].includes(m)));

const cases = [];
const add = (name, kind, jwk, expect, extra = {}) => cases.push({ name, kind, jwk, expect, ...extra });

for (const [crv, { len, p, n }] of Object.entries(CURVES)) {
  const priv = ecPrivate(crv);
  const pub = publicOf(priv);
  const y = toBig(pub.y);
  add(`${crv}: a generated public key`, "public", pub, "ok");
  add(`${crv}: the negated point (x, p − y)`, "public", { ...pub, y: b64(fromBig(p - y, len)) }, "ok");
  add(`${crv}: y + 1 (off the curve)`, "public", { ...pub, y: b64(fromBig((y + 1n) % p, len)) }, "PointNotOnCurve");
  add(`${crv}: y + p (the same residue, not a field element)`, "public", { ...pub, y: b64(fromBig(y + p, len)) }, y + p < 2n ** BigInt(8 * len) ? "PointNotOnCurve" : "CoordinateLength");
  add(`${crv}: x = p`, "public", { ...pub, x: b64(fromBig(p, len)) }, "PointNotOnCurve");
  add(`${crv}: (0, 0)`, "public", { ...pub, x: b64(fromBig(0n, len)), y: b64(fromBig(0n, len)) }, "PointNotOnCurve");
  add(`${crv}: x one byte short`, "public", { ...pub, x: b64(unb64(pub.x).subarray(1)) }, "CoordinateLength");
  add(`${crv}: a public key with d`, "public", priv, "PrivateMaterial");
  add(`${crv}: a generated private key`, "private", priv, "ok");
  const other = ecPrivate(crv);
  add(`${crv}: d of another key`, "private", { ...priv, d: other.d }, "KeyMismatch", { unchecked_without_backend: true });
  add(`${crv}: d = 0`, "private", { ...priv, d: b64(fromBig(0n, len)) }, "KeyMismatch");
  add(`${crv}: d = n`, "private", { ...priv, d: b64(fromBig(n, len)) }, "KeyMismatch");
  add(`${crv}: the private key's point off the curve`, "private", { ...priv, y: b64(fromBig((y + 1n) % p, len)) }, "PointNotOnCurve");
}

// RSA (RFC 7518 §6.3): the modulus size, the exponent, parity; private members that do not match.
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 }).privateKey.export({ format: "jwk" });
const rsaPub = publicOf(rsa);
const N = toBig(rsa.n);
add("RSA: a generated 2048-bit public key", "public", rsaPub, "ok");
add("RSA: n with a leading zero byte (the same key)", "public", { ...rsaPub, n: b64(Buffer.concat([Buffer.alloc(1), unb64(rsa.n)])) }, "ok");
add("RSA: e = 3", "public", { ...rsaPub, e: b64(fromBig(3n)) }, "ok");
add("RSA: e = 1", "public", { ...rsaPub, e: b64(fromBig(1n)) }, "RsaBadExponent");
add("RSA: e even", "public", { ...rsaPub, e: b64(fromBig(65536n)) }, "RsaBadExponent");
add("RSA: e of 33 bits", "public", { ...rsaPub, e: b64(fromBig(2n ** 32n + 1n)) }, "RsaBadExponent");
add("RSA: e empty", "public", { ...rsaPub, e: "" }, "RsaBadExponent");
add("RSA: n even", "public", { ...rsaPub, n: b64(fromBig(N - 1n)) }, "RsaInvalid");
add("RSA: n of 2047 bits", "public", { ...rsaPub, n: b64(fromBig(N >> 1n | 1n)) }, "RsaModulusTooSmall");
add("RSA: n of 8200 bits", "public", { ...rsaPub, n: b64(Buffer.concat([Buffer.from([1]), Buffer.alloc(1024, 0xff)])) }, "RsaModulusTooLarge");
add("RSA: a public key with p", "public", { ...rsaPub, p: rsa.p }, "PrivateMaterial");
add("RSA: a generated private key", "private", rsa, "ok");
const rsaOther = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
add("RSA: d, p, q, dp, dq, qi of another key", "private", { ...rsa, d: rsaOther.d, p: rsaOther.p, q: rsaOther.q, dp: rsaOther.dp, dq: rsaOther.dq, qi: rsaOther.qi }, "KeyMismatch", { unchecked_without_backend: true });
add("RSA: multi-prime (oth)", "private", { ...rsa, oth: [] }, "MultiPrimeRsa");

// Ed25519 (RFC 8032 §5.1.3): small-order points are refused; a generated key loads.
const ed = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
add("Ed25519: a generated public key", "public", publicOf(ed), "ok");
add("Ed25519: the identity (order 1)", "public", { kty: "OKP", crv: "Ed25519", x: b64(Buffer.from("0100000000000000000000000000000000000000000000000000000000000000", "hex")) }, "WeakEd25519");
add("Ed25519: a point of order 8", "public", { kty: "OKP", crv: "Ed25519", x: b64(Buffer.from("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", "hex")) }, "WeakEd25519");
// Encodings of no point: x² = (y² − 1)/(d·y² + 1) has no root mod p (checked with Python's pow for
// Euler's criterion). y = 2 is a one-limb number, y = 2²⁵⁴ (little-endian: …40) uses the top limb.
add("Ed25519: y = 2 decodes to no point", "public", { kty: "OKP", crv: "Ed25519", x: b64(Buffer.from("0200000000000000000000000000000000000000000000000000000000000000", "hex")) }, "WeakEd25519");
add("Ed25519: y = 2^254 decodes to no point", "public", { kty: "OKP", crv: "Ed25519", x: b64(Buffer.from("0000000000000000000000000000000000000000000000000000000000000040", "hex")) }, "WeakEd25519");
add("Ed25519: a private key", "private", ed, "ok");
add("Ed25519: d of another key", "private", { ...ed, d: generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }).d }, "KeyMismatch", { unchecked_without_backend: true });

const out = {
  about: "JWKs that load or are refused at load, the same with and without the core's Rust RSA/P-256/P-384/P-521/Ed25519 backends. Generated by `node tests/vectors/keys_gen.mjs` (random keys from node:crypto; the cases are fixed). TEST ONLY keys.",
  count: cases.length,
  cases,
};
const file = join(dirname(fileURLToPath(import.meta.url)), "keys.json");
writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
console.log(`${file}: ${cases.length} cases`);
