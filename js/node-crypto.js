// Public-key signature verification with `node:crypto` for the package's Node entry (index.js), in the
// shape of `SubtleCrypto` that the Rust side calls (crates/webcrypto: `importKey`, `verify`, and the
// rest passed on to `crypto.subtle` unchanged). Node's WebCrypto runs each `verify` as a job on the
// libuv thread pool, which costs more than an RSA or Ed25519 verification itself; `node:crypto`'s
// `verify` is synchronous (it is what `jose` uses in Node). Same answers: the key was already checked
// by the Rust core before it is imported (curve points, RSA sizes), the algorithm is pinned by the
// verifier, and anything unexpected here rejects, which the Rust side counts as "does not verify".
import { constants, createPublicKey, verify } from "node:crypto";

const HASHES = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };
// WebCrypto curve names → what Node reports for an EC key.
const CURVES = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1" };

/// A public key imported here: the Node `KeyObject` and the import algorithm (RSA's hash is bound at
/// import, as in WebCrypto).
class NodeKey {
  constructor(key, algorithm) {
    this.key = key;
    this.algorithm = algorithm;
  }
}

const nameOf = (algorithm) => (typeof algorithm === "string" ? algorithm : algorithm?.name);
const hashOf = (hash) => HASHES[typeof hash === "string" ? hash : hash?.name];

/// The key as Node reads it, checked against the import algorithm as WebCrypto would; `null`: not one
/// this file handles (passed on to `crypto.subtle`).
function importPublic(jwk, algorithm) {
  const name = nameOf(algorithm);
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const type = key.asymmetricKeyType;
  switch (name) {
    case "RSASSA-PKCS1-v1_5":
    case "RSA-PSS":
      if (type !== "rsa" || !hashOf(algorithm.hash)) throw new TypeError(`not an ${name} key`);
      return new NodeKey(key, { name, hash: hashOf(algorithm.hash) });
    case "ECDSA":
      if (type !== "ec" || key.asymmetricKeyDetails?.namedCurve !== CURVES[algorithm.namedCurve]) {
        throw new TypeError(`not an ECDSA ${algorithm.namedCurve} key`);
      }
      return new NodeKey(key, { name });
    case "Ed25519":
      if (type !== "ed25519") throw new TypeError("not an Ed25519 key");
      return new NodeKey(key, { name });
    default:
      return null;
  }
}

function verifyWith(key, operation, signature, data) {
  switch (key.algorithm.name) {
    case "RSASSA-PKCS1-v1_5":
      return verify(key.algorithm.hash, data, key.key, signature);
    case "RSA-PSS":
      return verify(key.algorithm.hash, data, {
        key: key.key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: operation.saltLength,
      }, signature);
    case "ECDSA": {
      const hash = hashOf(operation.hash);
      if (!hash) throw new TypeError("ECDSA without a hash");
      return verify(hash, data, { key: key.key, dsaEncoding: "ieee-p1363" }, signature);
    }
    case "Ed25519":
      return verify(null, data, key.key, signature);
    default:
      throw new TypeError("unknown key");
  }
}

/// The object handed to the Rust side (`useSubtle`): `subtle` with public-key verification done by
/// `node:crypto`.
export function nodeSubtle(subtle) {
  return {
    importKey(format, keyData, algorithm, extractable, usages) {
      if (format === "jwk" && usages.length === 1 && usages[0] === "verify") {
        try {
          const key = importPublic(keyData, algorithm);
          if (key) return Promise.resolve(key);
        } catch (error) {
          return Promise.reject(error);
        }
      }
      return subtle.importKey(format, keyData, algorithm, extractable, usages);
    },
    verify(algorithm, key, signature, data) {
      if (!(key instanceof NodeKey)) return subtle.verify(algorithm, key, signature, data);
      try {
        if (nameOf(algorithm) !== key.algorithm.name) throw new TypeError("algorithm does not match the key");
        return Promise.resolve(verifyWith(key, algorithm, signature, data));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    sign: (...args) => subtle.sign(...args),
    generateKey: (...args) => subtle.generateKey(...args),
    exportKey: (...args) => subtle.exportKey(...args),
    digest: (...args) => subtle.digest(...args),
  };
}
