// Remote keys (`discovery = true` / `jwks_uri`) in the built Worker inside workerd, against a loopback
// OpenID provider stand-in (key-provider.mjs) that counts every fetch and can rotate, fail, stall (before
// the head or mid-body), send an endless body or disappear. Every wait is bounded (`within`, per-test
// timeouts): a wedged Worker fails a test, it never hangs the suite.
// Run: bash scripts/build-worker.sh && node --test tests/worker/
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { builtWorker, collectLogs } from "./built-worker.mjs";
import { keyProvider, loopbackHttp, PRE_HARDENING, within } from "./key-provider.mjs";
import * as jose from "jose";

const AUD = "https://api.example.com";
const STATUS = "https://api.example.com/.well-known/edge-auth/status";
let provider, ISS, origin, edgeKey;
const workers = [];

async function keypair(kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

before(async () => {
  provider = await keyProvider();
  ISS = provider.iss;
  origin = await new Promise((resolve) => {
    const s = createServer((req, res) => { req.resume(); req.on("end", () => res.end("origin")); });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
  edgeKey = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
});

// Each test starts from a healthy provider and no running Worker.
afterEach(async () => {
  provider.release();
  Object.assign(provider, { keys: [], mode: "ok", faultOn: "all", delayMs: 0, cacheControl: "max-age=600" });
  while (workers.length) await workers.pop().dispose();
});

after(async () => {
  await provider?.close();
  origin?.close();
});

/// A Worker with one remote issuer (discovery unless `issuer` says otherwise). `loopback: false` leaves
/// `allow_loopback_http` out. Its log lines are in `mf.logs`.
async function worker(remote = {}, { extra = {}, issuer = {}, loopback = true } = {}) {
  const config = {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], discovery: true, ...issuer }],
    assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "SIGNING" },
    remote_keys: { ...(loopback ? loopbackHttp : {}), ...remote },
    status_endpoint: true,
  };
  const logs = [];
  const mf = await builtWorker(
    { EDGE_AUTH: JSON.stringify(config), ORIGIN: `http://127.0.0.1:${origin.address().port}`, SIGNING: JSON.stringify(edgeKey) },
    { handleRuntimeStdio: collectLogs(logs), ...extra },
  );
  mf.logs = logs;
  workers.push(mf);
  return mf;
}

async function retire(mf) {
  workers.splice(workers.indexOf(mf), 1);
  await mf.dispose();
}

/// A token with a unique `jti` (never a verified-token cache hit unless the same string is sent again).
async function token(key, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ iss: ISS, aud: AUD, sub: "u1", iat: now, exp: now + 300, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid }).sign(key.privateKey);
}

async function call(mf, t, ms = 10_000) {
  return within(ms, (async () => {
    const res = await mf.dispatchFetch("https://api.example.com/x", { headers: t ? { authorization: `Bearer ${t}` } : {} });
    const text = await res.text();
    let code;
    try { code = JSON.parse(text).code; } catch { code = undefined; }
    return { status: res.status, code, retryAfter: res.headers.get("retry-after"), text };
  })(), "a request to the Worker");
}

/// The status endpoint's entry for the (only) issuer.
async function status(mf) {
  const res = await within(5_000, mf.dispatchFetch(STATUS), "the status endpoint");
  return (await res.json()).issuers[0];
}

/// The shared-cache key of the issuer, from the status endpoint. Builds from before issue 9 do not report
/// it; against them the old key (SHA-256 of the issuer) stands in, so the rest of a test still runs.
async function sharedCacheKey(mf) {
  const reported = (await status(mf)).shared_cache_key;
  if (reported === undefined && PRE_HARDENING) {
    return `https://edge-auth-keys.invalid/${createHash("sha256").update(ISS).digest("hex")}`;
  }
  assert.equal(typeof reported, "string", "the status endpoint reports shared_cache_key");
  return reported;
}

const counts = () => ({ ...provider.counts });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Waits (bounded) until `check()` is truthy; returns its last value.
async function eventually(check, ms = 3_000) {
  const deadline = Date.now() + ms;
  let value = await check();
  while (!value && Date.now() < deadline) {
    await sleep(50);
    value = await check();
  }
  return value;
}

/// The Worker's log lines that are JSON objects with this `event`.
function events(mf, event, from = 0) {
  return mf.logs.slice(from).map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((l) => l?.event === event);
}

test("discovery, then keys from memory; single flight; audience and expiry still enforced; rotation by unknown kid; bounded refetches", { timeout: 60_000 }, async () => {
  const k1 = await keypair("k1");
  provider.keys = [k1];
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
  const issuer = await status(mf);
  assert.deepEqual(issuer.kids.sort(), ["k1", "k2"]);
  assert.equal(issuer.source, "discovery");
  assert.equal(issuer.fetches, 2);
  assert.equal(issuer.last_error, null);
});

test("a fresh isolate under a random-kid burst fetches at most once", { timeout: 60_000 }, async () => {
  const k1 = await keypair("k1");
  provider.keys = [k1];
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

test("an http key URL (loopback) is refused without remote_keys.allow_loopback_http: every request 503 config_invalid, the field named, nothing fetched", { timeout: 30_000 }, async () => {
  const k1 = await keypair("k1");
  provider.keys = [k1];
  const cases = [
    { issuer: { discovery: true }, remote: {}, field: "issuers[0].discovery" },
    { issuer: { discovery: undefined, jwks_uri: `${ISS}jwks` }, remote: {}, field: "issuers[0].jwks_uri" },
  ];
  if (!PRE_HARDENING) {
    // Stated false, not just absent (a build without the field cannot read this config at all).
    cases.push({ issuer: { discovery: undefined, jwks_uri: `${ISS}jwks` }, remote: { allow_loopback_http: false }, field: "issuers[0].jwks_uri" });
  }
  for (const { issuer, remote, field } of cases) {
    const start = counts();
    const mf = await worker(remote, { issuer, loopback: false });
    const answers = [
      await call(mf, await token(k1)),
      await call(mf, undefined),
      await within(5_000, mf.dispatchFetch(STATUS), "the status endpoint").then(async (r) => ({ status: r.status, code: (await r.json()).code })),
    ];
    for (const r of answers) {
      assert.equal(r.status, 503, `${field}: ${JSON.stringify(r)}`);
      assert.equal(r.code, "config_invalid", field);
    }
    const logged = await eventually(() => events(mf, "config_error").find((e) => e.error.includes(`EDGE_AUTH.${field}`)));
    assert.ok(logged, `a config_error naming ${field}; logged: ${JSON.stringify(events(mf, "config_error"))}`);
    assert.deepEqual(counts(), start, "nothing fetched");
    await retire(mf);
  }
});

test("provider down: cached keys keep serving past freshness (stale-if-error, and they were stale); without stale-if-error 503; a cold isolate answers 503 with Retry-After", { timeout: 30_000 }, async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], cacheControl: "max-age=1" });
  // No cachePersist: each Worker has its own empty Cache API, so nothing re-warms an isolate.
  const mf = await worker({ min_ttl_seconds: 1, max_ttl_seconds: 1, error_backoff_seconds: 1 });
  const control = await worker({ min_ttl_seconds: 1, max_ttl_seconds: 1, error_backoff_seconds: 1, stale_if_error_seconds: 0 });
  assert.equal((await call(mf, await token(k1))).status, 200);
  assert.equal((await call(control, await token(k1))).status, 200);
  provider.mode = "down";
  await sleep(2_100);   // fresh_until is at most 2 s away (whole seconds): the sets are stale now
  // Stale and the provider is down: the last good set still serves (one background refresh fails).
  const from = mf.logs.length;
  for (let i = 0; i < 3; i++) assert.equal((await call(mf, await token(k1))).status, 200);
  const served = await eventually(() => {
    const forwards = events(mf, "decision", from).filter((d) => d.decision === "forward");
    return forwards.length === 3 && forwards;
  });
  assert.ok(served, "three forward decisions logged");
  assert.deepEqual(served.map((d) => d.keys), Array(3).fill("memory-stale"), "served from the stale set");
  const issuer = await eventually(async () => { const s = await status(mf); return s.last_error && s; });
  assert.equal(issuer.fresh_for_seconds, 0, "the set was past its freshness");
  assert.match(issuer.last_error.error, /status 500/);
  // The control: the same scenario without stale-if-error is refused.
  const refused = await call(control, await token(k1));
  assert.equal(refused.status, 503, "stale_if_error_seconds = 0: no stale set");
  assert.equal(refused.code, "keys_unavailable");
  // A cold isolate with the provider down: 503, Retry-After, nothing forwarded.
  const cold = await worker();
  const r = await call(cold, await token(k1));
  assert.equal(r.status, 503);
  assert.equal(r.code, "keys_unavailable");
  assert.ok(Number(r.retryAfter) >= 1, `retry-after ${r.retryAfter}`);
  provider.mode = "garbage";
  const cold2 = await worker();
  assert.equal((await call(cold2, await token(k1))).code, "keys_unavailable");
});

test("a slow provider is cut off at the timeout and counted as an error", { timeout: 30_000 }, async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], delayMs: 2000 });
  const mf = await worker({ timeout_ms: 300 });
  const t0 = Date.now();
  const r = await call(mf, await token(k1));
  const took = Date.now() - t0;
  assert.equal(r.status, 503);
  assert.ok(took < 1500, `answered after ${took} ms`);
  const issuer = await status(mf);
  assert.match(issuer.last_error.error, /no answer within 300 ms/);
});

const TIMEOUT_ERROR = /within|time ?out|timed out|deadline/i;

test("a provider that stalls mid-body: 503 keys_unavailable within the timeout, the error says so, and after the backoff the issuer recovers (no wedged single flight)", { timeout: 30_000 }, async () => {
  const k1 = await keypair("k1");
  const stallsBefore = provider.stalls;
  Object.assign(provider, { keys: [k1], faultOn: "jwks", mode: "stall-body" });
  const mf = await worker({ timeout_ms: 300, error_backoff_seconds: 1 });
  const t0 = Date.now();
  // Five concurrent requests on a cold isolate: one fetch, the others wait for it; all answered.
  const answers = await within(5_000, Promise.all(Array.from({ length: 5 }, async () => call(mf, await token(k1)))),
    "requests while the JWKS body stalls (timeout_ms 300)");
  const took = Date.now() - t0;
  for (const r of answers) {
    assert.equal(r.status, 503, JSON.stringify(r));
    assert.equal(r.code, "keys_unavailable");
  }
  assert.ok(took < 2_500, `answered after ${took} ms (timeout_ms 300)`);
  assert.ok(provider.stalls > stallsBefore, "the provider did stall a body");
  const issuer = await status(mf);
  assert.match(issuer.last_error?.error ?? "", TIMEOUT_ERROR, `last_error: ${JSON.stringify(issuer.last_error)}`);
  // The provider recovers (the stalled answer stays open: the Worker must not depend on it ending).
  provider.mode = "ok";
  await sleep(2_100);   // error_backoff_seconds 1, whole seconds
  const r = await call(mf, await token(k1), 5_000);
  assert.equal(r.status, 200, `after recovery: ${JSON.stringify(r)}`);
  const after = await status(mf);
  assert.deepEqual(after.kids, ["k1"]);
  assert.equal(after.last_error, null);
});

test("an oversized JWKS without content-length (chunked, endless) is refused while streaming, by size, before the timeout", { timeout: 30_000 }, async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], faultOn: "jwks", mode: "oversized", oversizeBytes: 1024 * 1024 });
  const mf = await worker({ timeout_ms: 5_000, max_bytes: 65_536 });
  const t0 = Date.now();
  const r = await call(mf, await token(k1), 8_000);
  const took = Date.now() - t0;
  assert.equal(r.status, 503, JSON.stringify(r));
  assert.equal(r.code, "keys_unavailable");
  assert.ok(took < 3_000, `refused after ${took} ms: by the size cap, not the 5 s deadline`);
  const issuer = await status(mf);
  const error = issuer.last_error?.error ?? "";
  assert.match(error, /bytes|size|large|max/i, `last_error: ${error}`);
  assert.doesNotMatch(error, TIMEOUT_ERROR, "refused for its size, not its time");
});

test("a stall during the background refresh of a stale set: stale keys keep serving, and later refreshes still happen", { timeout: 30_000 }, async () => {
  const [k1, k2] = [await keypair("k1"), await keypair("k2")];
  Object.assign(provider, { keys: [k1], cacheControl: "max-age=1" });
  const mf = await worker({ min_ttl_seconds: 1, max_ttl_seconds: 1, error_backoff_seconds: 1, timeout_ms: 300 });
  assert.equal((await call(mf, await token(k1))).status, 200);
  const start = counts();
  const stallsBefore = provider.stalls;
  Object.assign(provider, { faultOn: "jwks", mode: "stall-body" });
  await sleep(2_100);   // stale now
  const from = mf.logs.length;
  for (let i = 0; i < 10; i++) {
    const t0 = Date.now();
    const r = await call(mf, await token(k1), 3_000);
    assert.equal(r.status, 200, `request ${i} during the stall: ${JSON.stringify(r)}`);
    assert.ok(Date.now() - t0 < 1_000, `request ${i} answered after ${Date.now() - t0} ms: it waited for the stalled refresh`);
    await sleep(200);
  }
  assert.ok(counts().jwks > start.jwks, "a background refresh was attempted");
  assert.ok(provider.stalls > stallsBefore, "and its body stalled");
  const stale = await eventually(() => events(mf, "decision", from).filter((d) => d.decision === "forward").length >= 10);
  assert.ok(stale);
  assert.ok(events(mf, "decision", from).every((d) => d.keys === "memory-stale"), "served from the stale set");
  // The provider recovers with a new set (the stalled answers stay open). Requests keep coming; within a
  // few seconds a refresh must have fetched the new set.
  Object.assign(provider, { mode: "ok", keys: [k1, k2] });
  const recovered = await eventually(async () => {
    assert.equal((await call(mf, await token(k1), 3_000)).status, 200);
    return (await status(mf)).kids?.includes("k2");
  }, 6_000);
  assert.ok(recovered, `no refresh after the stall ended: the Worker still has ${JSON.stringify((await status(mf)).kids)} (jwks fetches ${counts().jwks - start.jwks})`);
});

test("key removal: once the provider drops a key (seen through a refetch), its tokens are refused, even the exact token string verified and cached before", { timeout: 30_000 }, async () => {
  const [k1, k2] = [await keypair("k1"), await keypair("k2")];
  provider.keys = [k1];
  const mf = await worker();
  const cached = await token(k1);
  // The request that loads the keys does not cache its token (the key set changed while it verified):
  // the second sight caches it, the third is a hit.
  assert.equal((await call(mf, cached)).status, 200);
  assert.equal((await call(mf, cached)).status, 200);
  const from = mf.logs.length;
  assert.equal((await call(mf, cached)).status, 200);
  const hit = await eventually(() => events(mf, "decision", from).find((d) => d.decision === "forward"));
  assert.equal(hit?.cache, "hit", "the token came from the verified-token cache");
  const filled = (await (await within(5_000, mf.dispatchFetch(STATUS), "the status endpoint")).json()).token_cache;
  assert.equal(filled.entries, 1, JSON.stringify(filled));
  assert.ok(filled.held_bytes > 2 * cached.length && filled.held_bytes < 64 * 1024, JSON.stringify(filled));
  assert.deepEqual([filled.max_entries, filled.max_bytes], [1024, 16 * 1024 * 1024]);
  const start = counts();
  provider.keys = [k2];
  assert.equal((await call(mf, await token(k2))).status, 200, "the new key, through the unknown-kid refetch");
  assert.equal(counts().jwks, start.jwks + 1);
  assert.deepEqual((await status(mf)).kids, ["k2"]);
  const again = await call(mf, cached);
  assert.equal(again.status, 401, `the cached token of the removed key: ${JSON.stringify(again)}`);
  assert.equal(again.code, "key_not_found");
  assert.equal((await call(mf, await token(k1))).code, "key_not_found", "a new token of the removed key");
  assert.equal(counts().jwks, start.jwks + 1, "no refetch inside the kid cooldown");
});

test("a fresh isolate starts warm from the shared cache (Cache API): no fetch, and the log says so", { timeout: 30_000 }, async () => {
  const k1 = await keypair("k1");
  provider.keys = [k1];
  const cachePersist = mkdtempSync(join(tmpdir(), "edge-auth-cache-"));
  const first = await worker({}, { extra: { cachePersist } });
  const start = counts();
  assert.equal((await call(first, await token(k1))).status, 200);
  assert.deepEqual(counts(), { discovery: start.discovery + 1, jwks: start.jwks + 1 });
  await retire(first);
  const second = await worker({}, { extra: { cachePersist } });
  assert.equal((await call(second, await token(k1))).status, 200);
  assert.deepEqual(counts(), { discovery: start.discovery + 1, jwks: start.jwks + 1 }, "no fetch: keys from the shared cache");
  const decision = await eventually(() => events(second, "decision").find((d) => d.decision === "forward"));
  assert.equal(decision?.keys, "shared-cache");
  // The decision log measures I/O waits, under a name that says so (issue 9, finding 14).
  assert.equal(typeof decision.io_wait_ms, "number", `io_wait_ms in ${JSON.stringify(decision)}`);
  assert.ok(!("latency_ms" in decision), "no latency_ms");
  // An unknown kid still goes to the provider (a rotation is not in another isolate's copy).
  const k2 = await keypair("k2");
  provider.keys = [k1, k2];
  assert.equal((await call(second, await token(k2))).status, 200);
  assert.equal(counts().jwks, start.jwks + 2);
});

// A plain Worker with the same Cache API storage (another Worker of the zone): reads an entry (GET ?key=)
// or writes one with the given body and headers (POST {key, body, headers}).
const PLANTER = `export default { async fetch(req) {
  if (req.method === "GET") {
    const found = await caches.default.match(new URL(req.url).searchParams.get("key"));
    if (!found) return new Response("null");
    return Response.json({ body: await found.text(), headers: [...found.headers] });
  }
  const { key, body, headers } = await req.json();
  await caches.default.put(key, new Response(body, { headers }));
  return new Response("planted");
} }`;

async function planter(cachePersist) {
  const mf = new Miniflare({ modules: true, script: PLANTER, compatibilityDate: "2026-04-26", cachePersist });
  await mf.ready;
  workers.push(mf);
  return mf;
}

async function readEntry(cachePersist, key) {
  const mf = await planter(cachePersist);
  const entry = await (await mf.dispatchFetch(`http://planter/?key=${encodeURIComponent(key)}`)).json();
  await retire(mf);
  return entry;
}

async function plant(cachePersist, key, body, headers) {
  const mf = await planter(cachePersist);
  // Headers the cache adds on the way out are not part of the entry.
  const kept = headers.filter(([name]) => !["cf-cache-status", "age", "content-length"].includes(name.toLowerCase()));
  const res = await mf.dispatchFetch("http://planter/", { method: "POST", body: JSON.stringify({ key, body, headers: kept }) });
  assert.equal(await res.text(), "planted");
  await retire(mf);
}

test("shared cache, a control pair: a tampered body under the original MAC is ignored; the original entry, planted back, is used", { timeout: 60_000 }, async () => {
  const [k1, k2] = [await keypair("k1"), await keypair("k2")];
  provider.keys = [k1];
  const cachePersist = mkdtempSync(join(tmpdir(), "edge-auth-cache-"));
  // A Worker fetches normally and writes the entry.
  const first = await worker({}, { extra: { cachePersist } });
  assert.equal((await call(first, await token(k1))).status, 200);
  const key = await sharedCacheKey(first);
  await retire(first);
  const original = await readEntry(cachePersist, key);
  assert.ok(original, `the Worker wrote an entry at ${key}`);
  assert.deepEqual(JSON.parse(original.body).keys.map((k) => k.kid), ["k1"]);
  // Tampered: another key set (the attacker's key under the same kid) with the original MAC headers.
  const evil = await keypair("k1");
  await plant(cachePersist, key, JSON.stringify({ keys: [evil.jwk] }), original.headers);
  let start = counts();
  const second = await worker({}, { extra: { cachePersist } });
  assert.equal((await call(second, await token(evil))).code, "signature_invalid", "the planted key is not used");
  assert.equal(counts().jwks, start.jwks + 1, "the keys came from the provider");
  assert.equal((await call(second, await token(k1))).status, 200);
  await retire(second);
  // The positive control: the original entry (same body, same headers) is used, while the provider
  // would now serve another set.
  provider.keys = [k2];
  await plant(cachePersist, key, original.body, original.headers);
  start = counts();
  const third = await worker({}, { extra: { cachePersist } });
  assert.equal((await call(third, await token(k1))).status, 200, "the original entry's key verifies");
  assert.deepEqual(counts(), start, "no provider fetch: the entry was used");
  const decision = await eventually(() => events(third, "decision").find((d) => d.decision === "forward"));
  assert.equal(decision?.keys, "shared-cache");
  assert.equal((await call(third, await token(evil))).code, "signature_invalid");
});

test("the shared-cache entry is bound to the issuer's config and its key URL: a Worker configured otherwise does not use it", { timeout: 60_000 }, async () => {
  const k1 = await keypair("k1");
  provider.keys = [k1];
  const cachePersist = mkdtempSync(join(tmpdir(), "edge-auth-cache-"));
  const variants = [
    ["discovery, ES256", { discovery: true }],
    ["discovery, ES256 + ES384", { discovery: true, algorithms: ["ES256", "ES384"] }],
    ["discovery, another audience too", { discovery: true, audiences: [AUD, "https://other.example.com"] }],
    ["jwks_uri A", { discovery: undefined, jwks_uri: `${ISS}jwks` }],
    ["jwks_uri B", { discovery: undefined, jwks_uri: `${ISS}jwks?v=2` }],
  ];
  const keys = new Map();
  for (const [name, issuer] of variants) {
    const start = counts();
    const mf = await worker({}, { extra: { cachePersist }, issuer });
    assert.equal((await call(mf, await token(k1))).status, 200, name);
    const decision = await eventually(() => events(mf, "decision").find((d) => d.decision === "forward"));
    assert.equal(decision?.keys, "fetch", `${name}: fetched, not another config's entry (${decision?.keys})`);
    assert.equal(counts().jwks, start.jwks + 1, `${name}: one JWKS fetch`);
    const key = await sharedCacheKey(mf);
    assert.ok(!keys.has(key), `${name} shares its cache key with ${keys.get(key)}`);
    keys.set(key, name);
    await retire(mf);
  }
  // The same config again does use its entry (the keys above differ because the configs do).
  const start = counts();
  const again = await worker({}, { extra: { cachePersist }, issuer: { discovery: undefined, jwks_uri: `${ISS}jwks` } });
  assert.equal((await call(again, await token(k1))).status, 200);
  assert.equal(counts().jwks, start.jwks, "the same config: from the shared cache");
});

test("a shared-cache hit keeps its remaining freshness (not raised to min_ttl): the warmed isolate refetches when the entry would have expired", { timeout: 30_000 }, async () => {
  const k1 = await keypair("k1");
  Object.assign(provider, { keys: [k1], cacheControl: "max-age=1" });   // clamped up to min_ttl
  const remote = { min_ttl_seconds: 6, max_ttl_seconds: 6 };
  const cachePersist = mkdtempSync(join(tmpdir(), "edge-auth-cache-"));
  const first = await worker(remote, { extra: { cachePersist } });
  assert.equal((await call(first, await token(k1))).status, 200);
  const written = Date.now();
  await retire(first);
  await sleep(3_500 - (Date.now() - written));
  const start = counts();
  const second = await worker(remote, { extra: { cachePersist } });
  assert.equal((await call(second, await token(k1))).status, 200);
  assert.deepEqual(counts(), start, "warmed from the shared cache");
  const left = (await status(second)).fresh_for_seconds;
  assert.ok(left <= 3, `fresh for ${left} s: the entry had at most 3 s left of its 6`);
  // Past the entry's freshness (6 s after it was written, not 6 s after this isolate read it) the set is
  // stale: the next request refreshes it.
  await sleep(written + 6_500 - Date.now());
  assert.equal((await call(second, await token(k1))).status, 200);
  assert.ok(await eventually(() => counts().jwks > start.jwks), "refetched once the shared entry's freshness ran out");
});
