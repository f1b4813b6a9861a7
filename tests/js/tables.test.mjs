// The shared tables, checked without the package: they load in this runtime, hold the stated number of
// cases, and an independent implementation (jose) agrees with their signatures — every `ok` case of
// tests/vectors/attacks.json verifies with jose, every `signature_invalid` case does not (ES256K, which
// jose lacks, excepted and counted), and the 9 RFC vectors verify.
import * as jose from "jose";
import { assert } from "./harness.mjs";
import { ATTACK_CASES, POLICY_CASES, RFC_VECTORS, STABLE_CODES, fromB64url, headerOf, payloadOf } from "./common.mjs";

/// The issuer's verification keys for jose: each JWK of its `jwks`, or its HMAC secret.
async function keysOf(issuer, secrets, alg) {
  if (issuer.hmac_secret) return [new TextEncoder().encode(secrets[issuer.hmac_secret])];
  const keys = [];
  for (const jwk of issuer.jwks.keys) {
    try {
      keys.push(await jose.importJWK({ ...jwk, alg: undefined }, alg));
    } catch {
      // A key of another type than `alg` (the kid-less issuers mix Ed25519 and P-256).
    }
  }
  return keys;
}

async function verifiesWithJose(token, keys, alg) {
  for (const key of keys) {
    try {
      await jose.compactVerify(token, key, { algorithms: [alg] });
      return true;
    } catch {
      // try the next key
    }
  }
  return false;
}

export async function register(test, ctx) {
  const attacks = await ctx.readJson("tests/vectors/attacks.json");
  const rfc = await ctx.readJson("crates/core/tests/vectors/rfc.json");
  const policy = await ctx.readJson("tests/policy/cases.json");

  test("tables: attacks.json, rfc.json and the policy table load with their counts", () => {
    assert.equal(attacks.cases.length, ATTACK_CASES, "attack cases");
    assert.equal(attacks.count, ATTACK_CASES, "attacks.json `count`");
    assert.equal(new Set(attacks.cases.map((c) => c.name)).size, ATTACK_CASES, "unique case names");
    const unknown = attacks.cases.filter((c) => c.expected !== "ok" && !STABLE_CODES.includes(c.expected));
    assert.deepEqual(unknown.map((c) => `${c.name}: ${c.expected}`), [], "every expected code is a stable code");
    const algs = new Set(attacks.config.issuers.flatMap((i) => i.algorithms));
    for (const alg of ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA"]) {
      assert.ok(algs.has(alg), `an issuer allows ${alg}`);
    }
    assert.equal(rfc.length, RFC_VECTORS, "RFC vectors");
    assert.equal(policy.cases.length, POLICY_CASES, "policy cases");
  }, { smoke: true });

  test("tables: jose agrees with every ok and signature_invalid case of attacks.json", async (t) => {
    const issuers = new Map(attacks.config.issuers.map((i) => [i.issuer, i]));
    const problems = [];
    let checked = 0, skipped = 0;
    for (const c of attacks.cases) {
      if (c.expected !== "ok" && c.expected !== "signature_invalid") continue;
      const header = headerOf(c.token);
      const alg = header.alg;
      if (alg === "ES256K") {
        skipped += 1;
        continue;
      }
      const issuer = issuers.get(payloadOf(c.token).iss);
      const keys = await keysOf(issuer, attacks.secrets, alg);
      const verifies = await verifiesWithJose(c.token, keys, alg);
      if (verifies !== (c.expected === "ok")) problems.push(`${c.name}: jose ${verifies ? "verifies" : "refuses"} it, expected ${c.expected}`);
      checked += 1;
    }
    t.log(`${checked} cases checked with jose, ${skipped} ES256K cases skipped (jose has no secp256k1)`);
    assert.noProblems(problems, "jose disagrees");
    const expectedChecked = attacks.cases.filter((c) => (c.expected === "ok" || c.expected === "signature_invalid") && !c.name.includes("ES256K")).length;
    assert.equal(checked, expectedChecked, "cases checked");
    assert.equal(skipped, attacks.cases.filter((c) => (c.expected === "ok" || c.expected === "signature_invalid") && c.name.includes("ES256K")).length, "only ES256K is skipped");
  }, { smoke: true });

  test("README: the stable codes in tests/js/common.mjs are the README's list", async () => {
    const readme = await ctx.readText("README.md");
    const paragraph = readme.slice(readme.indexOf("Stable error codes:"), readme.indexOf("## Algorithms"));
    const codes = [...paragraph.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).filter((c) => c.includes("_"));
    assert.deepEqual([...new Set(codes)].sort(), [...STABLE_CODES].sort());
  });

  test("tables: the 9 RFC vectors verify with jose", async () => {
    const problems = [];
    for (const v of rfc) {
      try {
        const key = v.jwk.kty === "oct" ? fromB64url(v.jwk.k) : await jose.importJWK(v.jwk, v.alg);
        const { payload } = await jose.compactVerify(v.token, key, { algorithms: [v.alg] });
        if (!isSame(payload, fromB64url(v.payload_b64))) problems.push(`${v.name}: payload differs`);
      } catch (error) {
        problems.push(`${v.name}: ${error.code ?? error.message}`);
      }
    }
    assert.noProblems(problems, "RFC vectors");
  }, { smoke: true });
}

function isSame(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
