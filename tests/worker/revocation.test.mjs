// Issue 14 (revocation), black-box against the built Worker in workerd (miniflare) with the Durable Object
// `Revocations` bound as `EDGE_AUTH_REVOCATIONS` (in memory), a loopback origin that records what reaches
// it, and tokens and logout tokens signed here with `jose` by the issuer's key.
// Run: bash scripts/build-worker.sh && node --test tests/worker/revocation.test.mjs
//
// "A second isolate sharing the object": two `workers` entries of one Miniflare (two isolates in one
// workerd; the first defines the object, the second binds the same class by `scriptName`), as the isolates
// of one deployment share one object per issuer. The second instance runs with `cache_seconds = 0` (it
// reads the object on every request) so that no test waits for a cache to age; one test shows that the
// isolate that recorded a revocation refuses at once even with `cache_seconds = 300`.
// Record expiry uses records whose `until` is 1–2 s ahead (the admin endpoint's `exp`, a tiny
// `max_token_lifetime_seconds`) and polls the object, bounded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { builtWorker, builtWorkers, collectLogs } from "./built-worker.mjs";
import { decisions, recordingOrigin, waitFor } from "./raw-http.mjs";
import * as jose from "jose";

const ISS = "https://idp.example.com/";
const OTHER_ISS = "https://other.example.com/"; // configured, but not under revocation and no back-channel logout
const AUD = "https://api.example.com";
const EDGE = "https://edge.example.com";
const ORIGIN_AUD = "https://origin.example.com";
const CLIENT_ID = "edge-client";
const LOGOUT = "/.well-known/edge-auth/backchannel-logout";
const ADMIN = "/.well-known/edge-auth/revoke";
const LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

let origin, idp, idpPublic, otherIdp, otherPublic, stranger, edgeKey;
const live = [];

before(async () => {
  origin = await recordingOrigin();
  const pair = await jose.generateKeyPair("ES256", { extractable: true });
  idp = pair.privateKey;
  idpPublic = { ...(await jose.exportJWK(pair.publicKey)), kid: "idp-1", alg: "ES256" };
  const other = await jose.generateKeyPair("ES256", { extractable: true });
  otherIdp = other.privateKey;
  otherPublic = { ...(await jose.exportJWK(other.publicKey)), kid: "other-1", alg: "ES256" };
  // Same algorithm and kid as the issuer's key, another key: a forged logout token.
  stranger = (await jose.generateKeyPair("ES256", { extractable: true })).privateKey;
  edgeKey = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
});

after(async () => {
  for (const mf of live.splice(0)) await mf.dispose();
  await origin?.close();
});

/// EDGE_AUTH with revocation for ISS; `revocation` and `issuer` merge over the defaults.
function config({ revocation = {}, issuer = {}, extra = {} } = {}) {
  return JSON.stringify({
    issuers: [
      { issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [idpPublic] },
        backchannel_logout: { client_id: CLIENT_ID }, ...issuer },
      { issuer: OTHER_ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [otherPublic] } },
    ],
    assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING" },
    routes: [{ path: "/public/*", auth: "none" }],
    revocation: {
      issuers: [ISS],
      cache_seconds: 0,
      admin: { issuers: [ISS], roles: ["revoker"] },
      ...revocation,
    },
    ...extra,
  });
}

function bindings(edgeAuth) {
  return { EDGE_AUTH: edgeAuth, ORIGIN: origin.url, SIGNING: JSON.stringify(edgeKey) };
}

/// One Worker with this EDGE_AUTH and its own, empty object; `options` go to Miniflare.
async function single(edgeAuth, options = {}) {
  const logs = [];
  const mf = await builtWorker(bindings(edgeAuth), { handleRuntimeStdio: collectLogs(logs), ...options });
  live.push(mf);
  return { mf, logs, edge: { fetch: (url, init) => mf.dispatchFetch(url, init) } };
}

/// Two Worker instances (isolates) sharing one object: `edge` (cache_seconds from `first`) and `second`
/// (cache_seconds = 0).
async function pair(first = config(), second = config()) {
  const logs = [];
  const mf = await builtWorkers(
    [{ name: "edge", bindings: bindings(first) }, { name: "second", bindings: bindings(second) }],
    { handleRuntimeStdio: collectLogs(logs) },
  );
  live.push(mf);
  return { mf, logs, edge: await mf.getWorker("edge"), second: await mf.getWorker("second") };
}

async function dispose(mf) {
  live.splice(live.indexOf(mf), 1);
  await mf.dispose();
}

const nowS = () => Math.floor(Date.now() / 1000);

/// An access token of ISS (or `key`'s issuer).
async function token(claims = {}, { key = idp, kid = "idp-1" } = {}) {
  const now = nowS();
  return new jose.SignJWT({ iss: ISS, aud: AUD, sub: "alice", iat: now, exp: now + 600, jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: "ES256", kid }).sign(key);
}

const adminToken = (claims = {}) => token({ sub: "ops", roles: ["revoker"], ...claims });

/// A logout token (OIDC Back-Channel Logout 1.0 §2.4), valid unless `claims`/`header` say otherwise
/// (a member set to `undefined` is left out).
async function logoutToken(claims = {}, { header = {}, key = idp } = {}) {
  const now = nowS();
  const body = { iss: ISS, aud: CLIENT_ID, iat: now, exp: now + 120, jti: randomUUID(),
    events: { [LOGOUT_EVENT]: {} }, sid: "session-L", ...claims };
  for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
  return new jose.SignJWT(body).setProtectedHeader({ alg: "ES256", kid: "idp-1", typ: "logout+jwt", ...header }).sign(key);
}

/// An unsecured JWT (`alg: none`) with these claims.
function unsigned(claims, header = { alg: "none", typ: "logout+jwt" }) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64(header)}.${b64(claims)}.`;
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/// One request to `target` (one of a Miniflare's workers, or `single`'s `edge`); what reached the origin meanwhile.
async function call(target, path, { token: t, method = "GET", headers = {}, body } = {}) {
  const before = origin.received.length;
  const h = { ...headers };
  if (t) h.authorization = `Bearer ${t}`;
  const url = `https://api.example.com${path}`;
  const stream = body instanceof ReadableStream ? { duplex: "half" } : {};
  const res = await target.fetch(url, { method, headers: h, body, redirect: "manual", ...stream });
  const text = await res.text();
  return { res, text, json: safeJson(text), forwarded: origin.received.slice(before) };
}

const get = (target, t) => call(target, "/orders/1", { token: t });

function assertForwarded(r, what) {
  assert.equal(r.res.status, 200, `${what}: status (body ${r.text.slice(0, 300)})`);
  assert.equal(r.forwarded.length, 1, `${what}: the origin got ${r.forwarded.length} requests`);
}

function assertRefused(r, status, code, what) {
  assert.equal(r.res.status, status, `${what}: status (body ${r.text.slice(0, 300)})`);
  assert.equal(r.json?.code, code, `${what}: problem code (body ${r.text.slice(0, 300)})`);
  assert.equal(r.forwarded.length, 0, `${what}: nothing may reach the origin`);
}

function assertRevoked(r, what) {
  assertRefused(r, 401, "token_revoked", what);
  const challenge = r.res.headers.get("www-authenticate") ?? "";
  assert.match(challenge, /^Bearer realm="[^"]*", error="invalid_token", error_description="token_revoked"$/, `${what}: WWW-Authenticate`);
}

/// POST to the admin endpoint with a bearer token (`null`: none) and a body (an object is sent as JSON).
function revoke(target, body, t) {
  const headers = { "content-type": "application/json" };
  return (async () => call(target, ADMIN, {
    method: "POST", token: t === undefined ? await adminToken() : t ?? undefined, headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  }))();
}

/// POST a logout token to the back-channel logout endpoint, form-encoded.
function logout(target, logoutJwt, { contentType = "application/x-www-form-urlencoded", body } = {}) {
  return call(target, LOGOUT, {
    method: "POST",
    headers: { "content-type": contentType },
    body: body ?? new URLSearchParams({ logout_token: logoutJwt }).toString(),
  });
}

/// What the object holds for ISS, through its internal wire (the sync a fresh isolate makes).
async function objectRecords(mf, scriptName) {
  const ns = await mf.getDurableObjectNamespace("EDGE_AUTH_REVOCATIONS", scriptName);
  const res = await ns.get(ns.idFromName(ISS)).fetch("https://revocations/sync?epoch=&since=0");
  assert.equal(res.status, 200, "the object's sync answer");
  const json = await res.json();
  assert.equal(json.full, true, "a sync from nothing is full");
  return json.records;
}

async function poll(predicate, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- revoke by each kind: the same isolate, a second isolate, and the cached token --------------------------

const KINDS = [
  // `target`: the claims of the token to revoke; `sibling`: a token that must stay valid.
  { kind: "jti", value: "token-jti-1", target: { jti: "token-jti-1" }, sibling: { jti: "token-jti-2" } },
  { kind: "sid", value: "session-1", target: { sid: "session-1" }, sibling: { sid: "session-2" } },
  { kind: "sub", value: "bob", target: { sub: "bob" }, sibling: { sub: "carol" } },
];

for (const { kind, value, target, sibling } of KINDS) {
  test(`revoke by ${kind}: the next request is refused token_revoked, in this isolate (a cache hit) and in a second one`, async () => {
    const { mf, logs, edge, second } = await pair();
    const revokedToken = await token(target);
    const otherToken = await token(sibling);
    // Both seen once, so both are in each isolate's verified-token cache.
    for (const [name, instance] of [["edge", edge], ["second", second]]) {
      assertForwarded(await get(instance, revokedToken), `${name}: before the revocation`);
      assertForwarded(await get(instance, otherToken), `${name}: the sibling before`);
    }
    const before = nowS();
    const r = await revoke(edge, { iss: ISS, [kind]: value });
    assert.equal(r.res.status, 200, `the admin endpoint (body ${r.text})`);
    assert.equal(r.forwarded.length, 0, "the admin endpoint is answered at the edge");
    const revoked = r.json?.revoked;
    assert.equal(revoked?.kind, kind);
    assert.equal(revoked?.iss, ISS);
    assert.equal(revoked?.value, value);
    assert.ok(Number.isInteger(revoked?.at) && revoked.at >= before && revoked.at <= nowS() + 1, `at: ${revoked?.at}`);
    assert.ok(Number.isInteger(revoked?.until) && revoked.until > revoked.at, `until: ${revoked?.until}`);
    for (const [name, instance] of [["edge", edge], ["second", second]]) {
      assertRevoked(await get(instance, revokedToken), `${name}: the revoked token (cached)`);
      assertForwarded(await get(instance, otherToken), `${name}: the sibling after`);
    }
    assert.ok((await objectRecords(mf, "edge")).some((rec) => rec.kind === kind && rec.value === value),
      "the object holds the record");
    // Audited: one `revoke` line, no raw value, no token.
    const audit = logs.filter((l) => l.includes('"event":"revoke"'));
    assert.equal(audit.length, 1, `one audit line, got:\n${audit.join("\n")}`);
    assert.ok(audit[0].includes(`"kind":"${kind}"`), audit[0]);
    for (const secret of [value, revokedToken]) {
      assert.ok(!logs.some((l) => l.includes(secret)), `the logs carry ${secret.slice(0, 20)}…`);
    }
    const refused = decisions(logs).filter((d) => d.code === "token_revoked");
    assert.equal(refused.length, 2, "the decision log says token_revoked, once per isolate");
    assert.ok(refused.every((d) => d.cache === "hit" && d.revocation === "refused"),
      `refused on a verified-token cache hit: ${JSON.stringify(refused)}`);
    await dispose(mf);
  });
}

test("revoke by sub: tokens of that subject issued after the revocation are accepted", async () => {
  const { mf, edge } = await single(config());
  const r = await revoke(edge, { sub: "dave" }); // `iss` may be omitted: one revocation issuer
  assert.equal(r.res.status, 200, r.text);
  assertRevoked(await get(edge, await token({ sub: "dave", iat: r.json.revoked.at })), "issued at the revocation");
  assertForwarded(await get(edge, await token({ sub: "dave", iat: r.json.revoked.at + 1 })), "issued after it");
  await dispose(mf);
});

test("the isolate that recorded a revocation refuses at once, even with cache_seconds = 300", async () => {
  const { mf, edge } = await single(config({ revocation: { cache_seconds: 300 } }));
  const t = await token({ sid: "s-300" });
  assertForwarded(await get(edge, t), "before");
  assert.equal((await revoke(edge, { sid: "s-300" })).res.status, 200);
  assertRevoked(await get(edge, t), "after");
  await dispose(mf);
});

test("tokens of issuers not under revocation are not checked; a token of a revocation issuer needs iat and a bounded age", async () => {
  const { mf, edge } = await single(config({ revocation: { max_token_lifetime_seconds: 3600 } }));
  assertForwarded(await get(edge, await token({ iss: OTHER_ISS }, { key: otherIdp, kid: "other-1" })), "another issuer");
  const old = nowS() - 7200;
  assertRefused(await get(edge, await token({ iat: old, exp: nowS() + 600 })), 401, "token_too_old", "older than max_token_lifetime_seconds");
  const r = await get(edge, await token({ iat: undefined }));
  assert.equal(r.res.status, 401, `no iat: ${r.text}`);
  assert.equal(r.forwarded.length, 0);
  await dispose(mf);
});

// ---- records expire ---------------------------------------------------------------------------------------

// Records live as long as a token they cover can still be accepted: a jti record until the admin's `exp`
// plus the issuer's leeway plus one second; sid and sub records for max_token_lifetime_seconds plus the
// leeway plus one second. With `leeway_seconds = 0` those are 1–2 s here.
test("records expire: a jti record kept until the admin's `exp` (+ leeway + 1 s), then forgotten, and the token passes again", async () => {
  const { mf, edge } = await single(config({ issuer: { leeway_seconds: 0 } }));
  const t = await token({ jti: "short-lived" });
  const exp = nowS() + 1;
  const r = await revoke(edge, { jti: "short-lived", exp });
  assert.equal(r.res.status, 200, r.text);
  assert.equal(r.json.revoked.until, exp + 1, "until: the admin's exp, plus the leeway (0), plus one second");
  assertRevoked(await get(edge, t), "before its until");
  const gone = await poll(async () => !(await objectRecords(mf)).some((rec) => rec.value === "short-lived"), 8000);
  assert.ok(gone, "the object still holds the record 8 s after its until");
  assertForwarded(await get(edge, t), "after its until (a token revoked until `exp` is one that expires then)");
  await dispose(mf);
});

test("records expire: sid and sub records are kept for max_token_lifetime_seconds (+ leeway + 1 s)", async () => {
  const { mf, edge } = await single(config({ revocation: { max_token_lifetime_seconds: 1 }, issuer: { leeway_seconds: 0 } }));
  for (const body of [{ sid: "s-exp" }, { sub: "u-exp" }]) {
    const r = await revoke(edge, body);
    assert.equal(r.res.status, 200, r.text);
    assert.equal(r.json.revoked.until - r.json.revoked.at, 2, `until - at: ${JSON.stringify(r.json.revoked)}`);
  }
  assert.equal((await objectRecords(mf)).length, 2, "both stored");
  const gone = await poll(async () => (await objectRecords(mf)).length === 0, 8000);
  assert.ok(gone, "the object still holds records 8 s after they ended");
  await dispose(mf);
});

// ---- the cap ------------------------------------------------------------------------------------------------

test("the cap: with max_entries = 2 the third revocation is 507 revocation_store_full, and the first two hold", async () => {
  const { mf, edge } = await single(config({ revocation: { max_entries: 2 } }));
  assert.equal((await revoke(edge, { jti: "cap-1" })).res.status, 200);
  assert.equal((await revoke(edge, { sid: "cap-2" })).res.status, 200);
  const third = await revoke(edge, { sub: "cap-3" });
  assertRefused(third, 507, "revocation_store_full", "the third record");
  const full = await logout(edge, await logoutToken({ sid: "cap-4" }));
  assert.equal(full.res.status, 400, full.text);
  assert.deepEqual(full.json, { error: "invalid_request", error_description: "revocation_store_full" });
  assertRevoked(await get(edge, await token({ jti: "cap-1" })), "the first record");
  assertRevoked(await get(edge, await token({ sid: "cap-2" })), "the second record");
  assertForwarded(await get(edge, await token({ sub: "cap-3" })), "the refused record");
  await dispose(mf);
});

// ---- the object unavailable: fail closed (default) or open --------------------------------------------------

/// A stand-in object that fails every request (bound in place of `Revocations`).
const BROKEN_OBJECT = `
export class Broken { async fetch() { return new Response("boom", { status: 500 }); } }
export default { fetch() { return new Response("unused"); } };`;

const UNAVAILABLE = [
  // [what, revocation config, Miniflare options]
  ["the binding is not bound", { binding: "NOT_BOUND" }, {}],
  ["the object answers 500", {}, { broken: true }],
];

for (const [what, revocation, { broken }] of UNAVAILABLE) {
  for (const fail of ["closed", "open"]) {
    test(`fail = "${fail}" when ${what}`, async () => {
      const edgeAuth = config({ revocation: { ...revocation, ...(fail === "open" ? { fail } : {}) } });
      let mf, edge, logs = [];
      if (broken) {
        mf = await builtWorkers([
          { name: "edge", bindings: bindings(edgeAuth),
            durableObjects: { EDGE_AUTH_REVOCATIONS: { className: "Broken", scriptName: "broken" } } },
          { name: "broken", modules: true, script: BROKEN_OBJECT, durableObjects: { BROKEN: "Broken" } },
        ], { handleRuntimeStdio: collectLogs(logs) });
        live.push(mf);
        edge = await mf.getWorker("edge");
      } else {
        ({ mf, edge, logs } = await single(edgeAuth));
      }
      const r = await get(edge, await token());
      if (fail === "closed") {
        assertRefused(r, 503, "revocation_unavailable", "the hot path");
        assert.ok(Number(r.res.headers.get("retry-after")) > 0, "Retry-After");
      } else {
        assertForwarded(r, "the hot path, fail open");
        assert.ok(await waitFor(() => decisions(logs).some((d) => d.decision === "forward" && d.revocation === "failed_open")),
          `the decision log says the check failed open:\n${logs.join("\n")}`);
      }
      const a = await revoke(edge, { jti: "x" });
      assertRefused(a, 503, "revocation_unavailable", "the admin endpoint (fails closed whatever `fail` says)");
      const l = await logout(edge, await logoutToken());
      assert.equal(l.res.status, 400);
      assert.deepEqual(l.json, { error: "invalid_request", error_description: "revocation_unavailable" });
      // Tokens of issuers not under revocation do not need the object.
      assertForwarded(await get(edge, await token({ iss: OTHER_ISS }, { key: otherIdp, kid: "other-1" })), "another issuer");
      await dispose(mf);
    });
  }
}

/// The edge bound to a stand-in object class `className` (from `script`, which answers `/count` with its
/// `{ syncs }`), with `cache_seconds`; `syncs()` asks the issuer's object for its count.
async function withStandIn(className, script, cacheSeconds) {
  const name = className.toLowerCase();
  const binding = className.toUpperCase();
  const mf = await builtWorkers([
    { name: "edge", bindings: bindings(config({ revocation: { cache_seconds: cacheSeconds } })),
      durableObjects: { EDGE_AUTH_REVOCATIONS: { className, scriptName: name } } },
    { name, modules: true, script, durableObjects: { [binding]: className } },
  ]);
  live.push(mf);
  const edge = await mf.getWorker("edge");
  const syncs = async () => {
    const ns = await mf.getDurableObjectNamespace(binding, name);
    return (await (await ns.get(ns.idFromName(ISS)).fetch("https://revocations/count")).json()).syncs;
  };
  return { mf, edge, syncs };
}

/// A stand-in object that fails every sync and counts them.
const FAILING_OBJECT = `
export class Failing {
  constructor() { this.syncs = 0; }
  async fetch(request) {
    if (new URL(request.url).pathname === "/count") return Response.json({ syncs: this.syncs });
    this.syncs++;
    return new Response("boom", { status: 500 });
  }
}
export default { fetch() { return new Response("unused"); } };`;

test("after a failed sync, requests fail fast for a second without calling the object again", async () => {
  const { mf, edge, syncs } = await withStandIn("Failing", FAILING_OBJECT, 0);
  const t = await token();
  assertRefused(await get(edge, t), 503, "revocation_unavailable", "the first request");
  // The backoff began before that answer was sent: it has at most a second left from here.
  const started = Date.now();
  let refused = 1;
  // Within the backoff (bounded: at most 5 more requests, stopping well inside the second).
  while (refused < 6 && Date.now() - started < 600) {
    assertRefused(await get(edge, t), 503, "revocation_unavailable", `request ${refused + 1}`);
    refused += 1;
  }
  assert.ok(refused > 1, "at least one request inside the backoff");
  assert.equal(await syncs(), 1, `one call for ${refused} requests inside the backoff`);
  // After it, the next request tries again.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1050 - (Date.now() - started))));
  assertRefused(await get(edge, t), 503, "revocation_unavailable", "after the backoff");
  assert.equal(await syncs(), 2, "one more call after the backoff");
  await dispose(mf);
});

// ---- the isolate's copy: one sync in flight per issuer, then trusted for cache_seconds ---------------------------

/// A stand-in object that answers syncs slowly (an empty log) and counts them.
const COUNTING_OBJECT = `
export class Counting {
  constructor() { this.syncs = 0; }
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/count") return Response.json({ syncs: this.syncs });
    if (pathname !== "/sync") return Response.json({ error: "not_found" }, { status: 404 });
    this.syncs++;
    await new Promise((resolve) => setTimeout(resolve, 300));
    return Response.json({ epoch: "e1", seq: 0, full: true, records: [] });
  }
}
export default { fetch() { return new Response("unused"); } };`;

test("concurrent requests of a fresh isolate share one sync; the copy is then trusted for cache_seconds", async () => {
  const { mf, edge, syncs } = await withStandIn("Counting", COUNTING_OBJECT, 60);
  const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) => token({ sub: `user-${i}` })));
  const before = origin.received.length;
  const answers = await Promise.all(tokens.map((t) => get(edge, t)));
  answers.forEach((r, i) => assert.equal(r.res.status, 200, `concurrent request ${i}: ${r.text}`));
  assert.equal(origin.received.length - before, tokens.length, "every concurrent request reached the origin");
  assert.equal(await syncs(), 1, "one sync for eight concurrent first requests");
  for (const t of tokens.slice(0, 3)) assertForwarded(await get(edge, t), "later, within cache_seconds");
  assert.equal(await syncs(), 1, "no sync while the copy is fresh");
  await dispose(mf);
});

// ---- OIDC Back-Channel Logout ---------------------------------------------------------------------------------

test("back-channel logout: 200 (empty, no-store), then that session's tokens are refused here and in a second isolate; a replay is 400", async () => {
  const { mf, edge, second } = await pair();
  const session = await token({ sid: "session-L" });
  const otherSession = await token({ sid: "session-M" });
  assertForwarded(await get(edge, session), "before");
  const lt = await logoutToken({ sid: "session-L", sub: "alice" }); // both: the session only
  const r = await logout(edge, lt);
  assert.equal(r.res.status, 200, r.text);
  assert.equal(r.text, "", "an empty body");
  assert.equal(r.res.headers.get("cache-control"), "no-store");
  assert.equal(r.forwarded.length, 0, "answered at the edge");
  for (const [name, instance] of [["edge", edge], ["second", second]]) {
    assertRevoked(await get(instance, session), `${name}: the session's token`);
    assertForwarded(await get(instance, otherSession), `${name}: the user's other session (a logout with sid ends that session only)`);
  }
  for (const [name, instance] of [["edge", edge], ["second", second]]) {
    const again = await logout(instance, lt);
    assert.equal(again.res.status, 400, `${name}: replay`);
    assert.deepEqual(again.json, { error: "invalid_request", error_description: "logout_token_replayed" });
    assert.equal(again.res.headers.get("cache-control"), "no-store");
  }
  await dispose(mf);
});

test("back-channel logout with only sub revokes every token of that subject issued up to now", async () => {
  const { mf, edge } = await single(config());
  const before = await token({ sub: "erin", sid: "e-1" });
  assert.equal((await logout(edge, await logoutToken({ sub: "erin", sid: undefined }))).res.status, 200);
  assertRevoked(await get(edge, before), "a token of erin's");
  assertForwarded(await get(edge, await token({ sub: "frank" })), "another subject");
  await dispose(mf);
});

const BAD_LOGOUTS = [
  // [what, () => the request's options for `logout`]
  ["no events", async () => ({ jwt: await logoutToken({ events: undefined }) })],
  ["events without the back-channel logout member", async () => ({ jwt: await logoutToken({ events: { "http://example.com/other": {} } }) })],
  ["the event member is not an object", async () => ({ jwt: await logoutToken({ events: { [LOGOUT_EVENT]: "yes" } }) })],
  ["a nonce", async () => ({ jwt: await logoutToken({ nonce: "n-1" }) })],
  ["the wrong aud", async () => ({ jwt: await logoutToken({ aud: "someone-else" }) })],
  ["the API's aud instead of the client id", async () => ({ jwt: await logoutToken({ aud: AUD }) })],
  ["the wrong typ", async () => ({ jwt: await logoutToken({}, { header: { typ: "JWT" } }) })],
  ["an access token's typ", async () => ({ jwt: await logoutToken({}, { header: { typ: "at+jwt" } }) })],
  ["the wrong key", async () => ({ jwt: await logoutToken({}, { key: stranger }) })],
  ["alg none", async () => ({ jwt: unsigned({ iss: ISS, aud: CLIENT_ID, iat: nowS(), jti: randomUUID(), events: { [LOGOUT_EVENT]: {} }, sid: "s" }) })],
  ["neither sid nor sub", async () => ({ jwt: await logoutToken({ sid: undefined }) })],
  ["no jti", async () => ({ jwt: await logoutToken({ jti: undefined }) })],
  ["no iat", async () => ({ jwt: await logoutToken({ iat: undefined }) })],
  ["expired", async () => ({ jwt: await logoutToken({ iat: nowS() - 600, exp: nowS() - 300 }) })],
  ["an issuer without backchannel_logout", async () => ({ jwt: await logoutToken({ iss: OTHER_ISS }, { key: otherIdp, header: { kid: "other-1" } }) })],
  ["an access token", async () => ({ jwt: await token({ sid: "session-L" }) })],
  ["not a JWT", async () => ({ jwt: "not-a-token" })],
  ["no logout_token parameter", async () => ({ body: "token=abc" })],
  ["an empty body", async () => ({ body: "" })],
  ["JSON instead of a form", async () => ({ contentType: "application/json", body: JSON.stringify({ logout_token: await logoutToken() }) })],
  ["two logout_token parameters", async () => ({ body: `logout_token=${await logoutToken()}&logout_token=${await logoutToken()}` })],
];

test("back-channel logout: every malformed, forged or misdirected logout token is 400 invalid_request, and revokes nothing", async () => {
  const { mf, edge } = await single(config());
  const session = await token({ sid: "session-L" });
  for (const [what, make] of BAD_LOGOUTS) {
    const { jwt, ...options } = await make();
    const r = await logout(edge, jwt, options);
    assert.equal(r.res.status, 400, `${what}: status (body ${r.text})`);
    assert.equal(r.json?.error, "invalid_request", `${what}: error`);
    assert.equal(typeof r.json?.error_description, "string", `${what}: error_description`);
    assert.notEqual(r.json.error_description, "logout_token_replayed", what);
    assert.equal(r.res.headers.get("cache-control"), "no-store", `${what}: Cache-Control`);
    assert.equal(r.forwarded.length, 0, `${what}: nothing reaches the origin`);
  }
  assertForwarded(await get(edge, session), "nothing was revoked");
  assert.deepEqual(await objectRecords(mf), [], "the object holds nothing");
  await dispose(mf);
});

test("back-channel logout: a body over 16 KiB is 400 logout_token_missing, announced (Content-Length) or streamed (chunked)", async () => {
  const { mf, edge } = await single(config());
  const session = await token({ sid: "session-L" });
  const form = `logout_token=${await logoutToken()}&pad=${"x".repeat(64 * 1024)}`;
  const streamed = () => {
    // Chunked, no Content-Length: the cap applies while reading.
    const bytes = new TextEncoder().encode(form);
    return new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
        controller.close();
      },
    });
  };
  for (const [what, body] of [["announced", form], ["streamed", streamed()]]) {
    const r = await call(edge, LOGOUT, {
      method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(r.res.status, 400, `${what}: ${r.text}`);
    assert.equal(r.json?.error_description, "logout_token_missing", what);
  }
  assertForwarded(await get(edge, session), "nothing was revoked");
  await dispose(mf);
});

test("back-channel logout: other methods are 405 with Allow: POST", async () => {
  const { mf, edge } = await single(config());
  for (const method of ["GET", "PUT", "DELETE"]) {
    const r = await call(edge, LOGOUT, { method });
    assert.equal(r.res.status, 405, `${method}: ${r.text}`);
    assert.equal(r.res.headers.get("allow"), "POST", method);
    assert.equal(r.forwarded.length, 0);
  }
  await dispose(mf);
});

// ---- the admin endpoint: who may call it, what it takes --------------------------------------------------------

test("the admin endpoint: without a token 401, without the role 403, another issuer's token 401 issuer_not_allowed", async () => {
  const { mf, edge } = await single(config());
  const none = await revoke(edge, { jti: "a" }, null);
  assert.equal(none.res.status, 401, none.text);
  assert.equal(none.forwarded.length, 0);
  const plain = await revoke(edge, { jti: "a" }, await token({ roles: ["reader"] }));
  assert.equal(plain.res.status, 403, plain.text);
  assert.equal(plain.forwarded.length, 0);
  const other = await revoke(edge, { jti: "a" }, await token({ iss: OTHER_ISS, roles: ["revoker"] }, { key: otherIdp, kid: "other-1" }));
  assertRefused(other, 401, "issuer_not_allowed", "an issuer the admin rule does not name (as on any route)");
  assert.deepEqual(await objectRecords(mf), [], "nothing recorded");
  await dispose(mf);
});

const BAD_BODIES = [
  ["not JSON", "jti=a"],
  ["an empty object", {}],
  ["two kinds", { jti: "a", sid: "b" }],
  ["three kinds", { jti: "a", sid: "b", sub: "c" }],
  ["an unknown issuer", { iss: "https://unknown.example/", jti: "a" }],
  ["an issuer not under revocation", { iss: OTHER_ISS, jti: "a" }],
  ["a number as the value", { jti: 5 }],
  ["an empty value", { sid: "" }],
  ["exp with a sid", { sid: "a", exp: nowS() + 60 }],
  ["exp not a number", { jti: "a", exp: "soon" }],
  ["an unknown member", { jti: "a", reason: "x" }],
  ["an array", [{ jti: "a" }]],
  ["a duplicate member", '{"jti":"a","jti":"b"}'],
];

test("the admin endpoint: every bad body is 400 revoke_request_invalid and records nothing", async () => {
  const { mf, edge } = await single(config());
  for (const [what, body] of BAD_BODIES) {
    const r = await revoke(edge, body);
    assertRefused(r, 400, "revoke_request_invalid", what);
  }
  assert.deepEqual(await objectRecords(mf), [], "nothing recorded");
  await dispose(mf);
});

test("the admin endpoint does not exist without revocation.admin: the request is an ordinary route", async () => {
  const { mf, edge } = await single(config({ revocation: { admin: undefined } }));
  const r = await revoke(edge, { jti: "a" });
  // An ordinary authenticated route: forwarded to the origin with the admin's token verified.
  assertForwarded(r, "no admin endpoint");
  await dispose(mf);
});

// ---- the assertion carries sid -------------------------------------------------------------------------------

test("the assertion carries the token's sid", async () => {
  const { mf, edge } = await single(config());
  const r = await get(edge, await token({ sid: "sess-A" }));
  assertForwarded(r, "with sid");
  assert.equal(jose.decodeJwt(r.forwarded[0].headers["edge-auth-assertion"]).sid, "sess-A");
  const r2 = await get(edge, await token());
  assert.equal(jose.decodeJwt(r2.forwarded[0].headers["edge-auth-assertion"]).sid, undefined);
  await dispose(mf);
});
