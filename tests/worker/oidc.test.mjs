// The built Worker (workerd) against a real OpenID provider on loopback: `oidc-provider` (a certified
// implementation, `oidc-provider.mjs`) with a client-credentials client issuing JWT access tokens (RFC 9068, ES256). The
// Worker finds the keys by discovery. Covers: tokens pass; wrong audience and expiry are refused; key
// rotation mid-test (new key verified through the unknown-kid refetch, old tokens keep verifying while
// published); a random-kid burst (bounded fetches); a slow provider (cut off at the timeout); an outage
// (cached keys keep serving past their freshness — stale-if-error —, the same without stale-if-error
// answers 503, and a cold isolate answers 503 with Retry-After).
// Run: bash scripts/build-worker.sh && node --test tests/worker/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { builtWorker, collectLogs } from "./built-worker.mjs";
import { loopbackHttp, within } from "./key-provider.mjs";
import { oidcProvider, signingKey } from "./oidc-provider.mjs";
import * as jose from "jose";

const AUD = "https://api.example.com";
let op, ISS, origin, edgeKey;
const workers = [];

before(async () => {
  op = await oidcProvider({ audience: AUD });
  ISS = op.iss;
  origin = await new Promise((resolve) => {
    const s = createServer((req, res) => { req.resume(); req.on("end", () => res.end("origin")); });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  edgeKey = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
});

after(async () => {
  for (const w of workers) await w.dispose();
  if (op?.listening) await op.stop();
  origin?.close();
});

// Each Worker has its own (in-memory) Cache API: no isolate is warmed by another's keys.
async function worker(remote = {}) {
  const config = {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], discovery: true, typ: "at+jwt" }],
    assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "SIGNING" },
    routes: [{ path: "/orders/*", scopes: ["orders:read"] }],
    remote_keys: { ...loopbackHttp, ...remote },
    status_endpoint: true,
  };
  const logs = [];
  const mf = await builtWorker({
    EDGE_AUTH: JSON.stringify(config), ORIGIN: `http://127.0.0.1:${origin.address().port}`, SIGNING: JSON.stringify(edgeKey),
  }, { handleRuntimeStdio: collectLogs(logs) });
  mf.logs = logs;
  workers.push(mf);
  return mf;
}

async function call(mf, token) {
  return within(10_000, (async () => {
    const res = await mf.dispatchFetch("https://api.example.com/orders/1", { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    let code;
    try { code = JSON.parse(text).code; } catch { code = undefined; }
    return { status: res.status, code, retryAfter: res.headers.get("retry-after") };
  })(), "a request to the Worker");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// The Worker's decision log lines from index `from` on (they arrive asynchronously: bounded wait for `n`).
async function decisions(mf, from, n) {
  const parse = () => mf.logs.slice(from).map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((l) => l?.event === "decision");
  for (let i = 0; i < 60 && parse().length < n; i++) await sleep(50);
  return parse();
}

test("oidc-provider: discovery, audience and expiry, rotation, random-kid burst, slow provider, outage past freshness", { timeout: 90_000 }, async () => {
  const k1 = await signingKey("k1");
  await op.start([k1]);
  const mf = await worker();

  // Tokens from the provider pass; one discovery and one JWKS fetch; then keys from memory.
  const t1 = await op.accessToken();
  assert.equal(jose.decodeProtectedHeader(t1).kid, "k1");
  assert.equal((await call(mf, t1)).status, 200);
  assert.equal((await call(mf, await op.accessToken())).status, 200);
  assert.deepEqual(op.fetches, { discovery: 1, jwks: 1 });

  // A token for another resource (wrong audience) and an expired token are refused.
  const claims = jose.decodeJwt(t1);
  assert.equal(claims.aud, AUD);
  const forged = await new jose.SignJWT({ ...claims, exp: claims.iat - 3600, jti: "x" })
    .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt" })
    .sign(await jose.importJWK(k1, "ES256"));
  assert.equal((await call(mf, forged)).code, "token_expired");
  const otherAud = await new jose.SignJWT({ ...claims, aud: "https://other.example.com", jti: "y" })
    .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt" })
    .sign(await jose.importJWK(k1, "ES256"));
  assert.equal((await call(mf, otherAud)).code, "audience_mismatch");

  // Rotation: the provider restarts signing with k2 and still publishes k1.
  const k2 = await signingKey("k2");
  await op.stop();
  await op.start([k2, k1]);
  const t2 = await op.accessToken();
  assert.equal(jose.decodeProtectedHeader(t2).kid, "k2");
  // Under load: six requests with the new kid at once (the refetch slowed so that they all arrive
  // while it runs): the first starts the one refetch, the others wait for it; none is refused.
  const rotated = [t2];
  while (rotated.length < 6) rotated.push(await op.accessToken());
  op.delayMs = 200;
  const statuses = await Promise.all(rotated.map(async (token) => (await call(mf, token)).status));
  op.delayMs = 0;
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200], "the new key, through one unknown-kid refetch");
  assert.equal(op.fetches.jwks, 2);
  assert.equal((await call(mf, t1)).status, 200, "old tokens keep verifying while k1 is published");
  assert.equal(op.fetches.jwks, 2);

  // Amplification: 100 tokens with random kids (inside the cooldown after the rotation refetch) cause
  // no fetch; a fresh isolate under the same burst fetches at most twice (load + one kid refetch).
  const stranger = await signingKey("x");
  const strangerKey = await jose.importJWK(stranger, "ES256");
  const randomKid = (i) => new jose.SignJWT({ ...claims, jti: `r${i}` })
    .setProtectedHeader({ alg: "ES256", kid: `random-${i}`, typ: "at+jwt" }).sign(strangerKey);
  let before = op.fetches.jwks;
  for (let i = 0; i < 100; i++) assert.equal((await call(mf, await randomKid(i))).code, "key_not_found");
  assert.equal(op.fetches.jwks, before);
  const burst = await worker();
  before = op.fetches.jwks;
  for (let i = 0; i < 100; i++) assert.equal((await call(burst, await randomKid(i))).code, "key_not_found");
  assert.ok(op.fetches.jwks - before <= 2, `fetches: ${op.fetches.jwks - before}`);

  // A slow provider (beyond the timeout) is cut off and counted as an error: 503 on a cold isolate.
  op.delayMs = 1500;
  const slow = await worker({ timeout_ms: 300 });
  const t0 = Date.now();
  assert.equal((await call(slow, t2)).code, "keys_unavailable");
  assert.ok(Date.now() - t0 < 1200, `answered after ${Date.now() - t0} ms`);
  op.delayMs = 0;

  // Outage past freshness: two isolates load the keys with a 1 s freshness, one with the default
  // stale-if-error and one without; the provider stops; once the sets are stale, the first still serves
  // (and says the keys were stale), the second answers 503.
  const quick = { min_ttl_seconds: 1, max_ttl_seconds: 1, error_backoff_seconds: 1 };
  const outage = await worker(quick);
  const control = await worker({ ...quick, stale_if_error_seconds: 0 });
  assert.equal((await call(outage, t2)).status, 200);
  assert.equal((await call(control, t2)).status, 200);
  await op.stop();
  await sleep(2_100);   // past freshness (whole seconds)
  const k2Key = await jose.importJWK(k2, "ES256");
  const later = async (jti) => new jose.SignJWT({ ...jose.decodeJwt(t2), jti })
    .setProtectedHeader({ alg: "ES256", kid: "k2", typ: "at+jwt" }).sign(k2Key);
  const from = outage.logs.length;
  for (const jti of ["z1", "z2", "z3"]) assert.equal((await call(outage, await later(jti))).status, 200, "stale-if-error");
  const served = (await decisions(outage, from, 3)).filter((d) => d.decision === "forward");
  assert.deepEqual(served.map((d) => d.keys), ["memory-stale", "memory-stale", "memory-stale"]);
  const state = (await (await outage.dispatchFetch("https://api.example.com/.well-known/edge-auth/status")).json()).issuers[0];
  assert.equal(state.fresh_for_seconds, 0, "served past freshness");
  const withoutGrace = await call(control, await later("z4"));
  assert.equal(withoutGrace.status, 503, "stale_if_error_seconds = 0: the stale set is not used");
  assert.equal(withoutGrace.code, "keys_unavailable");
  // A cold isolate answers 503 with Retry-After.
  const cold = await worker();
  const refused = await call(cold, t2);
  assert.equal(refused.status, 503);
  assert.equal(refused.code, "keys_unavailable");
  assert.ok(Number(refused.retryAfter) >= 1);
});
