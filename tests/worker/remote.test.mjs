// Remote keys (`discovery = true` / `jwks_uri`) in the built Worker inside workerd, against a loopback
// OpenID provider stand-in that counts every fetch and can rotate, fail, stall or disappear.
// Run: bash scripts/build-worker.sh && node --test tests/worker/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { builtWorker, collectLogs } from "./built-worker.mjs";
import * as jose from "jose";

const AUD = "https://api.example.com";
const provider = { keys: [], mode: "ok", delayMs: 0, cacheControl: "max-age=600", counts: { discovery: 0, jwks: 0 } };
let server, ISS, origin, edgeKey;
const workers = [];

async function keypair(kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

before(async () => {
  server = await new Promise((resolve) => {
    const s = createServer((req, res) => {
      const answer = () => {
        if (provider.mode === "down") { res.statusCode = 500; res.end("down"); return; }
        if (provider.mode === "garbage") { res.setHeader("content-type", "application/json"); res.end("{not json"); return; }
        res.setHeader("content-type", "application/json");
        if (req.url === "/.well-known/openid-configuration") {
          provider.counts.discovery++;
          res.end(JSON.stringify({ issuer: ISS, jwks_uri: `${ISS}jwks` }));
        } else if (req.url === "/jwks") {
          provider.counts.jwks++;
          res.setHeader("cache-control", provider.cacheControl);
          res.end(JSON.stringify({ keys: provider.keys.map((k) => k.jwk) }));
        } else { res.statusCode = 404; res.end(); }
      };
      if (provider.delayMs) setTimeout(answer, provider.delayMs); else answer();
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  ISS = `http://127.0.0.1:${server.address().port}/`;
  origin = await new Promise((resolve) => {
    const s = createServer((req, res) => { req.resume(); req.on("end", () => res.end("origin")); });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  edgeKey = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
});

after(async () => {
  for (const w of workers) await w.dispose();
  server?.close();
  origin?.close();
});

const logs = [];

async function worker(remote = {}, extra = {}) {
  const config = {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], discovery: true }],
    assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "SIGNING" },
    remote_keys: remote,
    status_endpoint: true,
  };
  const mf = await builtWorker(
    { EDGE_AUTH: JSON.stringify(config), ORIGIN: `http://127.0.0.1:${origin.address().port}`, SIGNING: JSON.stringify(edgeKey) },
    { handleRuntimeStdio: collectLogs(logs), ...extra },
  );
  workers.push(mf);
  return mf;
}

async function token(key, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ iss: ISS, aud: AUD, sub: "u1", iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid }).sign(key.privateKey);
}

async function call(mf, t) {
  const res = await mf.dispatchFetch("https://api.example.com/x", { headers: t ? { authorization: `Bearer ${t}` } : {} });
  const text = await res.text();
  let code;
  try { code = JSON.parse(text).code; } catch { code = undefined; }
  return { status: res.status, code, retryAfter: res.headers.get("retry-after"), text };
}

const counts = () => ({ ...provider.counts });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("discovery, then keys from memory; single flight; audience and expiry still enforced; rotation by unknown kid; bounded refetches", async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], mode: "ok", delayMs: 0, cacheControl: "max-age=600" });
  const mf = await worker();
  const start = counts();
  // 20 concurrent first requests on a cold isolate share one discovery and one JWKS fetch.
  const first = await Promise.all(Array.from({ length: 20 }, async () => call(mf, await token(k1))));
  assert.deepEqual(first.map((r) => r.status), Array(20).fill(200));
  assert.deepEqual(counts(), { discovery: start.discovery + 1, jwks: start.jwks + 1 });
  // Keys in memory: no more fetches.
  for (let i = 0; i < 10; i++) assert.equal((await call(mf, await token(k1))).status, 200);
  assert.equal((await call(mf, await token(k1, { aud: "https://other.example" }))).code, "audience_mismatch");
  assert.equal((await call(mf, await token(k1, { exp: Math.floor(Date.now() / 1000) - 600 }))).code, "token_expired");
  assert.deepEqual(counts(), { discovery: start.discovery + 1, jwks: start.jwks + 1 });
  // Rotation: the provider publishes k2 beside k1; a k2 token triggers one refetch and verifies.
  const k2 = await keypair("k2");
  provider.keys = [k1, k2];
  assert.equal((await call(mf, await token(k2))).status, 200);
  assert.equal(counts().jwks, start.jwks + 2);
  assert.equal((await call(mf, await token(k1))).status, 200, "the old key still verifies while published");
  // A burst of random kids inside the cooldown: refused, no fetch at all.
  const stranger = await keypair("x");
  const burst = await Promise.all(Array.from({ length: 50 }, async (_, i) => call(mf, await token({ ...stranger, kid: `random-${i}` }))));
  assert.deepEqual([...new Set(burst.map((r) => r.code))], ["key_not_found"]);
  assert.equal(counts().jwks, start.jwks + 2, "no refetch inside the cooldown");
  // The status endpoint reports the kids, the fetch count and no error.
  const status = await (await mf.dispatchFetch("https://api.example.com/.well-known/edge-auth/status")).json();
  assert.deepEqual(status.issuers[0].kids.sort(), ["k1", "k2"]);
  assert.equal(status.issuers[0].source, "discovery");
  assert.equal(status.issuers[0].fetches, 2);
  assert.equal(status.issuers[0].last_error, null);
});

test("a fresh isolate under a random-kid burst fetches at most once", async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], mode: "ok", delayMs: 0, cacheControl: "max-age=600" });
  const mf = await worker();
  const start = counts();
  const stranger = await keypair("x");
  for (let i = 0; i < 100; i++) {
    assert.equal((await call(mf, await token({ ...stranger, kid: `random-${i}` }))).code, "key_not_found");
  }
  // One fetch to load the set; the first unknown kid may refetch once; then the cooldown holds.
  assert.ok(counts().jwks - start.jwks <= 2, `fetches: ${counts().jwks - start.jwks}`);
  assert.equal(counts().discovery - start.discovery, 1);
});

test("provider down: cached keys keep serving past expiry (stale-if-error); a cold isolate answers 503 with Retry-After", async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], mode: "ok", delayMs: 0, cacheControl: "max-age=1" });
  const mf = await worker({ min_ttl_seconds: 1, max_ttl_seconds: 1, error_backoff_seconds: 1 });
  assert.equal((await call(mf, await token(k1))).status, 200);
  provider.mode = "down";
  await sleep(1500);
  // Expired and the provider is down: the last good set still serves (one background refresh fails).
  for (let i = 0; i < 3; i++) assert.equal((await call(mf, await token(k1))).status, 200);
  await sleep(300);
  const status = await (await mf.dispatchFetch("https://api.example.com/.well-known/edge-auth/status")).json();
  assert.match(status.issuers[0].last_error.error, /status 500/);
  // A cold isolate with the provider down: 503, Retry-After, nothing forwarded.
  const cold = await worker();
  const r = await call(cold, await token(k1));
  assert.equal(r.status, 503);
  assert.equal(r.code, "keys_unavailable");
  assert.ok(Number(r.retryAfter) >= 1, `retry-after ${r.retryAfter}`);
  provider.mode = "garbage";
  const cold2 = await worker();
  assert.equal((await call(cold2, await token(k1))).code, "keys_unavailable");
  provider.mode = "ok";
});

test("a slow provider is cut off at the timeout and counted as an error", async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], mode: "ok", delayMs: 2000, cacheControl: "max-age=600" });
  const mf = await worker({ timeout_ms: 300 });
  const t0 = Date.now();
  const r = await call(mf, await token(k1));
  const took = Date.now() - t0;
  assert.equal(r.status, 503);
  assert.ok(took < 1500, `answered after ${took} ms`);
  const status = await (await mf.dispatchFetch("https://api.example.com/.well-known/edge-auth/status")).json();
  assert.match(status.issuers[0].last_error.error, /no answer within 300 ms/);
  provider.delayMs = 0;
});

test("a fresh isolate starts warm from the shared cache (Cache API): no fetch, and the log says so", async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], mode: "ok", delayMs: 0, cacheControl: "max-age=600" });
  const cachePersist = mkdtempSync(join(tmpdir(), "edge-auth-cache-"));
  const first = await worker({}, { cachePersist });
  const start = counts();
  assert.equal((await call(first, await token(k1))).status, 200);
  assert.deepEqual(counts(), { discovery: start.discovery + 1, jwks: start.jwks + 1 });
  await first.dispose();
  workers.splice(workers.indexOf(first), 1);
  const before = logs.length;
  const second = await worker({}, { cachePersist });
  assert.equal((await call(second, await token(k1))).status, 200);
  assert.deepEqual(counts(), { discovery: start.discovery + 1, jwks: start.jwks + 1 }, "no fetch: keys from the shared cache");
  const decision = logs.slice(before).map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .find((l) => l?.event === "decision");
  assert.equal(decision?.keys, "shared-cache");
  // An unknown kid still goes to the provider (a rotation is not in another isolate's copy).
  const k2 = await keypair("k2");
  provider.keys = [k1, k2];
  assert.equal((await call(second, await token(k2))).status, 200);
  assert.equal(counts().jwks, start.jwks + 2);
});

test("a shared-cache entry written by another Worker of the zone (no valid MAC) is ignored", async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], mode: "ok", delayMs: 0, cacheControl: "max-age=600" });
  const cachePersist = mkdtempSync(join(tmpdir(), "edge-auth-cache-"));
  // The attacker's key, planted where edge-auth keeps the issuer's keys, with a made-up MAC.
  const evil = await keypair("k1");
  const { createHash } = await import("node:crypto");
  const key = `https://edge-auth-keys.invalid/${createHash("sha256").update(ISS).digest("hex")}`;
  const planter = new Miniflare({
    modules: true,
    script: `export default { async fetch(req) {
      const body = await req.text();
      await caches.default.put(${JSON.stringify(key)}, new Response(body, { headers: {
        "cache-control": "max-age=600", "edge-auth-fresh-until": String(Math.floor(Date.now() / 1000) + 600),
        "edge-auth-mac": "00".repeat(32) } }));
      return new Response("planted");
    } }`,
    compatibilityDate: "2026-04-26",
    cachePersist,
  });
  assert.equal(await (await planter.dispatchFetch("http://planter/", { method: "POST", body: JSON.stringify({ keys: [evil.jwk] }) })).text(), "planted");
  await planter.dispose();
  const mf = await worker({}, { cachePersist });
  const start = counts();
  assert.equal((await call(mf, await token(evil))).code, "signature_invalid", "the planted key is not used");
  assert.equal(counts().jwks, start.jwks + 1, "the keys came from the provider");
  assert.equal((await call(mf, await token(k1))).status, 200);
});
