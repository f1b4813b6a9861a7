// The inspector's own parsers, in Node, against independent implementations: the DER walker
// (www/lib/der.js) against Node's X.509 parser on every fixture certificate, and on every truncation and
// corruption of one (a DerError, never another exception); the PEM → JWK conversion (www/lib/keys.js,
// WebCrypto) against Node's JWK export; the TOML reader (www/lib/toml.js) against Python's tomllib on the
// README's configuration, the repository's wrangler.toml and a table of small cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { DerError, readElement, readPem, readSpki, spkiFromCertificate } from "../../www/lib/der.js";
import { KeyInputError, readKeyInput } from "../../www/lib/keys.js";
import { TomlError, parseToml } from "../../www/lib/toml.js";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const NAMES = ["rsa", "p256", "p384", "p521", "secp256k1", "ed25519"];
const read = (file) => readFileSync(new URL(file, FIXTURES), "utf8");

test("der: the SubjectPublicKeyInfo of every fixture certificate is the one Node's X.509 parser finds", () => {
  for (const name of NAMES) {
    const pem = read(`${name}.crt.pem`);
    const { label, der } = readPem(pem);
    assert.equal(label, "CERTIFICATE");
    const expected = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
    assert.deepEqual(Buffer.from(spkiFromCertificate(der)), expected, name);
  }
});

test("der: readSpki names each key's algorithm and curve", () => {
  const expected = {
    rsa: ["1.2.840.113549.1.1.1", null], p256: ["1.2.840.10045.2.1", "1.2.840.10045.3.1.7"],
    p384: ["1.2.840.10045.2.1", "1.3.132.0.34"], p521: ["1.2.840.10045.2.1", "1.3.132.0.35"],
    secp256k1: ["1.2.840.10045.2.1", "1.3.132.0.10"], ed25519: ["1.3.101.112", null],
  };
  for (const name of NAMES) {
    const { algorithmOid, parameterOid } = readSpki(readPem(read(`${name}.pub.pem`)).der);
    assert.deepEqual([algorithmOid, parameterOid], expected[name], name);
  }
});

test("der: every truncation and every length-byte corruption of a certificate is a DerError", () => {
  for (const name of ["p256", "ed25519"]) {
    const { der } = readPem(read(`${name}.crt.pem`));
    let refused = 0;
    for (let n = 0; n < der.length; n++) {
      assert.throws(() => spkiFromCertificate(der.slice(0, n)), DerError, `${name} truncated to ${n}`);
      refused += 1;
    }
    // Each byte set to each of the values that change a length's meaning: either still a certificate whose
    // SPKI is within bounds, or a DerError; never another exception, never an out-of-bounds read.
    for (let i = 0; i < Math.min(der.length, 400); i++) {
      for (const v of [0x00, 0x7f, 0x80, 0x81, 0x84, 0x85, 0xff]) {
        const bad = der.slice();
        bad[i] = v;
        try {
          const spki = spkiFromCertificate(bad);
          assert.ok(spki.length > 0 && spki.length <= bad.length);
        } catch (error) {
          assert.ok(error instanceof DerError, `${name} byte ${i} = ${v}: ${error}`);
        }
      }
    }
    assert.equal(refused, der.length);
  }
});

test("der: DER's rules: no indefinite, over-long, non-minimal or overflowing lengths; no trailing bytes", () => {
  const cases = [
    [[0x30, 0x80, 0x00, 0x00], "indefinite"],
    [[0x30, 0x85, 1, 0, 0, 0, 0], "length too large"],
    [[0x30, 0x81, 0x05, 1, 2, 3, 4, 5], "non-minimal"],
    [[0x30, 0x82, 0xff, 0xff, 0], "longer than its container"],
    [[0x1f, 0x01, 0x00], "high tag"],
    [[0x30], "truncated"],
  ];
  for (const [bytes, why] of cases) {
    assert.throws(() => readElement(Uint8Array.from(bytes), 0), (e) => e instanceof DerError && e.message.includes(why), why);
  }
  const { der } = readPem(read("p256.crt.pem"));
  const padded = new Uint8Array(der.length + 1);
  padded.set(der);
  assert.throws(() => spkiFromCertificate(padded), DerError, "a trailing byte");
  assert.throws(() => readPem("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----"), DerError, "not base64");
  assert.throws(() => readPem("no pem here"), DerError);
});

test("keys: a certificate and a public key read as the JWK Node exports, for every key type", async () => {
  for (const name of NAMES) {
    const expected = createPublicKey(read(`${name}.pub.pem`)).export({ format: "jwk" });
    for (const file of [`${name}.crt.pem`, `${name}.pub.pem`]) {
      const key = await readKeyInput(read(file));
      assert.deepEqual(key.jwks.keys, [expected], file);
      assert.equal(key.kind, file.includes(".crt") ? "certificate" : "PEM public key");
    }
  }
});

test("keys: secrets, JWKs and JWK Sets; private keys and broken input are refused with a reason", async () => {
  const utf8 = await readKeyInput("  a secret  ");
  assert.equal(utf8.secret.text, "a secret", "surrounding whitespace is ignored");
  const raw = await readKeyInput("_-8", "base64url");
  assert.deepEqual([...raw.secret.bytes], [0xff, 0xef]);
  assert.equal(raw.secret.text, null, "not UTF-8");
  const jwk = await readKeyInput(JSON.stringify({ kty: "EC", crv: "P-256", x: "x", y: "y", d: "secret" }));
  assert.deepEqual(jwk.jwks.keys, [{ kty: "EC", crv: "P-256", x: "x", y: "y" }], "only the public part of a private JWK");
  assert.equal(await readKeyInput("   "), null);
  for (const [input, why] of [
    [read("p256.key.pem"), "private key"],
    [JSON.stringify({ keys: [{ kty: "EC", d: "x" }] }), "private keys"],
    [JSON.stringify({ keys: [{ kty: "oct", k: "AAAA" }] }), "HMAC"],
    ["{not json", "not"],
    [JSON.stringify({ hello: 1 }), "neither"],
    ["-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----", "not supported"],
  ]) {
    await assert.rejects(readKeyInput(input), (e) => e instanceof KeyInputError && e.message.includes(why), why);
  }
  await assert.rejects(readKeyInput("not base64url!", "base64url"), KeyInputError);
});

/// Python's tomllib (3.11+) as the independent TOML reader.
function tomllib(text) {
  return JSON.parse(execFileSync("python3", ["-c", "import json, sys, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))"], { input: text, timeout: 20_000, stdio: ["pipe", "pipe", "ignore"] }));
}

test("toml: the README's configuration and the repository's wrangler.toml read as tomllib reads them", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const block = readme.slice(readme.indexOf("```toml\n[vars]") + "```toml\n".length);
  const toml = block.slice(0, block.indexOf("```"));
  assert.ok(toml.includes("[[vars.EDGE_AUTH.routes]]"), "the README's block");
  assert.deepEqual(parseToml(toml), tomllib(toml), "README");
  const wrangler = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");
  assert.deepEqual(parseToml(wrangler), tomllib(wrangler), "wrangler.toml");
});

test("toml: small cases agree with tomllib; what TOML forbids is refused with its line", () => {
  const good = [
    'a = "x\\u00e9\\n\\"q\\""\nb = \'lit\\eral\'\n',
    "a = 1_000\nb = -3\nc = 1.5e3\nd = true\ne = 0x1F\n",
    'a = """\nline1\nline2"""\nb = \'\'\'\nraw\\n\'\'\'\n',
    "[t]\nx.y = 1\nx.z = [1, [2, 3], { k = \"v\" }]\n",
    "[[arr]]\nn = 1\n[[arr]]\nn = 2\n[arr.sub]\nm = 3\n",
    '"quoted key" = 1\n\'lit key\' = 2\n[ "a b" . c ]\nd = 3\n',
    "a = [\n  1, # one\n  2,\n]\n# end",
  ];
  for (const text of good) assert.deepEqual(parseToml(text), tomllib(text), text);
  const bad = [
    ["a = 1\na = 2", 2], ["[t]\n[t]", 2], ["a = 1979-05-27T07:32:00Z", 1], ["a = bare", 1], ['a = "open', 1],
    ["a = 1\n[a]", 2], ["a = [1, 2", 1], ["a = { b = 1", 1], ["a = 1 b = 2", 1], ['a = "\\q"', 1], ["= 1", 1],
  ];
  for (const [text, line] of bad) {
    assert.throws(() => parseToml(text), (e) => e instanceof TomlError && e.message.startsWith(`line ${line}:`), text);
    // Dates are TOML (tomllib reads them) but never EDGE_AUTH: the page refuses them, saying so.
    if (!text.includes("1979")) assert.throws(() => tomllib(text), undefined, `tomllib accepts ${text}`);
  }
});
