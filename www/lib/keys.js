// The verification key as pasted in #key: an HMAC secret (UTF-8 text or base64url), a JWK, a JWKS, a PEM
// public key (SubjectPublicKeyInfo) or a PEM certificate. Everything becomes a JWK Set; PEM keys go
// through WebCrypto (importKey "spki" → exportKey "jwk"), secp256k1 (which WebCrypto lacks) is read from
// its point. Private material is refused: the page never needs it to verify.
import { DerError, readPem, readSpki, spkiFromCertificate } from "./der.js";

export class KeyInputError extends Error {}

const encoder = new TextEncoder();

export function b64url(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new KeyInputError("not base64url");
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// The public part of a JWK (verification keys only; an `oct` key is a secret and stays as it is).
export function publicJwk(jwk) {
  if (jwk.kty === "oct") return jwk;
  const out = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete out[m];
  delete out.key_ops;
  if (out.use !== undefined && out.use !== "sig") delete out.use;
  return out;
}

const CURVES = {
  "1.2.840.10045.3.1.7": { crv: "P-256", size: 32 },
  "1.3.132.0.34": { crv: "P-384", size: 48 },
  "1.3.132.0.35": { crv: "P-521", size: 66 },
  "1.3.132.0.10": { crv: "secp256k1", size: 32 },
};
const RSA = "1.2.840.113549.1.1.1";
const EC = "1.2.840.10045.2.1";
const ED25519 = "1.3.101.112";

/// A SubjectPublicKeyInfo (DER) as a public JWK.
export async function jwkFromSpki(spki) {
  const { algorithmOid, parameterOid, key } = readSpki(spki);
  const keep = (jwk, members) => Object.fromEntries(members.map((m) => [m, jwk[m]]));
  if (algorithmOid === RSA) {
    const k = await crypto.subtle.importKey("spki", spki, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
    return keep(await crypto.subtle.exportKey("jwk", k), ["kty", "n", "e"]);
  }
  if (algorithmOid === EC) {
    const curve = CURVES[parameterOid];
    if (!curve) throw new KeyInputError(`unsupported elliptic curve (OID ${parameterOid})`);
    if (curve.crv === "secp256k1") {
      if (key.length !== 65 || key[0] !== 4) throw new KeyInputError("secp256k1: only uncompressed points are supported");
      return { kty: "EC", crv: "secp256k1", x: b64url(key.slice(1, 33)), y: b64url(key.slice(33)) };
    }
    const k = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve.crv }, true, ["verify"]);
    return keep(await crypto.subtle.exportKey("jwk", k), ["kty", "crv", "x", "y"]);
  }
  if (algorithmOid === ED25519) {
    const k = await crypto.subtle.importKey("spki", spki, { name: "Ed25519" }, true, ["verify"]);
    return keep(await crypto.subtle.exportKey("jwk", k), ["kty", "crv", "x"]);
  }
  throw new KeyInputError(`unsupported key algorithm (OID ${algorithmOid})`);
}

/// Whether `bytes` are valid UTF-8 (so a Workers secret, which is text, can hold them).
function utf8Text(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/// Reads #key. `encoding` ("utf8" | "base64url") applies to a secret. Resolves to
/// `{ kind, jwks, secret }`: `secret` (`{ bytes, text }`; `text` null when the bytes are not UTF-8) for an
/// HMAC key, else `jwks`, a JWK Set of public keys.
export async function readKeyInput(input, encoding = "utf8") {
  const text = input.trim();
  if (text === "") return null;
  if (text.startsWith("{")) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new KeyInputError(`the key looks like JSON but is not: ${error.message}`);
    }
    if (Array.isArray(value?.keys)) {
      if (value.keys.some((k) => PRIVATE_MEMBERS.some((m) => m in (k ?? {})) && k?.kty !== "oct")) {
        throw new KeyInputError("the JWKS holds private keys: paste the public JWKS");
      }
      if (value.keys.some((k) => k?.kty === "oct")) {
        throw new KeyInputError("the JWKS holds an HMAC (oct) key: paste that one JWK, or its secret");
      }
      return { kind: "JWKS", jwks: value };
    }
    if (typeof value?.kty === "string") {
      if (value.kty === "oct") {
        if (typeof value.k !== "string") throw new KeyInputError("an oct JWK needs `k`");
        const bytes = fromB64url(value.k);
        return { kind: "JWK (oct)", secret: { bytes, text: utf8Text(bytes) }, alg: value.alg };
      }
      // A private JWK works too: only its public part is used.
      return { kind: PRIVATE_MEMBERS.some((m) => m in value) ? "JWK (public part of a private key)" : "JWK", jwks: { keys: [publicJwk(value)] } };
    }
    throw new KeyInputError("JSON, but neither a JWK (`kty`) nor a JWKS (`keys`)");
  }
  if (text.startsWith("-----BEGIN")) {
    try {
      const { label, der } = readPem(text);
      if (label === "CERTIFICATE") return { kind: "certificate", jwks: { keys: [await jwkFromSpki(spkiFromCertificate(der))] } };
      if (label === "PUBLIC KEY") return { kind: "PEM public key", jwks: { keys: [await jwkFromSpki(der)] } };
      if (label.includes("PRIVATE")) throw new KeyInputError("this is a private key: paste the public key or certificate");
      throw new KeyInputError(`PEM "${label}" is not supported: paste a "PUBLIC KEY" (SPKI) or a "CERTIFICATE"`);
    } catch (error) {
      if (error instanceof DerError || error instanceof KeyInputError) throw new KeyInputError(error.message);
      throw new KeyInputError(`WebCrypto refused the key: ${error?.message ?? error}`);
    }
  }
  if (encoding === "base64url") {
    let bytes;
    try {
      bytes = fromB64url(text);
    } catch {
      throw new KeyInputError("the secret is not base64url (choose UTF-8 text, or paste a JWK)");
    }
    return { kind: "HMAC secret (base64url)", secret: { bytes, text: utf8Text(bytes) } };
  }
  return { kind: "HMAC secret (UTF-8)", secret: { bytes: encoder.encode(text), text } };
}

/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
export const HMAC_MIN = { HS256: 32, HS384: 48, HS512: 64 };

/// The algorithms a key can serve, from its own `alg`, else its type (the token never chooses).
export function algorithmsOf(jwks) {
  const out = new Set();
  for (const k of jwks.keys) {
    if (typeof k.alg === "string") out.add(k.alg);
    else if (k.kty === "RSA") ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"].forEach((a) => out.add(a));
    else if (k.kty === "EC") out.add({ "P-256": "ES256", "P-384": "ES384", "P-521": "ES512", secp256k1: "ES256K" }[k.crv] ?? "ES256");
    else if (k.kty === "OKP") out.add("EdDSA");
  }
  return [...out];
}
