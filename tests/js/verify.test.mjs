// createVerifier / verifier.verify and verifySignature against the shared tables (issue 10, "Proof"):
// every case of tests/vectors/attacks.json gives exactly its code, every RFC vector's signature verifies
// and gives its payload bytes. Each runner counts what it ran and asserts the count: nothing is skipped.
import { assert } from "./harness.mjs";
import { ATTACK_CASES, RFC_VECTORS, fromB64url, headerOf, outcome, outcomeProblem, payloadOf, refusalProblem } from "./common.mjs";

export async function register(test, ctx) {
  const pkg = ctx.pkg;
  const attacks = await ctx.readJson("tests/vectors/attacks.json");
  const rfc = await ctx.readJson("crates/core/tests/vectors/rfc.json");

  test(`attacks.json: all ${ATTACK_CASES} cases through createVerifier give their exact code`, async (t) => {
    const verifier = await pkg.createVerifier(attacks.config, { secrets: attacks.secrets });
    const problems = [];
    let ran = 0;
    for (const c of attacks.cases) {
      const result = await outcome(() => verifier.verify(c.token, { now: c.now }));
      const problem = outcomeProblem(pkg, result, c.expected, c.token);
      if (problem) problems.push(`${c.name}: ${problem}`);
      else if (c.expected === "ok") {
        const shape = verifiedShapeProblem(result.value, c.token);
        if (shape) problems.push(`${c.name}: ${shape}`);
      }
      ran += 1;
    }
    t.log(`${ran} attack cases run`);
    assert.noProblems(problems, "attack cases that disagree with the core");
    assert.equal(ran, ATTACK_CASES, "cases run");
  }, { smoke: true });

  test("attacks.json: a second pass gives the same answers (repeated tokens, caches included)", async () => {
    const verifier = await pkg.createVerifier(attacks.config, { secrets: attacks.secrets });
    const problems = [];
    for (const round of [1, 2]) {
      for (const c of attacks.cases) {
        const result = await outcome(() => verifier.verify(c.token, { now: c.now }));
        const problem = outcomeProblem(pkg, result, c.expected, c.token);
        if (problem) problems.push(`round ${round}, ${c.name}: ${problem}`);
      }
    }
    assert.noProblems(problems);
  });

  test("verify: a token verified at one time is still refused once expired (no cache outlives exp)", async () => {
    const verifier = await pkg.createVerifier(attacks.config, { secrets: attacks.secrets });
    const c = attacks.cases.find((x) => x.name === "time: at exp");
    assert.equal((await outcome(() => verifier.verify(c.token, { now: c.now }))).code, "ok");
    const late = await outcome(() => verifier.verify(c.token, { now: c.now + 3600 }));
    assert.equal(refusalProblem(pkg, late.error, "token_expired", c.token), null, `late: ${late.code}`);
  });

  test(`RFC vectors: all ${RFC_VECTORS} through verifySignature give their payload bytes`, async (t) => {
    const problems = [];
    let ran = 0;
    for (const v of rfc) {
      const expected = fromB64url(v.payload_b64);
      const result = await outcome(() => pkg.verifySignature(v.token, v.jwk, { algorithm: v.alg }));
      if (result.code !== "ok") problems.push(`${v.name}: ${result.code}`);
      else if (!(result.value instanceof Uint8Array)) problems.push(`${v.name}: not a Uint8Array: ${Object.prototype.toString.call(result.value)}`);
      else if (result.value.length !== expected.length || !result.value.every((b, i) => b === expected[i])) problems.push(`${v.name}: payload bytes differ`);
      ran += 1;
    }
    t.log(`${ran} RFC vectors verified, ${rfc.filter((v) => !v.jwt).length} of them with non-JSON payloads`);
    assert.noProblems(problems);
    assert.equal(ran, RFC_VECTORS);
  }, { smoke: true });

  test("RFC vectors: verifySignature without `algorithm` uses the key's own alg or its only one", async () => {
    // EC and Ed25519 keys serve one algorithm, and 7520 §4.4's key declares `alg`: no option needed.
    const single = rfc.filter((v) => v.jwk.kty === "EC" || v.jwk.kty === "OKP" || v.jwk.alg);
    const problems = [];
    for (const v of single) {
      const result = await outcome(() => pkg.verifySignature(v.token, v.jwk));
      if (result.code !== "ok") problems.push(`${v.name}: ${result.code}`);
    }
    assert.noProblems(problems);
    assert.equal(single.length, 5, "7515 A.3, A.4, 7520 §4.3, §4.4, 8037 A.4");
  });

  test("RFC vectors: one flipped signature bit is signature_invalid, another algorithm is alg_not_allowed", async () => {
    const problems = [];
    for (const v of rfc) {
      const [h, p, s] = v.token.split(".");
      const sig = fromB64url(s);
      sig[Math.floor(sig.length / 2)] ^= 0x01;
      const flipped = `${h}.${p}.${b64(sig)}`;
      const bad = await outcome(() => pkg.verifySignature(flipped, v.jwk, { algorithm: v.alg }));
      const problem = bad.code === "ok" ? "flipped bit accepted" : refusalProblem(pkg, bad.error, "signature_invalid", flipped);
      if (problem) problems.push(`${v.name}: ${problem}`);
    }
    // A verifier pinned to another algorithm the key could serve (crates/core/tests/rfc_vectors.rs:
    // wrong_algorithm_for_the_vector_key_is_refused): HS256 → HS384, RS256 → RS384, PS384 → RS256.
    const other = { "rfc7515-a1-hs256": "HS384", "rfc7515-a2-rs256": "RS384", "rfc7520-4.1-rs256": "RS384", "rfc7520-4.2-ps384": "RS256" };
    for (const [name, algorithm] of Object.entries(other)) {
      const v = rfc.find((x) => x.name === name);
      const wrong = await outcome(() => pkg.verifySignature(v.token, v.jwk, { algorithm }));
      const problem = wrong.code === "ok" ? `accepted under ${algorithm}` : refusalProblem(pkg, wrong.error, "alg_not_allowed", v.token);
      if (problem) problems.push(`${name} pinned to ${algorithm}: ${problem}`);
    }
    assert.noProblems(problems);
  });

  test("RFC vectors: the JWTs through createVerifier (the EDGE_AUTH schema names audiences; these carry none)", async (t) => {
    // Same expectations as crates/core/tests/attack_vectors.rs rfc_jwt_vectors_through_the_issuer_schema:
    // 7515 A.2 and A.3 verify their signature, then lack `aud`: audience_mismatch; a flipped bit is
    // signature_invalid. A.1's HMAC key is binary, so it cannot be a secret named by `hmac_secret`. Their
    // claims themselves are checked through verifySignature's payload.
    const problems = [];
    let ran = 0, notExpressible = 0;
    for (const v of rfc.filter((x) => x.jwt)) {
      if (v.jwk.kty === "oct") {
        notExpressible += 1;
        continue;
      }
      const claims = JSON.parse(new TextDecoder().decode(fromB64url(v.payload_b64)));
      const verifier = await pkg.createVerifier({
        issuers: [{ issuer: claims.iss, audiences: ["https://api.example.com"], algorithms: [v.alg], jwks: { keys: [v.jwk] } }],
      });
      const result = await outcome(() => verifier.verify(v.token, { now: v.now }));
      const problem = result.code === "ok" ? "accepted without aud" : refusalProblem(pkg, result.error, "audience_mismatch", v.token);
      if (problem) problems.push(`${v.name}: ${problem}`);
      const [h, p, s] = v.token.split(".");
      const sig = fromB64url(s);
      sig[0] ^= 1;
      const bad = await outcome(() => verifier.verify(`${h}.${p}.${b64(sig)}`, { now: v.now }));
      if (bad.code !== "signature_invalid") problems.push(`${v.name} flipped: ${bad.code}`);
      const payload = await pkg.verifySignature(v.token, v.jwk, { algorithm: v.alg });
      const parsed = JSON.parse(new TextDecoder().decode(payload));
      if (JSON.stringify(parsed) !== JSON.stringify(claims)) problems.push(`${v.name}: claims differ`);
      ran += 1;
    }
    t.log(`${ran} RFC JWTs through createVerifier, ${notExpressible} not expressible (binary HMAC key)`);
    assert.noProblems(problems);
    assert.deepEqual([ran, notExpressible], [2, 1]);
  });
}

function b64(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/// verifier.verify resolves to { header, claims, issuer, scopes, roles }.
export function verifiedShapeProblem(value, token) {
  if (!value || typeof value !== "object") return `resolved to ${value}`;
  const claims = payloadOf(token);
  const header = headerOf(token);
  if (JSON.stringify(sortKeys(value.claims)) !== JSON.stringify(sortKeys(claims))) return `claims ${JSON.stringify(value.claims)}`;
  if (value.header?.alg !== header.alg) return `header ${JSON.stringify(value.header)}`;
  if (value.issuer !== claims.iss) return `issuer ${value.issuer}`;
  if (!Array.isArray(value.scopes) || !Array.isArray(value.roles)) return `scopes ${value.scopes}, roles ${value.roles}`;
  return null;
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}
