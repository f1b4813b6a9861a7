// Broken configurations and token-cache expiry, black-box in workerd (miniflare) against the built Worker,
// with a real origin on 127.0.0.1 that records what it receives.
// Run: bash scripts/build-worker.sh && node --test tests/worker/configs.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { builtWorker, collectLogs } from "./built-worker.mjs";
import { decisions, recordingOrigin, waitFor } from "./raw-http.mjs";
import * as jose from "jose";

const ISS = "https://idp.example.com/";
const AUD = "https://api.example.com";
const EDGE = "https://edge.example.com";
const ORIGIN_AUD = "https://origin.example.com";
const JWKS_PATH = "/.well-known/edge-auth/jwks.json";

let origin, idp, idpPublic, edgeJwk;

before(async () => {
  origin = await recordingOrigin();
  const pair = await jose.generateKeyPair("ES256", { extractable: true });
  idp = pair.privateKey;
  idpPublic = { ...(await jose.exportJWK(pair.publicKey)), kid: "idp-1", alg: "ES256" };
  edgeJwk = await jose.exportJWK((await jose.generateKeyPair("EdDSA", { extractable: true })).privateKey);
});

after(async () => {
  await origin?.close();
});

function config(extra = {}) {
  return {
    issuers: [{ issuer: ISS, audiences: [AUD], algorithms: ["ES256"], jwks: { keys: [idpPublic] } }],
    assertion: { issuer: EDGE, audience: ORIGIN_AUD, signing_key_secret: "SIGNING" },
    routes: [{ path: "/public/*", auth: "none" }],
    ...extra,
  };
}

async function token(claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ iss: ISS, aud: AUD, sub: "carol", iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: "idp-1" }).sign(idp);
}

/// Runs `body(mf, logs)` against a Worker with exactly these bindings, disposed afterwards.
async function withWorker(bindings, body) {
  const logs = [];
  const mf = await builtWorker(bindings, { handleRuntimeStdio: collectLogs(logs) });
  try {
    return await body(mf, logs);
  } finally {
    await mf.dispose();
  }
}

async function call(mf, path, { token: t } = {}) {
  const before = origin.received.length;
  const res = await mf.dispatchFetch(`https://api.example.com${path}`, { headers: t ? { authorization: `Bearer ${t}` } : {} });
  const text = await res.text();
  return { res, text, forwarded: origin.received.slice(before) };
}

/// Every request, the JWKS path included, is 503 config_invalid with a generic body; nothing is forwarded;
/// the mistake is logged as a `config_error` line mentioning `mention`.
async function assertBroken(mf, logs, mention, what) {
  const t = await token();
  for (const [path, tok] of [[JWKS_PATH, undefined], ["/orders/1", t], ["/public/x", undefined], ["/public/x", t]]) {
    const { res, text, forwarded } = await call(mf, path, { token: tok });
    assert.equal(res.status, 503, `${what}: ${path}: ${text}`);
    assert.equal(res.headers.get("content-type"), "application/problem+json", `${what}: ${path}`);
    assert.equal(JSON.parse(text).code, "config_invalid", `${what}: ${path}`);
    assert.ok(res.headers.get("retry-after"), `${what}: ${path}: a 503 says when to retry`);
    assert.equal(forwarded.length, 0, `${what}: ${path} was forwarded`);
  }
  const logged = () => logs.some((l) => l.includes('"event":"config_error"') && l.includes(mention));
  await waitFor(logged);
  assert.ok(logged(), `${what}: no config_error line mentioning ${mention} in:\n${logs.join("\n")}`);
}

test("EDGE_AUTH missing: every request 503 config_invalid, nothing forwarded, a config_error line", async () => {
  await withWorker({ ORIGIN: origin.url, SIGNING: JSON.stringify(edgeJwk) }, (mf, logs) =>
    assertBroken(mf, logs, "EDGE_AUTH", "EDGE_AUTH missing"));
});

test("EDGE_AUTH not JSON: every request 503 config_invalid, nothing forwarded, a config_error line", async () => {
  const text = JSON.stringify(config()).slice(0, -1); // a truncated document
  await withWorker({ EDGE_AUTH: text, ORIGIN: origin.url, SIGNING: JSON.stringify(edgeJwk) }, (mf, logs) =>
    assertBroken(mf, logs, "EDGE_AUTH", "EDGE_AUTH not JSON"));
  await withWorker({ EDGE_AUTH: "issuers = []", ORIGIN: origin.url, SIGNING: JSON.stringify(edgeJwk) }, (mf, logs) =>
    assertBroken(mf, logs, "EDGE_AUTH", "EDGE_AUTH as TOML text"));
});

test("the assertion signing secret missing: every request 503 config_invalid, a config_error line naming it", async () => {
  await withWorker({ EDGE_AUTH: JSON.stringify(config()), ORIGIN: origin.url }, (mf, logs) =>
    assertBroken(mf, logs, "assertion.signing_key_secret", "signing secret missing"));
});

test("the assertion signing secret not a private key: every request 503 config_invalid", async () => {
  const { d, ...publicOnly } = edgeJwk;
  await withWorker({ EDGE_AUTH: JSON.stringify(config()), ORIGIN: origin.url, SIGNING: JSON.stringify(publicOnly) }, (mf, logs) =>
    assertBroken(mf, logs, "assertion.signing_key_secret", "signing secret holds a public key"));
});

test("the token cache ends at the token's exp: forwarded twice (a cache hit), then token_expired", async () => {
  await withWorker({ EDGE_AUTH: JSON.stringify(config({ leeway_seconds: 0 })), ORIGIN: origin.url, SIGNING: JSON.stringify(edgeJwk) },
    async (mf, logs) => {
      // The Worker starts first: an isolate's first request pays its start-up, which must not eat the window.
      assert.equal((await call(mf, "/public/warm")).res.status, 200);
      const now = Date.now() / 1000;
      // At least 2 s of validity left, at most 3.
      const exp = Math.floor(now) + (Math.floor(now) + 3 - now >= 2 ? 3 : 4);
      const t = await token({ iat: Math.floor(now), exp });
      for (const round of [1, 2]) {
        const { res, text, forwarded } = await call(mf, "/orders/1", { token: t });
        assert.equal(res.status, 200, `round ${round}: ${text}`);
        assert.equal(forwarded.length, 1);
      }
      assert.ok(Date.now() / 1000 < exp, "the two requests took longer than the token's lifetime; the test cannot tell");
      await waitFor(() => decisions(logs).length >= 3);
      assert.deepEqual(decisions(logs).slice(1, 3).map((d) => [d.decision, d.cache]), [["forward", "miss"], ["forward", "hit"]]);
      // Past exp (whole seconds: the Worker's clock has 1 s resolution; `now >= exp` is expired).
      await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 250));
      const late = await call(mf, "/orders/1", { token: t });
      assert.equal(late.res.status, 401, late.text);
      assert.equal(JSON.parse(late.text).code, "token_expired");
      assert.equal(late.forwarded.length, 0, "an expired token was served from the cache");
      // And again: an expired token stays refused (not re-inserted by the refusal).
      const again = await call(mf, "/orders/1", { token: t });
      assert.equal(again.res.status, 401, again.text);
      assert.equal(again.forwarded.length, 0);
    });
});

test('decision_log = "refusals": forwards and the JWKS answer write no decision line; every refusal still does', async () => {
  await withWorker({ EDGE_AUTH: JSON.stringify(config({ decision_log: "refusals" })), ORIGIN: origin.url, SIGNING: JSON.stringify(edgeJwk) },
    async (mf, logs) => {
      const t = await token();
      for (const [path, tok, status] of [["/orders/1", t, 200], ["/public/x", undefined, 200], [JWKS_PATH, undefined, 200], ["/orders/2", undefined, 401], ["/orders/3", `${t}x`, 401]]) {
        const { res, text } = await call(mf, path, { token: tok });
        assert.equal(res.status, status, `${path}: ${text}`);
      }
      await waitFor(() => decisions(logs).length >= 2);
      // Give any stray forward line the time to arrive before counting.
      await new Promise((r) => setTimeout(r, 200));
      const lines = decisions(logs);
      assert.deepEqual(lines.map((d) => d.decision), ["refuse", "refuse"], JSON.stringify(lines));
      assert.equal(lines[0].code, "token_missing");
    });
  // The default, beside it: every decision.
  await withWorker({ EDGE_AUTH: JSON.stringify(config()), ORIGIN: origin.url, SIGNING: JSON.stringify(edgeJwk) },
    async (mf, logs) => {
      assert.equal((await call(mf, "/orders/1", { token: await token() })).res.status, 200);
      assert.equal((await call(mf, "/orders/2")).res.status, 401);
      await waitFor(() => decisions(logs).length >= 2);
      assert.deepEqual(decisions(logs).map((d) => d.decision), ["forward", "refuse"]);
    });
});
