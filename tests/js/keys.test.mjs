// keygen(alg) and mint(privateJwk, claims, header?) for every algorithm, and interop with jose in both
// directions (issue 10, "Proof": "tokens minted by jose verify"). jose has no ES256K: that algorithm is
// checked against the package alone, and counted.
import * as jose from "jose";
import { assert, isDeepEqual } from "./harness.mjs";
import { AUD, b64url, compact, fromB64url, headerOf, outcome, payloadOf } from "./common.mjs";
import { publicOf } from "./errors.test.mjs";

export const ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA"];
const ISS = "https://idp.example/";
const PRIVATE = ["d", "p", "q", "dp", "dq", "qi"];

function claims() {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISS, aud: AUD, sub: "user-1", iat: now, exp: now + 600, scope: "a b" };
}

async function joseKey(jwk, alg) {
  return jwk.kty === "oct" ? fromB64url(jwk.k) : jose.importJWK(jwk, alg);
}

export function register(test, ctx) {
  const pkg = ctx.pkg;

  test("keygen: every algorithm gives a private JWK and a public JWKS", async () => {
    const problems = [];
    for (const alg of ALGORITHMS) {
      const r = await outcome(() => pkg.keygen(alg));
      if (r.code !== "ok") {
        problems.push(`${alg}: ${r.code}`);
        continue;
      }
      const { jwk, jwks } = r.value ?? {};
      if (!jwk || !jwks || !Array.isArray(jwks.keys) || jwks.keys.length !== 1) {
        problems.push(`${alg}: ${JSON.stringify(r.value)?.slice(0, 200)}`);
        continue;
      }
      if (jwk.alg !== alg) problems.push(`${alg}: jwk.alg ${jwk.alg}`);
      if (typeof jwk.kid !== "string" || !jwk.kid) problems.push(`${alg}: no kid`);
      if (jwk.kty === "oct") {
        if (!alg.startsWith("HS") || fromB64url(jwk.k).length < Number(alg.slice(2)) / 8) problems.push(`${alg}: oct key ${jwk.k?.length}`);
      } else {
        if (!jwk.d) problems.push(`${alg}: the private JWK has no d`);
        const leaked = PRIVATE.filter((m) => jwks.keys[0][m] !== undefined);
        if (leaked.length) problems.push(`${alg}: the public JWKS holds ${leaked}`);
        if (jwks.keys[0].kid !== jwk.kid) problems.push(`${alg}: kid differs between jwk and jwks`);
      }
    }
    assert.noProblems(problems);
  }, { smoke: true });

  // HS* and ES256K keys come from the Rust side's RNG (the runtime's crypto.getRandomValues into wasm
  // memory), the others from WebCrypto: two keys of one algorithm never share their secret, and an
  // HMAC secret is not all one byte value.
  test("keygen: every algorithm's secret differs between two keys", async () => {
    const problems = [];
    for (const alg of ALGORITHMS) {
      const [a, b] = [(await pkg.keygen(alg)).jwk, (await pkg.keygen(alg)).jwk];
      const secret = (jwk) => jwk.k ?? jwk.d;
      if (!secret(a) || secret(a) === secret(b)) problems.push(`${alg}: the same secret twice`);
      if (a.k && new Set(fromB64url(a.k)).size < 8) problems.push(`${alg}: an HMAC secret of ${new Set(fromB64url(a.k)).size} distinct bytes`);
    }
    assert.noProblems(problems);
  });

  test("mint → verifySignature, createVerifier and jose, every algorithm", async (t) => {
    const problems = [];
    let withJose = 0, withoutJose = 0;
    for (const alg of ALGORITHMS) {
      try {
        const { jwk, jwks } = await pkg.keygen(alg);
        const c = claims();
        const token = await pkg.mint(jwk, c);
        if (typeof token !== "string" || token.split(".").length !== 3) throw new Error(`mint gave ${token}`);
        if (headerOf(token).alg !== alg) problems.push(`${alg}: header alg ${headerOf(token).alg}`);
        const verificationKey = jwk.kty === "oct" ? jwk : jwks.keys[0];
        const bytes = await pkg.verifySignature(token, verificationKey);
        if (JSON.stringify(JSON.parse(new TextDecoder().decode(bytes))) !== JSON.stringify(payloadOf(token))) problems.push(`${alg}: verifySignature payload`);
        if (jwk.kty !== "oct") {
          const verifier = await pkg.createVerifier({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], jwks }] });
          const verified = await verifier.verify(token);
          if (verified.claims.sub !== "user-1") problems.push(`${alg}: claims ${JSON.stringify(verified.claims)}`);
          if (JSON.stringify(verified.scopes) !== JSON.stringify(["a", "b"])) problems.push(`${alg}: scopes ${JSON.stringify(verified.scopes)}`);
        }
        if (alg === "ES256K") {
          withoutJose += 1;
          continue;
        }
        const { payload, protectedHeader } = await jose.jwtVerify(token, await joseKey(verificationKey, alg), { issuer: ISS, audience: AUD, algorithms: [alg] });
        if (payload.sub !== "user-1" || protectedHeader.alg !== alg) problems.push(`${alg}: jose read ${JSON.stringify(payload)}`);
        withJose += 1;
      } catch (error) {
        problems.push(`${alg}: ${error.code ?? error.name}: ${error.message}`);
      }
    }
    t.log(`${withJose} algorithms cross-checked with jose, ${withoutJose} (ES256K) with the package only`);
    assert.noProblems(problems);
    assert.deepEqual([withJose, withoutJose], [13, 1]);
  }, { smoke: true });

  test("backend: in Node, RS/PS/ES/EdDSA signatures are verified by node:crypto (never crypto.subtle.verify); in Deno, Bun and Chromium by crypto.subtle; a changed signature fails in both", async (t) => {
    const subtle = globalThis.crypto.subtle;
    let calls = 0;
    const original = subtle.verify;
    const problems = [];
    const asymmetric = ALGORITHMS.filter((alg) => !alg.startsWith("HS") && alg !== "ES256K");
    try {
      // An own property on the instance shadows the prototype's method: every `subtle.verify` call counts.
      subtle.verify = function (...args) {
        calls += 1;
        return original.apply(subtle, args);
      };
      for (const alg of asymmetric) {
        const { jwk, jwks } = await pkg.keygen(alg);
        const token = await pkg.mint(jwk, claims());
        const verifier = await pkg.createVerifier({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], jwks }] });
        const before = calls;
        const ok = await outcome(() => verifier.verify(token));
        const [h, p, sig] = token.split(".");
        const flipped = `${h}.${p}.${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
        const bad = await outcome(() => verifier.verify(flipped));
        const used = calls - before;
        if (ok.code !== "ok") problems.push(`${alg}: ${ok.code}`);
        if (bad.code !== "signature_invalid") problems.push(`${alg}: changed signature gave ${bad.code}`);
        const expected = ctx.runtime === "node" ? 0 : 2;
        if (used !== expected) problems.push(`${alg}: ${used} crypto.subtle.verify calls in ${ctx.runtime}, expected ${expected}`);
      }
    } finally {
      delete subtle.verify;
    }
    t.log(`${asymmetric.length} algorithms, ${ctx.runtime}: ${ctx.runtime === "node" ? "node:crypto" : "crypto.subtle"}`);
    assert.noProblems(problems);
  }, { smoke: true });

  test("PS256: a signature whose PSS salt is not 32 bytes (RFC 7518 §3.5) is refused, whichever backend verifies (node:crypto in Node, WebCrypto in Deno and Bun)", async (t) => {
    // node:crypto makes the signatures (the runtimes with `node:` modules); the package must accept only
    // the salt length the algorithm fixes.
    const nodeCrypto = await import("node:crypto");
    const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: "jwk" }), kid: "pss", alg: "PS256" };
    const verifier = await pkg.createVerifier({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["PS256"], jwks: { keys: [jwk] } }] });
    const problems = [];
    for (const [salt, expected] of [[32, "ok"], [0, "signature_invalid"], [20, "signature_invalid"], [64, "signature_invalid"]]) {
      const unsigned = compact(JSON.stringify({ alg: "PS256", kid: "pss" }), JSON.stringify(claims()));
      const signature = nodeCrypto.sign("sha256", new TextEncoder().encode(unsigned.slice(0, -1)), {
        key: privateKey, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: salt,
      });
      const r = await outcome(() => verifier.verify(`${unsigned}${b64url(new Uint8Array(signature))}`));
      if (r.code !== expected) problems.push(`salt ${salt}: ${r.code}, expected ${expected}`);
    }
    t.log(`4 salts, ${ctx.runtime}`);
    assert.noProblems(problems);
  }, { only: ["node", "deno", "bun"] });

  test("key table: every JWK of tests/vectors/keys.json loads or is refused as the core says (this build has no Rust RSA, P-384 or P-521)", async (t) => {
    const table = await ctx.readJson("tests/vectors/keys.json");
    assert.equal(table.cases.length, table.count);
    const algOf = (jwk) => ({ RSA: "RS256", OKP: "EdDSA" })[jwk.kty] ?? { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" }[jwk.crv];
    const problems = [];
    let refused = 0;
    for (const c of table.cases) {
      const alg = algOf(c.jwk);
      // A public key loads into a verifier; a private key must sign a token that its public part
      // verifies. Without the Rust backends a mismatched RSA/P-384/P-521 private key loads, and its
      // first WebCrypto signature refuses it: from outside, the same answer.
      const r = c.kind === "public"
        ? await outcome(() => pkg.createVerifier({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], jwks: { keys: [c.jwk] } }] }))
        : await outcome(async () => {
          const token = await pkg.mint(c.jwk, claims());
          const pub = Object.fromEntries(Object.entries(c.jwk).filter(([m]) => !PRIVATE.includes(m)));
          return pkg.verifySignature(token, pub, { algorithm: alg });
        });
      if (c.expect === "ok" && r.code !== "ok") problems.push(`${c.name}: refused (${r.code}: ${r.error?.message})`);
      if (c.expect !== "ok") {
        if (r.code === "ok") problems.push(`${c.name}: accepted, expected ${c.expect}`);
        else if (!(r.error instanceof pkg.EdgeAuthError)) problems.push(`${c.name}: not an EdgeAuthError: ${r.code}`);
        else refused += 1;
      }
    }
    t.log(`${table.cases.length} keys: ${refused} refused, ${table.cases.length - refused} loaded`);
    assert.noProblems(problems);
  }, { smoke: true });

  test("mint: the header argument sets typ and kid; the key decides alg", async () => {
    const { jwk, jwks } = await pkg.keygen("ES256");
    const token = await pkg.mint(jwk, claims(), { typ: "at+jwt", kid: "custom-kid" });
    const header = headerOf(token);
    assert.equal(header.alg, "ES256");
    assert.equal(header.typ, "at+jwt");
    assert.equal(header.kid, "custom-kid");
    assert.ok(await jose.jwtVerify(token, await jose.importJWK(jwks.keys[0], "ES256"), { typ: "at+jwt" }));
    const plain = headerOf(await pkg.mint(jwk, claims()));
    assert.equal(plain.kid, jwk.kid, "by default the key's kid");
  });

  test("interop: tokens minted by jose verify with the package, every algorithm jose signs", async (t) => {
    const problems = [];
    let ran = 0;
    for (const alg of ALGORITHMS.filter((a) => a !== "ES256K")) {
      try {
        let signingKey, issuerKeys, secrets;
        if (alg.startsWith("HS")) {
          const secret = `jose-interop-${alg}-`.padEnd(80, "x");
          signingKey = new TextEncoder().encode(secret);
          issuerKeys = { hmac_secret: "INTEROP_SECRET" };
          secrets = { INTEROP_SECRET: secret };
        } else {
          const pair = await jose.generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
          signingKey = pair.privateKey;
          issuerKeys = { jwks: { keys: [{ ...(await jose.exportJWK(pair.publicKey)), kid: "jose-1" }] } };
        }
        const c = claims();
        const token = await new jose.SignJWT(c).setProtectedHeader({ alg, kid: "jose-1", typ: "JWT" }).sign(signingKey);
        const verifier = await pkg.createVerifier({ issuers: [{ issuer: ISS, audiences: [AUD], algorithms: [alg], ...issuerKeys }] }, { secrets });
        const verified = await verifier.verify(token);
        if (!isDeepEqual(verified.claims, c)) problems.push(`${alg}: claims ${JSON.stringify(verified.claims)}`);
        if (verified.header?.alg !== alg || verified.issuer !== ISS) problems.push(`${alg}: ${JSON.stringify(verified.header)} ${verified.issuer}`);
        // Tampered: refused.
        const [h, p, s] = token.split(".");
        const forged = `${h}.${p.slice(0, -2)}${p.at(-2) === "A" ? "B" : "A"}${p.at(-1)}.${s}`;
        const bad = await outcome(() => verifier.verify(forged));
        if (bad.code === "ok") problems.push(`${alg}: a tampered jose token verified`);
        ran += 1;
      } catch (error) {
        problems.push(`${alg}: ${error.code ?? error.name}: ${error.message}`);
      }
    }
    t.log(`${ran} jose-minted algorithms verified`);
    assert.noProblems(problems);
    assert.equal(ran, 13);
  }, { smoke: true });
}
